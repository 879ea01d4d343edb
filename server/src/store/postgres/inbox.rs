//! The agent inbox in PostgreSQL: inbox state of conversations, views and filters, blocked senders, spam, unlinking,
//! deletion. (Assignment, take-over, handoff and the bot close rule are in `domain::inbox`.)

use std::collections::BTreeMap;

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};

use super::feed::FeedLog;
use super::{seq_from_sql, PostgresStore};
use crate::store::columns::parse_handled_by;
use crate::store::columns::{channel_str, parse_channel, parse_status, status_str};
use crate::store::inbox::like_pattern;
use crate::store::inbox::{Contact, InboxEntry, InboxQuery, InboxState, InboxStore, InboxView};
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// The conversation columns (indices 0..=11), with the `c.` alias (joins with visitors, whose columns share names).
const CONV_COLS_C: &str = "c.id, c.app_id, c.chatflow_id, c.visitor_id, c.status, c.channel, c.assignee_agent_id, \
                           c.created_at, c.updated_at, c.last_seq, c.agent_read_seq, c.visitor_read_seq";

const BLOCKED: &str =
    "EXISTS(SELECT 1 FROM blocked_senders b WHERE b.app_id = c.app_id AND b.visitor_id = c.visitor_id)";

/// Inbox state columns (9 of them), after the 12 conversation columns in an entry.
fn state_cols() -> String {
    format!(
        "c.handled_by, c.bot_started, c.handoff_at, c.taken_over_at, c.spam, c.contact_unlinked, c.closed_at, \
         {BLOCKED}, (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id AND \
         m.author_kind = 'visitor')"
    )
}

fn conv_from_row(r: &Row) -> StoreResult<ConversationRecord> {
    Ok(ConversationRecord {
        id: r.try_get(0)?,
        app_id: r.try_get(1)?,
        chatflow_id: r.try_get(2)?,
        visitor_id: r.try_get(3)?,
        status: parse_status(r.try_get(4)?)?,
        channel: parse_channel(r.try_get(5)?)?,
        assignee_agent_id: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
        last_seq: seq_from_sql(r.try_get(9)?),
        agent_read_seq: seq_from_sql(r.try_get(10)?),
        visitor_read_seq: seq_from_sql(r.try_get(11)?),
    })
}

/// The inbox state from the `state_cols()` starting at column `at`.
fn state_from_row(r: &Row, at: usize) -> StoreResult<InboxState> {
    Ok(InboxState {
        handled_by: parse_handled_by(r.try_get(at)?)?,
        bot_started: r.try_get(at + 1)?,
        handoff_at: r.try_get(at + 2)?,
        taken_over_at: r.try_get(at + 3)?,
        spam: r.try_get(at + 4)?,
        contact_unlinked: r.try_get(at + 5)?,
        closed_at: r.try_get(at + 6)?,
        blocked: r.try_get(at + 7)?,
        last_visitor_message_at: r.try_get(at + 8)?,
    })
}

/// The conversation's inbox state (`None`: no such conversation).
fn state_in(conn: &mut impl GenericClient, id: &str) -> StoreResult<Option<InboxState>> {
    conn.query_opt(&format!("SELECT {} FROM conversations c WHERE c.id = $1", state_cols()), &[&id])?
        .map(|r| state_from_row(&r, 0))
        .transpose()
}

fn require_conversation(conn: &mut impl GenericClient, id: &str) -> StoreResult<()> {
    match conn.query_opt("SELECT 1 FROM conversations WHERE id = $1", &[&id])? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("conversation `{id}` does not exist"))),
    }
}

