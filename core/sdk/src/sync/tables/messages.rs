//! Typed queries on the `messages` table: server-confirmed messages (keyed by `(conversation_id, seq)`) and local
//! echoes of queued sends (`seq` NULL, keyed by `client_message_id`).
//!
//! Applying a server message is an upsert: by client message id first (it confirms a local echo), then by
//! `(conversation, seq)`. Applying the same message twice changes nothing, so catch-up, backlog, live frames and acks
//! may overlap freely.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use chatflow_protocol::{Author, AuthorKind, ErrorCode, Message, MessageSurvey, SurveyPrompt};

use crate::model::{ChatMessage, MessageState};

use super::{conversations, outbox};
use crate::attachments::MessageAttachment;
use crate::error::Result;

pub(crate) fn author_kind_str(kind: AuthorKind) -> &'static str {
    match kind {
        AuthorKind::Visitor => "visitor",
        AuthorKind::Agent => "agent",
        AuthorKind::Bot => "bot",
        AuthorKind::System => "system",
    }
}

fn parse_author_kind(s: &str) -> AuthorKind {
    match s {
        "visitor" => AuthorKind::Visitor,
        "agent" => AuthorKind::Agent,
        "bot" => AuthorKind::Bot,
        _ => AuthorKind::System,
    }
}

/// The columns `message_of` reads, as a macro so that statements can be `concat!`ed at compile time.
macro_rules! columns {
    () => {
        "m.local_id, m.conversation_id, m.seq, m.client_message_id, m.author_kind, m.author_id, \
         m.author_name, m.author_avatar, m.body, m.quick_replies, m.quick_reply_id, m.created_at, m.state, \
         o.error_code, o.error_message, m.survey, m.attachments"
    };
}
const COLUMNS: &str = columns!();

// Confirmed messages have no outbox row: the join only gives `message_of` its columns.
const PAGE_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM messages m LEFT JOIN outbox o ON 0
     WHERE m.conversation_id = ?1 AND m.seq IS NOT NULL AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3"
);
const PENDING_OF_CONVERSATION_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM messages m LEFT JOIN outbox o ON o.client_id = m.client_message_id
     WHERE m.conversation_id = ?1 AND m.seq IS NULL ORDER BY IFNULL(o.id, 0), m.local_id"
);
// Through the conversations (`CROSS JOIN` keeps them the outer loop): each one's echoes are a seek of
// `(conversation_id, seq IS NULL)`, where `seq IS NULL` alone scanned every message stored (4 ms for 20,000).
const PENDING_ALL_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM conversations c CROSS JOIN messages m ON m.conversation_id = c.id AND m.seq IS NULL
     LEFT JOIN outbox o ON o.client_id = m.client_message_id
     ORDER BY IFNULL(o.id, 0), m.local_id"
);

fn message_of(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    let kind: String = row.get(4)?;
    let replies: Option<String> = row.get(9)?;
    let state: String = row.get(12)?;
    let code: Option<String> = row.get(13)?;
    let state = match state.as_str() {
        "sent" => MessageState::Sent,
        "wedged" => MessageState::Wedged {
            code: code.as_deref().and_then(outbox::parse_code).unwrap_or(ErrorCode::Internal),
            message: row.get::<_, Option<String>>(14)?.unwrap_or_default(),
        },
        _ => MessageState::Queued,
    };
    Ok(ChatMessage {
        local_id: row.get(0)?,
        conversation_id: row.get(1)?,
        seq: row.get(2)?,
        client_message_id: row.get(3)?,
        author: Author {
            kind: parse_author_kind(&kind),
            id: row.get(5)?,
            display_name: row.get(6)?,
            avatar_url: row.get(7)?,
        },
        body: row.get(8)?,
        // Written by this module from `Vec<QuickReply>`; an unreadable value only loses the buttons.
        quick_replies: replies.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
        quick_reply_id: row.get(10)?,
        created_at: row.get(11)?,
        state,
        // Written by this module; an unreadable value (a newer kind of part) leaves the plain message.
        survey: row
            .get::<_, Option<String>>(15)?
            .and_then(|j| serde_json::from_str::<MessageSurvey>(&j).ok())
            .map(|s| (&s).into()),
        // Written by this module; an unreadable value leaves the message without its files rather than failing.
        attachments: row.get::<_, Option<String>>(16)?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
    })
}

