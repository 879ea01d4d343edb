//! The persisted send queue: the rules of [`super::queue`] applied to the store, plus the in-memory set of entries
//! on the wire. Every change is one store transaction; "on the wire" is guarded by one mutex so an edit or a delete
//! can never race an attempt (the app is told "being sent, try again" instead).
//!
//! Network-free on purpose: the sender tasks (`sync::sender`) and the property tests drive it the same way:
//! [`SendQueue::begin`] claims the next entry of a lane, the caller delivers it, [`SendQueue::finish`] records the
//! outcome.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chatflow_protocol::{limits, ConsentRecordInput, Message, MessageSurvey, SendMessageRequest, SurveyAnswer};

use serde::{Deserialize, Serialize};

use crate::attachments::{MessageAttachment, PendingUpload};
use crate::error::{Error, Result};
use crate::model::{ChatMessage, MessageState};
use crate::store::Store;
use crate::sync::queue::{self, Effect, Entry, Lane, Next, OutboxKind, Outcome};
use crate::sync::tables::messages;
use crate::sync::tables::outbox;
use crate::transport::backoff::Backoff;

/// What an entry carries to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `uploads` go first (in order); their ids are then the request's `attachments`.
    Message {
        conversation_id: String,
        client_message_id: String,
        request: SendMessageRequest,
        uploads: Vec<PendingUpload>,
    },
    Consent {
        record_id: String,
        input: ConsentRecordInput,
    },
}

/// An entry claimed for one delivery attempt. Dropping it without [`SendQueue::finish`] (a cancelled task) releases
/// it unchanged: it is still queued and goes again.
#[derive(Debug)]
pub struct Claim {
    pub entry: Entry,
    pub payload: Payload,
    in_flight: Arc<Mutex<HashSet<String>>>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(&self.entry.client_id);
        }
    }
}

/// What a lane should do now.
#[derive(Debug)]
pub enum Step {
    Idle,
    Send(Box<Claim>),
    /// Wait until this time (Unix ms), then ask again.
    WaitUntil(i64),
    /// An older consent record goes first; ask again when the consent lane moved.
    AwaitConsents,
    /// The head entry is already being sent (by a task being replaced); ask again shortly.
    Busy,
}

/// The result of recording an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub effect: Effect,
    /// Messages whose stored form changed (the confirmed message on delivery, the wedged echo on refusal).
    pub changed: Vec<ChatMessage>,
}

/// The outbox payload of a message: the request, plus the files to upload before it (absent for text, so entries
/// written before attachments read back unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedMessage {
    #[serde(flatten)]
    pub request: SendMessageRequest,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<PendingUpload>,
}

#[derive(Debug)]
pub struct SendQueue {
    store: Arc<Store>,
    in_flight: Arc<Mutex<HashSet<String>>>,
    backoff: Backoff,
}

/// Checks a message body before it may enter the queue: not blank, within the protocol's limit.
pub fn validate_body(body: &str) -> Result<()> {
    if body.trim().is_empty() {
        return Err(Error::InvalidInput { field: "body", message: "a message needs some text".into() });
    }
    let chars = body.chars().count();
    if chars > limits::MAX_MESSAGE_CHARS {
        return Err(Error::InvalidInput {
            field: "body",
            message: format!("{chars} characters; the limit is {} — split the message", limits::MAX_MESSAGE_CHARS),
        });
    }
    Ok(())
}

