//! Typed queries on the `outbox` table: the persisted send queue (rules in `sync::queue`).
//!
//! Rows are delivered in `id` order; `payload` is the JSON the transport sends (`SendMessageRequest` for messages,
//! `ConsentRecordInput` for consent records). The persisted states are `queued` and `wedged`; "sending" lives only in
//! memory (see `sync::send_queue`), so a restart simply re-sends with the same client id.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use chatflow_protocol::ErrorCode;

use crate::error::{Error, Result};
use crate::sync::queue::{Effect, Entry, EntryState, Lane, OutboxKind};

const COLUMNS: &str =
    "id, kind, conversation_id, client_id, state, attempts, next_attempt_at, error_code, error_message";

fn entry_of(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let kind: String = row.get(1)?;
    let state: String = row.get(4)?;
    let code: Option<String> = row.get(7)?;
    let message: Option<String> = row.get(8)?;
    let state = match state.as_str() {
        "wedged" => EntryState::Wedged {
            code: code.as_deref().and_then(parse_code).unwrap_or(ErrorCode::Internal),
            message: message.unwrap_or_default(),
        },
        _ => EntryState::Queued,
    };
    Ok(Entry {
        id: row.get(0)?,
        // The consent layer writes `consent`; anything unknown is treated as a message so it is never dropped.
        kind: OutboxKind::parse(&kind).unwrap_or(OutboxKind::Message),
        conversation_id: row.get(2)?,
        client_id: row.get(3)?,
        state,
        attempts: row.get(5)?,
        next_attempt_at: row.get(6)?,
    })
}

pub(crate) fn parse_code(s: &str) -> Option<ErrorCode> {
    ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
}

/// Every queued entry may be tried now (the connection came back): their backoff is forgotten.
pub fn retry_all_now(tx: &Transaction<'_>) -> Result<()> {
    tx.prepare_cached("UPDATE outbox SET next_attempt_at = 0 WHERE state = 'queued'")?.execute([])?;
    Ok(())
}

/// Appends an entry; returns its id (its place in the queue).
pub fn insert(
    tx: &Transaction<'_>,
    kind: OutboxKind,
    conversation_id: Option<&str>,
    client_id: &str,
    payload_json: &str,
    now_ms: i64,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO outbox (kind, conversation_id, client_id, payload, state, created_at)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
    )?
    .execute(params![kind.as_str(), conversation_id, client_id, payload_json, now_ms])?;
    Ok(tx.last_insert_rowid())
}

/// The entries that decide what `lane` does next: its first queued entry and, for a conversation, the earliest
/// queued consent record (which must go first when it is older). Returned in `id` order for `queue::next`.
pub fn lane_candidates(conn: &Connection, lane: &Lane) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity(2);
    let consent = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM outbox WHERE kind = 'consent' AND state = 'queued' ORDER BY id LIMIT 1"),
            [],
            entry_of,
        )
        .optional()?;
    match lane {
        Lane::Consents => out.extend(consent),
        Lane::Conversation(c) => {
            let head = conn
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM outbox WHERE conversation_id = ?1 AND kind <> 'consent' \
                         AND state = 'queued' ORDER BY id LIMIT 1"
                    ),
                    [c],
                    entry_of,
                )
                .optional()?;
            out.extend(consent);
            out.extend(head);
        }
    }
    out.sort_by_key(|e| e.id);
    Ok(out)
}

/// One entry and its payload, by client id.
pub fn get(conn: &Connection, client_id: &str) -> Result<Option<(Entry, String)>> {
    Ok(conn
        .query_row(&format!("SELECT {COLUMNS}, payload FROM outbox WHERE client_id = ?1"), [client_id], |r| {
            Ok((entry_of(r)?, r.get::<_, String>(9)?))
        })
        .optional()?)
}

/// Is entry `id` still in the outbox?
pub fn exists(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.prepare_cached("SELECT 1 FROM outbox WHERE id = ?1")?.query_row([id], |_| Ok(())).optional()?.is_some())
}

/// Every entry in queue order.
pub fn all(conn: &Connection) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"))?;
    let rows = stmt.query_map([], entry_of)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The lanes that have at least one queued entry (what a freshly opened client must resume).
