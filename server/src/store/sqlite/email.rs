//! SMTP settings and the email outbox in SQLite.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{seq_from_sql, seq_to_sql, SqliteStore};
use crate::store::email::{
    EmailKind, EmailOutcome, EmailRecord, EmailState, EmailStore, NewEmail, SmtpSecurity, SmtpSettings,
};
use crate::store::{StoreError, StoreResult};

const EMAIL_SELECT: &str = "SELECT id, app_id, conversation_id, kind, recipients, subject, first_seq, up_to_seq, \
     state, attempts, created_at, next_attempt_at, sent_at, last_error, message_id FROM email_outbox";

/// When a pending email is due: its retry instant, or its creation (plus the reply delay for `unread_reply`).
const DUE: &str = "COALESCE(next_attempt_at, created_at + CASE kind WHEN 'unread_reply' THEN ?1 ELSE 0 END)";

fn email_from_row(r: &Row<'_>) -> rusqlite::Result<(EmailRecord, String, String, String)> {
    let first_seq: Option<i64> = r.get(6)?;
    Ok((
        EmailRecord {
            id: r.get(0)?,
            app_id: r.get(1)?,
            conversation_id: r.get(2)?,
            kind: EmailKind::UnreadReply,
            recipients: Vec::new(),
            subject: r.get(5)?,
            first_seq: first_seq.map(seq_from_sql),
            up_to_seq: seq_from_sql(r.get(7)?),
            state: EmailState::Pending,
            attempts: r.get(9)?,
            created_at: r.get(10)?,
            next_attempt_at: r.get(11)?,
            sent_at: r.get(12)?,
            last_error: r.get(13)?,
            message_id: r.get(14)?,
        },
        r.get(3)?,
        r.get(4)?,
        r.get(8)?,
    ))
}

fn finish_row((mut rec, kind, recipients, state): (EmailRecord, String, String, String)) -> StoreResult<EmailRecord> {
    rec.kind = EmailKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("email {} kind `{kind}`", rec.id)))?;
    rec.state =
        EmailState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("email {} state `{state}`", rec.id)))?;
    rec.recipients = serde_json::from_str(&recipients)
        .map_err(|e| StoreError::Corrupt(format!("email {} recipients: {e}", rec.id)))?;
    Ok(rec)
}