fn entry_select() -> String {
    format!(
        "SELECT {CONV_COLS_C}, {}, v.user_id, v.email, v.properties,
             (SELECT CASE WHEN m.body = '' AND m.attachments IS NOT NULL
                     -- A message with files only: the list reads 📎 and the file names.
                     THEN '📎 ' || (SELECT string_agg(a.value ->> 'file_name', ', ' ORDER BY a.n)
                                    FROM jsonb_array_elements(m.attachments::jsonb) WITH ORDINALITY a(value, n))
                     ELSE m.body END
              FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1),
             t.id, t.subject
         FROM conversations c
         JOIN visitors v ON v.id = c.visitor_id
         LEFT JOIN tickets t ON t.conversation_id = c.id",
        state_cols()
    )
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

fn entry_from_row(r: &Row) -> StoreResult<InboxEntry> {
    let conversation = conv_from_row(r)?;
    let state = state_from_row(r, 12)?;
    let contact = if state.contact_unlinked {
        Contact::default()
    } else {
        let properties: String = r.try_get(23)?;
        let props: BTreeMap<String, String> = serde_json::from_str(&properties)
            .map_err(|e| StoreError::Corrupt(format!("properties of visitor {}: {e}", conversation.visitor_id)))?;
        let email: Option<String> = r.try_get(22)?;
        let email = email.or_else(|| props.get("email").cloned()).filter(|e| !e.trim().is_empty());
        Contact { user_id: r.try_get(21)?, email, name: name_from_properties(&props) }
    };
    Ok(InboxEntry {
        conversation,
        state,
        contact,
        preview: r.try_get(24)?,
        ticket_id: r.try_get(25)?,
        ticket_subject: r.try_get(26)?,
    })
}

/// Query arguments of any type, numbered in the order they are pushed.
#[derive(Default)]
struct Args(Vec<Box<dyn ToSql + Sync>>);

impl Args {
    /// Adds an argument; returns its placeholder (`$n`).
    fn push(&mut self, v: impl ToSql + Sync + 'static) -> String {
        self.0.push(Box::new(v));
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|b| b.as_ref()).collect()
    }
}

/// The WHERE clause and its arguments for an inbox query.
fn inbox_where(q: &InboxQuery, args: &mut Args) -> String {
    let mut clauses = vec![format!("c.app_id = {}", args.push(q.app_id.clone()))];
    let filtered = format!("(c.spam OR {BLOCKED})");
    match q.view {
        InboxView::All => clauses.push(format!("NOT {filtered} AND c.handled_by = 'agents'")),
        InboxView::Mine => {
            let agent = args.push(q.agent_id.clone());
            clauses.push(format!("NOT {filtered} AND c.handled_by = 'agents' AND c.assignee_agent_id = {agent}"));
        }
        InboxView::Unassigned => {
            clauses.push(format!("NOT {filtered} AND c.handled_by = 'agents' AND c.assignee_agent_id IS NULL"))
        }
        InboxView::Bots => clauses.push(format!("NOT {filtered} AND c.handled_by = 'bot'")),
        InboxView::Filtered => clauses.push(filtered),
    }
    if let Some(s) = q.status {
        clauses.push(format!("c.status = {}", args.push(status_str(s))));
    }
    if let Some(a) = &q.assignee {
        clauses.push(format!("c.assignee_agent_id = {}", args.push(a.clone())));
    }
    if let Some(ch) = q.channel {
        clauses.push(format!("c.channel = {}", args.push(channel_str(ch))));
    }
    if let Some(from) = q.opened_from {
        clauses.push(format!("c.created_at >= {}", args.push(from)));
    }
    if let Some(before) = q.opened_before {
        clauses.push(format!("c.created_at < {}", args.push(before)));
    }
    if let Some(text) = &q.text {
        // ILIKE: the search is case-insensitive (SQLite's LIKE is, for ASCII).
        let p = args.push(like_pattern(text));
        clauses.push(format!(
            "(EXISTS(SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.body ILIKE {p})
              OR (NOT c.contact_unlinked AND (
                  COALESCE(v.email, '') ILIKE {p}
                  OR COALESCE(v.properties::jsonb ->> 'email', '') ILIKE {p}
                  OR COALESCE(v.properties::jsonb ->> 'name', '') ILIKE {p}
                  OR (COALESCE(v.properties::jsonb ->> 'first_name', '') || ' ' ||
                      COALESCE(v.properties::jsonb ->> 'last_name', '')) ILIKE {p})))"
        ));
    }
    if let Some((created_at, id)) = &q.after {
        let (at, id) = (args.push(*created_at), args.push(id.clone()));
        clauses.push(format!("(c.created_at, c.id COLLATE \"C\") < ({at}, {id})"));
    }
    clauses.join(" AND ")
}

fn is_blocked_in(conn: &mut impl GenericClient, app_id: &str, visitor_id: &str) -> StoreResult<bool> {
    Ok(conn
        .query_one(
            "SELECT EXISTS(SELECT 1 FROM blocked_senders WHERE app_id = $1 AND visitor_id = $2)",
            &[&app_id, &visitor_id],
        )?
        .try_get(0)?)
}

