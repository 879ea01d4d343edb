//! One visitor WebSocket: `hello`, then a single loop over client frames, hub events, heartbeats and shutdown.
//!
//! Ordering: the socket subscribes to the hub before it reads anything from the store, and events are published in
//! commit order, so after a `resume` backlog (a snapshot up to `last_seq` L) every later message is in the queue. The
//! socket remembers the highest `seq` it delivered per conversation and drops queued duplicates.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{ClientFrame, ConversationCursor, Message, SendMessageRequest, ServerFrame};
use futures_util::SinkExt;
use tokio::time::{timeout, Instant};

use super::hub::{EndReason, Event};
use crate::error::ApiError;
use crate::limits::SocketFrames;
use crate::messages;
use crate::state::AppState;
use crate::store::{Paging, VisitorRecord};

/// A write that takes longer than this means the client stopped reading: give up on it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause in reading a socket past its frame budget: a strict budget (one frame a minute) must not starve
/// the heartbeat, whose pongs are read on the same loop.
const MAX_READ_PAUSE: Duration = Duration::from_secs(1);
/// Most cursors one `resume` may carry.
pub const MAX_RESUME_CURSORS: usize = 1_000;
/// Backlog frames stay below this many bytes of message bodies (plus per-message overhead).
const BACKLOG_FRAME_BUDGET: usize = 48 * 1024;
const MESSAGE_OVERHEAD: usize = 256;

/// Close codes (4000-4999 are ours).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
const CLOSE_SESSION_ENDED: u16 = 4001;
const CLOSE_HEARTBEAT_TIMEOUT: u16 = 4002;

pub struct Connection {
    state: AppState,
    visitor: VisitorRecord,
    socket: WebSocket,
    /// Highest seq delivered per conversation (by backlog or live frame).
    delivered: HashMap<String, u64>,
    /// This socket's budget of client frames (`--limit-ws-frames-per-socket`).
    frames: SocketFrames,
    /// After a frame past the budget, the socket reads nothing more until then (the next frame allowed, at most
    /// `MAX_READ_PAUSE` ahead): a flooding client is held back by TCP instead of costing a refusal per frame, while
    /// events and heartbeats still flow.
    read_again_at: Option<Instant>,
}

/// The socket is gone (or unusable); stop the loop.
struct Gone;

impl Connection {
    pub fn new(state: AppState, visitor: VisitorRecord, socket: WebSocket) -> Self {
        let frames = state.limits.socket_frames();
        Self { state, visitor, socket, delivered: HashMap::new(), frames, read_again_at: None }
    }

