//! Which database the test servers use. By default each gets a SQLite file in its temp directory; with
//! `CHATFLOW_TEST_POSTGRES=postgres://user@host:port` (the `postgres` stage of the test command sets it, from
//! `scripts/pg.sh`) each gets a PostgreSQL database of its own on that cluster instead. The database's name is derived
//! from the SQLite path the test chose, so a test that restarts a server "on the same file" gets the same database.
//!
//! Tests that look inside the database use [`rows`] and [`execute`]: the same SQL on either backend (`?1` parameters,
//! rewritten `$1` for PostgreSQL). PostgreSQL calls run on a thread of their own: the synchronous client may not run
//! inside the tests' async runtime.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The cluster's base URL when the suite runs against PostgreSQL.
pub fn postgres_base() -> Option<String> {
    std::env::var("CHATFLOW_TEST_POSTGRES").ok().filter(|v| !v.is_empty())
}

fn database_name(db: &Path) -> String {
    let digest = Sha256::digest(db.to_string_lossy().as_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("t_{hex}")
}

/// Runs `f` with a connection to the PostgreSQL database `name`, on a plain thread.
fn with_postgres<R: Send + 'static>(
    base: &str,
    name: &str,
    f: impl FnOnce(&mut postgres::Client) -> R + Send + 'static,
) -> R {
    let url = format!("{base}/{name}");
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect to the test cluster");
        f(&mut client)
    })
    .join()
    .expect("the database call panicked")
}

/// The server flags for the database that stands for `db`: `--db FILE`, or `--database-url` with the attachments'
/// directory beside the file (PostgreSQL holds no files). Creates the PostgreSQL database on first use.
pub fn server_args(db: &Path) -> Vec<String> {
    let Some(base) = postgres_base() else { return vec!["--db".into(), db.display().to_string()] };
    let name = database_name(db);
    let create = name.clone();
    with_postgres(&base, "postgres", move |admin| {
        let exists = admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&create]).unwrap().is_some();
        if !exists {
            admin.batch_execute(&format!("CREATE DATABASE {create}")).unwrap();
        }
    });
    vec![
        "--database-url".into(),
        format!("{base}/{name}?pool_size=4"),
        "--blob-dir".into(),
        db.with_extension("files").display().to_string(),
    ]
}

/// A value read by [`rows`]: flags read as 0/1 on both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Int(i64),
    Text(String),
    Null,
}

impl Cell {
    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(v) => *v,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Cell::Text(v) => v.clone(),
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// `?1, ?2, …` → `$1, $2, …`.
fn dollar_params(sql: &str) -> String {
    sql.replace('?', "$")
}

/// The rows `sql` selects from the database standing for `db` (text parameters).
pub fn rows(db: &Path, sql: &str, params: &[&str]) -> Vec<Vec<Cell>> {
    match postgres_base() {
        None => {
            let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
            let mut stmt = conn.prepare(sql).unwrap();
            let n = stmt.column_count();
            stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Integer(v) => Cell::Int(v),
                            rusqlite::types::ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                            rusqlite::types::ValueRef::Null => Cell::Null,
                            other => panic!("unexpected SQLite value {other:?}"),
                        })
                    })
                    .collect()
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        }
        Some(base) => {
            let (sql, params) = (dollar_params(sql), params.iter().map(|p| p.to_string()).collect::<Vec<_>>());
            with_postgres(&base, &database_name(db), move |c| {
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
                c.query(&sql, &refs)
                    .unwrap()
                    .iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| {
                                use postgres::types::Type;
                                let ty = r.columns()[i].type_().clone();
                                if ty == Type::INT8 {
                                    r.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int)
                                } else if ty == Type::INT4 {
                                    r.get::<_, Option<i32>>(i).map_or(Cell::Null, |v| Cell::Int(v.into()))
                                } else if ty == Type::BOOL {
                                    r.get::<_, Option<bool>>(i).map_or(Cell::Null, |v| Cell::Int(v.into()))
                                } else {
                                    r.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text)
                                }
                            })
                            .collect()
                    })
                    .collect()
            })
        }
    }
}

/// Runs a write on the database standing for `db` (text parameters), as a test that fakes a state does.
pub fn execute(db: &Path, sql: &str, params: &[&str]) {
    match postgres_base() {
        None => {
            let conn = rusqlite::Connection::open(db).unwrap();
            conn.execute(sql, rusqlite::params_from_iter(params.iter())).unwrap();
        }
        Some(base) => {
            let (sql, params) = (dollar_params(sql), params.iter().map(|p| p.to_string()).collect::<Vec<_>>());
            with_postgres(&base, &database_name(db), move |c| {
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
                c.execute(&sql, &refs).unwrap();
            });
        }
    }
}

/// Row counts of every table of the PostgreSQL database standing for `db`, with fingerprints of the mutable columns
/// (the same keys as the SQLite version, so "nothing was written" checks read the same).
pub fn postgres_table_counts(base: &str, db: &Path) -> BTreeMap<String, i64> {
    with_postgres(base, &database_name(db), |c| {
        let tables: Vec<String> = c
            .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = BTreeMap::new();
        for t in tables {
            let n: i64 = c.query_one(&format!("SELECT COUNT(*) FROM \"{t}\""), &[]).unwrap().get(0);
            out.insert(t, n);
        }
        let mut fp = |sql: &str| -> String { c.query_one(sql, &[]).unwrap().get(0) };
        let conversations = fp("SELECT COALESCE(string_agg(id || status || last_seq || visitor_read_seq || \
             agent_read_seq || COALESCE(assignee_agent_id, ''), '' ORDER BY id), '') FROM conversations");
        out.insert(format!("conversations_fp:{conversations}"), 0);
        let visitors = fp("SELECT COALESCE(string_agg(id || COALESCE(user_id, '') || properties || \
             COALESCE(device, ''), '' ORDER BY id), '') FROM visitors");
        out.insert(format!("visitors_fp:{visitors}"), 0);
        let chatflows =
            fp("SELECT COALESCE(string_agg(id || config || updated_at, '' ORDER BY id), '') FROM chatflows");
        out.insert(format!("chatflows_fp:{}", chatflows.len()), 0);
        out
    })
}
