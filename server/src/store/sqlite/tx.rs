//! The unit of work on SQLite: an `IMMEDIATE` transaction on the single writer connection. Writers are serialized by
//! the writer mutex (and SQLite's write lock), so every row read inside is current and stays so until commit — the
//! locking contracts of `store::tx` hold without row locks.

use std::collections::BTreeMap;

use chatflow_protocol::{Chatflow, ConsentDecision, ConsentKind, ConsentRecord, Message};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::conversations::{conversation_in, insert_message_in, message_by_client_id};
use super::feed::{flush, FeedLog};
use super::group::{AfterCommit, Outcome};
use super::{channel_str, consent_kind_str, parse_decision, seq_from_sql, seq_to_sql, status_str, SqliteStore};
use crate::bots::engine::BotSession;
use crate::store::inbox::{HandledBy, HelpDeskScope, HelpDeskSetting, InboxState, TicketRecord};
use crate::store::tx::{
    BotTx, ConsentTx, ConversationChange, ConversationTx, Finish, MessageTx, NewTicket, RoutingTx, TicketTx, Tx,
    UnitOfWork, VisitorTx,
};
use crate::store::{
    AgentRecord, ConversationRecord, NewConversation, StoreError, StoreResult, TeamMember, VisitorRecord,
};

/// The operations of `store::tx` on one open SQLite transaction.
pub(super) struct SqliteTx<'a> {
    pub(super) tx: &'a Connection,
    /// What this unit of work changed, for the agents' feed log (written before the commit).
    pub(super) feed: FeedLog,
    /// Pushes were queued: wake the push worker after the commit.
    pub(super) pushes_queued: bool,
}

impl UnitOfWork for SqliteStore {
    fn transaction(&self, work: &mut dyn FnMut(&mut dyn Tx) -> StoreResult<Finish>) -> StoreResult<()> {
        self.group_write(|conn| {
            let mut work_tx = SqliteTx { tx: conn, feed: FeedLog::default(), pushes_queued: false };
            match work(&mut work_tx)? {
                Finish::Commit => {
                    let flushed = flush(conn, &work_tx.feed, self.feed.retention())?;
                    Ok(Outcome::Keep((), AfterCommit { flushed, pushes_queued: work_tx.pushes_queued }))
                }
                Finish::Rollback => Ok(Outcome::Undo(())),
            }
        })
    }
}

impl ConversationTx for SqliteTx<'_> {
    fn conversation_for_update(&mut self, id: &str) -> StoreResult<Option<ConversationRecord>> {
        conversation_in(self.tx, id)
    }

    fn inbox_state(&mut self, id: &str) -> StoreResult<Option<InboxState>> {
        super::inbox::state_in(self.tx, id)
    }

    fn insert_conversation(&mut self, new: &NewConversation, handled_by: HandledBy) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO conversations (id, app_id, chatflow_id, visitor_id, status, channel, assignee_agent_id,
                     created_at, updated_at, handled_by, bot_started)
                 VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?7, ?8, ?9)",
            )?
            .execute(params![
                new.id,
                new.app_id,
                new.chatflow_id,
                new.visitor_id,
                channel_str(chatflow_protocol::Channel::MobileChat),
                new.assignee_agent_id,
                new.now,
                handled_by.as_str(),
                handled_by == HandledBy::Bot
            ])?;
        self.feed.conversation(&new.id);
        Ok(())
    }

    fn update_conversation(&mut self, id: &str, change: &ConversationChange) -> StoreResult<()> {
        let mut sets: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = vec![Value::Text(id.to_owned())];
        let mut set = |column: &'static str, value: Value| {
            sets.push(column);
            args.push(value);
        };
        let opt_int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
        if let Some(s) = change.status {
            set("status", Value::Text(status_str(s).into()));
        }
        if let Some(at) = change.updated_at {
            set("updated_at", Value::Integer(at));
        }
        if let Some(a) = &change.assignee_agent_id {
            set("assignee_agent_id", a.clone().map_or(Value::Null, Value::Text));
        }
        if let Some(h) = change.handled_by {
            set("handled_by", Value::Text(h.as_str().into()));
        }
        if let Some(at) = change.handoff_at {
            set("handoff_at", Value::Integer(at));
        }
        if let Some(at) = change.taken_over_at {
            set("taken_over_at", Value::Integer(at));
        }
        if let Some(at) = change.closed_at {
            set("closed_at", opt_int(at));
        }
        if let Some(seq) = change.visitor_read_seq {
            set("visitor_read_seq", Value::Integer(seq_to_sql(seq)));
        }
        if let Some(seq) = change.agent_read_seq {
            set("agent_read_seq", Value::Integer(seq_to_sql(seq)));
        }
        if sets.is_empty() {
            return Ok(());
        }
        let assignments: Vec<String> = sets.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 2)).collect();
        // Few distinct column sets occur, so the statement cache keeps them all.
        let sql = format!("UPDATE conversations SET {} WHERE id = ?1", assignments.join(", "));
        let n = self.tx.prepare_cached(&sql)?.execute(params_from_iter(args))?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("conversation `{id}` does not exist")));
        }
        self.feed.conversation(id);
        Ok(())
    }

    fn chatflow(&mut self, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>> {
        super::apps::chatflow_in(self.tx, app_id, id)
    }

    fn agent_exists(&mut self, app_id: &str, agent_id: &str) -> StoreResult<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM agents WHERE id = ?1 AND app_id = ?2)")?
            .query_row(params![agent_id, app_id], |r| r.get(0))?)
    }
}

