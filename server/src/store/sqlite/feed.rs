//! The agents' feed log in SQLite: the changes a transaction made are collected while it runs ([`FeedLog`]) and
//! written to `agent_feed` just before it commits; after the commit the listener learns which apps got events.
//!
//! Ids come from one AUTOINCREMENT sequence and the single writer commits one transaction at a time, so id order is
//! commit order: a reader that has seen id N has seen every event up to N.

use rusqlite::{params, Connection, OptionalExtension};

use super::group::{AfterCommit, Outcome};
use super::SqliteStore;
use crate::store::agent::{FeedEvent, FeedKind, FeedListener, FeedPosition, FeedStore};
pub(super) use crate::store::feed_log::{FeedConfig, FeedLog, Flushed};
use crate::store::{StoreError, StoreResult};

/// Writes the log's events and prunes beyond retention. Runs inside the transaction, before its commit.
pub(super) fn flush(conn: &Connection, log: &FeedLog, keep: u64) -> StoreResult<Flushed> {
    let rows = log.rows(|visitor| super::visitors::conversation_ids_of(conn, visitor))?;
    let mut out = Flushed::default();
    let mut insert = conn.prepare_cached(
        "INSERT INTO agent_feed (app_id, kind, conversation_id, ref)
         SELECT app_id, ?2, id, ?3 FROM conversations WHERE id = ?1 RETURNING app_id, id",
    )?;
    for (kind, id, reference) in &rows {
        // A conversation deleted in the same transaction has nothing to show: no event.
        let written: Option<(String, i64)> =
            insert.query_row(params![id, kind.as_str(), reference], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        if let Some((app, event_id)) = written {
            out.wrote(app, event_id);
        }
    }
    if let Some(below) = out.prune_up_to(keep) {
        conn.prepare_cached("DELETE FROM agent_feed WHERE id <= ?1")?.execute([below])?;
    }
    Ok(out)
}

impl SqliteStore {
    /// `write` for the direct store calls that change inbox rows: their feed events go in the same transaction.
    pub(super) fn write_logged<R>(
        &self,
        f: impl FnOnce(&Connection, &mut FeedLog) -> StoreResult<R>,
    ) -> StoreResult<R> {
        self.group_write(|conn| {
            let mut log = FeedLog::default();
            let out = f(conn, &mut log)?;
            let flushed = flush(conn, &log, self.feed.retention())?;
            Ok(Outcome::Keep(out, AfterCommit { flushed, pushes_queued: false }))
        })
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
        self.feed.set_listener(listener);
    }

    fn set_feed_retention(&self, events: u64) {
        self.feed.set_retention(events);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use crate::store::sqlite::lock;

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
