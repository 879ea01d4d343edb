//! Help-desk tickets and the settings that create them, in SQLite.

use chatflow_protocol::Channel;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::{channel_str, parse_channel, SqliteStore};
use crate::store::inbox::{HelpDeskScope, HelpDeskSetting, TicketRecord, TicketStatus, TicketStore, TicketUpdate};
use crate::store::{StoreError, StoreResult};

const TICKET_SELECT: &str = "SELECT t.id, t.app_id, t.conversation_id, c.chatflow_id, c.channel, t.pipeline, t.status,
        t.subject, c.assignee_agent_id, t.created_at, t.updated_at
    FROM tickets t JOIN conversations c ON c.id = t.conversation_id";

struct TicketRow {
    rec: TicketRecord,
    channel: String,
    status: String,
}

fn ticket_from_row(r: &Row<'_>) -> rusqlite::Result<TicketRow> {
    Ok(TicketRow {
        rec: TicketRecord {
            id: r.get(0)?,
            app_id: r.get(1)?,
            conversation_id: r.get(2)?,
            chatflow_id: r.get(3)?,
            channel: Channel::MobileChat,
            pipeline: r.get(5)?,
            status: TicketStatus::New,
            subject: r.get(7)?,
            assignee_agent_id: r.get(8)?,
            created_at: r.get(9)?,
            updated_at: r.get(10)?,
        },
        channel: r.get(4)?,
        status: r.get(6)?,
    })
}

fn finish_ticket(row: TicketRow) -> StoreResult<TicketRecord> {
    let mut rec = row.rec;
    rec.channel = parse_channel(&row.channel)?;
    rec.status = TicketStatus::parse(&row.status)
        .ok_or_else(|| StoreError::Corrupt(format!("ticket {} status `{}`", rec.id, row.status)))?;
    Ok(rec)
}

fn ticket_where(conn: &Connection, sql_where: &str, args: Vec<Value>) -> StoreResult<Option<TicketRecord>> {
    conn.prepare_cached(&format!("{TICKET_SELECT} WHERE {sql_where}"))?
        .query_row(params_from_iter(args), ticket_from_row)
        .optional()?
        .map(finish_ticket)
        .transpose()
}

pub(super) fn setting_in(
    conn: &Connection,
    app_id: &str,
    scope: &HelpDeskScope,
) -> StoreResult<Option<HelpDeskSetting>> {
    let row = |r: &Row<'_>| Ok(HelpDeskSetting { create_tickets: r.get(0)?, pipeline: r.get(1)? });
    Ok(match scope {
        HelpDeskScope::Chatflow(id) => conn
            .prepare_cached(
                "SELECT h.create_tickets, h.pipeline FROM chatflow_help_desk h
                 JOIN chatflows f ON f.id = h.chatflow_id WHERE h.chatflow_id = ?1 AND f.app_id = ?2",
            )?
            .query_row(params![id, app_id], row)
            .optional()?,
        HelpDeskScope::Channel(ch) => conn
            .prepare_cached(
                "SELECT create_tickets, pipeline FROM channel_help_desk WHERE app_id = ?1 AND channel = ?2",
            )?
            .query_row(params![app_id, channel_str(*ch)], row)
            .optional()?,
    })
}

pub(super) fn ticket_of_conversation_in(conn: &Connection, conversation_id: &str) -> StoreResult<Option<TicketRecord>> {
    ticket_where(conn, "t.conversation_id = ?", vec![Value::Text(conversation_id.into())])
}

impl TicketStore for SqliteStore {
    fn tickets(
        &self,
        app_id: &str,
        status: Option<TicketStatus>,
        pipeline: Option<&str>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>> {
        let mut clauses = vec!["t.app_id = ?"];
        let mut args = vec![Value::Text(app_id.into())];
        if let Some(s) = status {
            clauses.push("t.status = ?");
            args.push(Value::Text(s.as_str().into()));
        }
        if let Some(p) = pipeline {
            clauses.push("t.pipeline = ?");
            args.push(Value::Text(p.into()));
        }
        if let Some(id) = before_id {
            clauses.push("t.id < ?");
            args.push(Value::Integer(id));
        }
        args.push(Value::Integer(i64::from(limit)));
        self.read(|c| {
            let sql = format!("{TICKET_SELECT} WHERE {} ORDER BY t.id DESC LIMIT ?", clauses.join(" AND "));
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(args), ticket_from_row)?;
            rows.map(|r| finish_ticket(r?)).collect()
        })
    }

