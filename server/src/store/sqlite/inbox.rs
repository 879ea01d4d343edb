//! The agent inbox in SQLite: inbox state of conversations, views and filters, assignment, take-over, the bot close
//! rule, blocked senders, spam, unlinking, deletion; and the hooks the conversation/message writes call so that the
//! inbox columns stay right whatever path wrote (bot start, ticket creation and subject, take-over by reply, closed_at).

use std::collections::BTreeMap;

use chatflow_protocol::{Author, AuthorKind, ConversationStatus};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Transaction};

use super::conversations::{conv_from_row, conversation_in, finish_conv, CONV_COLS};
use super::{status_str, SqliteStore};
use crate::store::inbox::{
    Assignment, CloseOutcome, Contact, HandledBy, Handoff, InboxEntry, InboxQuery, InboxState, InboxStore, InboxView,
};
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// Longest ticket subject taken from the first visitor message, in characters.
pub const SUBJECT_CHARS: usize = 120;

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

fn parse_handled_by(s: &str) -> StoreResult<HandledBy> {
    match s {
        "bot" => Ok(HandledBy::Bot),
        "agents" => Ok(HandledBy::Agents),
        other => Err(StoreError::Corrupt(format!("conversation handled_by `{other}`"))),
    }
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

fn state_in(conn: &Connection, id: &str) -> StoreResult<Option<InboxState>> {
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
             (SELECT m.body FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1),
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

/// `%text%` for LIKE, with the wildcards of `text` escaped (`\` is the escape character).
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
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

fn agent_in_app(conn: &Connection, app_id: &str, agent_id: &str) -> StoreResult<()> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM agents WHERE id = ?1 AND app_id = ?2)",
        params![agent_id, app_id],
        |r| r.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!("agent_id: no agent `{agent_id}` in this app")))
    }
}

// Hooks called by the conversation and message writes (same transaction).

/// A new conversation: a bot chatflow's starts with its bot; a help-desk chatflow or channel gets a ticket.
pub(super) fn on_conversation_created(tx: &Transaction<'_>, conv: &ConversationRecord) -> StoreResult<()> {
    let kind: Option<Option<String>> = tx
        .prepare_cached("SELECT json_extract(config, '$.kind') FROM chatflows WHERE id = ?1")?
        .query_row([conv.chatflow_id], |r| r.get(0))
        .optional()?;
    let bot = matches!(kind.flatten().as_deref(), Some("bot" | "ai_agent"));
    if bot && conv.assignee_agent_id.is_none() {
        tx.prepare_cached("UPDATE conversations SET handled_by = 'bot', bot_started = 1 WHERE id = ?1")?
            .execute([&conv.id])?;
    }
    if let Some(pipeline) = super::tickets::ticket_pipeline(tx, conv)? {
        super::tickets::insert_ticket(tx, conv, &pipeline, conv.created_at)?;
    }
    Ok(())
}

/// A message was stored: the first visitor message names the ticket; an agent's message takes a bot conversation
/// over; a reopened conversation is no longer closed.
pub(super) fn on_message_appended(
    tx: &Transaction<'_>,
    conv: &ConversationRecord,
    author: &Author,
    body: &str,
    now: i64,
    reopened: bool,
) -> StoreResult<()> {
    match author.kind {
        AuthorKind::Visitor => {
            let subject = subject_of(body);
            tx.prepare_cached(
                "UPDATE tickets SET subject = ?2, updated_at = ?3 WHERE conversation_id = ?1 AND subject IS NULL",
            )?
            .execute(params![conv.id, subject, now])?;
        }
        AuthorKind::Agent => {
            tx.prepare_cached(
                "UPDATE conversations SET handled_by = 'agents', taken_over_at = ?2 WHERE id = ?1 AND handled_by = 'bot'",
            )?
            .execute(params![conv.id, now])?;
        }
        AuthorKind::Bot | AuthorKind::System => {}
    }
    if reopened {
        tx.prepare_cached("UPDATE conversations SET closed_at = NULL WHERE id = ?1")?.execute([&conv.id])?;
    }
    Ok(())
}

