//! Renewing the store's files after a user's data left it (logout, a switch of user, a forgotten visitor's token
//! dropped). Deleted rows are gone for SQL but not from the disk: SQLite leaves their bytes in free pages of the
//! database and in frames of the write-ahead log until something overwrites them. So the store writes what is left
//! (app state: chatflows, knowledge base, device settings) into a new compact file (`VACUUM INTO`), closes its
//! connections, deletes the old database with its `-wal`, `-shm` and `-journal`, and puts the copy in its place. On iOS
//! each file has its own key that the deletion discards, so the old bytes cannot be read back even from flash.
//!
//! Crash safety, step by step: until the rename the old database (its wipe committed and checkpointed) is the store,
//! and a leftover copy is deleted by the next `open`; the rename replaces the file atomically; the old WAL is deleted
//! *before* the rename, because SQLite would replay it onto the new file.

use std::path::Path;

use rusqlite::Connection;

use super::{connect, Store, DB_COMPANION_SUFFIXES, FRESH_FILE_NAME};
use crate::error::{Error, Result};

impl Store {
    /// Replaces the database and its companion files with a compact copy of their live rows. Readers and writers
    /// wait meanwhile (milliseconds: the store holds no user data at this point, only app state).
    pub fn renew_files(&self) -> Result<()> {
        let _turn = self.turns.take();
        let mut writer = self.writer.lock().map_err(|_| Error::poisoned())?;
        // Waits for the reads in progress; the idle readers are closed now, before any file is touched.
        let _no_reads = self.readers.close_all()?;
        // No background checkpoint touches the files while they are swapped.
        let files = self.checkpoints.files.clone();
        let _files = files.lock().map_err(|_| Error::poisoned())?;
        let dir = self.path.parent().ok_or_else(|| storage("the database path has no directory", &self.path))?;
        let fresh = dir.join(FRESH_FILE_NAME);
        remove_file_if_any(&fresh)?;
        let target = fresh.to_str().ok_or_else(|| storage("the storage directory is not UTF-8", dir))?;
        writer.execute("VACUUM INTO ?1", [target])?;
        sync_file(&fresh)?;
        // Everything committed must be in the database file before its WAL goes (a crash until the rename keeps it).
        let busy: i64 = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            remove_file_if_any(&fresh)?;
            return Err(storage("the write-ahead log could not be checkpointed; the files were kept", &self.path));
        }
        // A placeholder while no file is open: an in-memory database has no tables, so a use would fail loudly.
        let old_writer = std::mem::replace(&mut *writer, Connection::open_in_memory()?);
        // The files are only touched once every connection is closed.
        let swapped = close(old_writer).and_then(|()| self.swap_in(&fresh, dir));
        // Reopen whatever file is in place, the renewed one or (after a failure) the old one, which is whole.
        let (w, r) = connect(&self.path, &self.checkpoints)?;
        *writer = w;
        self.readers.keep(r)?;
        swapped
    }

    /// With no connection open: deletes the companion files, then renames `fresh` over the database.
    fn swap_in(&self, fresh: &Path, dir: &Path) -> Result<()> {
        for suffix in DB_COMPANION_SUFFIXES {
            remove_file_if_any(&companion(&self.path, suffix))?;
        }
        std::fs::rename(fresh, &self.path).map_err(|e| storage(&format!("cannot replace the database: {e}"), fresh))?;
        sync_dir(dir)
    }
}

/// `path` with `suffix` appended to its file name (`chatflow.sqlite3-wal`).
pub fn companion(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

fn close(conn: Connection) -> Result<()> {
    conn.close().map_err(|(_, e)| Error::from(e))
}

pub(super) fn remove_file_if_any(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(storage(&format!("cannot delete: {e}"), path)),
    }
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| storage(&format!("cannot sync: {e}"), path))
}

/// Makes the rename durable (the directory entry). Unix only: elsewhere a directory cannot be opened as a file.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    sync_file(dir)?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn storage(what: &str, path: &Path) -> Error {
    Error::Storage { message: format!("renewing the local database files: {what} ({})", path.display()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{meta_set, DB_FILE_NAME};

    /// Every file of the directory, for a byte search.
    fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| std::fs::read(p).unwrap().windows(needle.len()).any(|w| w == needle))
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn deleted_rows_leave_no_bytes_in_any_file_and_live_rows_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.meta_set("device.kept", "still-here-after-renewal").unwrap();
        store.meta_set("visitor.secret", "tok_secret_visitor_token_bytes").unwrap();
        store.write(|tx| Ok(tx.execute("DELETE FROM meta WHERE key = 'visitor.secret'", [])?)).unwrap();
        // What the test guards against: deleted, yet still on disk.
        assert!(!files_containing(dir.path(), b"tok_secret_visitor_token_bytes").is_empty());
        #[cfg(unix)]
        let inode_before = inode(&dir.path().join(DB_FILE_NAME));

        store.renew_files().unwrap();

        assert_eq!(files_containing(dir.path(), b"tok_secret_visitor_token_bytes"), Vec::<String>::new());
        #[cfg(unix)]
        assert_ne!(inode(&dir.path().join(DB_FILE_NAME)), inode_before, "the old database file must be gone");
        assert_eq!(store.meta_get("device.kept").unwrap().as_deref(), Some("still-here-after-renewal"));
        // The store works on: writes, reads, and a reopen sees both (schema version kept: no migration re-run).
        store.write(|tx| meta_set(tx, "device.after", "x")).unwrap();
        assert_eq!(store.meta_get("device.after").unwrap().as_deref(), Some("x"));
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.meta_get("device.kept").unwrap().as_deref(), Some("still-here-after-renewal"));
        assert_eq!(store.meta_get("device.after").unwrap().as_deref(), Some("x"));
        let mode: String = store.read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).unwrap();
        assert_eq!(mode, "wal");
    }

    /// A reader left open on the old file would keep reading it (deleted, yet open): every read after a renewal must
    /// see the writes made after it, however many readers were open before.
    #[test]
    fn every_reader_reads_the_renewed_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
        store.meta_set("k", "before").unwrap();
        let concurrent_reads = |store: &std::sync::Arc<Store>| {
            // Three reads at once: three connections.
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
            let reads: Vec<_> = (0..3)
                .map(|_| {
                    let (store, barrier) = (store.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        store
                            .read(|c| {
                                barrier.wait();
                                Ok(c.query_row("SELECT value FROM meta WHERE key = 'k'", [], |r| r.get(0))?)
                            })
                            .unwrap()
                    })
                })
                .collect();
            reads.into_iter().map(|r| r.join().unwrap()).collect::<Vec<String>>()
        };
        assert_eq!(concurrent_reads(&store), ["before"; 3]);
        assert_eq!(store.readers.idle(), 3);

        store.renew_files().unwrap();
        store.meta_set("k", "after").unwrap();
        assert_eq!(concurrent_reads(&store), ["after"; 3]);
    }

    #[test]
    fn a_copy_left_by_an_interrupted_renewal_is_deleted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        std::fs::write(dir.path().join(FRESH_FILE_NAME), b"half-written copy").unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(!dir.path().join(FRESH_FILE_NAME).exists());
        store.meta_set("k", "v").unwrap();
    }

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
    }
}
