//! The agent inbox in SQLite: inbox state of conversations, views and filters, blocked senders, spam, unlinking,
//! deletion. (Assignment, take-over, handoff and the bot close rule are in `domain::inbox`.)

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::conversations::{conv_from_row, conversation_in, finish_conv, CONV_COLS};
use super::{status_str, SqliteStore};
use crate::store::columns::parse_handled_by;
use crate::store::inbox::like_pattern;
use crate::store::inbox::{Contact, HandledBy, InboxEntry, InboxQuery, InboxState, InboxStore, InboxView};
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// `CONV_COLS` qualified with the `c.` alias (joins with visitors, whose columns share names).
fn conv_cols_c() -> String {
    CONV_COLS.split(',').map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

const BLOCKED: &str =
    "EXISTS(SELECT 1 FROM blocked_senders b WHERE b.app_id = c.app_id AND b.visitor_id = c.visitor_id)";

/// Inbox state columns, after the 12 conversation columns (indices 12..=20).
fn state_cols() -> String {
    format!(
        "c.handled_by, c.bot_started, c.handoff_at, c.taken_over_at, c.spam, c.contact_unlinked, c.closed_at, \
         {BLOCKED}, (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id AND \
         m.author_kind = 'visitor')"
    )
}

struct StateRow {
    handled_by: String,
    state: InboxState,
}

fn state_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<StateRow> {
    Ok(StateRow {
        handled_by: r.get(at)?,
        state: InboxState {
            handled_by: HandledBy::Agents,
            bot_started: r.get(at + 1)?,
            handoff_at: r.get(at + 2)?,
            taken_over_at: r.get(at + 3)?,
            spam: r.get(at + 4)?,
            contact_unlinked: r.get(at + 5)?,
            closed_at: r.get(at + 6)?,
            blocked: r.get(at + 7)?,
            last_visitor_message_at: r.get(at + 8)?,
        },
    })
}

fn finish_state(row: StateRow) -> StoreResult<InboxState> {
    let mut state = row.state;
    state.handled_by = parse_handled_by(&row.handled_by)?;
    Ok(state)
}

pub(super) fn state_in(conn: &Connection, id: &str) -> StoreResult<Option<InboxState>> {
    conn.prepare_cached(&format!("SELECT {} FROM conversations c WHERE c.id = ?1", state_cols()))?
        .query_row([id], |r| state_from_row(r, 0))
        .optional()?
        .map(finish_state)
        .transpose()
}

fn require_conversation(conn: &Connection, id: &str) -> StoreResult<(ConversationRecord, InboxState)> {
    let missing = || StoreError::NotFound(format!("conversation `{id}` does not exist"));
    let conv = conversation_in(conn, id)?.ok_or_else(missing)?;
    let state = state_in(conn, id)?.ok_or_else(missing)?;
    Ok((conv, state))
}

/// Raw row of an inbox entry; parsed afterwards (row mapping cannot return our error type).
struct EntryRow {
    conv: super::conversations::ConvRow,
    state: StateRow,
    user_id: Option<String>,
    email: Option<String>,
    properties: String,
    preview: Option<String>,
    ticket_id: Option<i64>,
    ticket_subject: Option<String>,
}

fn entry_select() -> String {
    format!(
        "SELECT {}, {}, v.user_id, v.email, v.properties,
             (SELECT CASE WHEN m.body = '' AND m.attachments IS NOT NULL
                     -- A message with files only: the list reads 📎 and the file names.
                     THEN '📎 ' || (SELECT group_concat(json_extract(a.value, '$.file_name'), ', ')
                                    FROM json_each(m.attachments) a)
                     ELSE m.body END
              FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1),
             t.id, t.subject
         FROM conversations c
         JOIN visitors v ON v.id = c.visitor_id
         LEFT JOIN tickets t ON t.conversation_id = c.id",
        conv_cols_c(),
        state_cols()
    )
}

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok(EntryRow {
        conv: conv_from_row(r)?,
        state: state_from_row(r, 12)?,
        user_id: r.get(21)?,
        email: r.get(22)?,
        properties: r.get(23)?,
        preview: r.get(24)?,
        ticket_id: r.get(25)?,
        ticket_subject: r.get(26)?,
    })
}

