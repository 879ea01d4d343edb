//! The connection manager: one task that keeps the realtime socket up while the app is in the foreground.
//!
//! States ([`ConnectionState`]): `Offline` (paused, or no visitor yet) → `Connecting` (upgrade, `hello`, conversation
//! list, REST catch-up from the stored cursors, `resume` + backlog) → `Online` (live frames; sends go over the socket)
//! → on any failure `WaitingToRetry { retry_at }` with capped exponential backoff and full jitter, or at once when
//! `resume()` is called; a refused certificate (`Error::Tls`) goes `Offline` until `resume()` instead, since
//! retrying on a timer would give the same answer. A socket that stays silent for two heartbeats is dead; the client
//! pings every half heartbeat so the server hears it too. `pause()` closes the socket and stops retrying until
//! `resume()`.
//!
//! Session changes (logout, another user) bump the session epoch: the socket of the old visitor is closed at once and
//! a new one opened for the new visitor (if any).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use chatflow_protocol::{ClientFrame, ConversationCursor, ConversationStatus, ServerFrame};

use crate::client::{now_ms, ClientInner};
use crate::error::{Error, Result};
use crate::events::{ChatEvent, ConnectionState};
use crate::session::is_session_refusal;
use crate::sync::receiver::{self, apply_messages};
use crate::sync::state::{AckOutcome, Link, SyncState};
use crate::sync::tables::{conversations, outbox};
use crate::transport::backoff::Backoff;
use crate::transport::realtime::{self, Incoming, Socket};

/// Waiting for `hello` or for the end of a `resume` backlog longer than this means the server is stuck.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// A connection that stayed online this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// How a connection ended.
enum Ended {
    Paused,
    SessionChanged,
    NoSession,
    /// The client was dropped.
    Gone,
    /// Retry after backoff. `online_for`: how long it was online (zero if it never got there).
    Failed {
        error: Error,
        online_for: Duration,
    },
    /// Retry at once (the session was renewed after a refused token).
    RetryNow,
}

/// Starts the connection manager and the senders of queued work (once per client).
pub(crate) fn start(inner: &Arc<ClientInner>) -> Result<()> {
    let state = inner.messaging().clone();
    if !state.claim_start() {
        return Ok(());
    }
    inner.spawn(run(Arc::downgrade(inner), state.clone()))?;
    crate::sync::sender::resume_all(inner)
}

async fn run(weak: Weak<ClientInner>, state: Arc<SyncState>) {
    let mut paused = state.watch_paused();
    let mut failures: u32 = 0;
    loop {
        if *paused.borrow_and_update() {
            state.set_connection_state(ConnectionState::Offline);
            if paused.changed().await.is_err() {
                return;
            }
            failures = 0;
            continue;
        }
        let mut epoch = match weak.upgrade() {
            Some(inner) => inner.session().subscribe(),
            None => return,
        };
        epoch.borrow_and_update();
        let ended = connect_and_serve(&weak, &state, &mut paused, &mut epoch).await;
        state.set_link(None);
        state.typing.clear();
        let delay = match ended {
            Ended::Gone => return,
            Ended::Paused => continue,
            Ended::SessionChanged | Ended::RetryNow => {
                failures = 0;
                continue;
            }
            Ended::NoSession => {
                state.set_connection_state(ConnectionState::Offline);
                // Wait for a visitor (open_conversation / resume wake us) or a session change.
                tokio::select! {
                    _ = state.wake_connection.notified() => {}
                    _ = epoch.changed() => {}
                    _ = paused.changed() => {}
                }
                continue;
            }
            Ended::Failed { error: error @ Error::Tls { .. }, .. } => {
                // A refused certificate does not heal on a timer: wait for resume(), a new conversation or session.
                tracing::warn!(error = %error, "realtime waits for resume(): the server's certificate was refused");
                state.set_connection_state(ConnectionState::Offline);
                tokio::select! {
                    _ = state.wake_connection.notified() => {}
                    _ = epoch.changed() => {}
                    _ = paused.changed() => {}
                }
                failures = 0;
                continue;
            }
            Ended::Failed { error, online_for } => {
                failures = if online_for >= STABLE_AFTER { 1 } else { failures.saturating_add(1) };
                tracing::info!(error = %error, failures, "realtime connection lost");
                Backoff::RECONNECT.delay(failures)
            }
        };
        let retry_at = now_ms() + delay.as_millis() as i64;
        state.set_connection_state(ConnectionState::WaitingToRetry { retry_at });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = state.wake_connection.notified() => { failures = 0; }
            _ = paused.changed() => {}
            _ = epoch.changed() => { failures = 0; }
        }
    }
}