    pub async fn run(mut self) {
        let _running = self.state.hub.socket_guard();
        let mut sub = self.state.hub.subscribe(&self.visitor.id);
        let mut shutdown = self.state.hub.shutdown_signal();
        let hb = self.state.settings.heartbeat_interval;
        tracing::debug!(visitor = %self.visitor.id, "realtime connected");
        let hello = ServerFrame::Hello {
            visitor_id: self.visitor.id.clone(),
            server_time: self.state.now_ms(),
            heartbeat_interval_ms: hb.as_millis() as u64,
        };
        if *shutdown.borrow() || self.send_frame(&hello).await.is_err() {
            return;
        }
        let mut ticker = tokio::time::interval_at(Instant::now() + hb, hb);
        let mut last_heard = Instant::now();
        let close = loop {
            let paused_until = self.read_again_at.filter(|at| *at > Instant::now());
            tokio::select! {
                _ = tokio::time::sleep_until(paused_until.unwrap_or_else(Instant::now)), if paused_until.is_some() => {
                    self.read_again_at = None;
                }
                incoming = self.socket.recv(), if paused_until.is_none() => {
                    let msg = match incoming {
                        Some(Ok(msg)) => msg,
                        Some(Err(e)) if crate::limits::is_too_large(&e) => {
                            break Some((CLOSE_TOO_BIG, "message too big; see --ws-max-frame-bytes"));
                        }
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "realtime read failed");
                            break None;
                        }
                        None => break None,
                    };
                    last_heard = Instant::now();
                    let handled = match msg {
                        WsMessage::Text(text) => self.on_text(text.as_str()).await,
                        WsMessage::Binary(_) => match self.take_frame() {
                            Err(limited) => self.send_error(limited).await,
                            Ok(()) => {
                                let e = ApiError::invalid_body("binary frames are not accepted; send JSON text frames");
                                self.send_error(e).await
                            }
                        },
                        WsMessage::Close(_) => {
                            // The WebSocket layer queued the close reply; flushing sends it (clean handshake).
                            let _ = timeout(Duration::from_secs(1), self.socket.flush()).await;
                            break None;
                        }
                        // Pings are answered by the WebSocket layer; pongs only prove liveness.
                        WsMessage::Ping(_) | WsMessage::Pong(_) => Ok(()),
                    };
                    if handled.is_err() {
                        break None;
                    }
                }
                event = sub.rx.recv() => match event {
                    Some(event) => {
                        if self.deliver(event).await.is_err() {
                            break None;
                        }
                    }
                    None => break Some(match sub.end_reason() {
                        EndReason::Overflow => (CLOSE_TRY_AGAIN_LATER, "client too slow; reconnect and resume"),
                        EndReason::Kicked => (CLOSE_SESSION_ENDED, "session ended; use the new visitor token"),
                        EndReason::Shutdown | EndReason::None => (CLOSE_GOING_AWAY, "server shutting down"),
                    }),
                },
                _ = ticker.tick() => {
                    if last_heard.elapsed() > hb * 2 {
                        break Some((CLOSE_HEARTBEAT_TIMEOUT, "no frame from the client for two heartbeats"));
                    }
                    if self.send(WsMessage::Ping(Default::default())).await.is_err() {
                        break None;
                    }
                }
                _ = shutdown.changed() => break Some((CLOSE_GOING_AWAY, "server shutting down")),
            }
        };
        if let Some((code, reason)) = close {
            let frame = CloseFrame { code, reason: reason.into() };
            let _ = timeout(Duration::from_secs(1), self.socket.send(WsMessage::Close(Some(frame)))).await;
        }
        tracing::debug!(visitor = %self.visitor.id, "realtime disconnected");
    }

    /// Counts one client frame against the socket's budget; past it, pauses reading until the next is allowed.
    fn take_frame(&mut self) -> Result<(), ApiError> {
        self.frames.take().map_err(|(limited, wait)| {
            self.read_again_at = Some(Instant::now() + wait.min(MAX_READ_PAUSE));
            limited
        })
    }

    async fn send(&mut self, msg: WsMessage) -> Result<(), Gone> {
        match timeout(SEND_TIMEOUT, self.socket.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Gone),
        }
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        match serde_json::to_string(frame) {
            Ok(json) => self.send(WsMessage::Text(json.into())).await,
            Err(e) => {
                tracing::error!(error = %e, "server frame does not serialize");
                Ok(())
            }
        }
    }

    async fn send_error(&mut self, e: ApiError) -> Result<(), Gone> {
        self.send_frame(&ServerFrame::Error { error: e.body() }).await
    }

    async fn deliver(&mut self, event: Event) -> Result<(), Gone> {
        if let Some((conversation, seq)) = &event.message {
            match self.delivered.get_mut(conversation) {
                Some(done) if *seq <= *done => return Ok(()),
                Some(done) => *done = *seq,
                None => {
                    self.delivered.insert(conversation.clone(), *seq);
                }
            }
        }
        self.send(WsMessage::Text(event.json.clone())).await
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Gone> {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => return self.send_error(ApiError::invalid_body(format!("not a valid client frame: {e}"))).await,
        };
        // Over the socket's frame budget: a `send` learns it by its `nack` (its id says which), others by `error`.
        if let Err(limited) = self.take_frame() {
            return match frame {
                ClientFrame::Send { client_message_id, .. } => {
                    self.send_frame(&ServerFrame::Nack { client_message_id, error: limited.body() }).await
                }
                _ => self.send_error(limited).await,
            };
        }
        match frame {
            ClientFrame::Resume { cursors } => self.resume(cursors).await,
            ClientFrame::Send {
                conversation_id,
                client_message_id,
                body,
                quick_reply_id,
                survey_answer,
                attachments,
            } => {
                let req = SendMessageRequest { body, quick_reply_id, survey_answer, attachments };
                let out = messages::send_visitor_message(
                    &self.state,
                    &self.visitor,
                    conversation_id,
                    client_message_id.clone(),
                    req,
                )
                .await;
                let frame = match out {
                    Ok((message, _created)) => ServerFrame::Ack { client_message_id, message },
                    Err(e) => ServerFrame::Nack { client_message_id, error: e.body() },
                };
                self.send_frame(&frame).await
            }
            ClientFrame::Typing { conversation_id, typing } => {
                match messages::visitor_typing(&self.state, &self.visitor, conversation_id, typing).await {
                    Ok(()) => Ok(()),
                    Err(e) => self.send_error(e).await,
                }
            }
            ClientFrame::Read { conversation_id, seq } => {
                match messages::visitor_read(&self.state, &self.visitor, conversation_id, seq).await {
                    Ok(()) => Ok(()),
                    Err(e) => self.send_error(e).await,
                }
            }
            ClientFrame::Ping { nonce } => self.send_frame(&ServerFrame::Pong { nonce }).await,
        }
    }

    /// Sends every message after each cursor (ascending, chunked), then `resumed`.
    async fn resume(&mut self, cursors: Vec<ConversationCursor>) -> Result<(), Gone> {
        if cursors.len() > MAX_RESUME_CURSORS {
            let e = ApiError::invalid_field(format!(
                "resume carries {} cursors; at most {MAX_RESUME_CURSORS}",
                cursors.len()
            ));
            return self.send_error(e).await;
        }
        for cursor in cursors {
            let mut after = cursor.last_seq;
            loop {
                let (visitor_id, id) = (self.visitor.id.clone(), cursor.conversation_id.clone());
                let page = self
                    .state
                    .db(move |s| {
                        messages::own_conversation(s, &visitor_id, &id)?;
                        s.messages(&id, Paging::After(after), MAX_PAGE_SIZE)
                    })
                    .await;
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        self.send_error(e).await?;
                        break;
                    }
                };
                if let Some(last) = page.messages.last() {
                    after = last.seq;
                }
                self.send_backlog(&cursor.conversation_id, page.messages).await?;
                if !page.has_more {
                    // Everything up to the snapshot's last_seq is now with the client.
                    let done = self.delivered.entry(cursor.conversation_id.clone()).or_insert(0);
                    *done = (*done).max(page.last_seq);
                    break;
                }
            }
        }
        self.send_frame(&ServerFrame::Resumed).await
    }

    async fn send_backlog(&mut self, conversation_id: &str, messages: Vec<Message>) -> Result<(), Gone> {
        let mut chunk = Vec::new();
        let mut size = 0;
        for m in messages {
            let cost = m.body.len() + MESSAGE_OVERHEAD;
            if !chunk.is_empty() && size + cost > BACKLOG_FRAME_BUDGET {
                let frame = ServerFrame::Backlog {
                    conversation_id: conversation_id.to_owned(),
                    messages: std::mem::take(&mut chunk),
                };
                self.send_frame(&frame).await?;
                size = 0;
            }
            size += cost;
            chunk.push(m);
        }
        if !chunk.is_empty() {
            self.send_frame(&ServerFrame::Backlog { conversation_id: conversation_id.to_owned(), messages: chunk })
                .await?;
        }
        Ok(())
    }
}
