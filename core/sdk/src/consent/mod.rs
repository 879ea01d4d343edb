//! Consent: what the visitor must be told or asked before chatting, their decisions, and the gate `send()` consults.
//!
//! * Process data — `off`, `explicit` (sending is refused with [`Error::ConsentRequired`] until `accept_consent`;
//!   after `decline_consent` it is refused with [`Error::ConsentDeclined`]; knowledge-base search is never gated) or
//!   `legitimate_interest` (the notice must be shown — the state says `NoticeToShow` — and an *implied* record is
//!   queued with the first message).
//! * Communicate — an optional opt-in to a subscription type, recorded with the checkbox label it was given under.
//! * Versions — a decision holds for the exact text it was made on (sha256 hex, [`text_version`]); a changed text
//!   asks again.
//! * Delivery — every decision is a `ConsentRecordInput` queued in the `outbox` (kind `consent`, client id = record
//!   id, a UUIDv7) and delivered by the send queue with the same idempotent, retrying path as messages
//!   (`PUT /v1/consents/{record_id}`): it survives offline periods and restarts. The local `consents` table (latest
//!   decision per chatflow, kind, version) follows the outbox through a trigger (migration `0002_consent_cache`).
//!
//! # For the send queue
//! [`ClientInner::check_before_send`]`(&chatflow)` → `Ok(None)`: send; `Ok(Some((record_id, input)))`: send, and
//! queue this implied consent record *in the same transaction, before the message* (its outbox insert updates the
//! consent cache, so the next message does not imply again); `Err(ConsentRequired | ConsentDeclined)`: refuse.
//! The server checks explicit consent too (`consent_required`): a message queued right after `accept_consent` must
//! go after the consent record, which the queue already guarantees (earlier consent records go first).
//! `accept_consent` / `decline_consent` / `set_communication_opt_in` only commit the outbox row; waking the consent
//! lane's sender after them (e.g. `sync::sender::kick(&inner, &Lane::Consents)`) is the send queue's hook to add
//! here once it is wired into `ClientInner` — until then the rows go on its next resume.

mod gate;

use rusqlite::Connection;

use chatflow_protocol::{Chatflow, ConsentDecision, ConsentKind, ConsentRecordInput, ProcessDataMode};

pub use gate::{
    compute, gate, text_version, CommunicateState, ConsentState, Gate, ProcessDataState, ProcessDataStatus,
    StoredDecision,
};

use crate::client::{now_ms, ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::sync::queue::OutboxKind;
use crate::sync::tables::outbox;

/// The stored decisions of one chatflow, oldest first.
fn decisions(conn: &Connection, chatflow_id: i64) -> Result<Vec<StoredDecision>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, text_hash, decision FROM consents WHERE chatflow_id = ?1 ORDER BY decided_at, rowid",
    )?;
    let rows = stmt
        .query_map([chatflow_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, text_hash, decision) = row?;
        // Values are written from the protocol enums; anything else is skipped rather than trusted.
        let (Ok(kind), Ok(decision)) = (
            serde_json::from_value::<ConsentKind>(serde_json::Value::String(kind)),
            serde_json::from_value::<ConsentDecision>(serde_json::Value::String(decision)),
        ) else {
            continue;
        };
        out.push(StoredDecision { kind, text_hash, decision });
    }
    Ok(out)
}

/// Deletes the visitor's consent decisions (logout, another user), in the caller's transaction.
pub(crate) fn wipe_visitor(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM consents", [])?;
    Ok(())
}

/// The server stored the consent record `record_id` (its outbox row is being removed in the same transaction).
pub(crate) fn mark_synced(tx: &rusqlite::Transaction<'_>, record_id: &str) -> Result<()> {
    tx.prepare_cached("UPDATE consents SET synced = 1 WHERE record_id = ?1")?.execute([record_id])?;
    Ok(())
}

/// Queues `input` as a consent record (outbox row; the trigger updates `consents`) in the caller's transaction.
pub(crate) fn queue_record(tx: &rusqlite::Transaction<'_>, record_id: &str, input: &ConsentRecordInput) -> Result<()> {
    let payload = serde_json::to_string(input)?;
    outbox::insert(tx, OutboxKind::Consent, None, record_id, &payload, input.decided_at).map(|_| ())
}

