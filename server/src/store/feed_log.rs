//! What a unit of work changed that the agents' inboxes show: collected while it runs ([`FeedLog`]), turned into feed
//! rows ([`FeedLog::rows`]) that the backend writes just before its commit (each backend in its own `feed.rs`), then
//! announced to the listener after the commit ([`FeedConfig::committed`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::agent::{FeedKind, FeedListener};
use super::StoreResult;

/// Events kept by default (all apps together).
pub const DEFAULT_RETENTION: u64 = 100_000;

/// What one transaction changed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Conversation(String),
    Message(String, u64),
    Note(String, String),
    /// Every conversation of the visitor (its name, email or blocked state shows in their rows).
    Visitor(String),
}

#[derive(Debug, Default)]
pub(crate) struct FeedLog {
    changes: Vec<Change>,
}

/// One feed row to write: kind, conversation, reference (a message's seq, a note's id).
pub(crate) type FeedRow = (FeedKind, String, Option<String>);

impl FeedLog {
    pub(crate) fn conversation(&mut self, id: &str) {
        self.changes.push(Change::Conversation(id.to_owned()));
    }

    pub(crate) fn message(&mut self, conversation_id: &str, seq: u64) {
        self.changes.push(Change::Message(conversation_id.to_owned(), seq));
    }

    pub(crate) fn note(&mut self, conversation_id: &str, note_id: &str) {
        self.changes.push(Change::Note(conversation_id.to_owned(), note_id.to_owned()));
    }

    pub(crate) fn visitor(&mut self, visitor_id: &str) {
        self.changes.push(Change::Visitor(visitor_id.to_owned()));
    }

    /// The rows to write, in order: messages and notes as they came, one `conversation` event per conversation at its
    /// last change (a visitor's change counts for each of its conversations, which `conversations_of` lists).
    pub(crate) fn rows(
        &self,
        mut conversations_of: impl FnMut(&str) -> StoreResult<Vec<String>>,
    ) -> StoreResult<Vec<FeedRow>> {
        let mut rows: Vec<FeedRow> = Vec::new();
        for change in &self.changes {
            match change {
                Change::Conversation(id) => rows.push((FeedKind::Conversation, id.clone(), None)),
                Change::Message(id, seq) => rows.push((FeedKind::Message, id.clone(), Some(seq.to_string()))),
                Change::Note(id, note) => rows.push((FeedKind::Note, id.clone(), Some(note.clone()))),
                Change::Visitor(v) => {
                    rows.extend(conversations_of(v)?.into_iter().map(|id| (FeedKind::Conversation, id, None)));
                }
            }
        }
        let mut kept = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let later_row_change =
                rows[i + 1..].iter().any(|(k, other, _)| *k == FeedKind::Conversation && *other == row.1);
            if !(row.0 == FeedKind::Conversation && later_row_change) {
                kept.push(row.clone());
            }
        }
        Ok(kept)
    }
}

/// What a flush wrote: the apps that got events and the newest id.
#[derive(Debug, Default)]
pub(crate) struct Flushed {
    apps: Vec<String>,
    last: i64,
}

impl Flushed {
    /// One event written for `app` with id `id`.
    pub(crate) fn wrote(&mut self, app: String, id: i64) {
        if !self.apps.contains(&app) {
            self.apps.push(app);
        }
        self.last = id;
    }

    /// Events with an id up to this one fall out of retention (`None` when nothing was written).
    pub(crate) fn prune_up_to(&self, keep: u64) -> Option<i64> {
        (self.last > 0).then(|| self.last.saturating_sub(i64::try_from(keep.max(1)).unwrap_or(i64::MAX)))
    }
}

/// A store's feed settings: retention and the commit listener.
pub(crate) struct FeedConfig {
    retention: AtomicU64,
    listener: Mutex<Option<FeedListener>>,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self { retention: AtomicU64::new(DEFAULT_RETENTION), listener: Mutex::new(None) }
    }
}

impl FeedConfig {
    pub(crate) fn retention(&self) -> u64 {
        self.retention.load(Ordering::Relaxed)
    }

    pub(crate) fn set_retention(&self, events: u64) {
        self.retention.store(events.max(1), Ordering::Relaxed);
    }

    pub(crate) fn set_listener(&self, listener: FeedListener) {
        *self.listener.lock().unwrap_or_else(PoisonError::into_inner) = Some(listener);
    }

    /// Tells the listener about a committed flush.
    pub(crate) fn committed(&self, flushed: Flushed) {
        if flushed.apps.is_empty() {
            return;
        }
        let listener = self.listener.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(listener) = listener {
            listener(&flushed.apps, flushed.last);
        }
    }
}
