//! Help-desk tickets (one per conversation, listed newest first) and the chatflow and channel settings that create
//! them, in PostgreSQL.

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};

use super::PostgresStore;
use crate::store::columns::{channel_str, parse_channel};
use crate::store::inbox::{HelpDeskScope, HelpDeskSetting, TicketRecord, TicketStatus, TicketStore, TicketUpdate};
use crate::store::{StoreError, StoreResult};

const TICKET_SELECT: &str = "SELECT t.id, t.app_id, t.conversation_id, c.chatflow_id, c.channel, t.pipeline, t.status,
        t.subject, c.assignee_agent_id, t.created_at, t.updated_at
    FROM tickets t JOIN conversations c ON c.id = t.conversation_id";

fn ticket_from_row(r: &Row) -> StoreResult<TicketRecord> {
    let id: i64 = r.get(0);
    let status: &str = r.get(6);
    let status =
        TicketStatus::parse(status).ok_or_else(|| StoreError::Corrupt(format!("ticket {id} status `{status}`")))?;
    Ok(TicketRecord {
        id,
        app_id: r.get(1),
        conversation_id: r.get(2),
        chatflow_id: r.get(3),
        channel: parse_channel(r.get(4))?,
        pipeline: r.get(5),
        status,
        subject: r.get(7),
        assignee_agent_id: r.get(8),
        created_at: r.get(9),
        updated_at: r.get(10),
    })
}

fn ticket_where(
    c: &mut impl GenericClient,
    sql_where: &str,
    args: &[&(dyn ToSql + Sync)],
) -> StoreResult<Option<TicketRecord>> {
    c.query_opt(&format!("{TICKET_SELECT} WHERE {sql_where}"), args)?.as_ref().map(ticket_from_row).transpose()
}

pub(super) fn setting_in(
    c: &mut impl GenericClient,
    app_id: &str,
    scope: &HelpDeskScope,
) -> StoreResult<Option<HelpDeskSetting>> {
    let row = match scope {
        HelpDeskScope::Chatflow(id) => c.query_opt(
            "SELECT h.create_tickets, h.pipeline FROM chatflow_help_desk h
             JOIN chatflows f ON f.id = h.chatflow_id WHERE h.chatflow_id = $1 AND f.app_id = $2",
            &[id, &app_id],
        )?,
        HelpDeskScope::Channel(ch) => c.query_opt(
            "SELECT create_tickets, pipeline FROM channel_help_desk WHERE app_id = $1 AND channel = $2",
            &[&app_id, &channel_str(*ch)],
        )?,
    };
    Ok(row.map(|r| HelpDeskSetting { create_tickets: r.get(0), pipeline: r.get(1) }))
}

pub(super) fn ticket_of_conversation_in(
    c: &mut impl GenericClient,
    conversation_id: &str,
) -> StoreResult<Option<TicketRecord>> {
    ticket_where(c, "t.conversation_id = $1", &[&conversation_id])
}

/// Upserts a help-desk setting; false when the chatflow is not the app's.
pub(super) fn set_help_desk_in(
    c: &mut impl GenericClient,
    app_id: &str,
    scope: &HelpDeskScope,
    setting: &HelpDeskSetting,
) -> StoreResult<bool> {
    match scope {
        HelpDeskScope::Chatflow(id) => {
            let n = c.execute(
                "INSERT INTO chatflow_help_desk (chatflow_id, create_tickets, pipeline)
                 SELECT id, $3, $4 FROM chatflows WHERE id = $1 AND app_id = $2
                 ON CONFLICT (chatflow_id) DO UPDATE SET create_tickets = excluded.create_tickets,
                     pipeline = excluded.pipeline",
                &[id, &app_id, &setting.create_tickets, &setting.pipeline],
            )?;
            Ok(n > 0)
        }
        HelpDeskScope::Channel(ch) => {
            c.execute(
                "INSERT INTO channel_help_desk (app_id, channel, create_tickets, pipeline) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (app_id, channel) DO UPDATE SET create_tickets = excluded.create_tickets,
                     pipeline = excluded.pipeline",
                &[&app_id, &channel_str(*ch), &setting.create_tickets, &setting.pipeline],
            )?;
            Ok(true)
        }
    }
}

impl TicketStore for PostgresStore {
    fn tickets(
        &self,
        app_id: &str,
        status: Option<TicketStatus>,
        pipeline: Option<&str>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>> {
        let status = status.map(TicketStatus::as_str);
        let limit = i64::from(limit);
        let mut clauses = vec!["t.app_id = $1".to_owned()];
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&app_id];
        if let Some(s) = &status {
            args.push(s);
            clauses.push(format!("t.status = ${}", args.len()));
        }
        if let Some(p) = &pipeline {
            args.push(p);
            clauses.push(format!("t.pipeline = ${}", args.len()));
        }
        if let Some(id) = &before_id {
            args.push(id);
            clauses.push(format!("t.id < ${}", args.len()));
        }
        args.push(&limit);
        let sql = format!("{TICKET_SELECT} WHERE {} ORDER BY t.id DESC LIMIT ${}", clauses.join(" AND "), args.len());
        let rows = self.pool.get()?.query(&sql, &args)?;
        rows.iter().map(ticket_from_row).collect()
    }

