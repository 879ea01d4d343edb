//! Conversations and messages in SQLite: `seq` allocation, idempotent appends, the consent gate, paging.

use chatflow_protocol::{Author, ConversationStatus, Message, MessagePage};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{
    author_kind_str, channel_str, parse_author_kind, parse_channel, parse_status, seq_from_sql, seq_to_sql, status_str,
    SqliteStore,
};
use crate::store::{
    Appended, ConversationRecord, ConversationStore, MessageStore, NewConversation, NewMessage, Paging, ReaderKind,
    StoreError, StoreResult,
};

pub(super) const CONV_COLS: &str =
    "id, app_id, chatflow_id, visitor_id, status, channel, assignee_agent_id, created_at, \
                         updated_at, last_seq, agent_read_seq, visitor_read_seq";

/// Raw row; enum columns are parsed afterwards because row mapping cannot return our error type.
pub(super) struct ConvRow {
    rec: ConversationRecord,
    status: String,
    channel: String,
}

pub(super) fn conv_from_row(r: &Row<'_>) -> rusqlite::Result<ConvRow> {
    Ok(ConvRow {
        rec: ConversationRecord {
            id: r.get(0)?,
            app_id: r.get(1)?,
            chatflow_id: r.get(2)?,
            visitor_id: r.get(3)?,
            status: ConversationStatus::Open,
            channel: chatflow_protocol::Channel::MobileChat,
            assignee_agent_id: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
            last_seq: seq_from_sql(r.get(9)?),
            agent_read_seq: seq_from_sql(r.get(10)?),
            visitor_read_seq: seq_from_sql(r.get(11)?),
        },
        status: r.get(4)?,
        channel: r.get(5)?,
    })
}

pub(super) fn finish_conv(row: ConvRow) -> StoreResult<ConversationRecord> {
    let mut rec = row.rec;
    rec.status = parse_status(&row.status)?;
    rec.channel = parse_channel(&row.channel)?;
    Ok(rec)
}

pub(super) fn conversation_in(conn: &Connection, id: &str) -> StoreResult<Option<ConversationRecord>> {
    conn.prepare_cached(&format!("SELECT {CONV_COLS} FROM conversations WHERE id = ?1"))?
        .query_row([id], conv_from_row)
        .optional()?
        .map(finish_conv)
        .transpose()
}

fn conversations_where(
    conn: &Connection,
    sql_where: &str,
    args: &[&dyn rusqlite::ToSql],
) -> StoreResult<Vec<ConversationRecord>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {CONV_COLS} FROM conversations {sql_where}"))?;
    let rows = stmt.query_map(args, conv_from_row)?;
    rows.map(|r| finish_conv(r?)).collect()
}

const MSG_COLS: &str = "conversation_id, seq, client_message_id, author_kind, author_id, author_name, author_avatar, \
                        body, quick_replies, quick_reply_id, created_at";

struct MsgRow {
    msg: Message,
    author_kind: String,
    quick_replies: Option<String>,
}

fn msg_from_row(r: &Row<'_>) -> rusqlite::Result<MsgRow> {
    Ok(MsgRow {
        msg: Message {
            conversation_id: r.get(0)?,
            seq: seq_from_sql(r.get(1)?),
            client_message_id: r.get(2)?,
            author: Author {
                kind: chatflow_protocol::AuthorKind::System,
                id: r.get(4)?,
                display_name: r.get(5)?,
                avatar_url: r.get(6)?,
            },
            body: r.get(7)?,
            quick_replies: Vec::new(),
            quick_reply_id: r.get(9)?,
            created_at: r.get(10)?,
        },
        author_kind: r.get(3)?,
        quick_replies: r.get(8)?,
    })
}

fn finish_msg(row: MsgRow) -> StoreResult<Message> {
    let mut msg = row.msg;
    msg.author.kind = parse_author_kind(&row.author_kind)?;
    if let Some(json) = row.quick_replies {
        msg.quick_replies = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("quick replies of message {}: {e}", msg.seq)))?;
    }
    Ok(msg)
}

fn message_by_client_id(conn: &Connection, conversation_id: &str, client_id: &str) -> StoreResult<Option<Message>> {
    conn.prepare_cached(&format!(
        "SELECT {MSG_COLS} FROM messages WHERE conversation_id = ?1 AND client_message_id = ?2"
    ))?
    .query_row(params![conversation_id, client_id], msg_from_row)
    .optional()?
    .map(finish_msg)
    .transpose()
}

fn same_content(stored: &Message, new: &NewMessage) -> bool {
    stored.body == new.body
        && stored.quick_reply_id == new.quick_reply_id
        && stored.author.kind == new.author.kind
        && stored.author.id == new.author.id
}