/// One connection, from connect to its end.
async fn connect_and_serve(
    weak: &Weak<ClientInner>,
    state: &Arc<SyncState>,
    paused: &mut watch::Receiver<bool>,
    epoch: &mut watch::Receiver<u64>,
) -> Ended {
    let Some(inner) = weak.upgrade() else { return Ended::Gone };
    if inner.session().current().is_none() && inner.session().pending().is_none() {
        return Ended::NoSession;
    }
    state.set_connection_state(ConnectionState::Connecting);
    // Connecting is bounded (timeouts everywhere), so holding the client for its duration is fine.
    let connected = tokio::select! {
        c = connect(&inner, state) => c,
        _ = until_paused(paused) => return Ended::Paused,
        _ = epoch.changed() => return Ended::SessionChanged,
    };
    let (socket, visitor_id, heartbeat) = match connected {
        Ok(c) => c,
        Err(e) if is_session_refusal(&e) => {
            tracing::info!("realtime refused the visitor token; renewing the session");
            let token = inner.session().current().map(|s| s.visitor_token).unwrap_or_default();
            return match inner.renew_session(&token).await {
                Ok(_) => Ended::RetryNow,
                Err(error) => Ended::Failed { error, online_for: Duration::ZERO },
            };
        }
        Err(error) => return Ended::Failed { error, online_for: Duration::ZERO },
    };
    drop(inner);
    serve(weak, state, socket, &visitor_id, heartbeat, paused, epoch).await
}

/// Upgrade, `hello`, conversation list, REST catch-up, `resume`. Returns the socket, the visitor and the heartbeat.
async fn connect(inner: &Arc<ClientInner>, state: &Arc<SyncState>) -> Result<(Socket, String, Duration)> {
    let session = inner.visitor_session().await?;
    let tls = inner.tls()?;
    let mut socket =
        realtime::connect(&inner.config().server_url, &inner.config().app_id, &session.visitor_token, &tls).await?;
    let heartbeat = match tokio::time::timeout(HANDSHAKE_TIMEOUT, socket.next()).await {
        Ok(Incoming::Frame(frame)) => match *frame {
            ServerFrame::Hello { heartbeat_interval_ms, .. } => {
                Duration::from_millis(heartbeat_interval_ms.clamp(100, 600_000))
            }
            other => return Err(Error::Protocol { message: format!("expected hello, got {other:?}") }),
        },
        Ok(Incoming::Closed(reason)) => {
            return Err(Error::Network { message: format!("realtime closed before hello: {reason:?}") })
        }
        Ok(other) => return Err(Error::Protocol { message: format!("expected hello, got {other:?}") }),
        Err(_) => return Err(Error::Network { message: "no hello from the realtime server".into() }),
    };
    receiver::refresh_conversations(inner, state).await?;
    let cursors = state.store().read(conversations::cursors)?;
    for c in cursors.iter().filter(|c| c.last_seq > c.synced_seq) {
        receiver::catch_up(inner, state, &c.conversation_id).await?;
    }
    let cursors = state.store().read(conversations::cursors)?;
    let frame = ClientFrame::Resume {
        cursors: cursors
            .into_iter()
            .map(|c| ConversationCursor { conversation_id: c.conversation_id, last_seq: c.synced_seq })
            .collect(),
    };
    socket.send(&frame).await?;
    Ok((socket, session.visitor_id, heartbeat))
}