/// Inserts the local echo of a message the visitor is sending.
#[allow(clippy::too_many_arguments)]
pub fn insert_local_echo(
    tx: &Transaction<'_>,
    conversation_id: &str,
    client_message_id: &str,
    body: &str,
    quick_reply_id: Option<&str>,
    survey: Option<&MessageSurvey>,
    visitor_id: Option<&str>,
    attachments: &[MessageAttachment],
    now_ms: i64,
) -> Result<ChatMessage> {
    let survey_json = survey.map(serde_json::to_string).transpose()?;
    let files = attachments_json(attachments)?;
    tx.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, client_message_id, author_kind, author_id, body,
                               quick_reply_id, created_at, state, survey, attachments)
         VALUES (?1, NULL, ?2, 'visitor', ?3, ?4, ?5, ?6, 'queued', ?7, ?8)",
    )?
    .execute(params![
        conversation_id,
        client_message_id,
        visitor_id,
        body,
        quick_reply_id,
        now_ms,
        survey_json,
        files
    ])?;
    Ok(ChatMessage {
        local_id: tx.last_insert_rowid(),
        conversation_id: conversation_id.to_owned(),
        seq: None,
        client_message_id: Some(client_message_id.to_owned()),
        author: Author {
            kind: AuthorKind::Visitor,
            id: visitor_id.map(str::to_owned),
            display_name: None,
            avatar_url: None,
        },
        body: body.to_owned(),
        quick_replies: Vec::new(),
        quick_reply_id: quick_reply_id.map(str::to_owned),
        created_at: now_ms,
        state: MessageState::Queued,
        survey: survey.map(Into::into),
        attachments: attachments.to_vec(),
    })
}

fn attachments_json(list: &[MessageAttachment]) -> Result<Option<String>> {
    Ok(if list.is_empty() { None } else { Some(serde_json::to_string(list)?) })
}

/// Upserts server messages (any order, any overlap) and advances the conversations' cursors. A message carrying the
/// client id of a local echo confirms it and removes its outbox entry. Returns the rows that changed, as stored.
pub fn apply_server_messages(tx: &Transaction<'_>, messages: &[Message]) -> Result<Vec<ChatMessage>> {
    let mut changed = Vec::new();
    let mut touched: Vec<&str> = Vec::new();
    for m in messages {
        if !touched.contains(&m.conversation_id.as_str()) {
            conversations::ensure(tx, &m.conversation_id, m.created_at)?;
            touched.push(&m.conversation_id);
        }
        if let Some((local_id, files)) = upsert_one(tx, m)? {
            changed.push(confirmed(local_id, m, files));
        }
    }
    for conversation_id in touched {
        advance_cursor(tx, conversation_id)?;
    }
    Ok(changed)
}

