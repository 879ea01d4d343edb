//! Group commit on the single writer: writes that arrive together share one transaction, and each returns only after
//! the commit that holds it.
//!
//! The writer connection is a baton. A writer takes it, opens the shared transaction if none is open, and runs its
//! work in a savepoint of its own (a failing or refused write rolls back alone). Then, if other writers are queued
//! for the baton and the batch is not full, it hands the baton on with the transaction still open and waits for the
//! batch's outcome; otherwise it commits for everyone and wakes them. The commit is a single write of the log for the
//! whole batch, where each write used to pay for its own. A batch ends when nobody is waiting, so a lone write commits
//! at once, as before.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use super::feed::Flushed;
use super::{lock, SqliteStore};
use crate::store::{StoreError, StoreResult};

/// Writes one transaction holds at most, so that the first of a long burst is not held back for long.
pub(super) const MAX_BATCH: usize = 64;

/// What a write asks for after the commit that holds it.
#[derive(Default)]
pub(super) struct AfterCommit {
    pub(super) flushed: Flushed,
    pub(super) pushes_queued: bool,
}

/// How a write ended inside the shared transaction.
pub(super) enum Outcome<R> {
    /// Keep its changes; `R` is returned once they are committed.
    Keep(R, AfterCommit),
    /// Undo its changes (a unit of work that asked to roll back); `R` is returned at once.
    Undo(R),
}

/// The writer connection and the batch its open transaction belongs to.
pub(super) struct Writer {
    state: Mutex<WriterState>,
    /// Writers queued for the baton: the holder hands it on instead of committing while this is above zero.
    waiting: AtomicUsize,
    /// Transactions committed (each holding one write or more): `transactions_committed`.
    commits: AtomicU64,
}

struct WriterState {
    conn: Connection,
    /// The batch of the open transaction (`None`: no transaction open).
    open: Option<Arc<Batch>>,
    /// Writes kept in the open transaction.
    kept: usize,
}

/// One shared transaction's outcome, which its writers wait for.
#[derive(Default)]
struct Batch {
    /// `Some` once the transaction ended: `Ok` committed, `Err` rolled back (the reason).
    done: Mutex<Option<Result<(), String>>>,
    ended: Condvar,
}

impl Batch {
    fn finish(&self, outcome: Result<(), String>) {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        self.ended.notify_all();
    }

    fn wait(&self) -> Result<(), String> {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(outcome) = done.as_ref() {
                return outcome.clone();
            }
            done = self.ended.wait(done).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Writer {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            state: Mutex::new(WriterState { conn, open: None, kept: 0 }),
            waiting: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
        }
    }

    fn take(&self) -> MutexGuard<'_, WriterState> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = lock(&self.state);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        guard
    }
}

/// Ends the open transaction with `sql` (COMMIT or ROLLBACK); on a failed COMMIT, rolls back.
fn end(state: &mut WriterState, sql: &str) -> Result<(), String> {
    state.open = None;
    state.kept = 0;
    match state.conn.execute_batch(sql) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = state.conn.execute_batch("ROLLBACK");
            Err(e.to_string())
        }
    }
}

/// What running one write in its savepoint gave.
enum Ran<R> {
    /// Changes kept in the open transaction: `R` once it commits.
    Kept(R, AfterCommit),
    /// Nothing kept (failed or undone): returned at once.
    Returned(StoreResult<R>),
    /// A savepoint statement failed: the transaction is in an unknown state and must end.
    Broken(StoreError),
}

fn run_in_savepoint<R>(conn: &Connection, write: impl FnOnce(&Connection) -> StoreResult<Outcome<R>>) -> Ran<R> {
    if let Err(e) = conn.execute_batch("SAVEPOINT write") {
        return Ran::Broken(e.into());
    }
    let (undo, ran) = match write(conn) {
        Ok(Outcome::Keep(value, after)) => (false, Ran::Kept(value, after)),
        Ok(Outcome::Undo(value)) => (true, Ran::Returned(Ok(value))),
        Err(e) => (true, Ran::Returned(Err(e))),
    };
    let close = if undo { "ROLLBACK TO write; RELEASE write" } else { "RELEASE write" };
    match conn.execute_batch(close) {
        Ok(()) => ran,
        Err(e) => Ran::Broken(e.into()),
    }
}

impl SqliteStore {
    /// Write transactions committed since the store opened: fewer than the writes when writes arrived together.
    pub fn transactions_committed(&self) -> u64 {
        self.writer.commits.load(Ordering::Relaxed)
    }

