//! The send queue as pure logic: the states of an outbox entry, what the outcome of a delivery attempt does to it,
//! and which entry goes next. `tables/outbox.rs` persists entries, [`super::send_queue::SendQueue`] applies these rules
//! inside store transactions, and the sender tasks drive it over the network.
//!
//! Rules (after matrix-rust-sdk's send queue):
//! - Entries are delivered in outbox `id` order, one at a time per conversation; consent records (no conversation)
//!   go before every message queued after them.
//! - A *recoverable* failure (network, timeout, 5xx) keeps the entry queued and schedules the next try with capped
//!   exponential backoff and full jitter. Retries reuse the same client id: the server deduplicates.
//! - A *rate-limited* refusal (429, or a `nack` with `rate_limited`) that says when to retry keeps the entry queued
//!   and schedules the next try no sooner than that (plus a little jitter): never wedged, never early.
//! - An expired or unknown visitor/identity token *holds* the entry (no attempt counted) until the session layer has
//!   a fresh token.
//! - Any other refusal (4xx) *wedges* the entry with the server's code; later entries of the conversation go on.
//!   The app may retry, edit or delete a wedged (or queued) entry.
//! - "Sending" is not persisted: after a restart every entry is queued again and re-sent with its client id.

use std::time::Duration;

use chatflow_protocol::ErrorCode;

use crate::error::Error;
use crate::transport::backoff::Backoff;

/// What an outbox row delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    /// A visitor message: `PUT /v1/conversations/{id}/messages/{client_id}` or a realtime `send` frame.
    Message,
    /// A consent record: `PUT /v1/consents/{client_id}`.
    Consent,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Message => "message",
            OutboxKind::Consent => "consent",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxKind> {
        match s {
            "message" => Some(OutboxKind::Message),
            "consent" => Some(OutboxKind::Consent),
            _ => None,
        }
    }
}

/// The persisted state of an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Waiting for its turn (possibly until `next_attempt_at`).
    Queued,
    /// Refused by the server; waits for the app to retry, edit or delete it.
    Wedged { code: ErrorCode, message: String },
}

impl EntryState {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryState::Queued => "queued",
            EntryState::Wedged { .. } => "wedged",
        }
    }
}

/// One outbox row, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub kind: OutboxKind,
    /// `None` for consent records.
    pub conversation_id: Option<String>,
    pub client_id: String,
    pub state: EntryState,
    /// Failed tries so far (recoverable ones; reset by a manual retry).
    pub attempts: u32,
    /// Not before this (Unix ms).
    pub next_attempt_at: i64,
}

/// Which sender an entry belongs to: one per conversation, one for consent records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    Consents,
    Conversation(String),
}

impl Entry {
    pub fn lane(&self) -> Lane {
        match (&self.kind, &self.conversation_id) {
            (OutboxKind::Message, Some(c)) => Lane::Conversation(c.clone()),
            _ => Lane::Consents,
        }
    }
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored by the server (first time or already stored: same id).
    Delivered,
    /// Network failure, timeout or server failure: try again later, unchanged.
    Recoverable,
    /// The server's rate limit refused the attempt and said when to try again: not before `retry_after_ms`.
    RateLimited { retry_after_ms: u64 },
    /// The visitor/identity token is expired or unknown: wait for a fresh one, then try again.
    AuthRequired,
    /// The server refused the entry itself: wedge it.
    Refused { code: ErrorCode, message: String },
    /// The server's certificate was refused (`Error::Tls`): says nothing about the entry, and retrying on a timer
    /// gives the same answer. Keep it queued; the lane waits until it is woken (`resume()`, a new send in its lane).
    Untrusted { message: String },
}

/// Maps a transport error and the server's `Retry-After` (if it gave one) onto an outcome.
pub fn classify_paced(err: &Error, retry_after: Option<Duration>) -> Outcome {
    match (err, retry_after) {
        (Error::Server { status: 429, .. }, Some(wait))
        | (Error::Server { code: ErrorCode::RateLimited, .. }, Some(wait)) => {
            Outcome::RateLimited { retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX) }
        }
        _ => classify(err),
    }
}

/// Maps a transport error onto an outcome.
pub fn classify(err: &Error) -> Outcome {
    match err {
        Error::Server { code, message, status } => match code {
            ErrorCode::IdentityTokenExpired | ErrorCode::InvalidToken | ErrorCode::Unauthenticated => {
                Outcome::AuthRequired
            }
            _ if code.is_retryable() || *status >= 500 || *status == 408 || *status == 429 => Outcome::Recoverable,
            _ => Outcome::Refused { code: *code, message: message.clone() },
        },
        Error::Tls { message } => Outcome::Untrusted { message: message.clone() },
        // Unreachable server, broken connection, an answer that is not ours (a captive portal, a proxy page),
        // a local hiccup: none of them says anything about the entry, so it stays queued.
        _ => Outcome::Recoverable,
    }
}