/// The contact's name from the chat properties: `name`, else `first_name` + `last_name`.
fn name_from_properties(props: &BTreeMap<String, String>) -> Option<String> {
    let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(name) = get("name") {
        return Some(name.to_owned());
    }
    let full = [get("first_name"), get("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    (!full.is_empty()).then_some(full)
}

fn finish_entry(row: EntryRow) -> StoreResult<InboxEntry> {
    let conversation = finish_conv(row.conv)?;
    let state = finish_state(row.state)?;
    let contact = if state.contact_unlinked {
        Contact::default()
    } else {
        let props: BTreeMap<String, String> = serde_json::from_str(&row.properties)
            .map_err(|e| StoreError::Corrupt(format!("properties of visitor {}: {e}", conversation.visitor_id)))?;
        let email = row.email.or_else(|| props.get("email").cloned()).filter(|e| !e.trim().is_empty());
        Contact { user_id: row.user_id, email, name: name_from_properties(&props) }
    };
    Ok(InboxEntry {
        conversation,
        state,
        contact,
        preview: row.preview,
        ticket_id: row.ticket_id,
        ticket_subject: row.ticket_subject,
    })
}

/// The WHERE clause and its arguments for an inbox query.
fn inbox_where(q: &InboxQuery) -> (String, Vec<Value>) {
    let mut clauses = vec!["c.app_id = ?".to_owned()];
    let mut args: Vec<Value> = vec![Value::Text(q.app_id.clone())];
    let filtered = format!("(c.spam = 1 OR {BLOCKED})");
    match q.view {
        InboxView::All => clauses.push(format!("NOT {filtered} AND c.handled_by = 'agents'")),
        InboxView::Mine => {
            clauses.push(format!("NOT {filtered} AND c.handled_by = 'agents' AND c.assignee_agent_id = ?"));
            args.push(Value::Text(q.agent_id.clone()));
        }
        InboxView::Unassigned => {
            clauses.push(format!("NOT {filtered} AND c.handled_by = 'agents' AND c.assignee_agent_id IS NULL"))
        }
        InboxView::Bots => clauses.push(format!("NOT {filtered} AND c.handled_by = 'bot'")),
        InboxView::Filtered => clauses.push(filtered),
    }
    if let Some(s) = q.status {
        clauses.push("c.status = ?".into());
        args.push(Value::Text(status_str(s).into()));
    }
    if let Some(a) = &q.assignee {
        clauses.push("c.assignee_agent_id = ?".into());
        args.push(Value::Text(a.clone()));
    }
    if let Some(ch) = q.channel {
        clauses.push("c.channel = ?".into());
        args.push(Value::Text(super::channel_str(ch).into()));
    }
    if let Some(from) = q.opened_from {
        clauses.push("c.created_at >= ?".into());
        args.push(Value::Integer(from));
    }
    if let Some(before) = q.opened_before {
        clauses.push("c.created_at < ?".into());
        args.push(Value::Integer(before));
    }
    if let Some(text) = &q.text {
        let p = like_pattern(text);
        clauses.push(
            "(EXISTS(SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.body LIKE ? ESCAPE '\\')
              OR (c.contact_unlinked = 0 AND (
                  COALESCE(v.email, '') LIKE ? ESCAPE '\\'
                  OR COALESCE(json_extract(v.properties, '$.email'), '') LIKE ? ESCAPE '\\'
                  OR COALESCE(json_extract(v.properties, '$.name'), '') LIKE ? ESCAPE '\\'
                  OR (COALESCE(json_extract(v.properties, '$.first_name'), '') || ' ' ||
                      COALESCE(json_extract(v.properties, '$.last_name'), '')) LIKE ? ESCAPE '\\')))"
                .to_owned(),
        );
        args.extend(std::iter::repeat_n(Value::Text(p), 5));
    }
    if let Some((created_at, id)) = &q.after {
        clauses.push("(c.created_at, c.id) < (?, ?)".into());
        args.push(Value::Integer(*created_at));
        args.push(Value::Text(id.clone()));
    }
    (clauses.join(" AND "), args)
}

fn entry_in(conn: &Connection, id: &str) -> StoreResult<Option<InboxEntry>> {
    conn.prepare_cached(&format!("{} WHERE c.id = ?1", entry_select()))?
        .query_row([id], entry_from_row)
        .optional()?
        .map(finish_entry)
        .transpose()
}

pub(super) fn is_blocked_in(conn: &Connection, app_id: &str, visitor_id: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM blocked_senders WHERE app_id = ?1 AND visitor_id = ?2)")?
        .query_row(params![app_id, visitor_id], |r| r.get(0))?)
}

pub(super) fn contact_owner_in(
    conn: &Connection,
    visitor_id: &str,
    except_conversation: Option<&str>,
) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT assignee_agent_id FROM conversations
             WHERE visitor_id = ?1 AND id <> COALESCE(?2, '') AND assignee_agent_id IS NOT NULL
                 AND contact_unlinked = 0
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )?
        .query_row(params![visitor_id, except_conversation], |r| r.get(0))
        .optional()?)
}

impl InboxStore for SqliteStore {
    fn inbox_state(&self, conversation_id: &str) -> StoreResult<Option<InboxState>> {
        self.read(|c| state_in(c, conversation_id))
    }

