//! A small pool of PostgreSQL connections. Store calls run on the blocking pool, so a caller that finds every
//! connection busy waits on a condition variable (up to a timeout, then the store is `Unavailable`). A connection
//! the server closed (restart, failover) is dropped when it comes back, and replaced on the next checkout.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ::postgres::{Client, Config, NoTls};

use crate::store::{StoreError, StoreResult};

/// How long a caller waits for a free connection before the call fails as `Unavailable`.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct Pool {
    config: Config,
    max: usize,
    state: Mutex<Slots>,
    freed: Condvar,
}

struct Slots {
    idle: Vec<Client>,
    /// Connections that exist (idle or checked out).
    open: usize,
}

fn lock(m: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    pub(super) fn new(config: Config, max: usize) -> Self {
        Self { config, max: max.max(1), state: Mutex::new(Slots { idle: Vec::new(), open: 0 }), freed: Condvar::new() }
    }

    /// A connection for one call; it returns to the pool when the guard drops.
    pub(super) fn get(&self) -> StoreResult<Pooled<'_>> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut slots = lock(&self.state);
        loop {
            while let Some(client) = slots.idle.pop() {
                if !client.is_closed() {
                    return Ok(Pooled { pool: self, client: Some(client) });
                }
                slots.open -= 1;
            }
            if slots.open < self.max {
                slots.open += 1;
                drop(slots);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(Pooled { pool: self, client: Some(client) }),
                    Err(e) => {
                        lock(&self.state).open -= 1;
                        self.freed.notify_one();
                        Err(StoreError::Unavailable(format!("postgres: cannot connect: {e}")))
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "postgres: all {} connections stayed busy for {} s",
                    self.max,
                    CHECKOUT_TIMEOUT.as_secs()
                )));
            }
            slots = self.freed.wait_timeout(slots, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

impl Drop for Pool {
    /// A client's drop runs a small runtime of its own, which may not start inside the server's (the last store
    /// handle may go away in an async task at shutdown): the idle connections close on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut lock(&self.state).idle);
        if idle.is_empty() {
            return;
        }
        let closing = std::thread::Builder::new().name("postgres-close".into()).spawn(move || drop(idle));
        if let Ok(handle) = closing {
            let _ = handle.join();
        }
    }
}

/// A checked-out connection.
pub(super) struct Pooled<'p> {
    pool: &'p Pool,
    client: Option<Client>,
}

impl Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a pooled connection is present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a pooled connection is present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut slots = lock(&self.pool.state);
        match self.client.take() {
            Some(client) if !client.is_closed() => slots.idle.push(client),
            _ => slots.open -= 1,
        }
        drop(slots);
        self.pool.freed.notify_one();
    }
}
