//! The SDK's local SQLite store: schema with numbered migrations, one writer connection and a reader connection per
//! concurrent read.
//!
//! Durability: WAL with `synchronous = NORMAL`. A message the app was told is "queued" is committed before `send`
//! returns: the commit is in the WAL file when `send` returns, so it survives the app being killed (tested with
//! `kill -9`) without an fsync on the caller's thread — `send` is called from UI threads, and an fsync on phone flash
//! takes milliseconds to tens of milliseconds. Only a power cut before the next checkpoint can roll the latest
//! commits back (never corrupt the database). See docs/decisions.md #5.
//!
//! Readers never block the writer, nor each other (WAL, one connection each); writers take turns in the order they
//! asked, so a write from the UI thread waits for one transaction at most (`access`). Every multi-row change goes
//! through [`Store::write`], one transaction; long work (a catch-up) commits in several short ones.
//! Checkpoints run on a thread of the store's own, not inside a commit unless the log has grown far past its
//! threshold (`checkpoint`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, Transaction};

use crate::error::{Error, Result};

mod access;
mod checkpoint;
mod renew;

use access::{Readers, Turns};
use checkpoint::Checkpointer;
use renew::remove_file_if_any;

/// Migrations in order; index + 1 is the schema version they produce.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_consent_cache.sql"),
    include_str!("migrations/0003_knowledge_base.sql"),
    include_str!("migrations/0004_kb_search_scope.sql"),
    include_str!("migrations/0005_survey.sql"),
    include_str!("migrations/0006_attachments.sql"),
];

/// Schema version a fresh database has after `open`.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// File name of the database inside the storage directory.
pub const DB_FILE_NAME: &str = "chatflow.sqlite3";

/// SQLite's companion files of the database: write-ahead log, its shared-memory index, rollback journal.
pub const DB_COMPANION_SUFFIXES: &[&str] = &["-wal", "-shm", "-journal"];

/// The compacted copy [`Store::renew_files`] writes before it replaces the database.
const FRESH_FILE_NAME: &str = "chatflow.sqlite3.fresh";

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Whose turn it is to use `writer`.
    turns: Turns,
    readers: Readers,
    checkpoints: Arc<Checkpointer>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, migrating it to [`SCHEMA_VERSION`]. No network, a few ms.
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Storage {
            message: format!("cannot create storage directory {}: {e}", dir.display()),
        })?;
        let path = dir.join(DB_FILE_NAME);
        // A copy left by a renewal the process did not finish: the database beside it is whole (see `renew_files`).
        remove_file_if_any(&dir.join(FRESH_FILE_NAME))?;
        let checkpoints = Checkpointer::new(&path);
        let (writer, reader) = connect(&path, &checkpoints)?;
        let readers = Readers::new(&path, reader);
        Ok(Store { path, writer: Mutex::new(writer), turns: Turns::default(), readers, checkpoints })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction, committed when `f` returns `Ok`.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let _turn = self.turns.take();
        let mut conn = self.writer.lock().map_err(|_| Error::poisoned())?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a reader connection of its own (sees every committed write; never waits for another read).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.readers.read(f)
    }

    /// Writes waiting for their turn (tests of the code that writes in several transactions).
    #[cfg(test)]
    pub(crate) fn writers_waiting(&self) -> u64 {
        self.turns.waiting()
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| meta_get(c, key))
    }

    pub fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| meta_set(tx, key, value))
    }
}

/// The writer (WAL, migrated) and a first reader connection on the database file at `path`.
fn connect(path: &Path, checkpoints: &Arc<Checkpointer>) -> Result<(Connection, Connection)> {
    let mut writer = Connection::open(path)?;
    writer.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    // Checkpoints run on the store's own thread, not inside a commit (`checkpoint`, which has the one exception).
    checkpoints.install(&mut writer)?;
    configure_statements(&writer)?;
    migrate(&mut writer)?;
    Ok((writer, access::open_reader(path)?))
}

/// Tests that race threads on the store: polls until `cond` holds. The 30 s ceiling is for another thread to get
/// there, not a timing assertion.
#[cfg(test)]
pub(crate) fn wait_until(mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "the other thread never got there");
        std::thread::yield_now();
    }
}

/// Reads a meta value on a connection (or inside a transaction).
pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
}

/// Deletes a meta value inside an existing transaction.
pub fn meta_delete(tx: &Transaction<'_>, key: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?.execute([key])?;
    Ok(())
}

/// Deletes every meta value whose key starts with `prefix` (a capability's namespace, e.g. `visitor.`).
pub fn meta_delete_prefix(tx: &Transaction<'_>, prefix: &str) -> Result<()> {
    // `meta` holds a few dozen keys: a scan is cheaper than reasoning about the index.
    tx.execute("DELETE FROM meta WHERE substr(key, 1, length(?1)) = ?1", [prefix])?;
    Ok(())
}

/// Sets a meta value inside an existing transaction.
pub fn meta_set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// Brings the schema from its `user_version` to [`SCHEMA_VERSION`], one transaction per step.
fn migrate(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(Error::Storage {
            message: format!(
                "the local database has schema version {current}, newer than this SDK understands \
                 ({SCHEMA_VERSION}); it was written by a newer SDK version — update the SDK or clear the app's data"
            ),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as u32)?;
        tx.commit()?;
    }
    Ok(())
}

/// Query-planner stability: a cached statement keeps its plan whatever values are bound. Without it SQLite re-plans
/// (re-parses and re-compiles) a statement whenever a new value bound to a parameter *might* change the plan — a
/// `LIMIT ?`, a column compared to `?` — which cost more than the history read itself on every page. Our statements
/// are written for one good plan (see the plan tests in `messages.rs` and `kb/search.rs`).
///
/// The statement cache is sized for every statement of the hot paths (send, confirmation, catch-up, history, search)
/// so that they are compiled once per connection: rusqlite's default (16) evicted some of them.
fn configure_statements(conn: &Connection) -> Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

/// Cached prepared statements per connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The schema as SQLite describes it, for comparing databases.
    pub fn schema_of(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn fresh_open_reaches_the_latest_version_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let v: u32 = store.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        store.meta_set("k", "v1").unwrap();
        store.meta_set("k", "v2").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("v2"));
        let mode: String = store.read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn upgrading_from_every_older_version_matches_a_fresh_schema() {
        let fresh_dir = tempfile::tempdir().unwrap();
        let fresh = Store::open(fresh_dir.path()).unwrap();
        let expected = fresh.read(|c| Ok(schema_of(c))).unwrap();
        for start in 0..SCHEMA_VERSION {
            let dir = tempfile::tempdir().unwrap();
            {
                let conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
                for (i, sql) in MIGRATIONS.iter().take(start as usize).enumerate() {
                    conn.execute_batch(sql).unwrap();
                    conn.pragma_update(None, "user_version", (i + 1) as u32).unwrap();
                }
            }
            let upgraded = Store::open(dir.path()).unwrap();
            assert_eq!(upgraded.read(|c| Ok(schema_of(c))).unwrap(), expected, "upgrade from v{start}");
        }
    }

    #[test]
    fn a_newer_database_is_refused_with_an_actionable_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        }
        let err = Store::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("newer than this SDK"), "{err}");
    }

    #[test]
    fn a_failed_write_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let res: Result<()> = store.write(|tx| {
            meta_set(tx, "a", "1")?;
            Err(Error::Storage { message: "boom".into() })
        });
        assert!(res.is_err());
        assert_eq!(store.meta_get("a").unwrap(), None);
    }
}
