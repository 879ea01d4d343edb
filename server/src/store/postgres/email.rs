//! SMTP settings and the email outbox in PostgreSQL. The sender's claim (pending → sending) is one statement that
//! skips rows another process is claiming, so with several server processes an email is claimed, and sent, once.

use ::postgres::{GenericClient, Row};

use super::tx::PgTx;
use super::{seq_from_sql, seq_to_sql, PostgresStore};
use crate::store::email::{
    EmailKind, EmailOutcome, EmailRecord, EmailState, EmailStore, EmailTx, NewEmail, SmtpSecurity, SmtpSettings,
};
use crate::store::{StoreError, StoreResult};

const EMAIL_COLS: &str = "id, app_id, conversation_id, kind, recipients, subject, first_seq, up_to_seq, state, \
     attempts, created_at, next_attempt_at, sent_at, last_error, message_id";

/// When a pending email is due: its retry instant, or its creation (plus the reply delay, `$1`, for `unread_reply`).
const DUE: &str = "COALESCE(next_attempt_at, created_at + CASE kind WHEN 'unread_reply' THEN $1::BIGINT ELSE 0 END)";

fn email_from_row(r: &Row) -> StoreResult<EmailRecord> {
    let id: i64 = r.get(0);
    let kind: &str = r.get(3);
    let recipients: &str = r.get(4);
    let state: &str = r.get(8);
    let first_seq: Option<i64> = r.get(6);
    Ok(EmailRecord {
        id,
        app_id: r.get(1),
        conversation_id: r.get(2),
        kind: EmailKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("email {id} kind `{kind}`")))?,
        recipients: serde_json::from_str(recipients)
            .map_err(|e| StoreError::Corrupt(format!("email {id} recipients: {e}")))?,
        subject: r.get(5),
        first_seq: first_seq.map(seq_from_sql),
        up_to_seq: seq_from_sql(r.get(7)),
        state: EmailState::parse(state).ok_or_else(|| StoreError::Corrupt(format!("email {id} state `{state}`")))?,
        attempts: u32::try_from(r.get::<_, i64>(9)).unwrap_or(u32::MAX),
        created_at: r.get(10),
        next_attempt_at: r.get(11),
        sent_at: r.get(12),
        last_error: r.get(13),
        message_id: r.get(14),
    })
}

fn emails_of(rows: &[Row]) -> StoreResult<Vec<EmailRecord>> {
    rows.iter().map(email_from_row).collect()
}

pub(super) fn configured_in(conn: &mut impl GenericClient, app_id: &str) -> StoreResult<bool> {
    Ok(conn.query_opt("SELECT 1 FROM email_settings WHERE app_id = $1", &[&app_id])?.is_some())
}

pub(super) fn latest_in(
    conn: &mut impl GenericClient,
    conversation_id: &str,
    kind: EmailKind,
) -> StoreResult<Option<EmailRecord>> {
    let row = conn.query_opt(
        &format!(
            "SELECT {EMAIL_COLS} FROM email_outbox WHERE conversation_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1"
        ),
        &[&conversation_id, &kind.as_str()],
    )?;
    row.as_ref().map(email_from_row).transpose()
}

pub(super) fn insert_in(conn: &mut impl GenericClient, e: &NewEmail) -> StoreResult<i64> {
    let recipients = serde_json::to_string(&e.recipients).map_err(|err| StoreError::Backend(err.to_string()))?;
    let row = conn.query_one(
        "INSERT INTO email_outbox (app_id, conversation_id, kind, recipients, subject, first_seq, up_to_seq, state,
             created_at, message_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) RETURNING id",
        &[
            &e.app_id,
            &e.conversation_id,
            &e.kind.as_str(),
            &recipients,
            &e.subject,
            &e.first_seq.map(seq_to_sql),
            &seq_to_sql(e.up_to_seq),
            &e.now,
            &e.message_id,
        ],
    )?;
    Ok(row.get(0))
}

const UPSERT_SETTINGS: &str = "INSERT INTO email_settings (app_id, host, port, security, username, password,
        from_address, from_name, reopen_link, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

fn write_settings(
    conn: &mut impl GenericClient,
    app_id: &str,
    s: &SmtpSettings,
    on_conflict: &str,
) -> StoreResult<u64> {
    Ok(conn.execute(
        &format!("{UPSERT_SETTINGS} {on_conflict}"),
        &[
            &app_id,
            &s.host,
            &i64::from(s.port),
            &s.security.as_str(),
            &s.username,
            &s.password,
            &s.from_address,
            &s.from_name,
            &s.reopen_link,
            &s.updated_at,
        ],
    )?)
}

