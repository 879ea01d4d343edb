//! One agent feed socket: replay after the cursor, `ready`, then one loop over log wake-ups, live frames, client
//! frames, heartbeats and shutdown.
//!
//! The socket subscribes to the hub before it reads the log, so a commit that lands during the replay wakes it: no
//! event is missed between the replay and the live part, and none is sent twice (everything comes from the log, by
//! position).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use tokio::time::{timeout, Instant};

use super::render::{self, Page, PAGE};
use super::{cursor_string, FeedFrame};
use crate::state::AppState;
use crate::store::AgentRecord;

/// A write that takes longer than this means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY_VIOLATION: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
const CLOSE_HEARTBEAT_TIMEOUT: u16 = 4002;

pub struct FeedSocket {
    state: AppState,
    agent: AgentRecord,
    socket: WebSocket,
    /// The last log position delivered (or skipped).
    cursor: i64,
}

/// Why the socket stops.
enum Stop {
    /// Gone or unusable: nothing more to send.
    Gone,
    Close(u16, &'static str),
}

impl FeedSocket {
    pub fn new(state: AppState, agent: AgentRecord, socket: WebSocket) -> Self {
        Self { state, agent, socket, cursor: 0 }
    }

    pub async fn run(mut self, after: Option<i64>) {
        let _running = self.state.hub.socket_guard();
        let mut sub = self.state.feed.subscribe(&self.agent.app_id);
        let mut shutdown = self.state.hub.shutdown_signal();
        tracing::debug!(agent = %self.agent.id, "agent feed connected");
        let stop = match self.start(after).await {
            Err(stop) => stop,
            Ok(()) => {
                let hb = self.state.settings.heartbeat_interval;
                let mut ticker = tokio::time::interval_at(Instant::now() + hb, hb);
                let mut last_heard = Instant::now();
                let mut frames = self.state.limits.socket_frames();
                loop {
                    let step = tokio::select! {
                        changed = sub.wake.changed() => match changed {
                            Ok(()) => self.drain().await,
                            Err(_) => Err(Stop::Close(CLOSE_GOING_AWAY, "server shutting down")),
                        },
                        live = sub.live.recv() => match live {
                            Some(json) => self.send_text(json).await,
                            None if sub.overflowed() => Err(Stop::Close(CLOSE_TRY_AGAIN_LATER, "client too slow")),
                            None => Err(Stop::Close(CLOSE_GOING_AWAY, "server shutting down")),
                        },
                        incoming = self.socket.recv() => match incoming {
                            Some(Err(e)) if crate::limits::is_too_large(&e) => {
                                Err(Stop::Close(CLOSE_TOO_BIG, "message too big; see --ws-max-frame-bytes"))
                            }
                            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => Err(Stop::Gone),
                            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {
                                last_heard = Instant::now();
                                Ok(())
                            }
                            // The feed reads nothing from its client but liveness: a client flooding it with frames
                            // past its budget has no frame to be told in, and is closed.
                            Some(Ok(_)) => match frames.take() {
                                Ok(()) => {
                                    last_heard = Instant::now();
                                    Ok(())
                                }
                                Err(_) => Err(Stop::Close(CLOSE_POLICY_VIOLATION, "too many frames; see --limit-ws-frames-per-socket")),
                            },
                        },
                        _ = ticker.tick() => {
                            if last_heard.elapsed() > hb * 2 {
                                Err(Stop::Close(CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout"))
                            } else {
                                self.send(WsMessage::Ping(Default::default())).await
                            }
                        }
                        _ = shutdown.changed() => Err(Stop::Close(CLOSE_GOING_AWAY, "server shutting down")),
                    };
                    if let Err(stop) = step {
                        break stop;
                    }
                }
            }
        };
        if let Stop::Close(code, reason) = stop {
            let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
            let _ = timeout(Duration::from_secs(1), self.socket.send(WsMessage::Close(Some(frame)))).await;
        }
        tracing::debug!(agent = %self.agent.id, "agent feed disconnected");
    }

    /// Replays after `after` (or starts from now), then sends `ready`.
    async fn start(&mut self, after: Option<i64>) -> Result<(), Stop> {
        match after {
            Some(cursor) => {
                self.cursor = cursor;
                self.drain().await?;
            }
            None => {
                let pos = self.state.db(|s| s.feed_position()).await.map_err(|_| Stop::Close(1011, "store"))?;
                self.cursor = pos.last;
            }
        }
        self.send_frame(&FeedFrame::Ready { cursor: cursor_string(self.cursor) }).await
    }

    /// Sends every event of the log after the cursor.
    async fn drain(&mut self) -> Result<(), Stop> {
        loop {
            let (app_id, cursor, hub) = (self.agent.app_id.clone(), self.cursor, self.state.hub.clone());
            let page = self
                .state
                .db(move |s| render::page(s, &hub, &app_id, cursor))
                .await
                .map_err(|_| Stop::Close(1011, "store unavailable"))?;
            let events = match page {
                Page::Resync => {
                    self.send_frame(&FeedFrame::Resync).await?;
                    return Err(Stop::Close(CLOSE_NORMAL, "resync"));
                }
                Page::Events(events) => events,
            };
            let full = events.len() >= PAGE as usize;
            for (id, frame) in events {
                if let Some(frame) = frame {
                    self.send_frame(&frame).await?;
                }
                self.cursor = id;
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn send_frame(&mut self, frame: &FeedFrame) -> Result<(), Stop> {
        match serde_json::to_string(frame) {
            Ok(json) => self.send_text(Utf8Bytes::from(json)).await,
            Err(e) => {
                tracing::error!(error = %e, "feed frame does not serialize");
                Ok(())
            }
        }
    }

    async fn send_text(&mut self, json: Utf8Bytes) -> Result<(), Stop> {
        self.send(WsMessage::Text(json)).await
    }

    async fn send(&mut self, msg: WsMessage) -> Result<(), Stop> {
        match timeout(SEND_TIMEOUT, self.socket.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Stop::Gone),
            Err(_) => Err(Stop::Close(CLOSE_TRY_AGAIN_LATER, "client too slow")),
        }
    }
}
