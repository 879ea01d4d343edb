//! Conversations and messages in SQLite: rows, the message insert, paging. (The append's rules are in
//! `domain::messages`; `seq` allocation is `SqliteTx::next_seq`.)

use chatflow_protocol::{Author, ConversationStatus, Message, MessagePage};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{
    author_kind_str, parse_author_kind, parse_channel, parse_status, seq_from_sql, seq_to_sql, status_str, SqliteStore,
};
use crate::store::{ConversationRecord, ConversationStore, MessageStore, Paging, StoreError, StoreResult};

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
                        body, quick_replies, quick_reply_id, created_at, survey, attachments";

struct MsgRow {
    msg: Message,
    author_kind: String,
    quick_replies: Option<String>,
    survey: Option<String>,
    attachments: Option<String>,
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
            survey: None,
            attachments: Vec::new(),
        },
        author_kind: r.get(3)?,
        quick_replies: r.get(8)?,
        survey: r.get(11)?,
        attachments: r.get(12)?,
    })
}

fn finish_msg(row: MsgRow) -> StoreResult<Message> {
    let mut msg = row.msg;
    msg.author.kind = parse_author_kind(&row.author_kind)?;
    if let Some(json) = row.quick_replies {
        msg.quick_replies = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("quick replies of message {}: {e}", msg.seq)))?;
    }
    if let Some(json) = row.survey {
        msg.survey = Some(
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("survey of message {}: {e}", msg.seq)))?,
        );
    }
    if let Some(json) = row.attachments {
        msg.attachments = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("attachments of message {}: {e}", msg.seq)))?;
    }
    Ok(msg)
}

pub(super) fn message_by_client_id(
    conn: &Connection,
    conversation_id: &str,
    client_id: &str,
) -> StoreResult<Option<Message>> {
    conn.prepare_cached(&format!(
        "SELECT {MSG_COLS} FROM messages WHERE conversation_id = ?1 AND client_message_id = ?2"
    ))?
    .query_row(params![conversation_id, client_id], msg_from_row)
    .optional()?
    .map(finish_msg)
    .transpose()
}

/// Inserts a message row (the caller allocated its `seq`).
pub(super) fn insert_message_in(conn: &Connection, m: &Message) -> StoreResult<()> {
    let quick_replies = if m.quick_replies.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&m.quick_replies).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    };
    let survey = match &m.survey {
        Some(part) => Some(serde_json::to_string(part).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    };
    let attachments = if m.attachments.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&m.attachments).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    };
    conn.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, client_message_id, author_kind, author_id, author_name,
             author_avatar, body, quick_replies, quick_reply_id, created_at, survey, attachments)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        m.conversation_id,
        seq_to_sql(m.seq),
        m.client_message_id,
        author_kind_str(m.author.kind),
        m.author.id,
        m.author.display_name,
        m.author.avatar_url,
        m.body,
        quick_replies,
        m.quick_reply_id,
        m.created_at,
        survey,
        attachments
    ])?;
    Ok(())
}

impl ConversationStore for SqliteStore {
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
}

impl MessageStore for SqliteStore {
    fn messages(&self, conversation_id: &str, paging: Paging, limit: u32) -> StoreResult<MessagePage> {
        self.read(|c| {
            let conv = conversation_in(c, conversation_id)?
                .ok_or_else(|| StoreError::NotFound(format!("conversation `{conversation_id}` does not exist")))?;
            let w = paging.window();
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {MSG_COLS} FROM messages WHERE conversation_id = ?1 AND seq < ?4 AND seq {} ?2
                 ORDER BY seq {} LIMIT ?3",
                w.comparison,
                w.order()
            ))?;
            let messages = stmt
                .query_map(params![conversation_id, w.bound, i64::from(limit) + 1, w.upper], msg_from_row)?
                .map(|r| finish_msg(r?))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(w.page(messages, limit, conv.last_seq))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{store_with_conversation, visitor_msg};
    use super::*;
    use crate::domain::messages;

    #[test]
    fn paging_edges() {
        let (_dir, s) = store_with_conversation(1);
        let empty = s.messages("c1", Paging::Latest, 10).unwrap();
        assert!(empty.messages.is_empty() && !empty.has_more && empty.last_seq == 0);
        for i in 0..10 {
            messages::append(&s, &visitor_msg(&format!("m{i}"), "x")).unwrap();
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
        let seqs = |p: &MessagePage| p.messages.iter().map(|m| m.seq).collect::<Vec<_>>();
        let window = s.messages("c1", Paging::Between(2, 7), 10).unwrap();
        assert_eq!((seqs(&window), window.has_more), (vec![3, 4, 5, 6], false));
        let window = s.messages("c1", Paging::Between(2, 7), 2).unwrap();
        assert_eq!((seqs(&window), window.has_more), (vec![3, 4], true));
        assert!(s.messages("c1", Paging::Between(5, 6), 10).unwrap().messages.is_empty());
        assert!(s.messages("c1", Paging::Between(7, 2), 10).unwrap().messages.is_empty());
    }
}