pub(super) fn on_conversation_closed(tx: &Transaction<'_>, id: &str, now: i64) -> StoreResult<()> {
    tx.prepare_cached("UPDATE conversations SET closed_at = ?2 WHERE id = ?1")?.execute(params![id, now])?;
    Ok(())
}

/// A ticket subject from a message: its first non-empty line, at most `SUBJECT_CHARS` characters.
pub fn subject_of(body: &str) -> String {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out: String = line.chars().take(SUBJECT_CHARS).collect();
    if line.chars().count() > SUBJECT_CHARS {
        out.pop();
        out.push('…');
    }
    out
}

impl InboxStore for SqliteStore {
    fn mark_handoff(&self, conversation_id: &str, now: i64) -> StoreResult<Handoff> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE conversations SET handled_by = 'agents', handoff_at = ?2 WHERE id = ?1 AND handled_by = 'bot'",
                params![conversation_id, now],
            )?;
            let (conversation, state) = require_conversation(tx, conversation_id)?;
            Ok(Handoff { conversation, state, changed: n > 0 })
        })
    }

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

    fn assign(
        &self,
        conversation_id: &str,
        agent_id: Option<&str>,
        only_if_unassigned: bool,
        now: i64,
    ) -> StoreResult<Assignment> {
        self.write(|tx| {
            let (conv, state) = require_conversation(tx, conversation_id)?;
            if only_if_unassigned && conv.assignee_agent_id.is_some() {
                return Ok(Assignment { conversation: conv, changed: false, taken_over: false });
            }
            let mut taken_over = false;
            match agent_id {
                Some(agent) => {
                    agent_in_app(tx, &conv.app_id, agent)?;
                    taken_over = state.handled_by == HandledBy::Bot;
                    tx.execute(
                        "UPDATE conversations SET assignee_agent_id = ?2, handled_by = 'agents',
                             taken_over_at = CASE WHEN handled_by = 'bot' THEN ?3 ELSE taken_over_at END
                         WHERE id = ?1",
                        params![conversation_id, agent, now],
                    )?;
                }
                None => {
                    tx.execute("UPDATE conversations SET assignee_agent_id = NULL WHERE id = ?1", [conversation_id])?;
                }
            }
            let changed = conv.assignee_agent_id.as_deref() != agent_id;
            let conversation = conversation_in(tx, conversation_id)?
                .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
            Ok(Assignment { conversation, changed, taken_over })
        })
    }

    fn take_over(&self, conversation_id: &str, agent_id: &str, now: i64) -> StoreResult<Assignment> {
        self.write(|tx| {
            let (conv, state) = require_conversation(tx, conversation_id)?;
            if state.handled_by != HandledBy::Bot {
                return Ok(Assignment { conversation: conv, changed: false, taken_over: false });
            }
            agent_in_app(tx, &conv.app_id, agent_id)?;
            tx.execute(
                "UPDATE conversations SET handled_by = 'agents', taken_over_at = ?3, assignee_agent_id = ?2
                 WHERE id = ?1",
                params![conversation_id, agent_id, now],
            )?;
            let conversation = conversation_in(tx, conversation_id)?
                .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
            let changed = conv.assignee_agent_id.as_deref() != Some(agent_id);
            Ok(Assignment { conversation, changed, taken_over: true })
        })
    }

    fn close_checked(&self, conversation_id: &str, now: i64, bot_idle_ms: i64) -> StoreResult<CloseOutcome> {
        self.write(|tx| {
            let (conv, state) = require_conversation(tx, conversation_id)?;
            if conv.status == ConversationStatus::Closed {
                return Ok(CloseOutcome::Closed { conversation: conv, changed: false });
            }
            if state.handled_by == HandledBy::Bot {
                let last_active = state.last_visitor_message_at.unwrap_or(conv.created_at).max(conv.created_at);
                let closable_at = last_active.saturating_add(bot_idle_ms);
                if now < closable_at {
                    return Ok(CloseOutcome::BotStillActive { closable_at });
                }
            }
            tx.execute(
                "UPDATE conversations SET status = 'closed', updated_at = ?2, closed_at = ?2 WHERE id = ?1",
                params![conversation_id, now],
            )?;
            let conversation = conversation_in(tx, conversation_id)?
                .ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
            Ok(CloseOutcome::Closed { conversation, changed: true })
        })
    }

    fn set_blocked(&self, app_id: &str, visitor_id: &str, blocked: bool, by: &str, now: i64) -> StoreResult<bool> {
        self.write(|tx| {
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
            Ok(n > 0)
        })
    }

    fn is_blocked(&self, app_id: &str, visitor_id: &str) -> StoreResult<bool> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT EXISTS(SELECT 1 FROM blocked_senders WHERE app_id = ?1 AND visitor_id = ?2)")?
                .query_row(params![app_id, visitor_id], |r| r.get(0))?)
        })
    }

    fn set_spam(&self, conversation_id: &str, spam: bool) -> StoreResult<bool> {
        self.write(|tx| {
            require_conversation(tx, conversation_id)?;
            let n = tx.execute(
                "UPDATE conversations SET spam = ?2 WHERE id = ?1 AND spam <> ?2",
                params![conversation_id, spam],
            )?;
            Ok(n > 0)
        })
    }

    fn unlink_contact(&self, conversation_id: &str) -> StoreResult<bool> {
        self.write(|tx| {
            require_conversation(tx, conversation_id)?;
            let n = tx.execute(
                "UPDATE conversations SET contact_unlinked = 1 WHERE id = ?1 AND contact_unlinked = 0",
                [conversation_id],
            )?;
            Ok(n > 0)
        })
    }

    fn delete_conversation(&self, conversation_id: &str) -> StoreResult<bool> {
        // Messages and the ticket go with it (ON DELETE CASCADE).
        self.write(|tx| Ok(tx.execute("DELETE FROM conversations WHERE id = ?1", [conversation_id])? > 0))
    }

    fn contact_owner(&self, visitor_id: &str, except_conversation: Option<&str>) -> StoreResult<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT assignee_agent_id FROM conversations
                 WHERE visitor_id = ?1 AND id <> COALESCE(?2, '') AND assignee_agent_id IS NOT NULL
                     AND contact_unlinked = 0
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )?
            .query_row(params![visitor_id, except_conversation], |r| r.get(0))
            .optional()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use super::*;
    use crate::store::{ConversationStore, NewConversation, VisitorStore};

    fn setup() -> (tempfile::TempDir, SqliteStore) {
        let (dir, s) = store();
        s.create_visitor("app1", "v1", "t1", 1).unwrap();
        let new = NewConversation {
            id: "c1".into(),
            app_id: "app1".into(),
            chatflow_id: 1,
            visitor_id: "v1".into(),
            assignee_agent_id: None,
            now: 1_000,
        };
        s.create_conversation(&new).unwrap();
        (dir, s)
    }

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

    #[test]
    fn live_chat_conversations_are_handled_by_agents_and_handoff_is_a_no_op() {
        let (_dir, s) = setup();
        let state = s.inbox_state("c1").unwrap().unwrap();
        assert_eq!(state.handled_by, HandledBy::Agents);
        assert!(!state.bot_started && !state.blocked && state.closed_at.is_none());
        let h = s.mark_handoff("c1", 5).unwrap();
        assert!(!h.changed);
        assert!(matches!(s.mark_handoff("nope", 5), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn assignment_checks_the_agent_and_blocking_is_idempotent() {
        let (_dir, s) = setup();
        assert!(matches!(s.assign("c1", Some("ghost"), false, 2), Err(StoreError::Invalid(_))));
        let a = s.assign("c1", Some("ag1"), false, 2).unwrap();
        assert!(a.changed && !a.taken_over);
        assert!(!s.assign("c1", None, true, 2).unwrap().changed, "only_if_unassigned leaves it");
        assert!(s.assign("c1", None, false, 2).unwrap().changed);
        assert!(s.set_blocked("app1", "v1", true, "ag1", 3).unwrap());
        assert!(!s.set_blocked("app1", "v1", true, "ag1", 3).unwrap());
        assert!(s.inbox_state("c1").unwrap().unwrap().blocked);
        assert!(s.set_blocked("app1", "v1", false, "ag1", 3).unwrap());
        assert!(!s.is_blocked("app1", "v1").unwrap());
    }
}