impl MessageTx for SqliteTx<'_> {
    fn message_by_client_id(&mut self, conversation_id: &str, client_id: &str) -> StoreResult<Option<Message>> {
        message_by_client_id(self.tx, conversation_id, client_id)
    }

    fn next_seq(&mut self, conversation_id: &str) -> StoreResult<u64> {
        let seq: Option<i64> = self
            .tx
            .prepare_cached("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq")?
            .query_row([conversation_id], |r| r.get(0))
            .optional()?;
        seq.map(seq_from_sql)
            .ok_or_else(|| StoreError::NotFound(format!("conversation `{conversation_id}` does not exist")))
    }

    fn insert_message(&mut self, message: &Message) -> StoreResult<()> {
        insert_message_in(self.tx, message)?;
        self.feed.message(&message.conversation_id, message.seq);
        Ok(())
    }

    fn first_visitor_body(&mut self, conversation_id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT body FROM messages WHERE conversation_id = ?1 AND author_kind = 'visitor' ORDER BY seq LIMIT 1",
            )?
            .query_row([conversation_id], |r| r.get(0))
            .optional()?)
    }
}

impl RoutingTx for SqliteTx<'_> {
    fn agents(&mut self, app_id: &str) -> StoreResult<Vec<AgentRecord>> {
        super::apps::agents_in(self.tx, app_id)
    }

    fn team_members(&mut self, app_id: &str) -> StoreResult<Vec<TeamMember>> {
        super::apps::team_members_in(self.tx, app_id)
    }

    fn is_blocked(&mut self, app_id: &str, visitor_id: &str) -> StoreResult<bool> {
        super::inbox::is_blocked_in(self.tx, app_id, visitor_id)
    }

    fn contact_owner(&mut self, visitor_id: &str, except_conversation: Option<&str>) -> StoreResult<Option<String>> {
        super::inbox::contact_owner_in(self.tx, visitor_id, except_conversation)
    }

    fn next_routing_cursor(&mut self, chatflow_id: i64) -> StoreResult<u64> {
        super::apps::routing_cursor_in(self.tx, chatflow_id)
    }
}

impl VisitorTx for SqliteTx<'_> {
    fn visitor(&mut self, id: &str) -> StoreResult<Option<VisitorRecord>> {
        super::visitors::visitor_in(self.tx, id)
    }

    fn visitor_of_user(&mut self, app_id: &str, user_id: &str) -> StoreResult<Option<VisitorRecord>> {
        super::visitors::visitor_of_user_in(self.tx, app_id, user_id)
    }

    fn insert_user_visitor(&mut self, id: &str, app_id: &str, user_id: &str, now: i64) -> StoreResult<()> {
        self.tx.execute(
            "INSERT INTO visitors (id, app_id, user_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, app_id, user_id, now],
        )?;
        Ok(())
    }

    fn set_visitor_user(&mut self, visitor_id: &str, user_id: &str) -> StoreResult<()> {
        self.tx.execute("UPDATE visitors SET user_id = ?2 WHERE id = ?1", params![visitor_id, user_id])?;
        self.feed.visitor(visitor_id);
        Ok(())
    }

    fn set_visitor_email(&mut self, visitor_id: &str, email: &str) -> StoreResult<()> {
        self.tx.execute("UPDATE visitors SET email = ?2 WHERE id = ?1", params![visitor_id, email])?;
        self.feed.visitor(visitor_id);
        Ok(())
    }

    fn conversation_ids_of(&mut self, visitor_id: &str) -> StoreResult<Vec<String>> {
        super::visitors::conversation_ids_of(self.tx, visitor_id)
    }

    fn fold_visitor(&mut self, from: &str, into: &str) -> StoreResult<()> {
        super::visitors::fold_visitor_in(self.tx, from, into)?;
        // The moved conversations now show the user's contact.
        self.feed.visitor(into);
        Ok(())
    }

    fn replace_token(&mut self, old_hash: &str, new_hash: &str, visitor_id: &str, now: i64) -> StoreResult<()> {
        super::visitors::replace_token_in(self.tx, old_hash, new_hash, visitor_id, now)
    }
}

