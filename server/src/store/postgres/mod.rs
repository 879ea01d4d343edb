//! The PostgreSQL store: a pool of connections; every unit of work is a `READ COMMITTED` transaction that locks the
//! rows its rule depends on (`SELECT … FOR UPDATE`, see the contracts in `store::tx`), so the rules hold with several
//! writers on several nodes. Reads that take several queries run in a `REPEATABLE READ` read-only transaction (one
//! snapshot). Callers run these methods on the blocking pool, as with SQLite.
//!
//! `chatflow-server --database-url postgres://user:password@host:port/database` selects it (docs/deploy.md).

mod accounts;
mod agent;
mod apps;
mod attachments;
mod bots;
mod conversations;
mod email;
mod error;
mod feed;
mod inbox;
mod kb;
pub mod migrations;
mod pool;
mod push;
mod survey;
mod tickets;
mod tx;
mod visitors;

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ::postgres::config::SslMode;
use ::postgres::{Config, IsolationLevel, Transaction};

use super::{StoreError, StoreResult};

/// Connections per server process unless the URL's `pool_size` says otherwise (`?pool_size=N` is ours: it is removed
/// before the URL reaches PostgreSQL).
pub const DEFAULT_POOL_SIZE: usize = 16;

pub struct PostgresStore {
    pool: pool::Pool,
    /// The agents' feed log: retention and the commit listener.
    feed: feed::FeedConfig,
    /// Wakes the push worker after a commit that queued pushes.
    push_listener: Mutex<Option<crate::store::push::PushListener>>,
}

/// Locks a mutex even if a previous holder panicked (the data behind these locks stays consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Splits our own `pool_size` parameter off a PostgreSQL URL: the URL PostgreSQL's client accepts, and the size.
pub(crate) fn split_pool_size(url: &str) -> StoreResult<(String, usize)> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), DEFAULT_POOL_SIZE)) };
    let mut size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("pool_size=") {
            Some(v) => {
                size = v.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    StoreError::Invalid(format!("pool_size in the database URL must be 1 to 1000, not `{v}`"))
                })?;
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, size))
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`) and runs the migrations.
    pub fn connect(url: &str) -> StoreResult<Self> {
        let (url, size) = split_pool_size(url)?;
        let mut config = Config::from_str(&url)
            .map_err(|e| StoreError::Invalid(format!("the database URL is not a PostgreSQL URL: {e}")))?;
        // The client has no TLS: a URL that asks for it is refused rather than silently connected in clear.
        if config.get_ssl_mode() == SslMode::Require {
            return Err(StoreError::Invalid(
                "the database URL asks for TLS (sslmode=require), which this server's PostgreSQL client does not speak: \
                 reach the database on a private network or through a local TLS tunnel (docs/deploy.md)"
                    .into(),
            ));
        }
        if config.get_application_name().is_none() {
            config.application_name("chatflow-server");
        }
        let pool = pool::Pool::new(config, size);
        let store = Self { pool, feed: feed::FeedConfig::default(), push_listener: Mutex::new(None) };
        let mut conn = store.pool.get()?;
        migrations::migrate(&mut conn)?;
        // Events a stopped process staged but did not sequence.
        store.sequence_feed(&mut *conn);
        drop(conn);
        Ok(store)
    }

    /// Runs `f` in a read-only `REPEATABLE READ` transaction: one snapshot for reads of several queries.
    fn read<R>(&self, f: impl FnOnce(&mut Transaction<'_>) -> StoreResult<R>) -> StoreResult<R> {
        let mut conn = self.pool.get()?;
        let mut tx =
            conn.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a write transaction; commits when `f` returns `Ok` (an error rolls back).
    fn write<R>(&self, f: impl FnOnce(&mut Transaction<'_>) -> StoreResult<R>) -> StoreResult<R> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Sequence numbers are `u64` in the store and BIGINT here (see `store::columns`).
pub(crate) use super::columns::{seq_from_sql, seq_to_sql};