fn emails_where(conn: &Connection, sql_where: &str, args: impl rusqlite::Params) -> StoreResult<Vec<EmailRecord>> {
    let rows: Vec<_> = conn
        .prepare_cached(&format!("{EMAIL_SELECT} WHERE {sql_where}"))?
        .query_map(args, email_from_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(finish_row).collect()
}

pub(super) fn configured_in(conn: &Connection, app_id: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM email_settings WHERE app_id = ?1")?
        .query_row([app_id], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(super) fn latest_in(conn: &Connection, conversation_id: &str, kind: EmailKind) -> StoreResult<Option<EmailRecord>> {
    Ok(emails_where(
        conn,
        "conversation_id = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1",
        params![conversation_id, kind.as_str()],
    )?
    .pop())
}

pub(super) fn insert_in(conn: &Connection, e: &NewEmail) -> StoreResult<i64> {
    let recipients = serde_json::to_string(&e.recipients).map_err(|err| StoreError::Backend(err.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO email_outbox (app_id, conversation_id, kind, recipients, subject, first_seq, up_to_seq, state,
             created_at, message_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9)",
    )?
    .execute(params![
        e.app_id,
        e.conversation_id,
        e.kind.as_str(),
        recipients,
        e.subject,
        e.first_seq.map(seq_to_sql),
        seq_to_sql(e.up_to_seq),
        e.now,
        e.message_id,
    ])?;
    Ok(conn.last_insert_rowid())
}

fn settings_from_row(r: &Row<'_>) -> rusqlite::Result<(SmtpSettings, String)> {
    Ok((
        SmtpSettings {
            host: r.get(0)?,
            port: r.get(1)?,
            security: SmtpSecurity::None,
            username: r.get(3)?,
            password: r.get(4)?,
            from_address: r.get(5)?,
            from_name: r.get(6)?,
            reopen_link: r.get(7)?,
            updated_at: r.get(8)?,
        },
        r.get(2)?,
    ))
}

const UPSERT_SETTINGS: &str = "INSERT INTO email_settings (app_id, host, port, security, username, password,
        from_address, from_name, reopen_link, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

fn write_settings(conn: &Connection, app_id: &str, s: &SmtpSettings, on_conflict: &str) -> StoreResult<usize> {
    Ok(conn.prepare_cached(&format!("{UPSERT_SETTINGS} {on_conflict}"))?.execute(params![
        app_id,
        s.host,
        s.port,
        s.security.as_str(),
        s.username,
        s.password,
        s.from_address,
        s.from_name,
        s.reopen_link,
        s.updated_at,
    ])?)
}

impl EmailStore for SqliteStore {
    fn email_settings(&self, app_id: &str) -> StoreResult<Option<SmtpSettings>> {
        self.read(|conn| {
            let row = conn
                .prepare_cached(
                    "SELECT host, port, security, username, password, from_address, from_name, reopen_link, updated_at
                     FROM email_settings WHERE app_id = ?1",
                )?
                .query_row([app_id], settings_from_row)
                .optional()?;
            row.map(|(mut s, security)| {
                s.security = SmtpSecurity::parse(&security)
                    .ok_or_else(|| StoreError::Corrupt(format!("email settings of `{app_id}`: `{security}`")))?;
                Ok(s)
            })
            .transpose()
        })
    }

    fn put_email_settings(&self, app_id: &str, settings: &SmtpSettings) -> StoreResult<()> {
        self.write(|tx| {
            write_settings(
                tx,
                app_id,
                settings,
                "ON CONFLICT (app_id) DO UPDATE SET host = excluded.host, port = excluded.port,
                     security = excluded.security, username = excluded.username, password = excluded.password,
                     from_address = excluded.from_address, from_name = excluded.from_name,
                     reopen_link = excluded.reopen_link, updated_at = excluded.updated_at",
            )
            .map(|_| ())
        })
    }

    fn seed_email_settings(&self, app_id: &str, settings: &SmtpSettings) -> StoreResult<bool> {
        self.write(|tx| Ok(write_settings(tx, app_id, settings, "ON CONFLICT (app_id) DO NOTHING")? > 0))
    }

    fn delete_email_settings(&self, app_id: &str) -> StoreResult<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM email_settings WHERE app_id = ?1", [app_id])? > 0))
    }

    fn claim_due_emails(&self, now: i64, reply_delay_ms: i64, limit: u32) -> StoreResult<Vec<EmailRecord>> {
        self.write(|tx| {
            let due = emails_where(
                tx,
                &format!("state = 'pending' AND {DUE} <= ?2 ORDER BY id LIMIT ?3"),
                params![reply_delay_ms, now, limit],
            )?;
            let mut claim = tx.prepare_cached(
                "UPDATE email_outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1 AND state = 'pending'",
            )?;
            let mut out = Vec::with_capacity(due.len());
            for mut e in due {
                claim.execute([e.id])?;
                e.state = EmailState::Sending;
                e.attempts += 1;
                out.push(e);
            }
            Ok(out)
        })
    }

    fn finish_email(&self, id: i64, outcome: &EmailOutcome, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let (state, error, next, sent_at) = match outcome {
                EmailOutcome::Sent => (EmailState::Sent, None, None, Some(now)),
                EmailOutcome::Cancelled(why) => (EmailState::Cancelled, Some(why.as_str()), None, None),
                EmailOutcome::Failed(why) => (EmailState::Failed, Some(why.as_str()), None, None),
                EmailOutcome::Retry { at, error } => (EmailState::Pending, Some(error.as_str()), Some(*at), None),
            };
            tx.prepare_cached(
                "UPDATE email_outbox SET state = ?2, last_error = COALESCE(?3, last_error), next_attempt_at = ?4,
                     sent_at = ?5 WHERE id = ?1 AND state = 'sending'",
            )?
            .execute(params![id, state.as_str(), error, next, sent_at])?;
            Ok(())
        })
    }

    fn abandon_interrupted_emails(&self, now: i64) -> StoreResult<u64> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE email_outbox SET state = 'failed', next_attempt_at = ?1,
                     last_error = 'interrupted while sending (the server stopped): not sent again, it may have left'
                 WHERE state = 'sending'",
                [now],
            )?;
            Ok(n as u64)
        })
    }

    fn conversation_emails(&self, conversation_id: &str) -> StoreResult<Vec<EmailRecord>> {
        self.read(|conn| emails_where(conn, "conversation_id = ?1 ORDER BY id", [conversation_id]))
    }
}
