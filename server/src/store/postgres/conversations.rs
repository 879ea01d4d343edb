//! Conversations and messages in PostgreSQL: rows, the message insert, paging. (The append's rules are in
//! `domain::messages`; `seq` allocation is `PgTx::next_seq`, under the row lock of `conversation_for_update`.)

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};
use chatflow_protocol::{Author, AuthorKind, ConversationStatus, Message, MessagePage};

use super::{seq_from_sql, seq_to_sql, PostgresStore};
use crate::store::columns::{author_kind_str, parse_author_kind, parse_channel, parse_status, status_str};
use crate::store::{ConversationRecord, ConversationStore, MessageStore, Paging, StoreError, StoreResult};

pub(super) const CONV_COLS: &str =
    "id, app_id, chatflow_id, visitor_id, status, channel, assignee_agent_id, created_at, updated_at, last_seq, \
     agent_read_seq, visitor_read_seq";

/// A conversation from the 12 columns of [`CONV_COLS`] starting at `at`.
pub(super) fn conv_from_row(r: &Row, at: usize) -> StoreResult<ConversationRecord> {
    Ok(ConversationRecord {
        id: r.get(at),
        app_id: r.get(at + 1),
        chatflow_id: r.get(at + 2),
        visitor_id: r.get(at + 3),
        status: parse_status(r.get(at + 4))?,
        channel: parse_channel(r.get(at + 5))?,
        assignee_agent_id: r.get(at + 6),
        created_at: r.get(at + 7),
        updated_at: r.get(at + 8),
        last_seq: seq_from_sql(r.get(at + 9)),
        agent_read_seq: seq_from_sql(r.get(at + 10)),
        visitor_read_seq: seq_from_sql(r.get(at + 11)),
    })
}

pub(super) fn conversation_in(c: &mut impl GenericClient, id: &str) -> StoreResult<Option<ConversationRecord>> {
    c.query_opt(&format!("SELECT {CONV_COLS} FROM conversations WHERE id = $1"), &[&id])?
        .map(|r| conv_from_row(&r, 0))
        .transpose()
}

/// The conversation, its row locked until the transaction ends (concurrent writers of it wait).
pub(super) fn conversation_for_update_in(
    c: &mut impl GenericClient,
    id: &str,
) -> StoreResult<Option<ConversationRecord>> {
    c.query_opt(&format!("SELECT {CONV_COLS} FROM conversations WHERE id = $1 FOR UPDATE"), &[&id])?
        .map(|r| conv_from_row(&r, 0))
        .transpose()
}

fn conversations_where(
    c: &mut impl GenericClient,
    sql_where: &str,
    args: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<ConversationRecord>> {
    let rows = c.query(&format!("SELECT {CONV_COLS} FROM conversations {sql_where}"), args)?;
    rows.iter().map(|r| conv_from_row(r, 0)).collect()
}

const MSG_COLS: &str = "conversation_id, seq, client_message_id, author_kind, author_id, author_name, author_avatar, \
                        body, quick_replies, quick_reply_id, created_at, survey, attachments";

fn msg_from_row(r: &Row) -> StoreResult<Message> {
    let seq = seq_from_sql(r.get(1));
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("{what} of message {seq}: {e}"));
    let quick_replies = match r.get::<_, Option<String>>(8) {
        Some(json) => serde_json::from_str(&json).map_err(|e| corrupt("quick replies", e))?,
        None => Vec::new(),
    };
    let survey = match r.get::<_, Option<String>>(11) {
        Some(json) => Some(serde_json::from_str(&json).map_err(|e| corrupt("survey", e))?),
        None => None,
    };
    let attachments = match r.get::<_, Option<String>>(12) {
        Some(json) => serde_json::from_str(&json).map_err(|e| corrupt("attachments", e))?,
        None => Vec::new(),
    };
    Ok(Message {
        conversation_id: r.get(0),
        seq,
        client_message_id: r.get(2),
        author: Author {
            kind: parse_author_kind(r.get(3))?,
            id: r.get(4),
            display_name: r.get(5),
            avatar_url: r.get(6),
        },
        body: r.get(7),
        quick_replies,
        quick_reply_id: r.get(9),
        created_at: r.get(10),
        survey,
        attachments,
    })
}

pub(super) fn message_by_client_id_in(
    c: &mut impl GenericClient,
    conversation_id: &str,
    client_id: &str,
) -> StoreResult<Option<Message>> {
    c.query_opt(
        &format!("SELECT {MSG_COLS} FROM messages WHERE conversation_id = $1 AND client_message_id = $2"),
        &[&conversation_id, &client_id],
    )?
    .map(|r| msg_from_row(&r))
    .transpose()
}

fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Inserts a message row (the caller allocated its `seq`). `(conversation, client id)` is unique (an index), so a
/// client id is stored once even if a caller skipped the lookup.
pub(super) fn insert_message_in(c: &mut impl GenericClient, m: &Message) -> StoreResult<()> {
    let quick_replies = if m.quick_replies.is_empty() { None } else { Some(to_json(&m.quick_replies)?) };
    let survey = m.survey.as_ref().map(to_json).transpose()?;
    let attachments = if m.attachments.is_empty() { None } else { Some(to_json(&m.attachments)?) };
    c.execute(
        "INSERT INTO messages (conversation_id, seq, client_message_id, author_kind, author_id, author_name,
             author_avatar, body, quick_replies, quick_reply_id, created_at, survey, attachments)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &m.conversation_id,
            &seq_to_sql(m.seq),
            &m.client_message_id,
            &author_kind_str(m.author.kind),
            &m.author.id,
            &m.author.display_name,
            &m.author.avatar_url,
            &m.body,
            &quick_replies,
            &m.quick_reply_id,
            &m.created_at,
            &survey,
            &attachments,
        ],
    )?;
    Ok(())
}

