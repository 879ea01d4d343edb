//! Numbered schema migrations. `PRAGMA user_version` records how many have run; each runs once, in its own
//! transaction, in order. Never edit a shipped migration: append a new one.

use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: apps, agents, chatflows, visitors, conversations, messages, consent records.
    r#"
    CREATE TABLE apps (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        identity_secret TEXT NOT NULL,
        admin_token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        display_name TEXT NOT NULL,
        avatar_url TEXT,
        available INTEGER NOT NULL DEFAULT 0,
        token_hash TEXT NOT NULL UNIQUE
    );
    CREATE INDEX agents_app ON agents(app_id);
    CREATE TABLE team_members (
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        team_id TEXT NOT NULL,
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        PRIMARY KEY (app_id, team_id, agent_id)
    );
    -- The chatflow's settings are stored as the wire JSON (ChatflowInput): the protocol type is the schema.
    CREATE TABLE chatflows (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        config TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        routing_cursor INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX chatflows_app ON chatflows(app_id, id);
    CREATE TABLE visitors (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        user_id TEXT,
        email TEXT,
        properties TEXT NOT NULL DEFAULT '{}',
        device TEXT,
        push_token TEXT,
        push_platform TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX visitors_user ON visitors(app_id, user_id) WHERE user_id IS NOT NULL;
    -- Only hashes of visitor tokens are stored.
    CREATE TABLE visitor_tokens (
        token_hash TEXT PRIMARY KEY,
        visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX visitor_tokens_visitor ON visitor_tokens(visitor_id);
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        chatflow_id INTEGER NOT NULL,
        visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        channel TEXT NOT NULL,
        assignee_agent_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        agent_read_seq INTEGER NOT NULL DEFAULT 0,
        visitor_read_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX conversations_visitor ON conversations(visitor_id, created_at);
    CREATE INDEX conversations_app ON conversations(app_id, updated_at);
    -- (conversation, seq) is the identity of a message; (conversation, client id) makes sends idempotent.
    CREATE TABLE messages (
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        client_message_id TEXT,
        author_kind TEXT NOT NULL,
        author_id TEXT,
        author_name TEXT,
        author_avatar TEXT,
        body TEXT NOT NULL,
        quick_replies TEXT,
        quick_reply_id TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_client_id ON messages(conversation_id, client_message_id)
        WHERE client_message_id IS NOT NULL;
    CREATE TABLE consent_records (
        visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
        record_id TEXT NOT NULL,
        chatflow_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        decision TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        subscription_type TEXT,
        decided_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (visitor_id, record_id)
    );
    CREATE INDEX consent_records_gate ON consent_records(visitor_id, chatflow_id, kind, text_hash);
    "#,
    // 2: agent inbox (who handles a conversation, blocked senders, spam) and help desk (tickets).
    include_str!("migrations/0002_inbox.sql"),
    // 3: bot sessions; knowledge-base articles, tombstones, change counter and full-text index.
    include_str!("migrations/0003_bots_kb.sql"),
    // 4: agent accounts (email, password hash, disabled), teams, browser sessions.
    include_str!("migrations/0004_agent_accounts.sql"),
    // 5: the agents' feed log, internal notes, canned responses, team assignment. (Independent of 4.)
    include_str!("migrations/0005_agent_feed.sql"),
    // 6: push tokens per device, per-app push credentials, the push queue.
    include_str!("migrations/0006_push.sql"),
    // 7: email over SMTP: per-app SMTP settings, the email outbox. (Number 6 is the push queue; independent.)
    include_str!("migrations/0007_email.sql"),
    // 8: satisfaction surveys (a message's survey part, one row per survey with its answer).
    include_str!("migrations/0008_survey.sql"),
    // 9: attachments: uploads in progress, stored files, the files a message carries.
    include_str!("migrations/0009_attachments.sql"),
];

/// Brings `conn` to the latest schema. Refuses a database written by a newer server.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let known = MIGRATIONS.len() as i64;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > known {
        return Err(StoreError::SchemaTooNew { found: version, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // user_version cannot take a bound parameter; `i + 1` is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_reaches_the_latest_version_and_migrating_again_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::SchemaTooNew { found: 99, .. })));
    }
}
