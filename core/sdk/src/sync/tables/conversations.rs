//! Typed queries on the `conversations` table: the visitor's conversations with their sync cursor (`synced_seq`:
//! every message `1..=synced_seq` is stored), read markers and unread counts.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use chatflow_protocol::{AgentRef, Conversation, ConversationStatus};

use crate::error::Result;
use crate::model::ChatConversation;

/// Per-conversation sync position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub conversation_id: String,
    pub synced_seq: u64,
    pub last_seq: u64,
}

fn status_str(s: ConversationStatus) -> &'static str {
    match s {
        ConversationStatus::Open => "open",
        ConversationStatus::Closed => "closed",
    }
}

const SELECT: &str = "SELECT c.id, c.chatflow_id, c.status, c.assignee_json, c.created_at, c.last_seq, c.synced_seq,
        c.read_seq, c.agent_read_seq,
        (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.seq > c.read_seq
            AND m.author_kind <> 'visitor')
     FROM conversations c";

fn conversation_of(row: &Row<'_>) -> rusqlite::Result<ChatConversation> {
    let status: String = row.get(2)?;
    let assignee: Option<String> = row.get(3)?;
    Ok(ChatConversation {
        id: row.get(0)?,
        chatflow_id: row.get(1)?,
        status: if status == "closed" { ConversationStatus::Closed } else { ConversationStatus::Open },
        // Written by this module from `AgentRef`; unreadable means "unknown assignee", not an error.
        assignee: assignee.and_then(|j| serde_json::from_str(&j).ok()),
        created_at: row.get(4)?,
        last_seq: row.get(5)?,
        synced_seq: row.get(6)?,
        read_seq: row.get(7)?,
        agent_read_seq: row.get(8)?,
        unread_count: row.get(9)?,
    })
}

/// Inserts or refreshes a conversation from the server. Markers only move forward; the cursor is untouched.
pub fn upsert(tx: &Transaction<'_>, c: &Conversation) -> Result<()> {
    let assignee = c.assignee.as_ref().map(serde_json::to_string).transpose()?;
    tx.prepare_cached(
        "INSERT INTO conversations (id, chatflow_id, status, assignee_json, created_at, last_seq, read_seq,
                                    read_seq_synced, agent_read_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET
            chatflow_id = excluded.chatflow_id, status = excluded.status, assignee_json = excluded.assignee_json,
            created_at = excluded.created_at, last_seq = MAX(last_seq, excluded.last_seq),
            read_seq = MAX(read_seq, excluded.read_seq),
            read_seq_synced = MAX(read_seq_synced, excluded.read_seq),
            agent_read_seq = MAX(agent_read_seq, excluded.agent_read_seq)",
    )?
    .execute(params![
        c.id,
        c.chatflow_id,
        status_str(c.status),
        assignee,
        c.created_at,
        c.last_seq as i64,
        c.visitor_read_seq as i64,
        c.agent_read_seq as i64
    ])?;
    Ok(())
}

/// Makes sure a row exists for a conversation first seen through a message (details follow with the next list).
pub fn ensure(tx: &Transaction<'_>, id: &str, created_at: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO conversations (id, chatflow_id, status, created_at) VALUES (?1, 0, 'open', ?2)
         ON CONFLICT(id) DO NOTHING",
    )?
    .execute(params![id, created_at])?;
    Ok(())
}

/// The chatflow of a stored conversation (cheap: no unread count), `None` when the conversation is unknown.
pub fn chatflow_of(conn: &Connection, id: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT chatflow_id FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// The highest `seq` known to exist on the server for a stored conversation (cheap: no unread count), `None` when
/// the conversation is unknown.
pub fn last_seq_of(conn: &Connection, id: &str) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached("SELECT last_seq FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<ChatConversation>> {
    Ok(conn.prepare_cached(&format!("{SELECT} WHERE c.id = ?1"))?.query_row([id], conversation_of).optional()?)
}

/// Every conversation, newest first.
pub fn list(conn: &Connection) -> Result<Vec<ChatConversation>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY c.created_at DESC, c.id"))?;
    let rows = stmt.query_map([], conversation_of)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sync positions of every conversation.
pub fn cursors(conn: &Connection) -> Result<Vec<Cursor>> {
    let mut stmt = conn.prepare_cached("SELECT id, synced_seq, last_seq FROM conversations ORDER BY id")?;
    let rows =
        stmt.query_map([], |r| Ok(Cursor { conversation_id: r.get(0)?, synced_seq: r.get(1)?, last_seq: r.get(2)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Raises the highest known seq (from a page's `last_seq` or a live frame).
pub fn raise_last_seq(tx: &Transaction<'_>, id: &str, last_seq: u64) -> Result<()> {
    tx.prepare_cached("UPDATE conversations SET last_seq = MAX(last_seq, ?2) WHERE id = ?1")?
        .execute(params![id, last_seq as i64])?;
    Ok(())
}

/// The visitor read up to `seq`: moves the marker forward (never back). Returns true when it moved and the server
/// must be told.
pub fn set_read(tx: &Transaction<'_>, id: &str, seq: u64) -> Result<bool> {
    Ok(tx
        .prepare_cached("UPDATE conversations SET read_seq = ?2 WHERE id = ?1 AND read_seq < ?2")?
        .execute(params![id, seq as i64])?
        > 0)
}

/// The server acknowledged the visitor's read marker up to `seq`.
pub fn set_read_synced(tx: &Transaction<'_>, id: &str, seq: u64) -> Result<()> {
    tx.prepare_cached("UPDATE conversations SET read_seq_synced = MAX(read_seq_synced, ?2) WHERE id = ?1")?
        .execute(params![id, seq as i64])?;
    Ok(())
}

/// Read markers the server does not know yet: `(conversation, read_seq)`.
pub fn unsynced_read_markers(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached("SELECT id, read_seq FROM conversations WHERE read_seq > read_seq_synced")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The team read up to `seq`.
pub fn set_agent_read(tx: &Transaction<'_>, id: &str, seq: u64) -> Result<()> {
    tx.prepare_cached("UPDATE conversations SET agent_read_seq = MAX(agent_read_seq, ?2) WHERE id = ?1")?
        .execute(params![id, seq as i64])?;
    Ok(())
}

pub fn set_status(tx: &Transaction<'_>, id: &str, status: ConversationStatus) -> Result<()> {
    tx.prepare_cached("UPDATE conversations SET status = ?2 WHERE id = ?1")?
        .execute(params![id, status_str(status)])?;
    Ok(())
}

pub fn set_assignee(tx: &Transaction<'_>, id: &str, agent: Option<&AgentRef>) -> Result<()> {
    let json = agent.map(serde_json::to_string).transpose()?;
    tx.prepare_cached("UPDATE conversations SET assignee_json = ?2 WHERE id = ?1")?.execute(params![id, json])?;
    Ok(())
}

/// Unread counts per conversation (conversations with none are left out) and their total.
pub fn unread_counts(conn: &Connection) -> Result<(Vec<(String, i32)>, i32)> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.seq > c.read_seq
                          AND m.author_kind <> 'visitor') AS n
         FROM conversations c ORDER BY c.id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, crate::model::count(r.get::<_, i64>(1)?))))?;
    let mut counts = Vec::new();
    let mut total: i32 = 0;
    for row in rows {
        let (id, n) = row?;
        if n > 0 {
            total = total.saturating_add(n);
            counts.push((id, n));
        }
    }
    Ok((counts, total))
}
