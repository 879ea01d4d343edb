//! The unit of work on PostgreSQL: a `READ COMMITTED` transaction on a pooled connection. The operations that read a
//! row a rule decides on lock it (`conversation_for_update`: `SELECT … FOR UPDATE`), so concurrent writers on any
//! node wait for each other on that row and the contracts of `store::tx` hold.

use std::collections::BTreeMap;

use ::postgres::types::ToSql;
use ::postgres::Transaction;
use chatflow_protocol::{Channel, Chatflow, ChatflowInput, ConsentDecision, ConsentKind, ConsentRecord, Message};

use super::conversations::{
    conversation_for_update_in, first_visitor_body_in, insert_message_in, message_by_client_id_in,
};
use super::feed::{stage, FeedLog};
use super::visitors::{
    consent_in, conversation_ids_of, fold_visitor_in, insert_consent_in, latest_consent_decision_in, replace_token_in,
    visitor_app_in, visitor_in, visitor_of_user_in,
};
use super::{seq_from_sql, seq_to_sql, PostgresStore};
use crate::bots::engine::BotSession;
use crate::store::columns::{channel_str, outcome_str, parse_channel, status_str};
use crate::store::inbox::{HandledBy, HelpDeskScope, HelpDeskSetting, InboxState, TicketRecord, TicketStatus};
use crate::store::tx::{
    BotTx, ConsentTx, ConversationChange, ConversationTx, Finish, MessageTx, NewTicket, RoutingTx, TicketTx, Tx,
    UnitOfWork, VisitorTx,
};
use crate::store::{
    AgentRecord, ConversationRecord, NewConversation, StoreError, StoreResult, TeamMember, VisitorRecord,
};

/// The operations of `store::tx` on one open PostgreSQL transaction.
pub(super) struct PgTx<'t, 'c> {
    pub(super) tx: &'t mut Transaction<'c>,
    /// What this unit of work changed, for the agents' feed log (written before the commit).
    pub(super) feed: FeedLog,
    /// Pushes were queued: wake the push worker after the commit.
    pub(super) pushes_queued: bool,
}

impl UnitOfWork for PostgresStore {
    fn transaction(&self, work: &mut dyn FnMut(&mut dyn Tx) -> StoreResult<Finish>) -> StoreResult<()> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        // An error drops `tx`, which rolls back.
        let mut work_tx = PgTx { tx: &mut tx, feed: FeedLog::default(), pushes_queued: false };
        let finish = work(&mut work_tx)?;
        let PgTx { feed, pushes_queued, .. } = work_tx;
        match finish {
            Finish::Commit => {
                let staged = stage(&mut tx, &feed)?;
                tx.commit()?;
                if staged {
                    self.sequence_feed(&mut *conn);
                }
                drop(conn);
                if pushes_queued {
                    self.push_committed();
                }
            }
            Finish::Rollback => tx.rollback()?,
        }
        Ok(())
    }
}

impl ConversationTx for PgTx<'_, '_> {
    fn conversation_for_update(&mut self, id: &str) -> StoreResult<Option<ConversationRecord>> {
        conversation_for_update_in(self.tx, id)
    }

    fn inbox_state(&mut self, id: &str) -> StoreResult<Option<InboxState>> {
        let row = self.tx.query_opt(
            "SELECT c.handled_by, c.bot_started, c.handoff_at, c.taken_over_at, c.spam, c.contact_unlinked,
                 c.closed_at,
                 EXISTS(SELECT 1 FROM blocked_senders b WHERE b.app_id = c.app_id AND b.visitor_id = c.visitor_id),
                 (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id
                     AND m.author_kind = 'visitor')
             FROM conversations c WHERE c.id = $1",
            &[&id],
        )?;
        let Some(r) = row else { return Ok(None) };
        let handled_by = match r.get::<_, &str>(0) {
            "bot" => HandledBy::Bot,
            "agents" => HandledBy::Agents,
            other => return Err(StoreError::Corrupt(format!("conversation handled_by `{other}`"))),
        };
        Ok(Some(InboxState {
            handled_by,
            bot_started: r.get(1),
            handoff_at: r.get(2),
            taken_over_at: r.get(3),
            spam: r.get(4),
            contact_unlinked: r.get(5),
            closed_at: r.get(6),
            blocked: r.get(7),
            last_visitor_message_at: r.get(8),
        }))
    }