/// Upserts one message; `Some((local_id, its files))` when the store changed.
fn upsert_one(tx: &Transaction<'_>, m: &Message) -> Result<Option<(i64, Vec<MessageAttachment>)>> {
    let replies = if m.quick_replies.is_empty() { None } else { Some(serde_json::to_string(&m.quick_replies)?) };
    let survey = m.survey.as_ref().map(serde_json::to_string).transpose()?;
    let kind = author_kind_str(m.author.kind);
    if let Some(cid) = &m.client_message_id {
        let existing: Option<(i64, Option<u64>, String, Option<String>)> = tx
            .prepare_cached("SELECT local_id, seq, state, attachments FROM messages WHERE client_message_id = ?1")?
            .query_row([cid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        if let Some((local_id, seq, state, local_files)) = existing {
            outbox::remove_by_client_id(tx, cid)?;
            if seq == Some(m.seq) && state == "sent" {
                return Ok(None);
            }
            // The server is the truth: a stale local row holding this seq (cannot happen with a correct server)
            // must not block the confirmation.
            tx.prepare_cached("DELETE FROM messages WHERE conversation_id = ?1 AND seq = ?2 AND local_id <> ?3")?
                .execute(params![m.conversation_id, m.seq, local_id])?;
            // The confirmed files keep this device's copies (matched by content).
            let local: Vec<MessageAttachment> =
                local_files.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
            let files: Vec<MessageAttachment> = m
                .attachments
                .iter()
                .map(|a| {
                    let path = local.iter().find(|l| l.sha256 == a.sha256).and_then(|l| l.local_path.clone());
                    MessageAttachment::from_server(a, path)
                })
                .collect();
            tx.prepare_cached(
                "UPDATE messages SET seq = ?2, author_kind = ?3, author_id = ?4, author_name = ?5,
                        author_avatar = ?6, body = ?7, quick_replies = ?8, quick_reply_id = ?9, created_at = ?10,
                        state = 'sent', conversation_id = ?11, survey = ?12, attachments = ?13
                 WHERE local_id = ?1",
            )?
            .execute(params![
                local_id,
                m.seq,
                kind,
                m.author.id,
                m.author.display_name,
                m.author.avatar_url,
                m.body,
                replies,
                m.quick_reply_id,
                m.created_at,
                m.conversation_id,
                survey,
                attachments_json(&files)?
            ])?;
            return Ok(Some((local_id, files)));
        }
    }
    let files: Vec<MessageAttachment> = m.attachments.iter().map(|a| MessageAttachment::from_server(a, None)).collect();
    let n = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, client_message_id, author_kind, author_id, author_name,
                                   author_avatar, body, quick_replies, quick_reply_id, created_at, state, survey,
                                   attachments)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'sent', ?12, ?13)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            m.conversation_id,
            m.seq,
            m.client_message_id,
            kind,
            m.author.id,
            m.author.display_name,
            m.author.avatar_url,
            m.body,
            replies,
            m.quick_reply_id,
            m.created_at,
            survey,
            attachments_json(&files)?
        ])?;
    Ok((n > 0).then(|| (tx.last_insert_rowid(), files)))
}

fn confirmed(local_id: i64, m: &Message, attachments: Vec<MessageAttachment>) -> ChatMessage {
    ChatMessage {
        local_id,
        conversation_id: m.conversation_id.clone(),
        seq: Some(crate::model::long(m.seq)),
        client_message_id: m.client_message_id.clone(),
        author: m.author.clone(),
        body: m.body.clone(),
        quick_replies: m.quick_replies.clone(),
        quick_reply_id: m.quick_reply_id.clone(),
        created_at: m.created_at,
        state: MessageState::Sent,
        survey: m.survey.as_ref().map(Into::into),
        attachments,
    }
}