fn new_record_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl ClientInner {
    /// The consent state of `chatflow` for the current visitor (local only).
    pub(crate) fn consent_state_of(&self, chatflow: &Chatflow) -> Result<ConsentState> {
        let d = self.store().read(|c| decisions(c, chatflow.id))?;
        Ok(compute(chatflow.id, &chatflow.consent, &d))
    }

    /// The gate `send()` consults; see the module docs. Local only.
    pub(crate) fn check_before_send(&self, chatflow: &Chatflow) -> Result<Option<(String, ConsentRecordInput)>> {
        let state = self.consent_state_of(chatflow)?;
        match gate(&state) {
            Gate::Allow => Ok(None),
            Gate::Required => Err(Error::ConsentRequired { chatflow_id: chatflow.id }),
            Gate::Declined => Err(Error::ConsentDeclined { chatflow_id: chatflow.id }),
            Gate::AllowRecordingImplied => Ok(Some((
                new_record_id(),
                ConsentRecordInput {
                    chatflow_id: chatflow.id,
                    kind: ConsentKind::ProcessData,
                    decision: ConsentDecision::Implied,
                    text_hash: state.process_data.text_version,
                    subscription_type: None,
                    decided_at: now_ms(),
                },
            ))),
        }
    }

    /// Records a process-data decision on the text `chatflow` shows now.
    fn decide(&self, chatflow_id: i64, shown_version: Option<&str>, decision: ConsentDecision) -> Result<ConsentState> {
        let chatflow = self.cached_chatflow(chatflow_id)?;
        let pd = &chatflow.consent.process_data;
        if pd.mode == ProcessDataMode::Off {
            return Err(Error::InvalidInput {
                field: "chatflow_id",
                message: format!("chatflow {chatflow_id} does not ask for consent to process data"),
            });
        }
        let version = text_version(&pd.text);
        check_shown(shown_version, &version)?;
        let input = ConsentRecordInput {
            chatflow_id,
            kind: ConsentKind::ProcessData,
            decision,
            text_hash: version,
            subscription_type: None,
            decided_at: now_ms(),
        };
        self.store().write(|tx| queue_record(tx, &new_record_id(), &input))?;
        tracing::info!(chatflow = chatflow_id, ?decision, "consent to process data recorded");
        self.consent_state_of(&chatflow)
    }
}

/// The UI may pass the version it displayed: if the text changed since (the list was refreshed), the decision would
/// be recorded on a text the visitor never saw.
fn check_shown(shown: Option<&str>, current: &str) -> Result<()> {
    match shown {
        Some(v) if v != current => Err(Error::InvalidInput {
            field: "text_version",
            message: format!(
                "the consent text changed since it was shown (shown version {v}, current {current}); show the new text \
                 and ask again"
            ),
        }),
        _ => Ok(()),
    }
}

impl ChatClient {
    /// The consent state of chatflow `chatflow_id` (from the cached list) for the current visitor. Local only.
    pub fn consent_state(&self, chatflow_id: i64) -> Result<ConsentState> {
        let chatflow = self.inner.cached_chatflow(chatflow_id)?;
        self.inner.consent_state_of(&chatflow)
    }

    /// The visitor agreed to the process-data text (`shown_text_version`: the version the UI displayed, checked
    /// against the current text when given). Queued for the server; sending is allowed at once.
    pub fn accept_consent(&self, chatflow_id: i64, shown_text_version: Option<String>) -> Result<ConsentState> {
        let state = self.inner.decide(chatflow_id, shown_text_version.as_deref(), ConsentDecision::Accepted)?;
        crate::sync::sender::wake_consents(&self.inner)?;
        Ok(state)
    }

    /// The visitor declined: chatting on this chatflow is blocked until they accept (KB search still works).
    pub fn decline_consent(&self, chatflow_id: i64, shown_text_version: Option<String>) -> Result<ConsentState> {
        let state = self.inner.decide(chatflow_id, shown_text_version.as_deref(), ConsentDecision::Declined)?;
        crate::sync::sender::wake_consents(&self.inner)?;
        Ok(state)
    }