impl BotTx for SqliteTx<'_> {
    fn upsert_bot_session(&mut self, session: &BotSession, now: i64) -> StoreResult<()> {
        super::bots::upsert_session_in(self.tx, session, now)
    }

    fn visitor_properties(&mut self, visitor_id: &str) -> StoreResult<BTreeMap<String, String>> {
        super::bots::properties_in(self.tx, visitor_id)
    }

    fn set_visitor_properties(&mut self, visitor_id: &str, properties: &BTreeMap<String, String>) -> StoreResult<()> {
        super::bots::set_properties_in(self.tx, visitor_id, properties)?;
        self.feed.visitor(visitor_id);
        Ok(())
    }
}

impl ConsentTx for SqliteTx<'_> {
    fn visitor_app_id(&mut self, visitor_id: &str) -> StoreResult<Option<String>> {
        super::visitors::visitor_app_in(self.tx, visitor_id)
    }

    fn consent_record(&mut self, visitor_id: &str, record_id: &str) -> StoreResult<Option<ConsentRecord>> {
        super::visitors::consent_in(self.tx, visitor_id, record_id)
    }

    fn insert_consent(&mut self, record: &ConsentRecord) -> StoreResult<()> {
        super::visitors::insert_consent_in(self.tx, record)
    }

    fn latest_consent_decision(
        &mut self,
        visitor_id: &str,
        chatflow_id: i64,
        kind: ConsentKind,
        text_hash: &str,
    ) -> StoreResult<Option<ConsentDecision>> {
        let decision: Option<String> = self
            .tx
            .prepare_cached(
                "SELECT decision FROM consent_records
                 WHERE visitor_id = ?1 AND chatflow_id = ?2 AND kind = ?3 AND text_hash = ?4
                 ORDER BY recorded_at DESC, rowid DESC LIMIT 1",
            )?
            .query_row(params![visitor_id, chatflow_id, consent_kind_str(kind), text_hash], |r| r.get(0))
            .optional()?;
        decision.as_deref().map(parse_decision).transpose()
    }
}

impl TicketTx for SqliteTx<'_> {
    fn help_desk(&mut self, app_id: &str, scope: &HelpDeskScope) -> StoreResult<Option<HelpDeskSetting>> {
        super::tickets::setting_in(self.tx, app_id, scope)
    }

    fn ticket_of_conversation(&mut self, conversation_id: &str) -> StoreResult<Option<TicketRecord>> {
        super::tickets::ticket_of_conversation_in(self.tx, conversation_id)
    }

    fn insert_ticket(&mut self, t: &NewTicket) -> StoreResult<bool> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO tickets (app_id, conversation_id, pipeline, status, subject, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?5) ON CONFLICT(conversation_id) DO NOTHING",
            )?
            .execute(params![t.app_id, t.conversation_id, t.pipeline, t.subject, t.now])?;
        if n > 0 {
            self.feed.conversation(&t.conversation_id);
        }
        Ok(n > 0)
    }

    fn set_ticket_subject_if_empty(&mut self, conversation_id: &str, subject: &str, now: i64) -> StoreResult<()> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE tickets SET subject = ?2, updated_at = ?3 WHERE conversation_id = ?1 AND subject IS NULL",
            )?
            .execute(params![conversation_id, subject, now])?;
        if n > 0 {
            self.feed.conversation(conversation_id);
        }
        Ok(())
    }
}

impl crate::store::email::EmailTx for SqliteTx<'_> {
    fn email_configured(&mut self, app_id: &str) -> StoreResult<bool> {
        super::email::configured_in(self.tx, app_id)
    }

    fn latest_email(
        &mut self,
        conversation_id: &str,
        kind: crate::store::email::EmailKind,
    ) -> StoreResult<Option<crate::store::email::EmailRecord>> {
        super::email::latest_in(self.tx, conversation_id, kind)
    }

    fn insert_email(&mut self, email: &crate::store::email::NewEmail) -> StoreResult<i64> {
        super::email::insert_in(self.tx, email)
    }
}