    fn ticket(&self, app_id: &str, id: i64) -> StoreResult<Option<TicketRecord>> {
        self.read(|c| {
            ticket_where(c, "t.id = ? AND t.app_id = ?", vec![Value::Integer(id), Value::Text(app_id.into())])
        })
    }

    fn ticket_of_conversation(&self, conversation_id: &str) -> StoreResult<Option<TicketRecord>> {
        self.read(|c| ticket_of_conversation_in(c, conversation_id))
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
                "UPDATE tickets SET status = COALESCE(?3, status), pipeline = COALESCE(?4, pipeline),
                     subject = COALESCE(?5, subject), updated_at = ?6
                 WHERE id = ?1 AND app_id = ?2",
                params![id, app_id, update.status.map(TicketStatus::as_str), update.pipeline, update.subject, now],
            )?;
            if n == 0 {
                return Ok(None);
            }
            let ticket = ticket_where(tx, "t.id = ?", vec![Value::Integer(id)])?;
            if let Some(t) = &ticket {
                // The subject is the row's title.
                feed.conversation(&t.conversation_id);
            }
            Ok(ticket)
        })
    }

    fn help_desk(&self, app_id: &str, scope: &HelpDeskScope) -> StoreResult<Option<HelpDeskSetting>> {
        self.read(|c| setting_in(c, app_id, scope))
    }

    fn set_help_desk(&self, app_id: &str, scope: &HelpDeskScope, setting: &HelpDeskSetting) -> StoreResult<bool> {
        self.write(|tx| set_help_desk_in(tx, app_id, scope, setting))
    }

    fn seed_help_desk(&self, app_id: &str, scope: &HelpDeskScope, setting: &HelpDeskSetting) -> StoreResult<bool> {
        self.write(|tx| {
            if setting_in(tx, app_id, scope)?.is_some() {
                return Ok(false);
            }
            set_help_desk_in(tx, app_id, scope, setting)
        })
    }
}

/// Upserts a help-desk setting; false when the chatflow is not the app's.
pub(super) fn set_help_desk_in(
    tx: &Connection,
    app_id: &str,
    scope: &HelpDeskScope,
    setting: &HelpDeskSetting,
) -> StoreResult<bool> {
    match scope {
        HelpDeskScope::Chatflow(id) => {
            let n = tx.execute(
                "INSERT INTO chatflow_help_desk (chatflow_id, create_tickets, pipeline)
                 SELECT id, ?3, ?4 FROM chatflows WHERE id = ?1 AND app_id = ?2
                 ON CONFLICT(chatflow_id) DO UPDATE SET create_tickets = excluded.create_tickets,
                     pipeline = excluded.pipeline",
                params![id, app_id, setting.create_tickets, setting.pipeline],
            )?;
            Ok(n > 0)
        }
        HelpDeskScope::Channel(ch) => {
            tx.execute(
                "INSERT INTO channel_help_desk (app_id, channel, create_tickets, pipeline) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(app_id, channel) DO UPDATE SET create_tickets = excluded.create_tickets,
                     pipeline = excluded.pipeline",
                params![app_id, channel_str(*ch), setting.create_tickets, setting.pipeline],
            )?;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::store;
    use super::*;

    #[test]
    fn seeding_never_overwrites_an_admin_setting() {
        let (_dir, s) = store();
        let scope = HelpDeskScope::Chatflow(1);
        let admin = HelpDeskSetting { create_tickets: false, pipeline: "admin".into() };
        let seed = HelpDeskSetting { create_tickets: true, pipeline: "seed".into() };
        assert!(s.seed_help_desk("app1", &scope, &seed).unwrap(), "nothing set yet: stored");
        assert!(s.set_help_desk("app1", &scope, &admin).unwrap());
        assert!(!s.seed_help_desk("app1", &scope, &seed).unwrap());
        assert_eq!(s.help_desk("app1", &scope).unwrap(), Some(admin));
        assert!(!s.seed_help_desk("app1", &HelpDeskScope::Chatflow(77), &seed).unwrap(), "no such chatflow");
    }
}