impl SendQueue {
    pub fn new(store: Arc<Store>, backoff: Backoff) -> SendQueue {
        SendQueue { store, in_flight: Arc::new(Mutex::new(HashSet::new())), backoff }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Queues a message (and, first, an implied consent record) in one transaction and returns its local echo.
    /// The conversation must exist locally.
    #[allow(clippy::too_many_arguments)]
    pub fn enqueue_message(
        &self,
        conversation_id: &str,
        client_message_id: &str,
        body: &str,
        quick_reply_id: Option<&str>,
        survey_answer: Option<&SurveyAnswer>,
        visitor_id: Option<&str>,
        consent: Option<(&str, &ConsentRecordInput)>,
        now_ms: i64,
    ) -> Result<ChatMessage> {
        self.enqueue_with_files(
            conversation_id,
            client_message_id,
            body,
            quick_reply_id,
            survey_answer,
            visitor_id,
            consent,
            Vec::new(),
            now_ms,
        )
    }

    /// [`Self::enqueue_message`] with files uploaded before the message (then the body may be empty).
    #[allow(clippy::too_many_arguments)]
    pub fn enqueue_with_files(
        &self,
        conversation_id: &str,
        client_message_id: &str,
        body: &str,
        quick_reply_id: Option<&str>,
        survey_answer: Option<&SurveyAnswer>,
        visitor_id: Option<&str>,
        consent: Option<(&str, &ConsentRecordInput)>,
        uploads: Vec<PendingUpload>,
        now_ms: i64,
    ) -> Result<ChatMessage> {
        if uploads.is_empty() || !body.is_empty() {
            validate_body(body)?;
        }
        let files: Vec<MessageAttachment> = uploads
            .iter()
            .map(|u| MessageAttachment {
                id: None,
                file_name: u.file_name.clone(),
                mime_type: u.mime_type.clone(),
                size: crate::model::long(u.size),
                sha256: u.sha256.clone(),
                image: None,
                local_path: Some(u.path.clone()),
            })
            .collect();
        let payload = serde_json::to_string(&QueuedMessage {
            request: SendMessageRequest {
                body: body.to_owned(),
                quick_reply_id: quick_reply_id.map(str::to_owned),
                survey_answer: survey_answer.cloned(),
                attachments: Vec::new(),
            },
            uploads,
        })?;
        let survey = survey_answer.map(|a| MessageSurvey::Answer(a.clone()));
        let consent_json = consent.map(|(id, input)| serde_json::to_string(input).map(|j| (id, j))).transpose()?;
        self.store.write(|tx| {
            if crate::sync::tables::conversations::chatflow_of(tx, conversation_id)?.is_none() {
                return Err(Error::NotFound { what: format!("conversation {conversation_id}") });
            }
            if let Some((record_id, json)) = &consent_json {
                outbox::insert(tx, OutboxKind::Consent, None, record_id, json, now_ms)?;
            }
            let echo = messages::insert_local_echo(
                tx,
                conversation_id,
                client_message_id,
                body,
                quick_reply_id,
                survey.as_ref(),
                visitor_id,
                &files,
                now_ms,
            )?;
            outbox::insert(tx, OutboxKind::Message, Some(conversation_id), client_message_id, &payload, now_ms)?;
            Ok(echo)
        })
    }

    /// Claims the next entry of `lane`, if it may go now.
    pub fn begin(&self, lane: &Lane, now_ms: i64) -> Result<Step> {
        let mut in_flight = self.in_flight.lock().map_err(|_| Error::poisoned())?;
        let candidates = self.store.read(|c| outbox::lane_candidates(c, lane))?;
        let entry = match queue::next(&candidates, lane, now_ms) {
            Next::Idle => return Ok(Step::Idle),
            Next::WaitUntil(t) => return Ok(Step::WaitUntil(t)),
            Next::AwaitConsents => return Ok(Step::AwaitConsents),
            Next::Send(e) => e.clone(),
        };
        if in_flight.contains(&entry.client_id) {
            return Ok(Step::Busy);
        }
        let Some((_, json)) = self.store.read(|c| outbox::get(c, &entry.client_id))? else {
            return Ok(Step::Busy);
        };
        let payload = match entry.kind {
            OutboxKind::Message => {
                let queued: QueuedMessage =
                    serde_json::from_str(&json).map_err(|e| outbox::bad_payload(&entry.client_id, e))?;
                Payload::Message {
                    conversation_id: entry.conversation_id.clone().unwrap_or_default(),
                    client_message_id: entry.client_id.clone(),
                    request: queued.request,
                    uploads: queued.uploads,
                }
            }
            OutboxKind::Consent => Payload::Consent {
                record_id: entry.client_id.clone(),
                input: serde_json::from_str(&json).map_err(|e| outbox::bad_payload(&entry.client_id, e))?,
            },
        };
        in_flight.insert(entry.client_id.clone());
        Ok(Step::Send(Box::new(Claim { entry, payload, in_flight: self.in_flight.clone() })))
    }

    /// Records how the attempt of `claim` ended. `stored` is the server's copy of a delivered message.
    pub fn finish(
        &self,
        claim: Box<Claim>,
        outcome: &Outcome,
        stored: Option<&Message>,
        now_ms: i64,
        jitter_unit: f64,
    ) -> Result<Finished> {
        let effect = queue::effect_of(&claim.entry, outcome, &self.backoff, now_ms, jitter_unit);
        let entry = &claim.entry;
        let changed = self.store.write(|tx| {
            let mut changed = Vec::new();
            // Gone: confirmed meanwhile by a message that came through sync, or wiped by a logout. Either way the
            // attempt's result must not be written (it could belong to the previous visitor).
            if !outbox::exists(tx, entry.id)? {
                return Ok(changed);
            }
            match &effect {
                Effect::Remove => {
                    if let Some(m) = stored {
                        changed = messages::apply_server_messages(tx, std::slice::from_ref(m))?;
                    }
                    if entry.kind == OutboxKind::Consent {
                        crate::consent::mark_synced(tx, &entry.client_id)?;
                    }
                    outbox::apply_effect(tx, entry.id, &effect)?;
                }
                Effect::Wedge { .. } => {
                    if outbox::apply_effect(tx, entry.id, &effect)? && entry.kind == OutboxKind::Message {
                        messages::set_echo_state(tx, &entry.client_id, "wedged")?;
                        changed.extend(messages::by_client_id(tx, &entry.client_id)?);
                    }
                }
                Effect::Retry { .. } | Effect::Hold => {
                    outbox::apply_effect(tx, entry.id, &effect)?;
                }
            }
            Ok(changed)
        })?;
        drop(claim);
        Ok(Finished { effect, changed })
    }

    /// Does `lane` have a queued entry (a peek: nothing is claimed)?
    pub fn has_work(&self, lane: &Lane) -> Result<bool> {
        let candidates = self.store.read(|c| outbox::lane_candidates(c, lane))?;
        Ok(candidates.iter().any(|e| &e.lane() == lane))
    }

    /// Puts a queued or wedged entry back to the head of its turn now (clears error and backoff). Returns its lane.
    pub fn retry(&self, client_id: &str) -> Result<Lane> {
        let in_flight = self.in_flight.lock().map_err(|_| Error::poisoned())?;
        if in_flight.contains(client_id) {
            // Already on its way: nothing to do.
            return self.lane_of(client_id);
        }
        let entry = self.store.write(|tx| {
            let entry = outbox::requeue(tx, client_id)?.ok_or_else(|| not_queued(client_id))?;
            messages::set_echo_state(tx, client_id, "queued")?;
            Ok(entry)
        })?;
        drop(in_flight);
        Ok(entry.lane())
    }

    /// Replaces the body of a queued or wedged message and queues it again. Returns the updated echo and its lane.
    pub fn edit(&self, client_id: &str, body: &str) -> Result<(ChatMessage, Lane)> {
        let in_flight = self.in_flight.lock().map_err(|_| Error::poisoned())?;
        queue::can_change(in_flight.contains(client_id))?;
        let (echo, lane) = self.store.write(|tx| {
            let (entry, json) = outbox::get(tx, client_id)?.ok_or_else(|| not_queued(client_id))?;
            if entry.kind != OutboxKind::Message {
                return Err(Error::InvalidInput { field: "client_message_id", message: "not a message".into() });
            }
            let mut queued: QueuedMessage =
                serde_json::from_str(&json).map_err(|e| outbox::bad_payload(client_id, e))?;
            if queued.uploads.is_empty() || !body.is_empty() {
                validate_body(body)?;
            }
            if queued.request.survey_answer.is_some() {
                let message = "a survey answer cannot be edited; delete it and answer again".into();
                return Err(Error::InvalidInput { field: "client_message_id", message });
            }
            queued.request.body = body.to_owned();
            outbox::set_payload(tx, client_id, &serde_json::to_string(&queued)?)?;
            messages::set_echo_body(tx, client_id, body)?;
            outbox::requeue(tx, client_id)?;
            messages::set_echo_state(tx, client_id, "queued")?;
            let echo = messages::by_client_id(tx, client_id)?.ok_or_else(|| not_queued(client_id))?;
            Ok((echo, entry.lane()))
        })?;
        drop(in_flight);
        Ok((echo, lane))
    }

    /// Removes a queued or wedged message (or consent record) and its local echo, and the SDK's copies of its files.
    pub fn delete(&self, client_id: &str) -> Result<Option<String>> {
        let in_flight = self.in_flight.lock().map_err(|_| Error::poisoned())?;
        queue::can_change(in_flight.contains(client_id))?;
        let (conversation, uploads) = self.store.write(|tx| {
            let (entry, json) = outbox::get(tx, client_id)?.ok_or_else(|| not_queued(client_id))?;
            outbox::remove_by_client_id(tx, client_id)?;
            messages::delete_echo(tx, client_id)?;
            let uploads = match entry.kind {
                OutboxKind::Message => {
                    serde_json::from_str::<QueuedMessage>(&json).map(|q| q.uploads).unwrap_or_default()
                }
                OutboxKind::Consent => Vec::new(),
            };
            Ok((entry.conversation_id, uploads))
        })?;
        drop(in_flight);
        crate::attachments::local::remove_copies(&uploads);
        Ok(conversation)
    }

    /// Records a new declaration of an entry's upload (after `checksum_mismatch`): new id, hash and size.
    pub fn replace_upload(&self, client_id: &str, index: usize, upload: &PendingUpload) -> Result<()> {
        self.store.write(|tx| {
            let Some((_, json)) = outbox::get(tx, client_id)? else { return Ok(()) };
            let mut queued: QueuedMessage =
                serde_json::from_str(&json).map_err(|e| outbox::bad_payload(client_id, e))?;
            if let Some(slot) = queued.uploads.get_mut(index) {
                *slot = upload.clone();
            }
            outbox::set_payload(tx, client_id, &serde_json::to_string(&queued)?)?;
            Ok(())
        })
    }

    fn lane_of(&self, client_id: &str) -> Result<Lane> {
        let (entry, _) = self.store.read(|c| outbox::get(c, client_id))?.ok_or_else(|| not_queued(client_id))?;
        Ok(entry.lane())
    }

    /// Is this entry on the wire right now?
    pub fn is_in_flight(&self, client_id: &str) -> bool {
        self.in_flight.lock().map(|s| s.contains(client_id)).unwrap_or(false)
    }

    /// Marks the echoes that are on the wire right now as [`MessageState::Sending`]. Takes the in-flight lock: never
    /// call it while holding the store's reader ([`SendQueue::begin`] takes the two in the other order).
    pub fn overlay(&self, messages: &mut [ChatMessage]) {
        let Ok(set) = self.in_flight.lock() else { return };
        if set.is_empty() {
            return;
        }
        for m in messages.iter_mut() {
            if m.state == MessageState::Queued && m.client_message_id.as_ref().is_some_and(|c| set.contains(c)) {
                m.state = MessageState::Sending;
            }
        }
    }

    /// Local echoes of every conversation (queued, sending, wedged), in queue order.
    pub fn pending(&self) -> Result<Vec<ChatMessage>> {
        let mut list = self.store.read(|c| messages::pending(c, None))?;
        self.overlay(&mut list);
        Ok(list)
    }
}

fn not_queued(client_id: &str) -> Error {
    Error::NotFound { what: format!("queued message {client_id} (already sent or deleted)") }
}