    /// Runs `write` in the shared write transaction (a savepoint of its own) and returns once its changes are
    /// committed, or at once when it failed or asked to undo (its changes are rolled back, the others' kept).
    pub(super) fn group_write<R>(&self, write: impl FnOnce(&Connection) -> StoreResult<Outcome<R>>) -> StoreResult<R> {
        let mut state = self.writer.take();
        let batch = match &state.open {
            Some(batch) => Arc::clone(batch),
            None => {
                // Nobody waits on a batch that is not open yet: an error here concerns this write only.
                state.conn.execute_batch("BEGIN IMMEDIATE")?;
                let batch = Arc::new(Batch::default());
                state.open = Some(Arc::clone(&batch));
                batch
            }
        };
        // A panic in `write` must not leave the batch's other writers waiting forever: end the batch, then go on
        // unwinding.
        let ran = match panic::catch_unwind(AssertUnwindSafe(|| run_in_savepoint(&state.conn, write))) {
            Ok(ran) => ran,
            Err(panicked) => {
                let _ = end(&mut state, "ROLLBACK");
                batch.finish(Err("a write in the same transaction failed".into()));
                drop(state);
                panic::resume_unwind(panicked);
            }
        };
        let ran = match ran {
            Ran::Broken(e) => {
                let _ = end(&mut state, "ROLLBACK");
                batch.finish(Err(e.to_string()));
                return Err(e);
            }
            Ran::Kept(value, after) => {
                state.kept += 1;
                Ran::Kept(value, after)
            }
            returned => returned,
        };
        let hand_on = self.writer.waiting.load(Ordering::SeqCst) > 0 && state.kept < MAX_BATCH;
        let committed_here = if hand_on {
            None
        } else {
            let sql = if state.kept == 0 { "ROLLBACK" } else { "COMMIT" };
            let result = end(&mut state, sql);
            if sql == "COMMIT" && result.is_ok() {
                self.writer.commits.fetch_add(1, Ordering::Relaxed);
            }
            batch.finish(result.clone());
            Some(result)
        };
        drop(state);
        let (value, after) = match ran {
            Ran::Kept(value, after) => (value, after),
            Ran::Returned(result) => return result,
            Ran::Broken(e) => return Err(e),
        };
        let committed = match committed_here {
            Some(result) => result,
            None => batch.wait(),
        };
        committed.map_err(|reason| StoreError::Unavailable(format!("sqlite: the commit failed: {reason}")))?;
        self.feed.committed(after.flushed);
        if after.pushes_queued {
            self.push_committed();
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::messages;
    use crate::store::sqlite::test_support::{store_with_conversation, visitor_msg};
    use crate::store::tx::in_tx;
    use crate::store::{MessageStore, Paging};

    /// 8 threads × 40 sends, every 10th refused after its write: each kept send is visible to a reader the moment
    /// its call returns (acked only after its commit), refused ones leave nothing, seqs stay gap-free, and writes
    /// that arrived together shared transactions.
    #[test]
    fn writes_that_arrive_together_share_commits_and_each_returns_after_its_own() {
        let (_dir, s) = store_with_conversation(1);
        let s = Arc::new(s);
        let before = s.transactions_committed();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    for i in 0..40 {
                        let msg = visitor_msg(&format!("m{t}-{i}"), "hi");
                        if i % 10 == 9 {
                            let refused: StoreResult<()> = in_tx(&*s, |tx| {
                                messages::append_in(tx, &msg)?;
                                Err(StoreError::Invalid("refused after its write".into()))
                            });
                            assert!(refused.is_err());
                            continue;
                        }
                        let seq = messages::append(&*s, &msg).unwrap().message.seq;
                        let seen = s.read(|c| {
                            Ok(c.query_row(
                                "SELECT COUNT(*) FROM messages WHERE conversation_id = 'c1' AND seq = ?1",
                                [seq as i64],
                                |r| r.get::<_, i64>(0),
                            )?)
                        });
                        assert_eq!(seen.unwrap(), 1, "message {seq} acked before its commit");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let page = s.messages("c1", Paging::After(0), 1000).unwrap();
        let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=288).collect::<Vec<_>>(), "gap-free, refused writes left nothing");
        let commits = s.transactions_committed() - before;
        eprintln!("288 writes from 8 threads: {commits} commits");
        assert!(commits < 288, "288 writes from 8 threads at once took {commits} commits: none shared");
    }

    #[test]
    fn a_write_that_panics_fails_its_batch_and_later_writes_go_on() {
        let (_dir, s) = store_with_conversation(1);
        let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _: StoreResult<()> = s.write(|_| panic!("a bug in a write"));
        }));
        assert!(panicked.is_err());
        let stored = messages::append(&s, &visitor_msg("after", "still works")).unwrap();
        assert_eq!(stored.message.seq, 1);
    }
}
