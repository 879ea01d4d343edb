//! Persistence of the agents' side added with the live feed: the feed's log, internal notes, canned responses and the
//! reads of the visitor sidebar.
//!
//! The feed's log is written by the store itself, in the unit of work of each change (see `sqlite/feed.rs`): every
//! write that changes an inbox row, appends a message or writes a note records an event before the commit, whatever
//! service made it. So no write path can forget the feed, and a commit either has its events or did not happen.

use std::sync::Arc;

use chatflow_protocol::{Author, ConsentRecord, DeviceInfo};

use super::StoreResult;

/// What an event of the log is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// The conversation's inbox row changed (or it was created).
    Conversation,
    /// A message was appended (`seq` in [`FeedEvent::reference`]).
    Message,
    /// An internal note was written (its id in [`FeedEvent::reference`]).
    Note,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Conversation => "conversation",
            FeedKind::Message => "message",
            FeedKind::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "conversation" => Some(FeedKind::Conversation),
            "message" => Some(FeedKind::Message),
            "note" => Some(FeedKind::Note),
            _ => None,
        }
    }
}

/// One event of an app's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Position in the log: increasing in commit order.
    pub id: i64,
    pub kind: FeedKind,
    pub conversation_id: String,
    pub reference: Option<String>,
}

/// The ends of the log (all apps share one sequence of ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPosition {
    /// The newest event's id (0 when none).
    pub last: i64,
    /// Every event with an id above this one is still kept; a cursor below it has missed pruned events.
    pub horizon: i64,
}

/// Told, after each commit that wrote events, which apps got some and the newest id.
pub type FeedListener = Arc<dyn Fn(&[String], i64) + Send + Sync>;

/// An internal note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    pub id: String,
    pub app_id: String,
    pub conversation_id: String,
    pub client_message_id: Option<String>,
    pub after_seq: u64,
    pub author: Author,
    pub body: String,
    pub created_at: i64,
}

/// A canned response of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedRecord {
    pub id: String,
    pub app_id: String,
    pub shortcut: String,
    pub title: String,
    pub text: String,
    pub updated_at: i64,
}

pub trait FeedStore {
    /// The app's events with an id above `after`, oldest first, at most `limit`.
    fn feed_events(&self, app_id: &str, after: i64, limit: u32) -> StoreResult<Vec<FeedEvent>>;
    fn feed_position(&self) -> StoreResult<FeedPosition>;
    /// Replaces the commit listener (the in-process hub wakes the app's sockets).
    fn set_feed_listener(&self, listener: FeedListener);
    /// Keep the newest `events` events (at least 1).
    fn set_feed_retention(&self, events: u64);
}

pub trait NoteStore {
    /// The conversation's notes, oldest first.
    fn notes(&self, conversation_id: &str) -> StoreResult<Vec<NoteRecord>>;
    fn note(&self, id: &str) -> StoreResult<Option<NoteRecord>>;
}

pub trait CannedStore {
    /// The app's canned responses by shortcut.
    fn canned_responses(&self, app_id: &str) -> StoreResult<Vec<CannedRecord>>;
    /// Inserts it; `Conflict` when the app has that shortcut.
    fn insert_canned(&self, canned: &CannedRecord) -> StoreResult<()>;
    /// Replaces shortcut, title and text; `Ok(None)` when the app has no such id, `Conflict` on a taken shortcut.
    fn update_canned(&self, canned: &CannedRecord) -> StoreResult<Option<CannedRecord>>;
    fn delete_canned(&self, app_id: &str, id: &str) -> StoreResult<bool>;
}

/// Reads of the visitor sidebar.
pub trait VisitorContextStore {
    fn visitor_device(&self, visitor_id: &str) -> StoreResult<Option<DeviceInfo>>;
    /// The visitor's consent records, newest first.
    fn visitor_consents(&self, visitor_id: &str) -> StoreResult<Vec<ConsentRecord>>;
}
