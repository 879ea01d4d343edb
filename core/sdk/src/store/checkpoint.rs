//! Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the commit that crosses its threshold,
//! on whatever thread committed: a `send` on the UI thread, or the confirmation of an ack, would then wait for the
//! checkpoint's fsyncs (milliseconds on phone flash; the send path's p99, docs/decisions.md #17). Instead the writer
//! reports the log's size after each commit ([`Checkpointer::after_commit`], SQLite's WAL hook) and a thread of the
//! store's own runs a passive checkpoint on its own connection once the log holds [`WAL_PAGES`] pages: it never
//! blocks the writer or the readers, and what it cannot copy yet (a reader still on an older snapshot) it copies next
//! time. Only a log four times past that (commits with no pause in between) makes a commit checkpoint itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;

/// The log size (pages) that asks for a checkpoint: SQLite's own default threshold.
pub(crate) const WAL_PAGES: i32 = 1000;

/// The safety valve: a stream of commits with no pause (a knowledge-base sync) can keep a background checkpoint from
/// ever catching up, and the log only starts over once a checkpoint has copied all of it. Past this size the commit
/// checkpoints itself, as SQLite would, so the log stays bounded (16 MB of 4 kB pages).
const WAL_PAGES_INLINE: i32 = 4 * WAL_PAGES;

/// What the writer's WAL hook and the checkpoint thread share.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    path: PathBuf,
    /// Held while a checkpoint runs and while the store swaps its files (`renew_files`): a checkpoint never touches
    /// a file being replaced.
    pub(crate) files: Arc<Mutex<()>>,
    /// A request is waiting for the thread (later commits need not ask again).
    requested: Arc<AtomicBool>,
    /// The thread's doorbell, started with the first request.
    thread: Mutex<Option<SyncSender<()>>>,
}

impl Checkpointer {
    pub(crate) fn new(path: &Path) -> Arc<Checkpointer> {
        Arc::new(Checkpointer {
            path: path.to_owned(),
            files: Arc::new(Mutex::new(())),
            requested: Arc::new(AtomicBool::new(false)),
            thread: Mutex::new(None),
        })
    }

    /// Installs the hook on the writer connection (which also turns SQLite's automatic checkpoint off).
    pub(crate) fn install(self: &Arc<Self>, writer: &mut Connection) -> Result<()> {
        let me = Arc::downgrade(self);
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            if pages >= WAL_PAGES_INLINE {
                // A failure leaves the log as it is; the commit itself succeeded.
                let _ = wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE);
            } else if let Some(me) = me.upgrade() {
                me.after_commit(pages);
            }
            Ok(())
        }))?;
        Ok(())
    }

    /// After a commit that left `pages` pages in the log: asks for a checkpoint past the threshold. Never blocks.
    fn after_commit(&self, pages: i32) {
        if pages < WAL_PAGES || self.requested.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(mut thread) = self.thread.lock() else { return };
        let doorbell = thread.get_or_insert_with(|| self.start());
        if let Err(TrySendError::Disconnected(())) = doorbell.try_send(()) {
            // The thread is gone (it could not be started): the next commit past the threshold tries again.
            *thread = None;
            self.requested.store(false, Ordering::Release);
        }
    }

    fn start(&self) -> SyncSender<()> {
        let (doorbell, requests) = sync_channel(1);
        let (path, files, requested) = (self.path.clone(), self.files.clone(), self.requested.clone());
        let started = std::thread::Builder::new()
            .name("chatflow-checkpoint".into())
            .spawn(move || serve(&path, &requests, &files, &requested));
        if let Err(e) = started {
            tracing::warn!(error = %e, "cannot start the checkpoint thread; the log grows until the next try");
        }
        doorbell
    }
}

/// The checkpoint thread: one passive checkpoint per request, until the store (and its doorbell) is dropped.
fn serve(path: &Path, requests: &Receiver<()>, files: &Mutex<()>, requested: &AtomicBool) {
    while requests.recv().is_ok() {
        requested.store(false, Ordering::Release);
        let Ok(_files) = files.lock() else { return };
        if let Err(e) = checkpoint(path) {
            tracing::warn!(error = %e, "checkpoint failed; the next one retries");
        }
    }
}

/// Copies what it can of the log into the database without waiting for anyone.
pub(crate) fn checkpoint(path: &Path) -> Result<(i64, i64)> {
    // Its own short-lived connection: the writer and the readers stay free, and nothing stays open on the files.
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    // A new connection opens the log with its first read; before that a checkpoint reports -1 and copies nothing.
    conn.query_row("PRAGMA schema_version", [], |_| Ok(()))?;
    let (log, copied) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))?;
    conn.close().map_err(|(_, e)| e)?;
    Ok((log, copied))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn wal_len(store: &Store) -> u64 {
        std::fs::metadata(crate::store::renew::companion(store.path(), "-wal")).map(|m| m.len()).unwrap_or(0)
    }

    /// The log's most: the safety valve's size, plus the commits made while a background checkpoint held the
    /// checkpoint lock (the valve's passive checkpoint then waits for the next commit).
    fn bound() -> u64 {
        (WAL_PAGES_INLINE + WAL_PAGES) as u64 * (4096 + 24)
    }

    /// Commits that each change a page: a 3 kB row, new content every time (SQLite skips writing identical bytes).
    fn commit_pages(store: &Store, n: usize) {
        for i in 0..n {
            let row = format!("{i:08}{}", "x".repeat(3000));
            store.write(|tx| crate::store::meta_set(tx, &format!("k{}", i % 50), &row)).unwrap();
        }
    }

    #[test]
    fn commits_never_checkpoint_themselves_and_the_thread_does_once_it_may() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Hold the checkpoint thread back: the log must grow past SQLite's own threshold without a checkpoint.
        let files = store.checkpoints.files.clone();
        let held = files.lock().unwrap();
        commit_pages(&store, 1500);
        let grown = wal_len(&store);
        assert!(grown > 1500 * 4096, "no commit checkpointed: the log holds every page ({grown} bytes)");
        drop(held);
        // The thread copies the log; the next commits then reuse it from the start instead of growing it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            // -1: the thread's checkpoint was running at that moment.
            let (log, copied) = checkpoint(store.path()).unwrap();
            if (log >= 0 && log == copied) || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        commit_pages(&store, 500);
        assert!(wal_len(&store) <= grown, "the log started over, not grown: {} > {grown}", wal_len(&store));
    }

    #[test]
    fn the_log_stays_bounded_under_a_stream_of_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        commit_pages(&store, 10_000);
        // Without checkpoints it would hold about 10,000 pages (41 MB).
        let len = wal_len(&store);
        assert!(len < bound(), "the log grew to {len} bytes");
    }

    #[test]
    fn renewing_the_files_waits_for_a_running_checkpoint_and_keeps_checkpointing_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        commit_pages(&store, 1200);
        store.renew_files().unwrap();
        commit_pages(&store, 10_000);
        let len = wal_len(&store);
        assert!(len < bound(), "the renewed store's log grew to {len} bytes");
        assert_eq!(store.meta_get("k1").unwrap().map(|v| v.len()), Some(3008));
    }
}