/// Has the visitor accepted the current text? The latest record on that exact text decides (a later `declined`
/// withdraws an earlier `accepted`).
fn has_accepted(conn: &Connection, visitor_id: &str, chatflow_id: i64, text_hash: &str) -> StoreResult<bool> {
    let decision: Option<String> = conn
        .prepare_cached(
            "SELECT decision FROM consent_records
             WHERE visitor_id = ?1 AND chatflow_id = ?2 AND kind = 'process_data' AND text_hash = ?3
             ORDER BY recorded_at DESC, rowid DESC LIMIT 1",
        )?
        .query_row(params![visitor_id, chatflow_id, text_hash], |r| r.get(0))
        .optional()?;
    Ok(decision.as_deref() == Some("accepted"))
}

impl ConversationStore for SqliteStore {
    fn create_conversation(&self, new: &NewConversation) -> StoreResult<ConversationRecord> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO conversations (id, app_id, chatflow_id, visitor_id, status, channel, assignee_agent_id,
                     created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    new.id,
                    new.app_id,
                    new.chatflow_id,
                    new.visitor_id,
                    status_str(ConversationStatus::Open),
                    channel_str(chatflow_protocol::Channel::MobileChat),
                    new.assignee_agent_id,
                    new.now
                ],
            )?;
            let created =
                conversation_in(tx, &new.id)?.ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
            super::inbox::on_conversation_created(tx, &created)?;
            conversation_in(tx, &new.id)?.ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))
        })
    }

    fn conversation(&self, id: &str) -> StoreResult<Option<ConversationRecord>> {
        self.read(|c| conversation_in(c, id))
    }

    fn visitor_conversations(&self, visitor_id: &str) -> StoreResult<Vec<ConversationRecord>> {
        self.read(|c| conversations_where(c, "WHERE visitor_id = ?1 ORDER BY created_at DESC, id DESC", &[&visitor_id]))
    }

    fn app_conversations(
        &self,
        app_id: &str,
        status: Option<ConversationStatus>,
        limit: u32,
    ) -> StoreResult<Vec<ConversationRecord>> {
        self.read(|c| match status {
            Some(s) => conversations_where(
                c,
                "WHERE app_id = ?1 AND status = ?2 ORDER BY updated_at DESC, id DESC LIMIT ?3",
                &[&app_id, &status_str(s), &limit],
            ),
            None => conversations_where(
                c,
                "WHERE app_id = ?1 ORDER BY updated_at DESC, id DESC LIMIT ?2",
                &[&app_id, &limit],
            ),
        })
    }

    fn close_conversation(&self, id: &str, now: i64) -> StoreResult<(ConversationRecord, bool)> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE conversations SET status = 'closed', updated_at = ?2 WHERE id = ?1 AND status = 'open'",
                params![id, now],
            )?;
            if n > 0 {
                super::inbox::on_conversation_closed(tx, id, now)?;
            }
            let conv = conversation_in(tx, id)?
                .ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))?;
            Ok((conv, n > 0))
        })
    }

    fn mark_read(&self, id: &str, reader: ReaderKind, seq: u64) -> StoreResult<ConversationRecord> {
        self.write(|tx| {
            let conv = conversation_in(tx, id)?
                .ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))?;
            if seq > conv.last_seq {
                return Err(StoreError::Invalid(format!(
                    "seq {seq} is beyond the conversation's last message ({})",
                    conv.last_seq
                )));
            }
            let sql = match reader {
                ReaderKind::Visitor => {
                    "UPDATE conversations SET visitor_read_seq = MAX(visitor_read_seq, ?2) WHERE id = ?1"
                }
                ReaderKind::Agent => "UPDATE conversations SET agent_read_seq = MAX(agent_read_seq, ?2) WHERE id = ?1",
            };
            tx.execute(sql, params![id, seq_to_sql(seq)])?;
            conversation_in(tx, id)?.ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))
        })
    }
}