    fn ticket(&self, app_id: &str, id: i64) -> StoreResult<Option<TicketRecord>> {
        ticket_where(&mut *self.pool.get()?, "t.id = $1 AND t.app_id = $2", &[&id, &app_id])
    }

    fn ticket_of_conversation(&self, conversation_id: &str) -> StoreResult<Option<TicketRecord>> {
        ticket_of_conversation_in(&mut *self.pool.get()?, conversation_id)
    }

    fn update_ticket(
        &self,
        app_id: &str,
        id: i64,
        update: &TicketUpdate,
        now: i64,
    ) -> StoreResult<Option<TicketRecord>> {
        self.write_logged(|tx, feed| {
            let n = tx.execute(
                "UPDATE tickets SET status = COALESCE($3, status), pipeline = COALESCE($4, pipeline),
                     subject = COALESCE($5, subject), updated_at = $6
                 WHERE id = $1 AND app_id = $2",
                &[&id, &app_id, &update.status.map(TicketStatus::as_str), &update.pipeline, &update.subject, &now],
            )?;
            if n == 0 {
                return Ok(None);
            }
            let ticket = ticket_where(tx, "t.id = $1", &[&id])?;
            if let Some(t) = &ticket {
                // The subject is the row's title.
                feed.conversation(&t.conversation_id);
            }
            Ok(ticket)
        })
    }

    fn help_desk(&self, app_id: &str, scope: &HelpDeskScope) -> StoreResult<Option<HelpDeskSetting>> {
        setting_in(&mut *self.pool.get()?, app_id, scope)
    }

    fn set_help_desk(&self, app_id: &str, scope: &HelpDeskScope, setting: &HelpDeskSetting) -> StoreResult<bool> {
        self.write(|tx| set_help_desk_in(tx, app_id, scope, setting))
    }

    fn seed_help_desk(&self, app_id: &str, scope: &HelpDeskScope, setting: &HelpDeskSetting) -> StoreResult<bool> {
        // Insert-if-absent in one statement: an admin's setting made meanwhile is never overwritten.
        let mut conn = self.pool.get()?;
        let n = match scope {
            HelpDeskScope::Chatflow(id) => conn.execute(
                "INSERT INTO chatflow_help_desk (chatflow_id, create_tickets, pipeline)
                 SELECT id, $3, $4 FROM chatflows WHERE id = $1 AND app_id = $2
                 ON CONFLICT (chatflow_id) DO NOTHING",
                &[id, &app_id, &setting.create_tickets, &setting.pipeline],
            )?,
            HelpDeskScope::Channel(ch) => conn.execute(
                "INSERT INTO channel_help_desk (app_id, channel, create_tickets, pipeline) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (app_id, channel) DO NOTHING",
                &[&app_id, &channel_str(*ch), &setting.create_tickets, &setting.pipeline],
            )?,
        };
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    // On the backend the run asks for (`CHATFLOW_TEST_POSTGRES`).
    use chatflow_protocol::Channel;

    use crate::store::inbox::{HelpDeskScope, HelpDeskSetting, TicketStatus};
    use crate::store::test_backends::store;

    #[test]
    fn seeding_never_overwrites_an_admin_setting() {
        let s = store();
        let admin = HelpDeskSetting { create_tickets: false, pipeline: "admin".into() };
        let seed = HelpDeskSetting { create_tickets: true, pipeline: "seed".into() };
        for scope in [HelpDeskScope::Chatflow(1), HelpDeskScope::Channel(Channel::MobileChat)] {
            assert!(s.seed_help_desk("app1", &scope, &seed).unwrap(), "nothing set yet: stored");
            assert!(s.set_help_desk("app1", &scope, &admin).unwrap());
            assert!(!s.seed_help_desk("app1", &scope, &seed).unwrap());
            assert_eq!(s.help_desk("app1", &scope).unwrap(), Some(admin.clone()));
        }
        let missing = HelpDeskScope::Chatflow(77);
        assert!(!s.seed_help_desk("app1", &missing, &seed).unwrap(), "no such chatflow");
        assert!(!s.set_help_desk("other", &HelpDeskScope::Chatflow(1), &seed).unwrap(), "not this app's");
        assert_eq!(s.help_desk("other", &HelpDeskScope::Chatflow(1)).unwrap(), None);
        assert!(s.tickets("app1", Some(TicketStatus::New), Some("seed"), Some(10), 5).unwrap().is_empty());
    }
}