pub fn lanes_with_work(conn: &Connection) -> Result<Vec<Lane>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT CASE WHEN kind = 'consent' THEN NULL ELSE conversation_id END FROM outbox
         WHERE state = 'queued'",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, Option<String>>(0))?;
    let mut lanes = Vec::new();
    for row in rows {
        lanes.push(match row? {
            Some(c) => Lane::Conversation(c),
            None => Lane::Consents,
        });
    }
    lanes.sort();
    Ok(lanes)
}

/// Applies the outcome of an attempt to entry `id`. Returns false when the row is gone (deleted meanwhile, or
/// confirmed by a message that arrived through sync).
pub fn apply_effect(tx: &Transaction<'_>, id: i64, effect: &Effect) -> Result<bool> {
    let n = match effect {
        Effect::Remove => tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?.execute([id])?,
        Effect::Retry { attempts, next_attempt_at } => tx
            .prepare_cached("UPDATE outbox SET attempts = ?2, next_attempt_at = ?3 WHERE id = ?1")?
            .execute(params![id, attempts, next_attempt_at])?,
        Effect::Hold => {
            tx.prepare_cached("SELECT COUNT(*) FROM outbox WHERE id = ?1")?.query_row([id], |r| r.get::<_, usize>(0))?
        }
        Effect::Wedge { code, message } => tx
            .prepare_cached("UPDATE outbox SET state = 'wedged', error_code = ?2, error_message = ?3 WHERE id = ?1")?
            .execute(params![id, code.as_str(), message])?,
    };
    Ok(n > 0)
}

/// Back to the queue now (manual retry or edit): clears the error and the backoff. A *wedged* entry also moves to
/// the end of the queue: it goes after what was queued since (e.g. the consent record the refusal asked for), and
/// after the messages that were delivered while it waited anyway. A queued entry, and any consent record, keeps its
/// place (re-inserting a consent row would re-run the consent cache trigger with a stale decision). Returns the
/// entry, or `None`.
pub fn requeue(tx: &Transaction<'_>, client_id: &str) -> Result<Option<Entry>> {
    let Some((entry, _)) = get(tx, client_id)? else { return Ok(None) };
    if matches!(entry.state, EntryState::Wedged { .. }) && entry.kind == OutboxKind::Message {
        // A new row id is a new place in the queue; delete first (client_id is unique), then insert the copy.
        let row: (String, Option<String>, String, i64) = tx
            .prepare_cached("SELECT kind, conversation_id, payload, created_at FROM outbox WHERE client_id = ?1")?
            .query_row([client_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        tx.prepare_cached("DELETE FROM outbox WHERE client_id = ?1")?.execute([client_id])?;
        tx.prepare_cached(
            "INSERT INTO outbox (kind, conversation_id, client_id, payload, state, created_at)
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5)",
        )?
        .execute(params![row.0, row.1, client_id, row.2, row.3])?;
    } else {
        tx.prepare_cached(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = 0, error_code = NULL,
             error_message = NULL WHERE client_id = ?1",
        )?
        .execute([client_id])?;
    }
    Ok(get(tx, client_id)?.map(|(e, _)| e))
}

/// Replaces the payload of an entry (edit); the caller re-queues it.
pub fn set_payload(tx: &Transaction<'_>, client_id: &str, payload_json: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("UPDATE outbox SET payload = ?2 WHERE client_id = ?1")?
        .execute(params![client_id, payload_json])?
        > 0)
}

/// Removes the entry with this client id (delivered through another path, or deleted by the app).
pub fn remove_by_client_id(tx: &Transaction<'_>, client_id: &str) -> Result<bool> {
    Ok(tx.prepare_cached("DELETE FROM outbox WHERE client_id = ?1")?.execute([client_id])? > 0)
}

/// Number of entries, by state, for diagnostics and tests.
pub fn count(conn: &Connection, state: &str) -> Result<u64> {
    Ok(conn.prepare_cached("SELECT COUNT(*) FROM outbox WHERE state = ?1")?.query_row([state], |r| r.get(0))?)
}

/// A payload stored by this module could not be read back: the row was written by something else.
pub(crate) fn bad_payload(client_id: &str, err: serde_json::Error) -> Error {
    Error::Storage { message: format!("outbox entry {client_id} has an unreadable payload ({err}); delete it") }
}