    fn insert_conversation(&mut self, new: &NewConversation, handled_by: HandledBy) -> StoreResult<()> {
        self.tx.execute(
            "INSERT INTO conversations (id, app_id, chatflow_id, visitor_id, status, channel, assignee_agent_id,
                 created_at, updated_at, handled_by, bot_started)
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $7, $8, $9)",
            &[
                &new.id,
                &new.app_id,
                &new.chatflow_id,
                &new.visitor_id,
                &channel_str(Channel::MobileChat),
                &new.assignee_agent_id,
                &new.now,
                &handled_by.as_str(),
                &(handled_by == HandledBy::Bot),
            ],
        )?;
        self.feed.conversation(&new.id);
        Ok(())
    }

    fn update_conversation(&mut self, id: &str, change: &ConversationChange) -> StoreResult<()> {
        let mut sets: Vec<&str> = Vec::new();
        let mut args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(id.to_owned())];
        let mut set = |column: &'static str, value: Box<dyn ToSql + Sync>| {
            sets.push(column);
            args.push(value);
        };
        if let Some(s) = change.status {
            set("status", Box::new(status_str(s)));
        }
        if let Some(at) = change.updated_at {
            set("updated_at", Box::new(at));
        }
        if let Some(a) = &change.assignee_agent_id {
            set("assignee_agent_id", Box::new(a.clone()));
        }
        if let Some(h) = change.handled_by {
            set("handled_by", Box::new(h.as_str()));
        }
        if let Some(at) = change.handoff_at {
            set("handoff_at", Box::new(at));
        }
        if let Some(at) = change.taken_over_at {
            set("taken_over_at", Box::new(at));
        }
        if let Some(at) = change.closed_at {
            set("closed_at", Box::new(at));
        }
        if let Some(seq) = change.visitor_read_seq {
            set("visitor_read_seq", Box::new(seq_to_sql(seq)));
        }
        if let Some(seq) = change.agent_read_seq {
            set("agent_read_seq", Box::new(seq_to_sql(seq)));
        }
        if sets.is_empty() {
            return Ok(());
        }
        let assignments: Vec<String> = sets.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 2)).collect();
        let sql = format!("UPDATE conversations SET {} WHERE id = $1", assignments.join(", "));
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        if self.tx.execute(&sql, &params)? == 0 {
            return Err(StoreError::NotFound(format!("conversation `{id}` does not exist")));
        }
        self.feed.conversation(id);
        Ok(())
    }

    fn chatflow(&mut self, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>> {
        let row = self
            .tx
            .query_opt("SELECT config, updated_at FROM chatflows WHERE id = $1 AND app_id = $2", &[&id, &app_id])?;
        let Some(r) = row else { return Ok(None) };
        let input: ChatflowInput = serde_json::from_str(r.get(0))
            .map_err(|e| StoreError::Corrupt(format!("chatflow {id} settings do not parse: {e}")))?;
        Ok(Some(input.into_chatflow(id, r.get(1))))
    }

    fn agent_exists(&mut self, app_id: &str, agent_id: &str) -> StoreResult<bool> {
        let r = self
            .tx
            .query_one("SELECT EXISTS(SELECT 1 FROM agents WHERE id = $1 AND app_id = $2)", &[&agent_id, &app_id])?;
        Ok(r.get(0))
    }
}

impl MessageTx for PgTx<'_, '_> {
    fn message_by_client_id(&mut self, conversation_id: &str, client_id: &str) -> StoreResult<Option<Message>> {
        message_by_client_id_in(self.tx, conversation_id, client_id)
    }

