//! Sender tasks: one per lane (one per conversation, one for consent records), each delivering its lane's entries
//! one at a time in queue order. A task starts when its lane gets work and stops when the lane is empty.
//!
//! Transport per attempt: the realtime socket's `send` frame when it is online (answered by `ack`/`nack`), the
//! idempotent `PUT /v1/conversations/{id}/messages/{client_message_id}` otherwise (the socket may be down while REST
//! works: a proxy that refuses upgrades). Both carry the same client id on every retry: the server stores a message
//! once whatever path and however many tries it took.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use chatflow_protocol::{ClientFrame, ConsentRecord, ErrorCode, Message};

use crate::client::{now_ms, ClientInner};
use crate::error::{Error, Result};
use crate::events::ChatEvent;
use crate::model::MessageState;
use crate::session::is_session_refusal;
use crate::sync::queue::{classify, classify_paced, Effect, Lane, OutboxKind, Outcome};
use crate::sync::send_queue::{Claim, Payload, Step};
use crate::sync::state::{AckOutcome, SyncState};
use crate::sync::tables::outbox;
use crate::transport::backoff::{random_unit, Backoff};
use crate::transport::http::Paced;
use reqwest::Method;

/// A `send` frame not acknowledged within this is treated as lost (and the socket as broken).
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a lane waits for an older consent record before looking again (it is also woken when one is delivered).
const CONSENT_WAIT: Duration = Duration::from_secs(5);

/// Makes sure `lane` has a running sender and wakes it.
pub(crate) fn kick(inner: &Arc<ClientInner>, lane: &Lane) -> Result<()> {
    let state = inner.messaging().clone();
    let (notify, spawn) = state.lane_notifier(lane)?;
    if spawn {
        let task = run_lane(Arc::downgrade(inner), state.clone(), lane.clone(), notify);
        if let Err(e) = inner.spawn(task) {
            state.lane_gone(lane);
            return Err(e);
        }
    } else {
        notify.notify_one();
    }
    Ok(())
}

/// A consent record was queued: delivers it now when background sync runs (otherwise it goes when sync starts).
pub(crate) fn wake_consents(inner: &Arc<ClientInner>) -> Result<()> {
    if inner.messaging().is_started() {
        kick(inner, &Lane::Consents)?;
    }
    Ok(())
}

/// Starts (or wakes) the sender of every lane with queued work: on start, after a reconnect.
pub(crate) fn resume_all(inner: &Arc<ClientInner>) -> Result<()> {
    for lane in inner.messaging().store().read(outbox::lanes_with_work)? {
        kick(inner, &lane)?;
    }
    inner.messaging().wake_lanes();
    Ok(())
}

/// Starts a sender for every lane with queued work that has none, without waking the running ones (they may be
/// waiting out a backoff).
pub(crate) fn ensure_lanes(inner: &Arc<ClientInner>) -> Result<()> {
    for lane in inner.messaging().store().read(outbox::lanes_with_work)? {
        let (notify, spawn) = inner.messaging().lane_notifier(&lane)?;
        if spawn {
            let task = run_lane(Arc::downgrade(inner), inner.messaging().clone(), lane.clone(), notify);
            if let Err(e) = inner.spawn(task) {
                inner.messaging().lane_gone(&lane);
                return Err(e);
            }
        }
    }
    Ok(())
}

