//! The agents' feed log in SQLite: the changes a transaction made are collected while it runs ([`FeedLog`]) and
//! written to `agent_feed` just before it commits; after the commit the listener learns which apps got events.
//!
//! Ids come from one AUTOINCREMENT sequence and the single writer commits one transaction at a time, so id order is
//! commit order: a reader that has seen id N has seen every event up to N.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{lock, SqliteStore};
use crate::store::agent::{FeedEvent, FeedKind, FeedListener, FeedPosition, FeedStore};
use crate::store::{StoreError, StoreResult};

/// Events kept by default (all apps together).
pub const DEFAULT_RETENTION: u64 = 100_000;

/// What one transaction changed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Conversation(String),
    Message(String, u64),
    Note(String, String),
    /// Every conversation of the visitor (its name, email or blocked state shows in their rows).
    Visitor(String),
}

#[derive(Debug, Default)]
pub(super) struct FeedLog {
    changes: Vec<Change>,
}

impl FeedLog {
    pub(super) fn conversation(&mut self, id: &str) {
        self.changes.push(Change::Conversation(id.to_owned()));
    }

    pub(super) fn message(&mut self, conversation_id: &str, seq: u64) {
        self.changes.push(Change::Message(conversation_id.to_owned(), seq));
    }

    pub(super) fn note(&mut self, conversation_id: &str, note_id: &str) {
        self.changes.push(Change::Note(conversation_id.to_owned(), note_id.to_owned()));
    }

    pub(super) fn visitor(&mut self, visitor_id: &str) {
        self.changes.push(Change::Visitor(visitor_id.to_owned()));
    }
}

/// Feed settings of the store.
pub(super) struct FeedConfig {
    retention: AtomicU64,
    listener: Mutex<Option<FeedListener>>,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self { retention: AtomicU64::new(DEFAULT_RETENTION), listener: Mutex::new(None) }
    }
}

/// What a flush wrote: the apps that got events and the newest id.
pub(super) struct Flushed {
    apps: Vec<String>,
    last: i64,
}

/// Writes the log's events (one `conversation` event per conversation, at its last change; messages and notes in
/// order) and prunes beyond retention. Runs inside the transaction, before its commit.
pub(super) fn flush(conn: &Connection, log: &FeedLog, keep: u64) -> StoreResult<Flushed> {
    let mut rows: Vec<(FeedKind, String, Option<String>)> = Vec::new();
    for change in &log.changes {
        match change {
            Change::Conversation(id) => rows.push((FeedKind::Conversation, id.clone(), None)),
            Change::Message(id, seq) => rows.push((FeedKind::Message, id.clone(), Some(seq.to_string()))),
            Change::Note(id, note) => rows.push((FeedKind::Note, id.clone(), Some(note.clone()))),
            Change::Visitor(v) => {
                for id in super::visitors::conversation_ids_of(conn, v)? {
                    rows.push((FeedKind::Conversation, id, None));
                }
            }
        }
    }
    let mut out = Flushed { apps: Vec::new(), last: 0 };
    let mut insert = conn.prepare_cached(
        "INSERT INTO agent_feed (app_id, kind, conversation_id, ref)
         SELECT app_id, ?2, id, ?3 FROM conversations WHERE id = ?1 RETURNING app_id, id",
    )?;
    for (i, (kind, id, reference)) in rows.iter().enumerate() {
        let later_row_change = rows[i + 1..].iter().any(|(k, other, _)| *k == FeedKind::Conversation && other == id);
        if *kind == FeedKind::Conversation && later_row_change {
            continue;
        }
        // A conversation deleted in the same transaction has nothing to show: no event.
        let written: Option<(String, i64)> =
            insert.query_row(params![id, kind.as_str(), reference], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        if let Some((app, event_id)) = written {
            if !out.apps.contains(&app) {
                out.apps.push(app);
            }
            out.last = event_id;
        }
    }
    if out.last > 0 {
        let below = out.last.saturating_sub(i64::try_from(keep.max(1)).unwrap_or(i64::MAX));
        conn.prepare_cached("DELETE FROM agent_feed WHERE id <= ?1")?.execute([below])?;
    }
    Ok(out)
}

impl SqliteStore {
    pub(super) fn feed_retention(&self) -> u64 {
        self.feed.retention.load(Ordering::Relaxed)
    }

    /// Tells the listener about a committed flush.
    pub(super) fn feed_committed(&self, flushed: Flushed) {
        if flushed.apps.is_empty() {
            return;
        }
        let listener = lock(&self.feed.listener).clone();
        if let Some(listener) = listener {
            listener(&flushed.apps, flushed.last);
        }
    }

    /// `write` for the direct store calls that change inbox rows: their feed events go in the same transaction.
    pub(super) fn write_logged<R>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &mut FeedLog) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let flushed;
        let out;
        {
            let mut conn = lock(&self.writer);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut log = FeedLog::default();
            out = f(&tx, &mut log)?;
            flushed = flush(&tx, &log, self.feed_retention())?;
            tx.commit()?;
        }
        self.feed_committed(flushed);
        Ok(out)
    }
}