/// Moves `synced_seq` over every contiguous stored seq after it and raises `last_seq` to the highest stored seq.
/// Returns the new `synced_seq`.
pub fn advance_cursor(tx: &Transaction<'_>, conversation_id: &str) -> Result<u64> {
    let synced: u64 = tx
        .prepare_cached("SELECT synced_seq FROM conversations WHERE id = ?1")?
        .query_row([conversation_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let mut cursor = synced;
    {
        let mut stmt =
            tx.prepare_cached("SELECT seq FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq")?;
        let mut rows = stmt.query(params![conversation_id, synced])?;
        while let Some(row) = rows.next()? {
            let seq: u64 = row.get(0)?;
            if seq != cursor + 1 {
                break;
            }
            cursor = seq;
        }
    }
    tx.prepare_cached(
        "UPDATE conversations SET synced_seq = ?2,
             last_seq = MAX(last_seq, ?2, IFNULL((SELECT MAX(seq) FROM messages WHERE conversation_id = ?1), 0))
         WHERE id = ?1",
    )?
    .execute(params![conversation_id, cursor])?;
    Ok(cursor)
}

/// The metadata of attachment `attachment_id`, from the message that carries it.
pub fn attachment(conn: &Connection, attachment_id: &str) -> Result<Option<MessageAttachment>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT j.value FROM messages m, json_each(m.attachments) j
             WHERE m.attachments IS NOT NULL AND json_extract(j.value, '$.id') = ?1 LIMIT 1",
            [attachment_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// The newest stored `seq` of a conversation (0 when none).
pub fn newest_seq(conn: &Connection, conversation_id: &str) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT IFNULL(MAX(seq), 0) FROM messages WHERE conversation_id = ?1")?
        .query_row([conversation_id], |r| r.get(0))?)
}

/// The survey prompt stored at `seq` of the conversation.
pub fn survey_prompt(conn: &Connection, conversation_id: &str, seq: u64) -> Result<Option<SurveyPrompt>> {
    let json: Option<Option<String>> = conn
        .prepare_cached("SELECT survey FROM messages WHERE conversation_id = ?1 AND seq = ?2")?
        .query_row(params![conversation_id, seq], |r| r.get(0))
        .optional()?;
    Ok(match json.flatten().and_then(|j| serde_json::from_str(&j).ok()) {
        Some(MessageSurvey::Prompt(p)) => Some(p),
        _ => None,
    })
}

/// Is there an answer (sent or still queued) to the survey at `seq` of the conversation?
pub fn survey_answered(conn: &Connection, conversation_id: &str, seq: u64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM messages WHERE conversation_id = ?1 AND json_extract(survey, '$.type') = 'answer'
             AND json_extract(survey, '$.survey_seq') = ?2 LIMIT 1",
        )?
        .query_row(params![conversation_id, seq], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Sets the state column of a local echo (`queued` / `wedged`).
pub fn set_echo_state(tx: &Transaction<'_>, client_message_id: &str, state: &str) -> Result<()> {
    tx.prepare_cached("UPDATE messages SET state = ?2 WHERE client_message_id = ?1 AND seq IS NULL")?
        .execute(params![client_message_id, state])?;
    Ok(())
}

/// Replaces the body of a local echo (edit of a queued message).
pub fn set_echo_body(tx: &Transaction<'_>, client_message_id: &str, body: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("UPDATE messages SET body = ?2 WHERE client_message_id = ?1 AND seq IS NULL")?
        .execute(params![client_message_id, body])?
        > 0)
}

/// Deletes a local echo (never a confirmed message).
pub fn delete_echo(tx: &Transaction<'_>, client_message_id: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM messages WHERE client_message_id = ?1 AND seq IS NULL")?
        .execute([client_message_id])?
        > 0)
}

/// A message by client id.
pub fn by_client_id(conn: &Connection, client_message_id: &str) -> Result<Option<ChatMessage>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON o.client_id = m.client_message_id
                 WHERE m.client_message_id = ?1"
            ),
            [client_message_id],
            message_of,
        )
        .optional()?)
}

/// Up to `limit` confirmed messages with `seq < before` (all when `before` is `None`), ascending; when `before` is
/// `None`, the local echoes follow (they come after everything the server holds).
pub fn page(conn: &Connection, conversation_id: &str, before: Option<u64>, limit: u32) -> Result<Vec<ChatMessage>> {
    let before = before.unwrap_or(u64::MAX).min(i64::MAX as u64);
    let mut out: Vec<ChatMessage> = {
        let mut stmt = conn.prepare_cached(PAGE_SQL)?;
        let rows = stmt.query_map(params![conversation_id, before as i64, limit], message_of)?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    out.reverse();
    if before == i64::MAX as u64 {
        out.extend(pending(conn, Some(conversation_id))?);
    }
    Ok(out)
}

/// Local echoes (queued or wedged), in queue order; of one conversation or all.
pub fn pending(conn: &Connection, conversation_id: Option<&str>) -> Result<Vec<ChatMessage>> {
    // Two statements rather than `?1 IS NULL OR …`: only a plain equality lets SQLite seek `(conversation_id, seq)`
    // to the conversation's echoes instead of scanning every stored message (this runs on every latest page).
    let sql = match conversation_id {
        Some(_) => PENDING_OF_CONVERSATION_SQL,
        None => PENDING_ALL_SQL,
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = match conversation_id {
        Some(id) => stmt.query_map([id], message_of)?,
        None => stmt.query_map([], message_of)?,
    };
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const COUNT_IN_RANGE_SQL: &str = "SELECT COUNT(*) FROM messages WHERE conversation_id = ?1 AND seq BETWEEN ?2 AND ?3";

/// How many confirmed messages with `lo <= seq <= hi` the store holds.
pub fn count_in_range(conn: &Connection, conversation_id: &str, lo: u64, hi: u64) -> Result<u64> {
    Ok(conn.prepare_cached(COUNT_IN_RANGE_SQL)?.query_row(params![conversation_id, lo, hi], |r| r.get(0))?)
}

/// Confirmed messages of a conversation with `seq > after`, ascending (tests and diagnostics).
pub fn confirmed_after(conn: &Connection, conversation_id: &str, after: u64) -> Result<Vec<ChatMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON 0
         WHERE m.conversation_id = ?1 AND m.seq > ?2 ORDER BY m.seq"
    ))?;
    let rows = stmt.query_map(params![conversation_id, after], message_of)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The confirmed message `seq` of a conversation, if stored (what a push announced).
pub fn confirmed_at(conn: &Connection, conversation_id: &str, seq: i64) -> Result<Option<ChatMessage>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON 0 WHERE m.conversation_id = ?1 AND m.seq = ?2"
        ))?
        .query_row(params![conversation_id, seq], message_of)
        .optional()?)
}