/// The frame loop of a connected socket.
async fn serve(
    weak: &Weak<ClientInner>,
    state: &Arc<SyncState>,
    mut socket: Socket,
    visitor_id: &str,
    heartbeat: Duration,
    paused: &mut watch::Receiver<bool>,
    epoch: &mut watch::Receiver<u64>,
) -> Ended {
    let (frames_tx, mut frames_rx) = mpsc::unbounded_channel();
    let link = Link { frames: frames_tx, acks: Arc::new(Mutex::new(HashMap::new())) };
    let mut online_since: Option<Instant> = None;
    let resume_deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let mut last_heard = Instant::now();
    let mut ping = tokio::time::interval(heartbeat / 2);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut nonce = 0u64;
    let online_for = |since: Option<Instant>| since.map_or(Duration::ZERO, |s| s.elapsed());
    let end = loop {
        tokio::select! {
            incoming = socket.next() => {
                last_heard = Instant::now();
                let frame = match incoming {
                    Incoming::Frame(f) => *f,
                    Incoming::Control => continue,
                    Incoming::Unreadable(why) => {
                        tracing::debug!(why, "unreadable realtime frame ignored");
                        continue;
                    }
                    Incoming::Closed(reason) => {
                        let error = Error::Network { message: format!("realtime closed: {}", reason.unwrap_or_default()) };
                        break Ended::Failed { error, online_for: online_for(online_since) };
                    }
                };
                let Some(inner) = weak.upgrade() else { break Ended::Gone };
                if matches!(frame, ServerFrame::Resumed) && online_since.is_none() {
                    online_since = Some(Instant::now());
                    go_online(&inner, state, link.clone());
                    continue;
                }
                if let Err(error) = handle_frame(&inner, state, visitor_id, &link, frame, online_since.is_some()) {
                    tracing::warn!(error = %error, "applying a realtime frame failed; reconnecting to catch up");
                    break Ended::Failed { error, online_for: online_for(online_since) };
                }
            }
            Some(frame) = frames_rx.recv() => {
                if let Err(error) = socket.send(&frame).await {
                    break Ended::Failed { error, online_for: online_for(online_since) };
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > heartbeat * 2 {
                    let error = Error::Network { message: "realtime socket silent for two heartbeats".into() };
                    break Ended::Failed { error, online_for: online_for(online_since) };
                }
                if online_since.is_none() && Instant::now() > resume_deadline {
                    let error = Error::Network { message: "resume backlog did not complete".into() };
                    break Ended::Failed { error, online_for: Duration::ZERO };
                }
                // Lanes whose work was queued by someone else (a consent decision) get a sender.
                if let Some(inner) = weak.upgrade() {
                    if let Err(e) = crate::sync::sender::ensure_lanes(&inner) {
                        tracing::debug!(error = %e, "could not check the send lanes");
                    }
                }
                nonce += 1;
                if let Err(error) = socket.send(&ClientFrame::Ping { nonce }).await {
                    break Ended::Failed { error, online_for: online_for(online_since) };
                }
            }
            _ = state.suspect.notified() => {
                let error = Error::Network { message: "a send was not acknowledged in time".into() };
                break Ended::Failed { error, online_for: online_for(online_since) };
            }
            _ = until_paused(paused) => break Ended::Paused,
            _ = epoch.changed() => break Ended::SessionChanged,
        }
    };
    state.set_link(None);
    socket.close().await;
    end
}

/// Resolves once the app paused (a `resume()` while connected is not a reason to drop the socket).
async fn until_paused(paused: &mut watch::Receiver<bool>) {
    if paused.wait_for(|p| *p).await.is_err() {
        // The client is gone: never resolve, the task ends with the runtime.
        std::future::pending::<()>().await;
    }
}

/// `resumed`: the backlog is in; sends switch to the socket and every lane retries now.
fn go_online(inner: &Arc<ClientInner>, state: &Arc<SyncState>, link: Link) {
    state.set_link(Some(link));
    state.set_connection_state(ConnectionState::Online);
    if let Err(e) = state.store().write(outbox::retry_all_now) {
        tracing::warn!(error = %e, "could not reset send backoff");
    }
    if let Err(e) = crate::sync::sender::resume_all(inner) {
        tracing::warn!(error = %e, "could not wake the senders");
    }
    crate::sync::api::flush_read_markers(inner, state);
}

/// Applies one server frame.
fn handle_frame(
    inner: &Arc<ClientInner>,
    state: &Arc<SyncState>,
    visitor_id: &str,
    link: &Link,
    frame: ServerFrame,
    online: bool,
) -> Result<()> {
    match frame {
        ServerFrame::Hello { .. } | ServerFrame::Pong { .. } | ServerFrame::Resumed => {}
        ServerFrame::Backlog { conversation_id, messages } => {
            apply_messages(state, visitor_id, &conversation_id, &messages, None)?;
        }
        ServerFrame::Message { message } => {
            let conversation_id = message.conversation_id.clone();
            let seq = message.seq;
            // The author's typing ends with the message: "stopped" first, so no state shows both.
            if let Some(author) = state.typing.message_arrived(&conversation_id, message.author.kind) {
                state.events.emit(ChatEvent::Typing {
                    conversation_id: conversation_id.clone(),
                    author,
                    typing: false,
                });
            }
            let applied = apply_messages(state, visitor_id, &conversation_id, std::slice::from_ref(&message), None)?;
            // A hole below this message (a frame lost between two connections): fetch it over REST.
            if online && !applied.stale && applied.synced_seq < seq {
                receiver::spawn_catch_up(inner, state, &conversation_id);
            }
        }
        ServerFrame::Ack { client_message_id, message } => {
            let waiter = link.acks.lock().ok().and_then(|mut a| a.remove(&client_message_id));
            match waiter {
                Some(w) => {
                    if let Err(AckOutcome::Ack(message)) = w.send(AckOutcome::Ack(message)) {
                        let conversation_id = message.conversation_id.clone();
                        apply_messages(state, visitor_id, &conversation_id, &[message], None)?;
                    }
                }
                None => {
                    let conversation_id = message.conversation_id.clone();
                    apply_messages(state, visitor_id, &conversation_id, &[message], None)?;
                }
            }
        }
        ServerFrame::Nack { client_message_id, error } => {
            if let Some(w) = link.acks.lock().ok().and_then(|mut a| a.remove(&client_message_id)) {
                let _ = w.send(AckOutcome::Nack(error));
            }
        }
        ServerFrame::Typing { conversation_id, author, typing, expires_in_ms } => {
            let kind = author.kind;
            let generation = state.typing.shown(&conversation_id, &author, typing);
            state.events.emit(ChatEvent::Typing {
                conversation_id: conversation_id.clone(),
                author: author.clone(),
                typing,
            });
            if let Some(generation) = generation {
                let st = state.clone();
                inner.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(expires_in_ms.min(60_000))).await;
                    if st.typing.expire(&conversation_id, kind, generation) {
                        st.events.emit(ChatEvent::Typing { conversation_id, author, typing: false });
                    }
                })?;
            }
        }
        ServerFrame::Read { conversation_id, reader, seq } => {
            let changed = state.store().write(|tx| {
                if !receiver::still_visitor(tx, visitor_id)? {
                    return Ok(false);
                }
                match reader {
                    chatflow_protocol::Reader::Agent => conversations::set_agent_read(tx, &conversation_id, seq)?,
                    chatflow_protocol::Reader::Visitor => {
                        conversations::set_read(tx, &conversation_id, seq)?;
                        conversations::set_read_synced(tx, &conversation_id, seq)?;
                    }
                }
                Ok(true)
            })?;
            if changed {
                state.events.emit(ChatEvent::ReadMarker { conversation_id, reader, seq: crate::model::long(seq) });
                if reader == chatflow_protocol::Reader::Visitor {
                    state.emit_unread();
                }
            }
        }
        ServerFrame::Assigned { conversation_id, agent } => {
            update_conversation(state, visitor_id, &conversation_id, |tx| {
                conversations::set_assignee(tx, &conversation_id, agent.as_ref())
            })?;
        }
        ServerFrame::ConversationClosed { conversation_id } => {
            set_status(state, visitor_id, &conversation_id, ConversationStatus::Closed)?;
        }
        ServerFrame::ConversationReopened { conversation_id } => {
            set_status(state, visitor_id, &conversation_id, ConversationStatus::Open)?;
        }
        ServerFrame::Error { error } => {
            tracing::debug!(code = %error.code, "realtime server reported an error");
        }
    }
    Ok(())
}

fn set_status(state: &SyncState, visitor_id: &str, conversation_id: &str, status: ConversationStatus) -> Result<()> {
    update_conversation(state, visitor_id, conversation_id, |tx| {
        conversations::set_status(tx, conversation_id, status)
    })?;
    state.events.emit(ChatEvent::ConversationStatusChanged { conversation_id: conversation_id.to_owned(), status });
    Ok(())
}

fn update_conversation(
    state: &SyncState,
    visitor_id: &str,
    conversation_id: &str,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
) -> Result<()> {
    let stored = state.store().write(|tx| {
        if !receiver::still_visitor(tx, visitor_id)? {
            return Ok(None);
        }
        f(tx)?;
        conversations::get(tx, conversation_id)
    })?;
    if let Some(conversation) = stored {
        state.events.emit(ChatEvent::ConversationChanged { conversation });
    }
    Ok(())
}
