//! How threads share the store's connections so that a call on the app's UI thread never queues behind the SDK's
//! background work for long (measured by `benches/main_thread.rs`, docs/decisions.md #18):
//!
//! - **Writers take turns in the order they asked** ([`Turns`]). A `send` that arrives while a catch-up commits its
//!   pages is next as soon as the current transaction ends. With the mutex alone, the thread that just committed
//!   took the writer straight back for its next transaction (std's `Mutex` lets it, before the waiting thread wakes).
//! - **Every concurrent read gets a connection of its own** ([`Readers`]). WAL lets readers run beside each other
//!   and beside the writer; a single reader behind a mutex made the UI thread wait for the observers' and senders'
//!   reads.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError, RwLock, RwLockWriteGuard};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// A first-come, first-served queue for the writer connection.
#[derive(Debug, Default)]
pub(super) struct Turns {
    tickets: Mutex<Tickets>,
    next_up: Condvar,
}

#[derive(Debug, Default)]
struct Tickets {
    /// Tickets handed out so far.
    issued: u64,
    /// The ticket whose holder may write now.
    serving: u64,
}

/// The right to use the writer until dropped.
#[derive(Debug)]
pub(super) struct Turn<'a>(&'a Turns);

impl Turns {
    /// Waits until every writer that asked before has finished.
    pub fn take(&self) -> Turn<'_> {
        // Two counters, always consistent: a panic elsewhere cannot leave them half-updated.
        let mut tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = tickets.issued;
        tickets.issued += 1;
        while tickets.serving != mine {
            tickets = self.next_up.wait(tickets).unwrap_or_else(PoisonError::into_inner);
        }
        Turn(self)
    }

    /// Writers waiting for their turn (tests).
    #[cfg(test)]
    pub fn waiting(&self) -> u64 {
        let tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        tickets.issued - tickets.serving - u64::from(tickets.issued > tickets.serving)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut tickets = self.0.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        tickets.serving += 1;
        if tickets.issued > tickets.serving {
            self.0.next_up.notify_all();
        }
    }
}

/// Most idle reader connections kept open: the UI thread plus the SDK's two workers read at the same time; a burst
/// beyond that opens a connection and closes it after its read.
const MAX_IDLE_READERS: usize = 3;

/// Read-only connections on the database, one per concurrent read.
#[derive(Debug)]
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Held shared by every read and exclusively while the files are replaced, when no connection may stay open.
    gate: RwLock<()>,
}

impl Readers {
    /// The pool, starting with `first` (opened by `Store::open`, within its time budget).
    pub fn new(path: &Path, first: Connection) -> Readers {
        Readers { path: path.to_owned(), idle: Mutex::new(vec![first]), gate: RwLock::new(()) }
    }

    /// Runs `f` on a reader connection nobody else is using (opened now if every idle one is busy).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // The pool's work is in `lease` and its `Drop`, compiled once: this generic part, copied for every caller,
        // stays a call.
        let lease = self.lease()?;
        f(lease.conn()?)
    }

    /// Takes an idle reader (or opens one) for the duration of one read.
    fn lease(&self) -> Result<Lease<'_>> {
        let open = self.gate.read().map_err(|_| Error::poisoned())?;
        let idle = self.idle.lock().map_err(|_| Error::poisoned())?.pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        Ok(Lease { readers: self, conn: Some(conn), _open: open })
    }

    /// Holds every read off and closes the idle connections; no reader is open on the files while the guard lives.
    /// Reads after it open connections on whatever file is then in place.
    pub fn close_all(&self) -> Result<RwLockWriteGuard<'_, ()>> {
        let closed = self.gate.write().map_err(|_| Error::poisoned())?;
        let idle = std::mem::take(&mut *self.idle.lock().map_err(|_| Error::poisoned())?);
        for conn in idle {
            conn.close().map_err(|(_, e)| Error::from(e))?;
        }
        Ok(closed)
    }

    /// Keeps `conn` for the next read.
    pub fn keep(&self, conn: Connection) -> Result<()> {
        self.idle.lock().map_err(|_| Error::poisoned())?.push(conn);
        Ok(())
    }

    /// Idle connections kept (tests).
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }
}

/// One reader connection lent for one read; back to the pool (or closed, past the pool's size) when dropped.
struct Lease<'a> {
    readers: &'a Readers,
    /// Always `Some` until the lease is dropped.
    conn: Option<Connection>,
    // Held to the end of the read: a file renewal waits for it.
    _open: std::sync::RwLockReadGuard<'a, ()>,
}

impl Lease<'_> {
    fn conn(&self) -> Result<&Connection> {
        self.conn.as_ref().ok_or_else(|| Error::internal("a reader was lent without its connection"))
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.readers.idle.lock()) else { return };
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

/// A read-only connection on the database at `path`, configured like every store connection.
pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    reader.execute_batch("PRAGMA busy_timeout = 5000;")?;
    super::configure_statements(&reader)?;
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::store::{meta_set, Store};

    use crate::store::wait_until;

    /// A ceiling for a background thread to reach a point, not a timing assertion.
    const CEILING: Duration = Duration::from_secs(30);

    #[test]
    fn a_waiting_writer_goes_before_the_next_write_of_the_thread_that_held_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (holding, held) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let background = {
            let (store, order) = (store.clone(), order.clone());
            std::thread::spawn(move || {
                store
                    .write(|tx| {
                        holding.send(()).unwrap();
                        released.recv().unwrap();
                        order.lock().unwrap().push("background, first");
                        meta_set(tx, "k", "1")
                    })
                    .unwrap();
                // Straight back for more, like a catch-up committing its next rows.
                store
                    .write(|tx| {
                        order.lock().unwrap().push("background, second");
                        meta_set(tx, "k", "3")
                    })
                    .unwrap();
            })
        };
        held.recv_timeout(CEILING).unwrap();
        let foreground = {
            let (store, order) = (store.clone(), order.clone());
            std::thread::spawn(move || {
                store
                    .write(|tx| {
                        order.lock().unwrap().push("foreground");
                        meta_set(tx, "k", "2")
                    })
                    .unwrap();
            })
        };
        wait_until(|| store.turns.waiting() == 1);
        release.send(()).unwrap();
        background.join().unwrap();
        foreground.join().unwrap();
        assert_eq!(*order.lock().unwrap(), ["background, first", "foreground", "background, second"]);
        assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("3"));
    }

    #[test]
    fn a_read_does_not_wait_for_another_read_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        store.meta_set("k", "v").unwrap();
        let (reading, read_started) = mpsc::channel();
        let (finish, finished) = mpsc::channel::<()>();
        let slow = {
            let store = store.clone();
            std::thread::spawn(move || {
                store
                    .read(|_| {
                        reading.send(()).unwrap();
                        finished.recv().unwrap();
                        Ok(())
                    })
                    .unwrap();
            })
        };
        read_started.recv_timeout(CEILING).unwrap();
        // Answers while the other read is still in progress (it ends only after this one).
        let (answer, answered) = mpsc::channel();
        let store_for_ui = store.clone();
        std::thread::spawn(move || answer.send(store_for_ui.meta_get("k").unwrap()).unwrap());
        assert_eq!(answered.recv_timeout(CEILING).unwrap().as_deref(), Some("v"));
        finish.send(()).unwrap();
        slow.join().unwrap();
        assert_eq!(store.readers.idle(), 2, "both connections are kept for the next reads");
    }
}