/// The newest confirmed message from the team (agent, bot, system) of a conversation.
pub fn newest_from_team(conn: &Connection, conversation_id: &str) -> Result<Option<ChatMessage>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m LEFT JOIN outbox o ON 0
             WHERE m.conversation_id = ?1 AND m.seq IS NOT NULL AND m.author_kind <> 'visitor'
             ORDER BY m.seq DESC LIMIT 1"
        ))?
        .query_row([conversation_id], message_of)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn plan(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map(params, |r| r.get::<_, String>(3)).unwrap().map(|r| r.unwrap()).collect()
    }

    /// A history page runs these statements through the statement cache on every call: each must be prepared once
    /// whatever values are bound (a re-prepare costs more than the read; see `Store::open`'s stable plans).
    #[test]
    fn history_statements_are_never_re_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|tx| {
                for id in ["c1", "c2"] {
                    tx.prepare_cached(
                        "INSERT INTO conversations (id, chatflow_id, status, created_at) VALUES (?1, 1, 'open', 0)",
                    )?
                    .execute([id])?;
                }
                Ok(())
            })
            .unwrap();
        store
            .read(|c| {
                for i in 0..6u64 {
                    let id = if i % 2 == 0 { "c1" } else { "c2" };
                    crate::sync::tables::conversations::last_seq_of(c, id)?;
                    count_in_range(c, id, i, i + 10)?;
                    // `None` also reads the conversation's local echoes.
                    page(c, id, if i < 3 { None } else { Some(i) }, 10 + i as u32)?;
                    pending(c, None)?;
                }
                for sql in [PAGE_SQL, PENDING_OF_CONVERSATION_SQL, PENDING_ALL_SQL, COUNT_IN_RANGE_SQL] {
                    let stmt = c.prepare_cached(sql)?;
                    assert!(stmt.get_status(rusqlite::StatementStatus::Run) >= 3, "{sql}");
                    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sql}");
                }
                Ok(())
            })
            .unwrap();
    }

    /// Every history page reads the conversation's echoes and its latest rows, and `pending_sends` every
    /// conversation's echoes: each must seek an index on `(conversation_id, seq)`, never scan every message stored
    /// on the device.
    #[test]
    fn history_reads_seek_the_conversation_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .read(|c| {
                let page: [&dyn rusqlite::ToSql; 3] = [&"c1", &i64::MAX, &10u32];
                let pending: [&dyn rusqlite::ToSql; 1] = [&"c1"];
                let every_pending: [&dyn rusqlite::ToSql; 0] = [];
                for (sql, params) in [
                    (PAGE_SQL, &page[..]),
                    (PENDING_OF_CONVERSATION_SQL, &pending[..]),
                    (PENDING_ALL_SQL, &every_pending[..]),
                ] {
                    let steps = plan(c, sql, params);
                    // `SEARCH m USING INDEX … (conversation_id=? …)`, never `SCAN m`.
                    let on_messages: Vec<&String> = steps.iter().filter(|s| s.contains(" m ")).collect();
                    assert!(!on_messages.is_empty(), "{steps:?}");
                    assert!(
                        on_messages.iter().all(|s| s.starts_with("SEARCH m") && s.contains("(conversation_id=?")),
                        "{sql}: {steps:?}"
                    );
                }
                Ok(())
            })
            .unwrap();
    }
}