async fn run_lane(weak: Weak<ClientInner>, state: Arc<SyncState>, lane: Lane, notify: Arc<Notify>) {
    let mut paused = state.watch_paused();
    let mut holds: u32 = 0;
    let mut errors: u32 = 0;
    loop {
        if *paused.borrow_and_update() {
            tokio::select! {
                r = paused.changed() => if r.is_err() { break },
                _ = notify.notified() => {}
            }
            continue;
        }
        let step = match state.queue.begin(&lane, now_ms()) {
            Ok(step) => step,
            Err(e) => {
                // The store failed (disk full?): keep the entries, look again later.
                errors = errors.saturating_add(1);
                tracing::warn!(error = %e, "send queue unreadable; retrying");
                wait(&notify, Backoff::SEND.delay(errors)).await;
                continue;
            }
        };
        errors = 0;
        match step {
            Step::Idle => {
                if state.lane_may_stop(&lane, || !state.queue.has_work(&lane).unwrap_or(true)) {
                    return;
                }
            }
            Step::WaitUntil(at) => {
                let delay = Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64);
                wait(&notify, delay).await;
            }
            Step::AwaitConsents => {
                // The consent sender holds a refused certificate: poking it every few seconds would loop on TLS.
                let untrusted = state.untrusted.load(std::sync::atomic::Ordering::Relaxed);
                if let Some(inner) = weak.upgrade().filter(|_| !untrusted) {
                    if let Err(e) = kick(&inner, &Lane::Consents) {
                        tracing::warn!(error = %e, "cannot start the consent sender");
                    }
                }
                wait(&notify, CONSENT_WAIT).await;
            }
            Step::Busy => wait(&notify, Duration::from_millis(50)).await,
            Step::Send(claim) => {
                let Some(inner) = weak.upgrade() else { break };
                let epoch = inner.session().epoch();
                let held = attempt(&inner, &state, claim).await;
                drop(inner);
                match held {
                    None => holds = 0,
                    // A refused certificate does not heal on a timer: wait to be woken (resume, a new send).
                    Some(Held::Untrusted) => wait_until_woken(&notify, &mut paused).await,
                    Some(Held::Session) => {
                        // The token was refused even after a renewal: wait for a new session (or try again later).
                        holds = holds.saturating_add(1);
                        let mut sessions = match weak.upgrade() {
                            Some(inner) => inner.session().subscribe(),
                            None => break,
                        };
                        if sessions.borrow_and_update().to_owned() == epoch {
                            tokio::select! {
                                _ = sessions.changed() => {}
                                _ = wait(&notify, Backoff::RECONNECT.delay(holds)) => {}
                            }
                        }
                    }
                }
            }
        }
    }
    state.lane_gone(&lane);
}

/// Why a lane holds its head entry.
enum Held {
    /// The visitor token was refused even after a renewal.
    Session,
    /// The server's certificate was refused.
    Untrusted,
}

/// Sleeps until the lane is woken or the sync is paused (after a pause, the loop waits for `resume`).
async fn wait_until_woken(notify: &Notify, paused: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = notify.notified() => {}
        _ = paused.changed() => {}
    }
}

/// Sleeps for `delay` or until the lane is woken.
async fn wait(notify: &Notify, delay: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = notify.notified() => {}
    }
}

/// One delivery attempt and its bookkeeping. Returns why the lane must hold, if it must.
async fn attempt(inner: &Arc<ClientInner>, state: &Arc<SyncState>, claim: Box<Claim>) -> Option<Held> {
    let message_ids = match &claim.payload {
        Payload::Message { conversation_id, client_message_id, .. } => {
            Some((conversation_id.clone(), client_message_id.clone()))
        }
        Payload::Consent { .. } => None,
    };
    if let Some((conversation_id, client_message_id)) = &message_ids {
        state.events.emit(ChatEvent::SendStateChanged {
            conversation_id: conversation_id.clone(),
            client_message_id: client_message_id.clone(),
            state: MessageState::Sending,
        });
    }
    let kind = claim.entry.kind;
    let (outcome, stored) = deliver(inner, state, &claim).await;
    let finished = match state.queue.finish(claim, &outcome, stored.as_ref(), now_ms(), random_unit()) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "recording a send attempt failed; the entry stays queued");
            return None;
        }
    };
    match (&finished.effect, &message_ids) {
        (Effect::Remove | Effect::Wedge { .. }, Some((conversation_id, _))) if !finished.changed.is_empty() => {
            state.events.emit(ChatEvent::MessagesChanged {
                conversation_id: conversation_id.clone(),
                messages: finished.changed.clone(),
            });
        }
        (Effect::Retry { .. } | Effect::Hold, Some((conversation_id, client_message_id))) => {
            state.events.emit(ChatEvent::SendStateChanged {
                conversation_id: conversation_id.clone(),
                client_message_id: client_message_id.clone(),
                state: MessageState::Queued,
            });
        }
        _ => {}
    }
    if kind == OutboxKind::Consent && finished.effect == Effect::Remove {
        // Messages queued after this record may go now.
        state.wake_lanes();
    }
    if let (Outcome::Refused { code: ErrorCode::IdempotencyConflict, .. }, Some((conversation_id, _))) =
        (&outcome, &message_ids)
    {
        // The server holds another body under this id (an edit raced a delivery): its copy wins and reaches the
        // store through catch-up, which also clears this entry.
        crate::sync::receiver::spawn_catch_up(inner, state, conversation_id);
    }
    let untrusted = matches!(outcome, Outcome::Untrusted { .. });
    state.untrusted.store(untrusted, std::sync::atomic::Ordering::Relaxed);
    match (&outcome, &finished.effect) {
        (Outcome::Untrusted { message }, _) => {
            tracing::warn!(error = %message, "send held until resume(): the server's certificate was refused");
            Some(Held::Untrusted)
        }
        (_, Effect::Hold) => Some(Held::Session),
        _ => None,
    }
}