impl MessageStore for SqliteStore {
    fn append_message(&self, new: &NewMessage) -> StoreResult<Appended> {
        let quick_replies = if new.quick_replies.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&new.quick_replies).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        };
        self.write(|tx| {
            let conv = conversation_in(tx, &new.conversation_id)?
                .filter(|c| new.owner_visitor_id.as_ref().is_none_or(|owner| *owner == c.visitor_id))
                .ok_or_else(|| {
                    StoreError::NotFound(format!("conversation `{}` does not exist", new.conversation_id))
                })?;
            // Idempotency first: a replay returns the stored message even if the conversation changed since.
            if let Some(client_id) = &new.client_message_id {
                if let Some(stored) = message_by_client_id(tx, &conv.id, client_id)? {
                    if !same_content(&stored, new) {
                        return Err(StoreError::Conflict(format!(
                            "client_message_id `{client_id}` was already used in this conversation for a different \
                             message; generate a new id for a new message"
                        )));
                    }
                    return Ok(Appended {
                        message: stored,
                        created: false,
                        reopened: false,
                        assigned: false,
                        conversation: conv,
                    });
                }
            }
            if let Some(hash) = &new.require_consent_hash {
                if !has_accepted(tx, &conv.visitor_id, conv.chatflow_id, hash)? {
                    return Err(StoreError::ConsentRequired(format!(
                        "chatflow {} requires explicit consent to process data: store an `accepted` process_data \
                         record whose text_hash is the SHA-256 of the current notice (PUT /v1/consents/{{record_id}}), \
                         then send again",
                        conv.chatflow_id
                    )));
                }
            }
            // The single writer makes last_seq + 1 race-free; the primary key (conversation_id, seq) backs it up.
            let seq = conv.last_seq + 1;
            let reopened = new.reopen && conv.status == ConversationStatus::Closed;
            let assigned = conv.assignee_agent_id.is_none() && new.assign_if_unassigned.is_some();
            tx.prepare_cached(
                "INSERT INTO messages (conversation_id, seq, client_message_id, author_kind, author_id, author_name,
                     author_avatar, body, quick_replies, quick_reply_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                conv.id,
                seq_to_sql(seq),
                new.client_message_id,
                author_kind_str(new.author.kind),
                new.author.id,
                new.author.display_name,
                new.author.avatar_url,
                new.body,
                quick_replies,
                new.quick_reply_id,
                new.now
            ])?;
            // The author has seen the conversation up to their own message.
            let read_col = match new.author.kind {
                chatflow_protocol::AuthorKind::Visitor => "visitor_read_seq",
                _ => "agent_read_seq",
            };
            tx.prepare_cached(&format!(
                "UPDATE conversations SET last_seq = ?2, updated_at = ?3, {read_col} = ?2,
                     status = CASE WHEN ?4 THEN 'open' ELSE status END,
                     assignee_agent_id = COALESCE(assignee_agent_id, ?5)
                 WHERE id = ?1"
            ))?
            .execute(params![conv.id, seq_to_sql(seq), new.now, reopened, new.assign_if_unassigned])?;
            super::inbox::on_message_appended(tx, &conv, &new.author, &new.body, new.now, reopened)?;
            let conversation =
                conversation_in(tx, &conv.id)?.ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))?;
            let message = Message {
                conversation_id: conv.id.clone(),
                seq,
                client_message_id: new.client_message_id.clone(),
                author: new.author.clone(),
                body: new.body.clone(),
                quick_replies: new.quick_replies.clone(),
                quick_reply_id: new.quick_reply_id.clone(),
                created_at: new.now,
            };
            Ok(Appended { message, created: true, reopened, assigned, conversation })
        })
    }

    fn messages(&self, conversation_id: &str, paging: Paging, limit: u32) -> StoreResult<MessagePage> {
        self.read(|c| {
            let conv = conversation_in(c, conversation_id)?
                .ok_or_else(|| StoreError::NotFound(format!("conversation `{conversation_id}` does not exist")))?;
            // One extra row tells whether more exist in the paging direction.
            let fetch = i64::from(limit) + 1;
            let (sql, bound, ascending) = match paging {
                Paging::After(n) => ("seq > ?2 ORDER BY seq ASC", seq_to_sql(n), true),
                Paging::Before(n) => ("seq < ?2 ORDER BY seq DESC", seq_to_sql(n), false),
                Paging::Latest => ("seq <= ?2 ORDER BY seq DESC", i64::MAX, false),
            };
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {MSG_COLS} FROM messages WHERE conversation_id = ?1 AND {sql} LIMIT ?3"
            ))?;
            let mut messages = stmt
                .query_map(params![conversation_id, bound, fetch], msg_from_row)?
                .map(|r| finish_msg(r?))
                .collect::<StoreResult<Vec<_>>>()?;
            let has_more = messages.len() > limit as usize;
            messages.truncate(limit as usize);
            if !ascending {
                messages.reverse();
            }
            Ok(MessagePage { messages, has_more, last_seq: conv.last_seq })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use super::*;
    use crate::store::{ConversationStore, VisitorStore};
    use chatflow_protocol::AuthorKind;
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, SqliteStore) {
        let (dir, s) = store();
        s.create_visitor("app1", "v1", "t1", 1).unwrap();
        s.create_conversation(&NewConversation {
            id: "c1".into(),
            app_id: "app1".into(),
            chatflow_id: 1,
            visitor_id: "v1".into(),
            assignee_agent_id: None,
            now: 1,
        })
        .unwrap();
        (dir, s)
    }

    fn visitor_msg(client_id: &str, body: &str) -> NewMessage {
        NewMessage {
            conversation_id: "c1".into(),
            client_message_id: Some(client_id.into()),
            author: Author { kind: AuthorKind::Visitor, id: Some("v1".into()), display_name: None, avatar_url: None },
            body: body.into(),
            quick_reply_id: None,
            quick_replies: vec![],
            now: 2,
            owner_visitor_id: Some("v1".into()),
            reopen: true,
            require_consent_hash: None,
            assign_if_unassigned: None,
        }
    }

    #[test]
    fn seq_is_allocated_without_gaps_under_concurrent_writers() {
        let (_dir, s) = setup();
        let s = Arc::new(s);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        s.append_message(&visitor_msg(&format!("m{t}-{i}"), "hi")).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let page = s.messages("c1", Paging::After(0), 500).unwrap();
        let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
        assert_eq!(page.last_seq, 200);
    }

    #[test]
    fn replay_returns_the_stored_message_and_a_changed_body_conflicts() {
        let (_dir, s) = setup();
        let first = s.append_message(&visitor_msg("a", "hello")).unwrap();
        assert!(first.created);
        let again = s.append_message(&visitor_msg("a", "hello")).unwrap();
        assert!(!again.created);
        assert_eq!(again.message, first.message);
        assert!(matches!(s.append_message(&visitor_msg("a", "other")), Err(StoreError::Conflict(_))));
        assert_eq!(s.messages("c1", Paging::Latest, 10).unwrap().messages.len(), 1);
        let mut intruder = visitor_msg("b", "hello");
        intruder.owner_visitor_id = Some("v2".into());
        assert!(matches!(s.append_message(&intruder), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn paging_edges() {
        let (_dir, s) = setup();
        let empty = s.messages("c1", Paging::Latest, 10).unwrap();
        assert!(empty.messages.is_empty() && !empty.has_more && empty.last_seq == 0);
        for i in 0..10 {
            s.append_message(&visitor_msg(&format!("m{i}"), "x")).unwrap();
        }
        let exact = s.messages("c1", Paging::After(0), 10).unwrap();
        assert_eq!(exact.messages.len(), 10);
        assert!(!exact.has_more, "an exact page has nothing more");
        let first = s.messages("c1", Paging::After(0), 4).unwrap();
        assert_eq!(first.messages.first().map(|m| m.seq), Some(1));
        assert!(first.has_more);
        let last = s.messages("c1", Paging::After(8), 4).unwrap();
        assert_eq!(last.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![9, 10]);
        assert!(!last.has_more);
        let history = s.messages("c1", Paging::Before(5), 3).unwrap();
        assert_eq!(history.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
        assert!(history.has_more);
        let oldest = s.messages("c1", Paging::Before(3), 3).unwrap();
        assert_eq!(oldest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert!(!oldest.has_more);
        let latest = s.messages("c1", Paging::Latest, 3).unwrap();
        assert_eq!(latest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![8, 9, 10]);
        assert!(s.messages("c1", Paging::After(u64::MAX), 3).unwrap().messages.is_empty());
    }

    #[test]
    fn closed_conversation_reopens_on_a_visitor_message_and_read_marks_only_rise() {
        let (_dir, s) = setup();
        s.append_message(&visitor_msg("a", "x")).unwrap();
        let (_, changed) = s.close_conversation("c1", 3).unwrap();
        assert!(changed);
        assert!(!s.close_conversation("c1", 3).unwrap().1);
        let out = s.append_message(&visitor_msg("b", "y")).unwrap();
        assert!(out.reopened);
        assert_eq!(out.conversation.status, ConversationStatus::Open);
        assert_eq!(s.mark_read("c1", ReaderKind::Agent, 2).unwrap().agent_read_seq, 2);
        assert_eq!(s.mark_read("c1", ReaderKind::Agent, 1).unwrap().agent_read_seq, 2);
        assert!(matches!(s.mark_read("c1", ReaderKind::Agent, 3), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn consent_gate_runs_inside_the_append() {
        let (_dir, s) = setup();
        let mut m = visitor_msg("a", "x");
        m.require_consent_hash = Some("h".repeat(64));
        assert!(matches!(s.append_message(&m), Err(StoreError::ConsentRequired(_))));
        assert_eq!(s.conversation("c1").unwrap().unwrap().last_seq, 0, "a refusal writes nothing");
    }
}