impl EmailStore for PostgresStore {
    fn email_settings(&self, app_id: &str) -> StoreResult<Option<SmtpSettings>> {
        let row = self.read(|tx| {
            Ok(tx.query_opt(
                "SELECT host, port, security, username, password, from_address, from_name, reopen_link, updated_at
                 FROM email_settings WHERE app_id = $1",
                &[&app_id],
            )?)
        })?;
        let Some(r) = row else { return Ok(None) };
        let port: i64 = r.get(1);
        let security: &str = r.get(2);
        Ok(Some(SmtpSettings {
            host: r.get(0),
            port: u16::try_from(port)
                .map_err(|_| StoreError::Corrupt(format!("email settings of `{app_id}`: port {port}")))?,
            security: SmtpSecurity::parse(security)
                .ok_or_else(|| StoreError::Corrupt(format!("email settings of `{app_id}`: `{security}`")))?,
            username: r.get(3),
            password: r.get(4),
            from_address: r.get(5),
            from_name: r.get(6),
            reopen_link: r.get(7),
            updated_at: r.get(8),
        }))
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
        self.write(|tx| Ok(tx.execute("DELETE FROM email_settings WHERE app_id = $1", &[&app_id])? > 0))
    }

    fn claim_due_emails(&self, now: i64, reply_delay_ms: i64, limit: u32) -> StoreResult<Vec<EmailRecord>> {
        // One statement: rows another process is claiming are skipped, and a row it claimed first no longer
        // matches `state = 'pending'` once its lock is taken.
        let rows = self.write(|tx| {
            Ok(tx.query(
                &format!(
                    "UPDATE email_outbox SET state = 'sending', attempts = attempts + 1
                     WHERE state = 'pending' AND id IN (
                         SELECT id FROM email_outbox WHERE state = 'pending' AND {DUE} <= $2 ORDER BY id LIMIT $3
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {EMAIL_COLS}"
                ),
                &[&reply_delay_ms, &now, &i64::from(limit)],
            )?)
        })?;
        let mut out = emails_of(&rows)?;
        // RETURNING has no order: oldest first.
        out.sort_by_key(|e| e.id);
        Ok(out)
    }

    fn finish_email(&self, id: i64, outcome: &EmailOutcome, now: i64) -> StoreResult<()> {
        let (state, error, next, sent_at) = match outcome {
            EmailOutcome::Sent => (EmailState::Sent, None, None, Some(now)),
            EmailOutcome::Cancelled(why) => (EmailState::Cancelled, Some(why.as_str()), None, None),
            EmailOutcome::Failed(why) => (EmailState::Failed, Some(why.as_str()), None, None),
            EmailOutcome::Retry { at, error } => (EmailState::Pending, Some(error.as_str()), Some(*at), None),
        };
        self.write(|tx| {
            tx.execute(
                "UPDATE email_outbox SET state = $2, last_error = COALESCE($3, last_error), next_attempt_at = $4,
                     sent_at = $5 WHERE id = $1 AND state = 'sending'",
                &[&id, &state.as_str(), &error, &next, &sent_at],
            )?;
            Ok(())
        })
    }

    fn abandon_interrupted_emails(&self, now: i64) -> StoreResult<u64> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE email_outbox SET state = 'failed', next_attempt_at = $1,
                     last_error = 'interrupted while sending (the server stopped): not sent again, it may have left'
                 WHERE state = 'sending'",
                &[&now],
            )?)
        })
    }

    fn conversation_emails(&self, conversation_id: &str) -> StoreResult<Vec<EmailRecord>> {
        let rows = self.read(|tx| {
            Ok(tx.query(
                &format!("SELECT {EMAIL_COLS} FROM email_outbox WHERE conversation_id = $1 ORDER BY id"),
                &[&conversation_id],
            )?)
        })?;
        emails_of(&rows)
    }
}

impl EmailTx for PgTx<'_, '_> {
    fn email_configured(&mut self, app_id: &str) -> StoreResult<bool> {
        configured_in(self.tx, app_id)
    }

    fn latest_email(&mut self, conversation_id: &str, kind: EmailKind) -> StoreResult<Option<EmailRecord>> {
        latest_in(self.tx, conversation_id, kind)
    }

    fn insert_email(&mut self, email: &NewEmail) -> StoreResult<i64> {
        insert_in(self.tx, email)
    }
}