/// What to do to an entry after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Delivered: remove the entry (and confirm the local echo).
    Remove,
    /// Keep it queued; next try not before `next_attempt_at`.
    Retry {
        attempts: u32,
        next_attempt_at: i64,
    },
    /// Keep it queued as it is; the lane waits for a fresh token (or, for `Untrusted`, to be woken).
    Hold,
    Wedge {
        code: ErrorCode,
        message: String,
    },
}

/// The effect of `outcome` on `entry` at `now_ms`, with a jitter draw `unit` in `[0, 1)`.
pub fn effect_of(entry: &Entry, outcome: &Outcome, backoff: &Backoff, now_ms: i64, unit: f64) -> Effect {
    match outcome {
        Outcome::Delivered => Effect::Remove,
        Outcome::Recoverable => {
            let attempts = entry.attempts.saturating_add(1);
            let delay = backoff.delay_with(attempts, unit);
            Effect::Retry { attempts, next_attempt_at: now_ms.saturating_add(millis(delay)) }
        }
        Outcome::RateLimited { retry_after_ms } => {
            // At least what the server asked; the jitter (up to a fifth, at most 1 s) keeps many devices limited at
            // once from coming back in the same instant.
            let wait = *retry_after_ms as f64;
            let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
            let jitter = (wait / 5.0).min(1_000.0) * unit;
            let delay = (wait + jitter).min(i64::MAX as f64) as i64;
            Effect::Retry { attempts: entry.attempts.saturating_add(1), next_attempt_at: now_ms.saturating_add(delay) }
        }
        Outcome::AuthRequired | Outcome::Untrusted { .. } => Effect::Hold,
        Outcome::Refused { code, message } => Effect::Wedge { code: *code, message: message.clone() },
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What a lane's sender should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<'a> {
    /// Nothing queued in the lane: the sender may stop.
    Idle,
    /// Deliver this entry now.
    Send(&'a Entry),
    /// The head entry waits for its backoff to end (Unix ms).
    WaitUntil(i64),
    /// A consent record queued earlier must be delivered first.
    AwaitConsents,
}

/// The next step of `lane` given every outbox entry in `id` order.
pub fn next<'a>(entries: &'a [Entry], lane: &Lane, now_ms: i64) -> Next<'a> {
    let Some(head) = entries.iter().find(|e| e.state == EntryState::Queued && &e.lane() == lane) else {
        return Next::Idle;
    };
    if *lane != Lane::Consents
        && entries.iter().any(|e| e.kind == OutboxKind::Consent && e.state == EntryState::Queued && e.id < head.id)
    {
        return Next::AwaitConsents;
    }
    if head.next_attempt_at > now_ms {
        return Next::WaitUntil(head.next_attempt_at);
    }
    Next::Send(head)
}

/// May the app change (edit, delete) an entry in this state? Never while it is on the wire: the server could store
/// the old body, and the app would believe otherwise.
pub fn can_change(in_flight: bool) -> Result<(), Error> {
    if in_flight {
        return Err(Error::InvalidInput {
            field: "client_message_id",
            message: "this message is being sent right now; wait for it to be sent or to fail, then try again".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, kind: OutboxKind, conv: Option<&str>, state: EntryState) -> Entry {
        Entry {
            id,
            kind,
            conversation_id: conv.map(str::to_owned),
            client_id: format!("c{id}"),
            state,
            attempts: 0,
            next_attempt_at: 0,
        }
    }

    fn wedged() -> EntryState {
        EntryState::Wedged { code: ErrorCode::MessageTooLong, message: "too long".into() }
    }

    fn conv(c: &str) -> Lane {
        Lane::Conversation(c.into())
    }

    #[test]
    fn the_head_is_the_first_queued_entry_of_the_lane() {
        let es = vec![
            entry(1, OutboxKind::Message, Some("a"), wedged()),
            entry(2, OutboxKind::Message, Some("b"), EntryState::Queued),
            entry(3, OutboxKind::Message, Some("a"), EntryState::Queued),
            entry(4, OutboxKind::Message, Some("a"), EntryState::Queued),
        ];
        assert_eq!(next(&es, &conv("a"), 0), Next::Send(&es[2]));
        assert_eq!(next(&es, &conv("b"), 0), Next::Send(&es[1]));
        assert_eq!(next(&es, &conv("c"), 0), Next::Idle);
        assert_eq!(next(&es, &Lane::Consents, 0), Next::Idle);
    }

    #[test]
    fn earlier_consents_go_first_later_ones_do_not_block() {
        let mut es = vec![
            entry(1, OutboxKind::Consent, None, EntryState::Queued),
            entry(2, OutboxKind::Message, Some("a"), EntryState::Queued),
        ];
        assert_eq!(next(&es, &conv("a"), 0), Next::AwaitConsents);
        assert_eq!(next(&es, &Lane::Consents, 0), Next::Send(&es[0]));
        es[0].id = 3;
        es.sort_by_key(|e| e.id);
        assert_eq!(next(&es, &conv("a"), 0), Next::Send(&es[0]));
        // A wedged consent does not hold messages back forever.
        es[1].id = 1;
        es[1].state = wedged();
        es.sort_by_key(|e| e.id);
        assert!(matches!(next(&es, &conv("a"), 0), Next::Send(e) if e.id == 2));
    }

    #[test]
    fn backoff_defers_the_head_and_does_not_skip_it() {
        let mut es = vec![
            entry(1, OutboxKind::Message, Some("a"), EntryState::Queued),
            entry(2, OutboxKind::Message, Some("a"), EntryState::Queued),
        ];
        es[0].next_attempt_at = 1_000;
        assert_eq!(next(&es, &conv("a"), 999), Next::WaitUntil(1_000));
        assert_eq!(next(&es, &conv("a"), 1_000), Next::Send(&es[0]));
    }

    fn server(status: u16, code: ErrorCode) -> Error {
        Error::Server { status, code, message: "m".into() }
    }

    #[test]
    fn errors_are_classified() {
        let table = [
            (Error::Network { message: "refused".into() }, Outcome::Recoverable),
            (Error::Tls { message: "unknown issuer".into() }, Outcome::Untrusted { message: "unknown issuer".into() }),
            (Error::Protocol { message: "html".into() }, Outcome::Recoverable),
            (server(500, ErrorCode::Internal), Outcome::Recoverable),
            (server(401, ErrorCode::IdentityTokenExpired), Outcome::AuthRequired),
            (server(401, ErrorCode::InvalidToken), Outcome::AuthRequired),
            (server(401, ErrorCode::Unauthenticated), Outcome::AuthRequired),
            (
                server(400, ErrorCode::MessageTooLong),
                Outcome::Refused { code: ErrorCode::MessageTooLong, message: "m".into() },
            ),
            (
                server(403, ErrorCode::ConsentRequired),
                Outcome::Refused { code: ErrorCode::ConsentRequired, message: "m".into() },
            ),
            (
                server(409, ErrorCode::IdempotencyConflict),
                Outcome::Refused { code: ErrorCode::IdempotencyConflict, message: "m".into() },
            ),
        ];
        for (err, want) in table {
            assert_eq!(classify(&err), want, "{err}");
        }
        let limited = server(429, ErrorCode::RateLimited);
        assert_eq!(classify(&limited), Outcome::Recoverable, "429 without a Retry-After: the usual backoff");
        assert_eq!(classify_paced(&limited, None), Outcome::Recoverable);
        assert_eq!(
            classify_paced(&limited, Some(Duration::from_secs(3))),
            Outcome::RateLimited { retry_after_ms: 3_000 }
        );
        // A Retry-After on another refusal changes nothing: a 400 is still the entry's own fault.
        assert!(matches!(
            classify_paced(&server(400, ErrorCode::MessageTooLong), Some(Duration::from_secs(3))),
            Outcome::Refused { .. }
        ));
    }

    #[test]
    fn a_rate_limited_entry_waits_at_least_the_retry_after_and_stays_queued() {
        let e = entry(1, OutboxKind::Message, Some("a"), EntryState::Queued);
        let limited = Outcome::RateLimited { retry_after_ms: 4_000 };
        for unit in [0.0, 0.5, 0.999, f64::NAN] {
            match effect_of(&e, &limited, &Backoff::SEND, 10_000, unit) {
                Effect::Retry { attempts: 1, next_attempt_at } => {
                    assert!((14_000..=14_800).contains(&next_attempt_at), "{unit}: {next_attempt_at}")
                }
                other => panic!("{other:?}"),
            }
        }
        let long = Outcome::RateLimited { retry_after_ms: 60_000 };
        assert_eq!(
            effect_of(&e, &long, &Backoff::SEND, 0, 1.0),
            Effect::Retry { attempts: 1, next_attempt_at: 61_000 },
            "beyond the send backoff's 30 s cap, and the jitter capped at 1 s"
        );
    }

    #[test]
    fn effects_of_outcomes() {
        let e = entry(1, OutboxKind::Message, Some("a"), EntryState::Queued);
        let b = Backoff::SEND;
        assert_eq!(effect_of(&e, &Outcome::Delivered, &b, 0, 0.5), Effect::Remove);
        assert_eq!(effect_of(&e, &Outcome::AuthRequired, &b, 0, 0.5), Effect::Hold);
        assert_eq!(
            effect_of(&e, &Outcome::Recoverable, &b, 10_000, 1.0),
            Effect::Retry { attempts: 1, next_attempt_at: 10_500 }
        );
        let mut tired = e.clone();
        tired.attempts = 40;
        assert_eq!(
            effect_of(&tired, &Outcome::Recoverable, &b, 0, 1.0),
            Effect::Retry { attempts: 41, next_attempt_at: 30_000 }
        );
        assert_eq!(
            effect_of(&e, &Outcome::Refused { code: ErrorCode::Forbidden, message: "no".into() }, &b, 0, 0.0),
            Effect::Wedge { code: ErrorCode::Forbidden, message: "no".into() }
        );
        assert!(can_change(true).is_err());
        assert!(can_change(false).is_ok());
    }
}
