//! Numbered schema migrations for PostgreSQL. The `schema_version` table records how many have run; the pending ones
//! run in order in one transaction (DDL is transactional here) under an advisory lock, so that several nodes starting
//! together migrate once.
//! Never edit a shipped migration: append a new one.

use ::postgres::Client;

use crate::store::{StoreError, StoreResult};

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the whole schema (apps to attachments), as the SQLite store has it at its version 9.
    include_str!("migrations/0001_schema.sql"),
];

/// Any fixed number: the key of the advisory lock that serializes migrations across nodes.
const MIGRATION_LOCK: i64 = 0x6368_6174_666c_6f77; // "chatflow"

/// Brings the database to the latest schema. Refuses a database written by a newer server.
pub fn migrate(client: &mut Client) -> StoreResult<()> {
    let known = MIGRATIONS.len() as i64;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
    let version: i64 = match tx.query_opt("SELECT version FROM schema_version", &[])? {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[])?;
            0
        }
    };
    if version > known {
        return Err(StoreError::SchemaTooNew { found: version, known });
    }
    // A failing migration rolls back everything this start applied; the next start tries again.
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql)?;
        tx.execute("UPDATE schema_version SET version = $1", &[&(i as i64 + 1)])?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}