fn event_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, Option<String>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

impl FeedStore for SqliteStore {
    fn feed_events(&self, app_id: &str, after: i64, limit: u32) -> StoreResult<Vec<FeedEvent>> {
        self.read(|c| {
            let rows = c
                .prepare_cached(
                    "SELECT id, kind, conversation_id, ref FROM agent_feed WHERE app_id = ?1 AND id > ?2
                     ORDER BY id LIMIT ?3",
                )?
                .query_map(params![app_id, after, limit], event_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, kind, conversation_id, reference)| {
                    let kind = FeedKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("feed event kind `{kind}`")))?;
                    Ok(FeedEvent { id, kind, conversation_id, reference })
                })
                .collect()
        })
    }

    fn feed_position(&self) -> StoreResult<FeedPosition> {
        self.read(|c| {
            let last: i64 = c
                .query_row("SELECT seq FROM sqlite_sequence WHERE name = 'agent_feed'", [], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            let oldest: Option<i64> = c.query_row("SELECT MIN(id) FROM agent_feed", [], |r| r.get(0))?;
            Ok(FeedPosition { last, horizon: oldest.map_or(last, |o| o - 1) })
        })
    }

    fn set_feed_listener(&self, listener: FeedListener) {
        *lock(&self.feed.listener) = Some(listener);
    }

    fn set_feed_retention(&self, events: u64) {
        self.feed.retention.store(events.max(1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain;
    use crate::store::sqlite::test_support::{store_with_conversation, visitor_msg};
    use crate::store::InboxStore;

    #[test]
    fn a_message_logs_the_message_then_one_row_change_and_retention_prunes_the_oldest() {
        let (_dir, s) = store_with_conversation(10);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        s.set_feed_listener(Arc::new(move |apps, last| lock(&sink).push((apps.to_vec(), last))));
        let before = s.feed_position().unwrap().last;
        domain::messages::append(&s, &visitor_msg("m2", "hello")).unwrap();
        let events = s.feed_events("app1", before, 10).unwrap();
        let kinds: Vec<FeedKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [FeedKind::Message, FeedKind::Conversation], "one row event per transaction");
        assert_eq!(events[0].reference.as_deref(), Some("1"));
        assert_eq!(lock(&seen).last().cloned(), Some((vec!["app1".to_owned()], events[1].id)));
        assert!(s.feed_events("app2", 0, 10).unwrap().is_empty(), "per app");
        // A direct store write (spam) logs too.
        s.set_spam("c1", true).unwrap();
        assert_eq!(s.feed_events("app1", events[1].id, 10).unwrap()[0].kind, FeedKind::Conversation);
        s.set_feed_retention(2);
        for i in 0..3 {
            domain::messages::append(&s, &visitor_msg(&format!("x{i}"), "again")).unwrap();
        }
        let pos = s.feed_position().unwrap();
        assert_eq!(pos.horizon, pos.last - 2);
        assert_eq!(s.feed_events("app1", 0, 10).unwrap().len(), 2);
    }

    #[test]
    fn a_rolled_back_change_logs_nothing_and_nobody_is_woken() {
        let (_dir, s) = store_with_conversation(10);
        let woken = Arc::new(Mutex::new(0));
        let sink = Arc::clone(&woken);
        s.set_feed_listener(Arc::new(move |_, _| *lock(&sink) += 1));
        let before = s.feed_position().unwrap();
        let refused: Result<(), StoreError> = crate::store::tx::in_tx(&s, |tx| {
            let change = crate::store::tx::ConversationChange { updated_at: Some(99), ..Default::default() };
            tx.update_conversation("c1", &change)?;
            Err(StoreError::Invalid("refused after a write".into()))
        });
        assert!(refused.is_err());
        assert_eq!(s.feed_position().unwrap(), before);
        assert_eq!(*lock(&woken), 0);
    }
}
