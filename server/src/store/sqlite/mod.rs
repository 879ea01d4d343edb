//! The SQLite store: WAL mode, one writer connection (writes take turns on it, in IMMEDIATE transactions that the
//! writes arriving together share: `group.rs`; they never hit SQLITE_BUSY among themselves) and a few reader connections that see the last
//! committed state. Callers run these methods on the blocking pool.

mod accounts;
mod agent;
mod apps;
mod attachments;
mod bots;
mod conversations;
mod email;
mod error;
mod feed;
mod group;
mod inbox;
mod kb;
pub mod migrations;
mod push;
mod survey;
mod tickets;
mod tx;
mod visitors;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub(crate) use super::columns::*;
use super::StoreResult;

/// How many reader connections to keep.
const READERS: usize = 4;

pub struct SqliteStore {
    /// The single writer connection, shared by the writes that arrive together (group commit, `group.rs`).
    writer: group::Writer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Dropping it stops the checkpoint thread.
    _checkpointer: mpsc::Sender<()>,
    /// The agents' feed log: retention and the commit listener.
    feed: feed::FeedConfig,
    /// Wakes the push worker after a commit that queued pushes.
    push_listener: Mutex<Option<crate::store::push::PushListener>>,
}

/// How often the background thread checkpoints the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the WAL off the write path: commits never pay for a checkpoint (and its fsync) while they hold the
/// writer. PASSIVE never blocks the writer or readers. SQLite's own auto-checkpoint stays on, at a high mark, as a
/// safety net should this thread fall behind.
fn spawn_checkpointer(path: &Path) -> StoreResult<mpsc::Sender<()>> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    let (tx, rx) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(CHECKPOINT_EVERY) {
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the checkpoint thread; SQLite auto-checkpoints instead");
    }
    Ok(tx)
}

/// Locks a mutex even if a previous holder panicked: a panic inside a closure drops its `Transaction`, which rolls
/// back, so the connection behind a poisoned lock is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // NORMAL is durable across application crashes in WAL mode; only an OS crash may lose the last commits.
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and runs the migrations.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = Connection::open(path)?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; readers will wait for the writer");
        }
        configure(&writer)?;
        migrations::migrate(&mut writer)?;
        writer.execute_batch("PRAGMA wal_autocheckpoint = 10000;")?;
        let checkpointer = spawn_checkpointer(path)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&conn)?;
            readers.push(Mutex::new(conn));
        }
        Ok(Self {
            writer: group::Writer::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            _checkpointer: checkpointer,
            feed: feed::FeedConfig::default(),
            push_listener: Mutex::new(None),
        })
    }

    /// Runs `f` in a read transaction on a free reader connection (a consistent snapshot for multi-query reads).
    fn read<R>(&self, f: impl FnOnce(&Connection) -> StoreResult<R>) -> StoreResult<R> {
        let guard = self.readers.iter().find_map(|m| m.try_lock().ok()).unwrap_or_else(|| {
            let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
            lock(&self.readers[i])
        });
        let tx = guard.unchecked_transaction()?;
        let out = f(&tx)?;
        tx.finish()?;
        Ok(out)
    }

    /// Runs `f` in the shared write transaction (group commit); returns once its changes are committed. An error
    /// rolls back `f`'s changes only.
    fn write<R>(&self, f: impl FnOnce(&Connection) -> StoreResult<R>) -> StoreResult<R> {
        self.group_write(|conn| Ok(group::Outcome::Keep(f(conn)?, group::AfterCommit::default())))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use chatflow_protocol::ChatflowInput;

    pub fn chatflow_input(name: &str) -> ChatflowInput {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "kind": "live_chat",
            "mobile_tags": ["support"],
            "header": {"display_name": "Team"},
            "email_capture": {"mode": "never"},
            "routing": {"mode": "unassigned"},
            "availability": {"mode": "always", "when_away": "away_message"},
            "knowledge_base": {"enabled": false},
            "consent": {"process_data": {"mode": "off"}}
        }))
        .unwrap()
    }

    /// A store in a temp dir with one app `app1`, one agent `ag1` and one chatflow (id 1).
    pub fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let seed = crate::store::test_backends::seed();
        use crate::store::AppStore;
        assert!(store.apply_app_seed(&seed, 1).unwrap());
        (dir, store)
    }

    /// Opens conversation `id` of `visitor` on chatflow 1 at `now`, as the domain does (routing, bot start).
    pub fn open_conversation(s: &SqliteStore, id: &str, visitor: &str, now: i64) {
        let new = crate::store::NewConversation {
            id: id.into(),
            app_id: "app1".into(),
            chatflow_id: 1,
            visitor_id: visitor.into(),
            assignee_agent_id: None,
            now,
        };
        crate::domain::conversations::create(s, &new).unwrap();
    }

    /// [`store`] with visitor `v1` (token `t1`) and its conversation `c1` opened at `now`.
    pub fn store_with_conversation(now: i64) -> (tempfile::TempDir, SqliteStore) {
        use crate::store::VisitorStore;
        let (dir, s) = store();
        s.create_visitor("app1", "v1", "t1", 1).unwrap();
        open_conversation(&s, "c1", "v1", now);
        (dir, s)
    }

    /// A message of visitor `v1` in `c1` at 2, idempotent by `client_id`.
    pub fn visitor_msg(client_id: &str, body: &str) -> crate::domain::messages::NewMessage {
        use chatflow_protocol::{Author, AuthorKind};
        crate::domain::messages::NewMessage {
            conversation_id: "c1".into(),
            client_message_id: Some(client_id.into()),
            author: Author { kind: AuthorKind::Visitor, id: Some("v1".into()), display_name: None, avatar_url: None },
            body: body.into(),
            quick_reply_id: None,
            quick_replies: vec![],
            now: 2,
            owner_visitor_id: Some("v1".into()),
            reopen: true,
            require_consent_hash: None,
            assign_if_unassigned: None,
            survey: None,
        }
    }
}