/// The body of the conversation's first visitor message.
pub(super) fn first_visitor_body_in(c: &mut impl GenericClient, conversation_id: &str) -> StoreResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT body FROM messages WHERE conversation_id = $1 AND author_kind = $2 ORDER BY seq LIMIT 1",
        &[&conversation_id, &author_kind_str(AuthorKind::Visitor)],
    )?
    .map(|r| r.get(0)))
}

impl ConversationStore for PostgresStore {
    fn conversation(&self, id: &str) -> StoreResult<Option<ConversationRecord>> {
        conversation_in(&mut *self.pool.get()?, id)
    }

    fn visitor_conversations(&self, visitor_id: &str) -> StoreResult<Vec<ConversationRecord>> {
        conversations_where(
            &mut *self.pool.get()?,
            "WHERE visitor_id = $1 ORDER BY created_at DESC, id DESC",
            &[&visitor_id],
        )
    }

    fn app_conversations(
        &self,
        app_id: &str,
        status: Option<ConversationStatus>,
        limit: u32,
    ) -> StoreResult<Vec<ConversationRecord>> {
        let mut conn = self.pool.get()?;
        let limit = i64::from(limit);
        match status {
            Some(s) => conversations_where(
                &mut *conn,
                "WHERE app_id = $1 AND status = $2 ORDER BY updated_at DESC, id DESC LIMIT $3",
                &[&app_id, &status_str(s), &limit],
            ),
            None => conversations_where(
                &mut *conn,
                "WHERE app_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2",
                &[&app_id, &limit],
            ),
        }
    }
}

impl MessageStore for PostgresStore {
    fn messages(&self, conversation_id: &str, paging: Paging, limit: u32) -> StoreResult<MessagePage> {
        // One snapshot: `last_seq` and the page agree.
        self.read(|tx| {
            let conv = conversation_in(tx, conversation_id)?
                .ok_or_else(|| StoreError::NotFound(format!("conversation `{conversation_id}` does not exist")))?;
            let w = paging.window();
            let rows = tx.query(
                &format!(
                    "SELECT {MSG_COLS} FROM messages WHERE conversation_id = $1 AND seq < $4 AND seq {} $2
                     ORDER BY seq {} LIMIT $3",
                    w.comparison,
                    w.order()
                ),
                &[&conversation_id, &w.bound, &(i64::from(limit) + 1), &w.upper],
            )?;
            let messages = rows.iter().map(msg_from_row).collect::<StoreResult<Vec<_>>>()?;
            Ok(w.page(messages, limit, conv.last_seq))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Barrier;

    use super::*;
    use crate::domain::messages::append;
    use crate::store::test_backends::{store_with_conversation, visitor_msg};

    /// Whether this run tests PostgreSQL (`CHATFLOW_TEST_POSTGRES`, which `test_backends` reads); a run that says it
    /// must (`CHATFLOW_REQUIRE_POSTGRES=1`) fails instead of skipping.
    fn on_postgres() -> bool {
        let set = std::env::var("CHATFLOW_TEST_POSTGRES").is_ok_and(|v| !v.is_empty());
        if !set && std::env::var("CHATFLOW_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("CHATFLOW_REQUIRE_POSTGRES=1 but CHATFLOW_TEST_POSTGRES is not set");
        }
        set
    }

    #[test]
    fn concurrent_appends_get_gap_free_seqs_and_client_ids_stay_idempotent() {
        if !on_postgres() {
            return;
        }
        // A fresh database (pool of 8) with app1, chatflow 1, visitor v1 and its conversation c1.
        let store = store_with_conversation(1);
        let s = &*store;

        const THREADS: usize = 8;
        const EACH: usize = 50;
        let start = Barrier::new(THREADS);
        let seqs: Vec<u64> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let start = &start;
                    scope.spawn(move || {
                        start.wait();
                        (0..EACH)
                            .map(|i| {
                                let appended = append(s, &visitor_msg(&format!("t{t}-{i}"), "hello")).unwrap();
                                assert!(appended.created);
                                appended.message.seq
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        let total = (THREADS * EACH) as u64;
        let distinct: BTreeSet<u64> = seqs.iter().copied().collect();
        assert_eq!(seqs.len(), distinct.len(), "a seq was handed out twice");
        assert_eq!(distinct, (1..=total).collect::<BTreeSet<_>>(), "seqs are 1..={total} without a gap");
        let page = s.messages("c1", Paging::After(0), 1000).unwrap();
        assert_eq!(page.last_seq, total);
        assert_eq!(page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());

        // The same client id from two threads at once: one message, both callers get it.
        for round in 0..10 {
            let client_id = format!("same-{round}");
            let start = Barrier::new(2);
            let results: Vec<_> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..2)
                    .map(|_| {
                        let (start, client_id) = (&start, &client_id);
                        scope.spawn(move || {
                            start.wait();
                            append(s, &visitor_msg(client_id, "once")).unwrap()
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            assert_eq!(results.iter().filter(|r| r.created).count(), 1, "exactly one caller stored it");
            assert_eq!(results[0].message, results[1].message);
            assert_eq!(results[0].message.seq, total + 1 + round);
        }
        let page = s.messages("c1", Paging::After(total), 1000).unwrap();
        assert_eq!(page.messages.len(), 10);
        assert_eq!(page.last_seq, total + 10, "a replay takes no seq");
    }
}
