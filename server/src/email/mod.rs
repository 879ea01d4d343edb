//! Email over SMTP: the app's settings (`settings`, admin API and seed), what an email says (`compose`), the SMTP
//! client (`send`), the agents' manual transcript (`manual`), and the worker below that drains the outbox.
//!
//! The rules that queue emails live in `domain::email` and run in the unit of work of their cause. The worker claims
//! due emails (`pending` → `sending`, committed before any SMTP traffic), decides with the conversation as it is
//! now (an unread reply the visitor has read meanwhile is cancelled), sends, and records the outcome: `sent`,
//! `failed` (a 5xx answer, or the last attempt), or `pending` again with a backoff after a transient failure. An email
//! left `sending` by a stopped server is marked `failed` at the next start and never sent again: at most once.

pub mod compose;
pub mod manual;
pub mod send;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::state::AppState;
use crate::store::email::{EmailOutcome, EmailRecord};
use compose::Prepared;
use send::SendError;

/// Attempts before an email is given up (transient failures only; a 5xx answer fails at once).
pub const MAX_ATTEMPTS: u32 = 8;
/// Emails claimed per round and sent concurrently.
const BATCH: u32 = 32;
const CONCURRENCY: usize = 8;

/// The email worker's tunables (server flags).
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// How long an agent's reply may stay unread before it is emailed (`--email-reply-delay-secs`).
    pub reply_delay: Duration,
    /// How often the worker looks for due emails (`--email-poll-ms`).
    pub poll_interval: Duration,
    /// One SMTP exchange's timeout.
    pub smtp_timeout: Duration,
    /// Extra trusted CA certificates, PEM (`--smtp-ca-file`): for a relay with a private CA.
    pub extra_ca_pem: Option<Arc<Vec<u8>>>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            reply_delay: Duration::from_secs(120),
            poll_interval: Duration::from_secs(1),
            smtp_timeout: Duration::from_secs(30),
            extra_ca_pem: None,
        }
    }
}

/// Wait before attempt `attempts + 1` after a transient failure: 30 s, doubling, at most an hour.
pub fn backoff_ms(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(7);
    (30_000_i64 << doublings).min(3_600_000)
}

/// The text with every word that holds an `@` replaced (addresses out of the logs).
pub fn redact(text: &str) -> String {
    text.split(' ').map(|w| if w.contains('@') { "<address>" } else { w }).collect::<Vec<_>>().join(" ")
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Starts the worker: first it settles emails a stopped server left `sending`, then it drains the outbox forever.
pub fn start(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let now = state.now_ms();
        match state.db(move |s| s.abandon_interrupted_emails(now)).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(emails = n, "emails interrupted while sending by the last stop marked failed"),
            Err(e) => tracing::error!(error = %e.message, "cannot settle interrupted emails"),
        }
        loop {
            let claimed = drain_once(&state).await;
            if claimed == 0 {
                tokio::time::sleep(state.settings.email.poll_interval).await;
            }
        }
    });
}

/// Claims one batch of due emails and sends them; returns how many were claimed.
pub async fn drain_once(state: &AppState) -> usize {
    let now = state.now_ms();
    let delay = ms(state.settings.email.reply_delay);
    let batch = match state.db(move |s| s.claim_due_emails(now, delay, BATCH)).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e.message, "cannot claim emails; trying again later");
            return 0;
        }
    };
    let n = batch.len();
    futures_util::stream::iter(batch).for_each_concurrent(CONCURRENCY, |e| deliver(state, e)).await;
    n
}

async fn deliver(state: &AppState, email: EmailRecord) {
    let (id, attempts, kind) = (email.id, email.attempts, email.kind);
    let prepared = {
        let email = email.clone();
        state.db_try(move |s| Ok(compose::prepare(s, &email).unwrap_or_else(Prepared::from))).await
    };
    let outcome = match prepared {
        Err(e) => EmailOutcome::Retry { at: state.now_ms() + backoff_ms(attempts), error: e.message },
        Ok(Prepared::Finish(outcome)) => outcome,
        Ok(Prepared::Send(out)) => {
            let cfg = &state.settings.email;
            match send::send(&out, cfg.extra_ca_pem.as_deref().map(Vec::as_slice), cfg.smtp_timeout).await {
                Ok(()) => EmailOutcome::Sent,
                Err(SendError::Permanent(why)) => EmailOutcome::Failed(why),
                Err(SendError::Transient(why)) if attempts >= MAX_ATTEMPTS => {
                    EmailOutcome::Failed(format!("gave up after {attempts} attempts: {why}"))
                }
                Err(SendError::Transient(why)) => {
                    EmailOutcome::Retry { at: state.now_ms() + backoff_ms(attempts), error: why }
                }
            }
        }
    };
    // Addresses and bodies stay out of the logs (an SMTP answer may quote an address): the outbox row keeps it all.
    match &outcome {
        EmailOutcome::Sent => tracing::info!(email_id = id, kind = kind.as_str(), "email sent"),
        EmailOutcome::Cancelled(why) => tracing::info!(email_id = id, kind = kind.as_str(), %why, "email cancelled"),
        EmailOutcome::Failed(why) => {
            tracing::warn!(email_id = id, kind = kind.as_str(), why = %redact(why), "email failed")
        }
        EmailOutcome::Retry { error, .. } => {
            tracing::warn!(email_id = id, kind = kind.as_str(), attempts, error = %redact(error), "email will be retried")
        }
    }
    let now = state.now_ms();
    if let Err(e) = state.db(move |s| s.finish_email(id, &outcome, now)).await {
        tracing::error!(email_id = id, error = %e.message, "cannot record an email's outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_redacted() {
        assert_eq!(redact("550 5.1.1 <bob@x.io>: unknown"), "550 5.1.1 <address> unknown");
    }

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(backoff_ms).collect();
        assert_eq!(waits[..4], [30_000, 60_000, 120_000, 240_000]);
        assert_eq!(waits[7], 3_600_000);
        assert_eq!(waits[8], 3_600_000);
    }
}