    fn next_seq(&mut self, conversation_id: &str) -> StoreResult<u64> {
        // The update takes (or keeps) the row lock until commit: concurrent senders get successive values.
        let row = self.tx.query_opt(
            "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
            &[&conversation_id],
        )?;
        row.map(|r| seq_from_sql(r.get(0)))
            .ok_or_else(|| StoreError::NotFound(format!("conversation `{conversation_id}` does not exist")))
    }

    fn insert_message(&mut self, message: &Message) -> StoreResult<()> {
        insert_message_in(self.tx, message)?;
        self.feed.message(&message.conversation_id, message.seq);
        Ok(())
    }

    fn first_visitor_body(&mut self, conversation_id: &str) -> StoreResult<Option<String>> {
        first_visitor_body_in(self.tx, conversation_id)
    }
}

impl RoutingTx for PgTx<'_, '_> {
    fn agents(&mut self, app_id: &str) -> StoreResult<Vec<AgentRecord>> {
        // A disabled agent is out of routing, assignment and the agents list.
        let rows = self.tx.query(
            "SELECT id, app_id, display_name, avatar_url, available FROM agents
             WHERE app_id = $1 AND NOT disabled ORDER BY id",
            &[&app_id],
        )?;
        Ok(rows
            .iter()
            .map(|r| AgentRecord {
                id: r.get(0),
                app_id: r.get(1),
                display_name: r.get(2),
                avatar_url: r.get(3),
                available: r.get(4),
            })
            .collect())
    }

    fn team_members(&mut self, app_id: &str) -> StoreResult<Vec<TeamMember>> {
        let rows = self.tx.query(
            "SELECT team_id, agent_id FROM team_members WHERE app_id = $1 ORDER BY team_id, agent_id",
            &[&app_id],
        )?;
        Ok(rows.iter().map(|r| TeamMember { team_id: r.get(0), agent_id: r.get(1) }).collect())
    }

    fn is_blocked(&mut self, app_id: &str, visitor_id: &str) -> StoreResult<bool> {
        let r = self.tx.query_one(
            "SELECT EXISTS(SELECT 1 FROM blocked_senders WHERE app_id = $1 AND visitor_id = $2)",
            &[&app_id, &visitor_id],
        )?;
        Ok(r.get(0))
    }