fn contact_owner_in(
    conn: &mut impl GenericClient,
    visitor_id: &str,
    except_conversation: Option<&str>,
) -> StoreResult<Option<String>> {
    let row = conn.query_opt(
        "SELECT assignee_agent_id FROM conversations
         WHERE visitor_id = $1 AND id <> COALESCE($2, '') AND assignee_agent_id IS NOT NULL
             AND NOT contact_unlinked
         ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT 1",
        &[&visitor_id, &except_conversation],
    )?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

impl InboxStore for PostgresStore {
    fn inbox_state(&self, conversation_id: &str) -> StoreResult<Option<InboxState>> {
        state_in(&mut *self.pool.get()?, conversation_id)
    }

    fn inbox_entries(&self, query: &InboxQuery) -> StoreResult<Vec<InboxEntry>> {
        let mut args = Args::default();
        let sql_where = inbox_where(query, &mut args);
        let limit = args.push(i64::from(query.limit));
        // Ids compare bytewise, as on SQLite, whatever the database's collation.
        let sql = format!(
            "{} WHERE {sql_where} ORDER BY c.created_at DESC, c.id COLLATE \"C\" DESC LIMIT {limit}",
            entry_select()
        );
        let rows = self.pool.get()?.query(&sql, &args.refs())?;
        rows.iter().map(entry_from_row).collect()
    }

    fn inbox_entry(&self, conversation_id: &str) -> StoreResult<Option<InboxEntry>> {
        let row = self.pool.get()?.query_opt(&format!("{} WHERE c.id = $1", entry_select()), &[&conversation_id])?;
        row.as_ref().map(entry_from_row).transpose()
    }

    fn set_blocked(&self, app_id: &str, visitor_id: &str, blocked: bool, by: &str, now: i64) -> StoreResult<bool> {
        self.write_logged(|tx, feed: &mut FeedLog| {
            let n = if blocked {
                tx.execute(
                    "INSERT INTO blocked_senders (app_id, visitor_id, blocked_by, blocked_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[&app_id, &visitor_id, &by, &now],
                )?
            } else {
                tx.execute(
                    "DELETE FROM blocked_senders WHERE app_id = $1 AND visitor_id = $2",
                    &[&app_id, &visitor_id],
                )?
            };
            if n > 0 {
                feed.visitor(visitor_id);
            }
            Ok(n > 0)
        })
    }

    fn is_blocked(&self, app_id: &str, visitor_id: &str) -> StoreResult<bool> {
        is_blocked_in(&mut *self.pool.get()?, app_id, visitor_id)
    }

    fn set_spam(&self, conversation_id: &str, spam: bool) -> StoreResult<bool> {
        self.write_logged(|tx, feed: &mut FeedLog| {
            require_conversation(tx, conversation_id)?;
            let n = tx.execute(
                "UPDATE conversations SET spam = $2 WHERE id = $1 AND spam <> $2",
                &[&conversation_id, &spam],
            )?;
            if n > 0 {
                feed.conversation(conversation_id);
            }
            Ok(n > 0)
        })
    }

    fn unlink_contact(&self, conversation_id: &str) -> StoreResult<bool> {
        self.write_logged(|tx, feed: &mut FeedLog| {
            require_conversation(tx, conversation_id)?;
            let n = tx.execute(
                "UPDATE conversations SET contact_unlinked = TRUE WHERE id = $1 AND NOT contact_unlinked",
                &[&conversation_id],
            )?;
            if n > 0 {
                feed.conversation(conversation_id);
            }
            Ok(n > 0)
        })
    }

    fn delete_conversation(&self, conversation_id: &str) -> StoreResult<bool> {
        // Messages and the ticket go with it (ON DELETE CASCADE).
        self.write(|tx| Ok(tx.execute("DELETE FROM conversations WHERE id = $1", &[&conversation_id])? > 0))
    }

    fn contact_owner(&self, visitor_id: &str, except_conversation: Option<&str>) -> StoreResult<Option<String>> {
        contact_owner_in(&mut *self.pool.get()?, visitor_id, except_conversation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_names_come_from_properties() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
        let props = |v: serde_json::Value| serde_json::from_value::<BTreeMap<String, String>>(v).unwrap();
        assert_eq!(name_from_properties(&props(serde_json::json!({"name": " Ann "}))).as_deref(), Some("Ann"));
        let split = props(serde_json::json!({"first_name": "Ann", "last_name": "Lee"}));
        assert_eq!(name_from_properties(&split).as_deref(), Some("Ann Lee"));
    }

    #[test]
    fn arguments_are_numbered_in_order() {
        let mut args = Args::default();
        assert_eq!(args.push("a".to_owned()), "$1");
        assert_eq!(args.push(5i64), "$2");
        assert_eq!(args.refs().len(), 2);
    }
}
