//! Test stores on the backend the run asks for: SQLite in a temp directory by default, or a fresh PostgreSQL
//! database when `CHATFLOW_TEST_POSTGRES=postgres://user@host:port` is set (the test command's `postgres` stage), so
//! the same domain tests run against both stores. Each PostgreSQL database is dropped with its `TestStore`.

use std::ops::Deref;
use std::sync::Arc;

use super::sqlite::test_support::chatflow_input;
pub use super::sqlite::test_support::visitor_msg;
use super::{AgentRecord, AppRecord, AppSeed, NewConversation, PostgresStore, SqliteStore, Store};

/// A store for one test, with what it needs to clean up.
pub struct TestStore {
    /// Always present until drop, which closes it before dropping the PostgreSQL database.
    store: Option<Arc<dyn Store>>,
    _dir: tempfile::TempDir,
    /// The cluster's base URL and the database's name.
    postgres: Option<(String, String)>,
}

impl Deref for TestStore {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        self.store.as_deref().expect("present until drop")
    }
}

impl TestStore {
    /// The store, shared (threads of a concurrency test).
    pub fn shared(&self) -> Arc<dyn Store> {
        Arc::clone(self.store.as_ref().expect("present until drop"))
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.postgres {
            // Close the pool's connections first, then drop the database.
            self.store = None;
            if let Ok(mut admin) = ::postgres::Client::connect(&format!("{base}/postgres"), ::postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// A migrated store with nothing in it.
pub fn empty() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    match std::env::var("CHATFLOW_TEST_POSTGRES").ok().filter(|v| !v.is_empty()) {
        None => {
            let store = SqliteStore::open(&dir.path().join("t.db")).expect("open SQLite");
            TestStore { store: Some(Arc::new(store)), _dir: dir, postgres: None }
        }
        Some(base) => {
            let name = format!("u_{}", uuid::Uuid::new_v4().simple());
            let mut admin = ::postgres::Client::connect(&format!("{base}/postgres"), ::postgres::NoTls)
                .expect("connect to the test cluster");
            admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create the test database");
            let store = PostgresStore::connect(&format!("{base}/{name}?pool_size=8")).expect("open PostgreSQL");
            TestStore { store: Some(Arc::new(store)), _dir: dir, postgres: Some((base, name)) }
        }
    }
}

/// The seed of the test stores: one app `app1`, one agent `ag1` (token hash `agenthash`) and one chatflow (id 1).
pub fn seed() -> AppSeed {
    AppSeed {
        app: AppRecord { id: "app1".into(), name: "App".into(), identity_secret: "s".into() },
        admin_token_hash: "adminhash".into(),
        agents: vec![(
            AgentRecord {
                id: "ag1".into(),
                app_id: "app1".into(),
                display_name: "Ann".into(),
                avatar_url: None,
                available: true,
            },
            "agenthash".into(),
        )],
        team_members: vec![],
        chatflows: vec![(Some(1), chatflow_input("Support"))],
    }
}

/// A store with [`seed`] applied.
pub fn store() -> TestStore {
    let s = empty();
    assert!(s.apply_app_seed(&seed(), 1).expect("seed"));
    s
}

/// Opens conversation `id` of `visitor` on chatflow 1 at `now`, as the domain does (routing, bot start).
pub fn open_conversation(s: &dyn Store, id: &str, visitor: &str, now: i64) {
    let new = NewConversation {
        id: id.into(),
        app_id: "app1".into(),
        chatflow_id: 1,
        visitor_id: visitor.into(),
        assignee_agent_id: None,
        now,
    };
    crate::domain::conversations::create(s, &new).expect("open the conversation");
}

/// [`store`] with visitor `v1` (token `t1`) and its conversation `c1` opened at `now`.
pub fn store_with_conversation(now: i64) -> TestStore {
    let s = store();
    s.create_visitor("app1", "v1", "t1", 1).expect("create the visitor");
    open_conversation(&*s, "c1", "v1", now);
    s
}