    fn contact_owner(&mut self, visitor_id: &str, except_conversation: Option<&str>) -> StoreResult<Option<String>> {
        let row = self.tx.query_opt(
            "SELECT assignee_agent_id FROM conversations
             WHERE visitor_id = $1 AND id <> COALESCE($2::text, '') AND assignee_agent_id IS NOT NULL
                 AND NOT contact_unlinked
             ORDER BY created_at DESC, id DESC LIMIT 1",
            &[&visitor_id, &except_conversation],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn next_routing_cursor(&mut self, chatflow_id: i64) -> StoreResult<u64> {
        // One statement: the update locks the chatflow's row, so concurrent openings take successive values.
        let row = self.tx.query_opt(
            "UPDATE chatflows SET routing_cursor = routing_cursor + 1 WHERE id = $1 RETURNING routing_cursor - 1",
            &[&chatflow_id],
        )?;
        // 0 when the chatflow is gone.
        Ok(row.map(|r| seq_from_sql(r.get(0))).unwrap_or(0))
    }
}

impl VisitorTx for PgTx<'_, '_> {
    fn visitor(&mut self, id: &str) -> StoreResult<Option<VisitorRecord>> {
        visitor_in(self.tx, id)
    }

    fn visitor_of_user(&mut self, app_id: &str, user_id: &str) -> StoreResult<Option<VisitorRecord>> {
        visitor_of_user_in(self.tx, app_id, user_id)
    }

    fn insert_user_visitor(&mut self, id: &str, app_id: &str, user_id: &str, now: i64) -> StoreResult<()> {
        self.tx.execute(
            "INSERT INTO visitors (id, app_id, user_id, created_at) VALUES ($1, $2, $3, $4)",
            &[&id, &app_id, &user_id, &now],
        )?;
        Ok(())
    }

    fn set_visitor_user(&mut self, visitor_id: &str, user_id: &str) -> StoreResult<()> {
        self.tx.execute("UPDATE visitors SET user_id = $2 WHERE id = $1", &[&visitor_id, &user_id])?;
        self.feed.visitor(visitor_id);
        Ok(())
    }

    fn set_visitor_email(&mut self, visitor_id: &str, email: &str) -> StoreResult<()> {
        self.tx.execute("UPDATE visitors SET email = $2 WHERE id = $1", &[&visitor_id, &email])?;
        self.feed.visitor(visitor_id);
        Ok(())
    }

    fn conversation_ids_of(&mut self, visitor_id: &str) -> StoreResult<Vec<String>> {
        conversation_ids_of(self.tx, visitor_id)
    }

    fn fold_visitor(&mut self, from: &str, into: &str) -> StoreResult<()> {
        fold_visitor_in(self.tx, from, into)?;
        // The moved conversations now show the user's contact.
        self.feed.visitor(into);
        Ok(())
    }

    fn replace_token(&mut self, old_hash: &str, new_hash: &str, visitor_id: &str, now: i64) -> StoreResult<()> {
        replace_token_in(self.tx, old_hash, new_hash, visitor_id, now)
    }
}

fn json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl BotTx for PgTx<'_, '_> {
    fn upsert_bot_session(&mut self, s: &BotSession, now: i64) -> StoreResult<()> {
        let (answers, pending) = (json(&s.answers)?, json(&s.pending)?);
        let outcome = outcome_str(s.outcome);
        self.tx.execute(
            "INSERT INTO bot_sessions (conversation_id, current_node, answers, last_answer, outcome, last_activity_at,
                 handled_seq, runs, emitted, pending, handoff_due, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (conversation_id) DO UPDATE SET current_node = excluded.current_node,
                 answers = excluded.answers, last_answer = excluded.last_answer, outcome = excluded.outcome,
                 last_activity_at = excluded.last_activity_at, handled_seq = excluded.handled_seq,
                 runs = excluded.runs, emitted = excluded.emitted, pending = excluded.pending,
                 handoff_due = excluded.handoff_due, updated_at = excluded.updated_at",
            &[
                &s.conversation_id,
                &s.current_node,
                &answers,
                &s.last_answer,
                &outcome,
                &s.last_activity_at,
                &seq_to_sql(s.handled_seq),
                &i64::from(s.runs),
                &seq_to_sql(s.emitted),
                &pending,
                &s.handoff_due,
                &now,
            ],
        )?;
        Ok(())
    }

    fn visitor_properties(&mut self, visitor_id: &str) -> StoreResult<BTreeMap<String, String>> {
        // Locked: the caller merges into them and writes them back (a concurrent merge waits, nothing is lost).
        let row = self.tx.query_opt("SELECT properties FROM visitors WHERE id = $1 FOR UPDATE", &[&visitor_id])?;
        let row = row.ok_or_else(|| StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")))?;
        serde_json::from_str(row.get(0))
            .map_err(|e| StoreError::Corrupt(format!("properties of visitor {visitor_id}: {e}")))
    }

    fn set_visitor_properties(&mut self, visitor_id: &str, properties: &BTreeMap<String, String>) -> StoreResult<()> {
        let n =
            self.tx.execute("UPDATE visitors SET properties = $2 WHERE id = $1", &[&visitor_id, &json(properties)?])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")));
        }
        self.feed.visitor(visitor_id);
        Ok(())
    }
}

impl ConsentTx for PgTx<'_, '_> {
    fn visitor_app_id(&mut self, visitor_id: &str) -> StoreResult<Option<String>> {
        visitor_app_in(self.tx, visitor_id)
    }

    fn consent_record(&mut self, visitor_id: &str, record_id: &str) -> StoreResult<Option<ConsentRecord>> {
        consent_in(self.tx, visitor_id, record_id)
    }

    fn insert_consent(&mut self, record: &ConsentRecord) -> StoreResult<()> {
        insert_consent_in(self.tx, record)
    }

    fn latest_consent_decision(
        &mut self,
        visitor_id: &str,
        chatflow_id: i64,
        kind: ConsentKind,
        text_hash: &str,
    ) -> StoreResult<Option<ConsentDecision>> {
        latest_consent_decision_in(self.tx, visitor_id, chatflow_id, kind, text_hash)
    }
}

impl TicketTx for PgTx<'_, '_> {
    fn help_desk(&mut self, app_id: &str, scope: &HelpDeskScope) -> StoreResult<Option<HelpDeskSetting>> {
        let row = match scope {
            HelpDeskScope::Chatflow(id) => self.tx.query_opt(
                "SELECT h.create_tickets, h.pipeline FROM chatflow_help_desk h
                 JOIN chatflows f ON f.id = h.chatflow_id WHERE h.chatflow_id = $1 AND f.app_id = $2",
                &[id, &app_id],
            )?,
            HelpDeskScope::Channel(ch) => self.tx.query_opt(
                "SELECT create_tickets, pipeline FROM channel_help_desk WHERE app_id = $1 AND channel = $2",
                &[&app_id, &channel_str(*ch)],
            )?,
        };
        Ok(row.map(|r| HelpDeskSetting { create_tickets: r.get(0), pipeline: r.get(1) }))
    }

    fn ticket_of_conversation(&mut self, conversation_id: &str) -> StoreResult<Option<TicketRecord>> {
        let row = self.tx.query_opt(
            "SELECT t.id, t.app_id, t.conversation_id, c.chatflow_id, c.channel, t.pipeline, t.status, t.subject,
                 c.assignee_agent_id, t.created_at, t.updated_at
             FROM tickets t JOIN conversations c ON c.id = t.conversation_id WHERE t.conversation_id = $1",
            &[&conversation_id],
        )?;
        let Some(r) = row else { return Ok(None) };
        let id: i64 = r.get(0);
        let status: &str = r.get(6);
        Ok(Some(TicketRecord {
            id,
            app_id: r.get(1),
            conversation_id: r.get(2),
            chatflow_id: r.get(3),
            channel: parse_channel(r.get(4))?,
            pipeline: r.get(5),
            status: TicketStatus::parse(status)
                .ok_or_else(|| StoreError::Corrupt(format!("ticket {id} status `{status}`")))?,
            subject: r.get(7),
            assignee_agent_id: r.get(8),
            created_at: r.get(9),
            updated_at: r.get(10),
        }))
    }

    fn insert_ticket(&mut self, t: &NewTicket) -> StoreResult<bool> {
        let n = self.tx.execute(
            "INSERT INTO tickets (app_id, conversation_id, pipeline, status, subject, created_at, updated_at)
             VALUES ($1, $2, $3, 'new', $4, $5, $5) ON CONFLICT (conversation_id) DO NOTHING",
            &[&t.app_id, &t.conversation_id, &t.pipeline, &t.subject, &t.now],
        )?;
        if n > 0 {
            self.feed.conversation(&t.conversation_id);
        }
        Ok(n > 0)
    }

    fn set_ticket_subject_if_empty(&mut self, conversation_id: &str, subject: &str, now: i64) -> StoreResult<()> {
        let n = self.tx.execute(
            "UPDATE tickets SET subject = $2, updated_at = $3 WHERE conversation_id = $1 AND subject IS NULL",
            &[&conversation_id, &subject, &now],
        )?;
        if n > 0 {
            self.feed.conversation(conversation_id);
        }
        Ok(())
    }
}
