//! Messaging that never loses and never duplicates: the persisted send queue, the realtime connection with catch-up,
//! read markers, unread counts and typing indicators. See the "Sync" section of the crate README.
//!
//! - [`queue`]: the queue's rules as pure logic; [`send_queue`]: those rules on the store.
//! - `sender`: one task per lane (conversation, or consent records) delivering in order.
//! - `connection`: the realtime connection manager (states, heartbeats, catch-up, resume).
//! - `receiver`: applying server messages, REST catch-up, the conversation list.
//! - [`lifecycle`]: what the SDK does when the app goes to the background and comes back.
//! - `typing`: throttling out, expiry in. `api`: the `ChatClient` methods.

pub(crate) mod api;
pub(crate) mod connection;
pub mod lifecycle;
pub mod queue;
pub(crate) mod receiver;
pub mod send_queue;
pub(crate) mod sender;
pub(crate) mod state;
pub mod tables;
pub mod typing;

pub(crate) use api::fill_history;
pub(crate) use state::SyncState;