    fn inbox_entries(&self, query: &InboxQuery) -> StoreResult<Vec<InboxEntry>> {
        let (sql_where, mut args) = inbox_where(query);
        args.push(Value::Integer(i64::from(query.limit)));
        self.read(|c| {
            let sql = format!("{} WHERE {sql_where} ORDER BY c.created_at DESC, c.id DESC LIMIT ?", entry_select());
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args), entry_from_row)?;
            rows.map(|r| finish_entry(r?)).collect()
        })
    }

    fn inbox_entry(&self, conversation_id: &str) -> StoreResult<Option<InboxEntry>> {
        self.read(|c| entry_in(c, conversation_id))
    }

    fn set_blocked(&self, app_id: &str, visitor_id: &str, blocked: bool, by: &str, now: i64) -> StoreResult<bool> {
        self.write_logged(|tx, feed| {
            let n = if blocked {
                tx.execute(
                    "INSERT OR IGNORE INTO blocked_senders (app_id, visitor_id, blocked_by, blocked_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![app_id, visitor_id, by, now],
                )?
            } else {
                tx.execute(
                    "DELETE FROM blocked_senders WHERE app_id = ?1 AND visitor_id = ?2",
                    params![app_id, visitor_id],
                )?
            };
            if n > 0 {
                feed.visitor(visitor_id);
            }
            Ok(n > 0)
        })
    }

    fn is_blocked(&self, app_id: &str, visitor_id: &str) -> StoreResult<bool> {
        self.read(|c| is_blocked_in(c, app_id, visitor_id))
    }

    fn set_spam(&self, conversation_id: &str, spam: bool) -> StoreResult<bool> {
        self.write_logged(|tx, feed| {
            require_conversation(tx, conversation_id)?;
            let n = tx.execute(
                "UPDATE conversations SET spam = ?2 WHERE id = ?1 AND spam <> ?2",
                params![conversation_id, spam],
            )?;
            if n > 0 {
                feed.conversation(conversation_id);
            }
            Ok(n > 0)
        })
    }

    fn unlink_contact(&self, conversation_id: &str) -> StoreResult<bool> {
        self.write_logged(|tx, feed| {
            require_conversation(tx, conversation_id)?;
            let n = tx.execute(
                "UPDATE conversations SET contact_unlinked = 1 WHERE id = ?1 AND contact_unlinked = 0",
                [conversation_id],
            )?;
            if n > 0 {
                feed.conversation(conversation_id);
            }
            Ok(n > 0)
        })
    }

    fn delete_conversation(&self, conversation_id: &str) -> StoreResult<bool> {
        // Messages and the ticket go with it (ON DELETE CASCADE).
        self.write(|tx| Ok(tx.execute("DELETE FROM conversations WHERE id = ?1", [conversation_id])? > 0))
    }

    fn contact_owner(&self, visitor_id: &str, except_conversation: Option<&str>) -> StoreResult<Option<String>> {
        self.read(|c| contact_owner_in(c, visitor_id, except_conversation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tickets::{subject_of, SUBJECT_CHARS};

    #[test]
    fn like_patterns_escape_wildcards_and_subjects_are_short() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
        assert_eq!(subject_of("\n  Hello there \nsecond line"), "Hello there");
        let long = subject_of(&"x".repeat(500));
        assert_eq!(long.chars().count(), SUBJECT_CHARS);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn names_come_from_properties() {
        let props = |v: serde_json::Value| serde_json::from_value::<BTreeMap<String, String>>(v).unwrap();
        assert_eq!(name_from_properties(&props(serde_json::json!({"name": " Ann "}))).as_deref(), Some("Ann"));
        let split = props(serde_json::json!({"first_name": "Ann", "last_name": "Lee"}));
        assert_eq!(name_from_properties(&split).as_deref(), Some("Ann Lee"));
        assert_eq!(name_from_properties(&props(serde_json::json!({"name": "  "}))), None);
    }

    #[test]
    fn a_version_1_database_upgrades_with_inbox_defaults() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::migrations::MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO apps VALUES ('a', 'A', 's', 'h', 0);
             INSERT INTO visitors (id, app_id, created_at) VALUES ('v', 'a', 0);
             INSERT INTO conversations (id, app_id, chatflow_id, visitor_id, status, channel, created_at, updated_at)
                 VALUES ('c', 'a', 1, 'v', 'closed', 'mobile_chat', 5, 9);",
        )
        .unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        let state = state_in(&conn, "c").unwrap().unwrap();
        assert_eq!(state.handled_by, HandledBy::Agents);
        assert!(!state.bot_started && !state.spam && !state.blocked && !state.contact_unlinked);
        assert_eq!((state.closed_at, state.handoff_at, state.last_visitor_message_at), (None, None, None));
        let tickets: i64 = conn.query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0)).unwrap();
        assert_eq!(tickets, 0);
    }
}