    /// The visitor ticked (or unticked) the communications checkbox; recorded with its label's version.
    pub fn set_communication_opt_in(&self, chatflow_id: i64, opted_in: bool) -> Result<ConsentState> {
        let chatflow = self.inner.cached_chatflow(chatflow_id)?;
        let Some(c) = &chatflow.consent.communicate else {
            return Err(Error::InvalidInput {
                field: "chatflow_id",
                message: format!("chatflow {chatflow_id} has no consent to communicate"),
            });
        };
        let input = ConsentRecordInput {
            chatflow_id,
            kind: ConsentKind::Communicate,
            decision: if opted_in { ConsentDecision::Accepted } else { ConsentDecision::Declined },
            text_hash: text_version(&c.checkbox_label),
            subscription_type: Some(c.subscription_type.clone()),
            decided_at: now_ms(),
        };
        self.inner.store().write(|tx| queue_record(tx, &new_record_id(), &input))?;
        crate::sync::sender::wake_consents(&self.inner)?;
        self.inner.consent_state_of(&chatflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn input(decision: ConsentDecision, text: &str, at: i64) -> ConsentRecordInput {
        ConsentRecordInput {
            chatflow_id: 3,
            kind: ConsentKind::ProcessData,
            decision,
            text_hash: text_version(text),
            subscription_type: None,
            decided_at: at,
        }
    }

    #[test]
    fn queued_records_update_the_cache_through_the_trigger() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.write(|tx| queue_record(tx, "r1", &input(ConsentDecision::Declined, "v1", 1))).unwrap();
        store.write(|tx| queue_record(tx, "r2", &input(ConsentDecision::Accepted, "v1", 2))).unwrap();
        store.write(|tx| queue_record(tx, "r3", &input(ConsentDecision::Implied, "v2", 3))).unwrap();
        let d = store.read(|c| decisions(c, 3)).unwrap();
        assert_eq!(
            d,
            vec![
                StoredDecision {
                    kind: ConsentKind::ProcessData,
                    text_hash: text_version("v1"),
                    decision: ConsentDecision::Accepted
                },
                StoredDecision {
                    kind: ConsentKind::ProcessData,
                    text_hash: text_version("v2"),
                    decision: ConsentDecision::Implied
                },
            ]
        );
        let (outbox, synced): (i64, i64) = store
            .read(|c| {
                Ok(c.prepare_cached(
                    "SELECT (SELECT COUNT(*) FROM outbox WHERE kind = 'consent' AND state = 'queued'),
                            (SELECT COUNT(*) FROM consents WHERE synced = 1)",
                )?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
            })
            .unwrap();
        assert_eq!((outbox, synced), (3, 0), "every decision is delivered, the cache holds the latest per version");
        let rid: String = store
            .read(|c| {
                Ok(c.prepare_cached("SELECT record_id FROM consents WHERE decision = 'accepted'")?
                    .query_row([], |r| r.get(0))?)
            })
            .unwrap();
        assert_eq!(rid, "r2");
    }

    fn client_with(flow: &Chatflow) -> (tempfile::TempDir, std::sync::Arc<ChatClient>) {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::from_json_str(
            r#"{"server_url":"http://127.0.0.1:9","app_id":"a","environment":"development","default_tag":"t"}"#,
        )
        .unwrap();
        let client = ChatClient::open(config, dir.path()).unwrap();
        client
            .store()
            .write(|tx| {
                tx.prepare_cached("INSERT INTO chatflows (id, json) VALUES (?1, ?2)")?
                    .execute(rusqlite::params![flow.id, serde_json::to_string(flow)?])?;
                Ok(())
            })
            .unwrap();
        (dir, client)
    }

    #[test]
    fn the_send_gate_implies_legitimate_interest_once() {
        let mut flow = crate::chatflow::resolve::tests::flow(3, &["t"], 0, "en");
        flow.consent.process_data = chatflow_protocol::ProcessDataConsent {
            mode: ProcessDataMode::LegitimateInterest,
            text: "We use your messages.".into(),
        };
        let (_dir, client) = client_with(&flow);
        let (record_id, implied) = client.inner.check_before_send(&flow).unwrap().expect("first message implies");
        assert_eq!(implied.decision, ConsentDecision::Implied);
        assert_eq!(implied.text_hash, text_version("We use your messages."));
        // The send queue queues it with the message (an outbox insert, like `sync::tables::outbox::insert`).
        client.store().write(|tx| queue_record(tx, &record_id, &implied)).unwrap();
        assert_eq!(client.inner.check_before_send(&flow).unwrap(), None, "recorded once, not per message");
        assert_eq!(client.consent_state(3).unwrap().process_data.status, ProcessDataStatus::Implied);
        // A new notice text implies again.
        flow.consent.process_data.text = "We use your messages for 30 days.".into();
        assert!(client.inner.check_before_send(&flow).unwrap().is_some());
    }

    #[test]
    fn the_send_gate_refuses_without_explicit_consent() {
        let mut flow = crate::chatflow::resolve::tests::flow(3, &["t"], 0, "en");
        flow.consent.process_data =
            chatflow_protocol::ProcessDataConsent { mode: ProcessDataMode::Explicit, text: "Agree?".into() };
        let (_dir, client) = client_with(&flow);
        let err = client.inner.check_before_send(&flow).unwrap_err();
        assert!(matches!(err, Error::ConsentRequired { chatflow_id: 3 }), "{err:?}");
        client.decline_consent(3, None).unwrap();
        let err = client.inner.check_before_send(&flow).unwrap_err();
        assert!(matches!(err, Error::ConsentDeclined { chatflow_id: 3 }), "{err:?}");
        client.accept_consent(3, Some(text_version("Agree?"))).unwrap();
        assert_eq!(client.inner.check_before_send(&flow).unwrap(), None);
    }

    #[test]
    fn shown_version_must_match() {
        assert!(check_shown(None, "a").is_ok());
        assert!(check_shown(Some("a"), "a").is_ok());
        assert!(check_shown(Some("old"), "new").unwrap_err().to_string().contains("changed since it was shown"));
    }
}