/// Delivers a claimed entry over the socket or REST. Returns the outcome and, for a message, the server's copy.
async fn deliver(inner: &Arc<ClientInner>, state: &Arc<SyncState>, claim: &Claim) -> (Outcome, Option<Message>) {
    match &claim.payload {
        Payload::Consent { record_id, input } => {
            let path = format!("/v1/consents/{record_id}");
            let result = with_session(inner, |http, token| {
                let path = path.clone();
                async move { http.put::<_, ConsentRecord>(&path, Some(&token), input).await }
            })
            .await;
            match result {
                Ok(_) => (Outcome::Delivered, None),
                Err(e) => (classify(&e), None),
            }
        }
        Payload::Message { conversation_id, client_message_id, request, uploads } => {
            let mut request = request.clone();
            if !uploads.is_empty() {
                // The files go first, in the lane's turn: a text queued after this message waits for them.
                match crate::attachments::upload::upload_all(inner, state, conversation_id, client_message_id, uploads)
                    .await
                {
                    Ok(ids) => request.attachments = ids,
                    Err(p) => return (classify_paced(&p.error, p.retry_after), None),
                }
            }
            let request = &request;
            if let Some(link) = state.link() {
                let (tx, rx) = oneshot::channel();
                if let Ok(mut acks) = link.acks.lock() {
                    acks.insert(client_message_id.clone(), tx);
                }
                let frame = ClientFrame::Send {
                    conversation_id: conversation_id.clone(),
                    client_message_id: client_message_id.clone(),
                    body: request.body.clone(),
                    quick_reply_id: request.quick_reply_id.clone(),
                    survey_answer: request.survey_answer.clone(),
                    attachments: request.attachments.clone(),
                };
                if link.frames.send(frame).is_ok() {
                    return match tokio::time::timeout(ACK_TIMEOUT, rx).await {
                        Ok(Ok(AckOutcome::Ack(message))) => (Outcome::Delivered, Some(message)),
                        Ok(Ok(AckOutcome::Nack(body))) => {
                            let retry_after = body.retry_after_secs.map(Duration::from_secs);
                            let e = Error::Server {
                                status: body.code.http_status(),
                                code: body.code,
                                message: body.message,
                            };
                            (classify_paced(&e, retry_after), None)
                        }
                        // The socket went away with our frame: it may or may not have been stored; the retry tells.
                        Ok(Err(_)) => (Outcome::Recoverable, None),
                        Err(_) => {
                            if let Ok(mut acks) = link.acks.lock() {
                                acks.remove(client_message_id);
                            }
                            state.suspect.notify_waiters();
                            (Outcome::Recoverable, None)
                        }
                    };
                }
            }
            let path = format!("/v1/conversations/{conversation_id}/messages/{client_message_id}");
            let result = with_session_paced(inner, |http, token| {
                let path = path.clone();
                async move { http.paced::<_, Message>(Method::PUT, &path, Some(&token), request).await }
            })
            .await;
            match result {
                Ok(message) => (Outcome::Delivered, Some(message)),
                Err(p) => (classify_paced(&p.error, p.retry_after), None),
            }
        }
    }
}

/// [`with_session`] for a request whose refusal carries the server's `Retry-After` (see [`Paced`]): the last
/// attempt's wait comes back with its error.
pub(crate) async fn with_session_paced<T, F, Fut>(inner: &Arc<ClientInner>, request: F) -> std::result::Result<T, Paced>
where
    F: Fn(crate::transport::HttpClient, String) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, Paced>>,
{
    let retry_after = std::sync::Mutex::new(None);
    let result = with_session(inner, |http, token| {
        let (attempt, retry_after) = (request(http, token), &retry_after);
        async move {
            attempt.await.map_err(|p| {
                if let Ok(mut slot) = retry_after.lock() {
                    *slot = p.retry_after;
                }
                p.error
            })
        }
    })
    .await;
    result.map_err(|error| Paced { error, retry_after: retry_after.lock().ok().and_then(|s| *s) })
}

/// Runs a request with the visitor token; a refused token is renewed (the app's token provider may be asked) and the
/// request tried once more. A refusal after that holds the lane (see `queue::Outcome::AuthRequired`).
pub(crate) async fn with_session<T, F, Fut>(inner: &Arc<ClientInner>, request: F) -> Result<T>
where
    F: Fn(crate::transport::HttpClient, String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let session = inner.visitor_session().await?;
    let http = inner.http()?.clone();
    match request(http.clone(), session.visitor_token.clone()).await {
        Err(e) if is_session_refusal(&e) => {
            let renewed = inner.renew_session(&session.visitor_token).await?;
            request(http, renewed.visitor_token).await
        }
        other => other,
    }
}
