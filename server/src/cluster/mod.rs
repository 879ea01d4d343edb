//! Several server processes on one PostgreSQL database: what one process's sockets must learn from another's writes
//! travels over PostgreSQL's `LISTEN/NOTIFY` (docs/decisions.md #21). The realtime hub and the agents' feed hub hand
//! every event they deliver locally to the bus; each process publishes it on the channel and delivers what the other
//! processes published to its own sockets. Everything stored is read back from the database, so an event lost on the
//! way (a dropped listener connection) costs liveness, not data: the sockets of that process are asked to reconnect,
//! and reconnecting clients catch up from their cursors.

mod wire;

use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::{Client, NoTls};

use wire::Envelope;
pub use wire::Event;

use crate::agent_feed::FeedHub;
use crate::realtime::hub::Hub;
use crate::store::postgres::split_pool_size;
use crate::store::{Paging, Store};

/// The notification channel.
const CHANNEL: &str = "chatflow_events";
/// PostgreSQL refuses payloads of 8000 bytes or more; larger messages travel as a reference to the stored message.
const MAX_PAYLOAD: usize = 7900;
/// Events queued for publishing before new ones are dropped (a stalled database; sockets resync from the store).
const QUEUE: usize = 10_000;

/// This process's end of the bus: publishes events for the other processes.
#[derive(Clone)]
pub struct Bus {
    out: std_mpsc::SyncSender<Event>,
}

impl Bus {
    /// Publishes `event` for the other processes. Never blocks: a full queue drops it (with a warning).
    pub fn send(&self, event: Event) {
        if let Err(std_mpsc::TrySendError::Full(_)) = self.out.try_send(event) {
            tracing::warn!("cluster bus queue full: an event for other nodes was dropped");
        }
    }
}

/// Starts the publisher and the listener threads and attaches the bus to both hubs.
pub fn start(url: &str, store: Arc<dyn Store>, hub: Hub, feed: FeedHub) {
    let node: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
    let (out, queued) = std_mpsc::sync_channel(QUEUE);
    let bus = Bus { out };
    let (publish_url, listen_url) = (url.to_owned(), url.to_owned());
    let publisher_node = Arc::clone(&node);
    spawn("cluster-publish", move || publish(&publish_url, &publisher_node, &queued));
    let receiver = Receiver { node, store, hub: hub.clone(), feed: feed.clone() };
    spawn("cluster-listen", move || receiver.listen(&listen_url));
    hub.attach_bus(bus.clone());
    feed.attach_bus(bus);
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
        tracing::error!(error = %e, thread = name, "cannot start a cluster thread; other nodes' events will not arrive");
    }
}

fn connect(url: &str) -> Client {
    let mut wait = Duration::from_millis(100);
    // The store checked the URL at start; only our own `pool_size` needs to go.
    let url = split_pool_size(url).map(|(url, _)| url).unwrap_or_else(|_| url.to_owned());
    loop {
        match url.parse::<::postgres::Config>().map_err(|e| e.to_string()).and_then(|c| {
            let mut c = c;
            c.application_name("chatflow-server cluster bus");
            c.connect(NoTls).map_err(|e| e.to_string())
        }) {
            Ok(client) => return client,
            Err(e) => {
                tracing::warn!(error = %e, "cluster bus: cannot connect to the database; retrying");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Publishes queued events, in order, until the process ends.
fn publish(url: &str, node: &str, queued: &std_mpsc::Receiver<Event>) {
    let mut client = connect(url);
    while let Ok(event) = queued.recv() {
        let Some(payload) = wire::encode(node, event, MAX_PAYLOAD) else { continue };
        if let Err(e) = client.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]) {
            tracing::warn!(error = %e, "cluster bus: an event for other nodes was not published; reconnecting");
            client = connect(url);
        }
    }
}

/// Delivers the other processes' events to this process's sockets.
struct Receiver {
    node: Arc<str>,
    store: Arc<dyn Store>,
    hub: Hub,
    feed: FeedHub,
}

impl Receiver {
    fn listen(&self, url: &str) {
        let mut first = true;
        loop {
            let mut client = connect(url);
            if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
                tracing::warn!(error = %e, "cluster bus: LISTEN failed; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            if !first {
                // Events may have been missed while the listener was away: the clients reconnect and catch up.
                tracing::warn!("cluster bus: listening again; this node's sockets resynchronize");
                self.hub.resync_all();
            }
            first = false;
            let mut notifications = client.notifications();
            let mut iter = notifications.blocking_iter();
            loop {
                match iter.next() {
                    Ok(Some(n)) => self.deliver(n.payload()),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster bus: the listener connection failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }

    fn deliver(&self, payload: &str) {
        let Envelope { node, event } = match serde_json::from_str::<Envelope>(payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                tracing::warn!(error = %e, "cluster bus: an unreadable event was ignored");
                return;
            }
        };
        if *node == *self.node {
            return;
        }
        match event {
            Event::Visitor { visitor_id, frame } => self.hub.publish_local(&visitor_id, &frame),
            Event::StoredMessage { visitor_id, conversation_id, seq } => {
                let page = self.store.messages(&conversation_id, Paging::Between(seq.saturating_sub(1), seq + 1), 1);
                match page.map(|p| p.messages.into_iter().next()) {
                    Ok(Some(message)) => {
                        self.hub.publish_local(&visitor_id, &chatflow_protocol::ServerFrame::Message { message })
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "cluster bus: a message for a live socket was not read"),
                }
            }
            Event::Kick { visitor_id } => self.hub.kick_local(&visitor_id),
            Event::VisitorTyping { conversation_id, typing, ttl_ms } => {
                self.hub.set_visitor_typing_local(&conversation_id, typing, Duration::from_millis(ttl_ms))
            }
            Event::FeedCommitted { apps, last } => self.feed.committed_local(&apps, last),
            Event::FeedLive { app_id, frame } => self.feed.publish_live_local(&app_id, &frame),
        }
    }
}
