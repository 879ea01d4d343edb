//! The agents' feed log in PostgreSQL. A reader that has seen event N must have seen every event below N, but with
//! several writers (and several server processes) an id taken inside a transaction is not commit order. So a unit
//! of work writes its events to `agent_feed_staged` (no id yet), and after its commit the writer *sequences*: under
//! one advisory lock, in one short transaction, it moves every staged event into `agent_feed`, where they take their
//! ids. Sequencing transactions run one at a time, so ids are handed out, and become visible, in order. Writers that
//! commit together mostly find their events already moved by one of them: one sequencing serves them all, instead of
//! every writer holding a lock through its own commit.
//!
//! Events staged by a process that stopped before sequencing are moved by the next writer (or at start).

use ::postgres::{GenericClient, Transaction};

use super::PostgresStore;
use crate::store::agent::{FeedEvent, FeedKind, FeedListener, FeedPosition, FeedStore};
pub(super) use crate::store::feed_log::{FeedConfig, FeedLog, Flushed};
use crate::store::{StoreError, StoreResult};

/// Any fixed number: the key of the advisory lock that orders sequencing.
const FEED_LOCK: i64 = 0x6665_6564; // "feed"

/// Stages the log's events inside the unit of work, before its commit. Returns whether any was staged.
pub(super) fn stage(tx: &mut Transaction<'_>, log: &FeedLog) -> StoreResult<bool> {
    let rows = log.rows(|visitor| {
        let ids =
            tx.query("SELECT id FROM conversations WHERE visitor_id = $1 ORDER BY created_at, id", &[&visitor])?;
        Ok(ids.iter().map(|r| r.get(0)).collect())
    })?;
    if rows.is_empty() {
        return Ok(false);
    }
    let insert = tx.prepare(
        "INSERT INTO agent_feed_staged (app_id, kind, conversation_id, ref)
         SELECT app_id, $2, id, $3 FROM conversations WHERE id = $1",
    )?;
    let mut staged = false;
    for (kind, id, reference) in &rows {
        // A conversation deleted in the same transaction has nothing to show: no event.
        staged |= tx.execute(&insert, &[id, &kind.as_str(), reference])? > 0;
    }
    Ok(staged)
}

/// Moves every staged event into the log, in staging order, and prunes beyond retention; one transaction.
fn sequence(client: &mut impl GenericClient, keep: u64) -> StoreResult<Flushed> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK])?;
    let moved = tx.query(
        "WITH moved AS (DELETE FROM agent_feed_staged RETURNING staged_id, app_id, kind, conversation_id, ref)
         INSERT INTO agent_feed (app_id, kind, conversation_id, ref)
         SELECT app_id, kind, conversation_id, ref FROM moved ORDER BY staged_id
         RETURNING app_id, id",
        &[],
    )?;
    let mut out = Flushed::default();
    let mut moved: Vec<(String, i64)> = moved.iter().map(|r| (r.get(0), r.get(1))).collect();
    moved.sort_by_key(|(_, id)| *id);
    for (app, id) in moved {
        out.wrote(app, id);
    }
    if let Some(below) = out.prune_up_to(keep) {
        tx.execute("DELETE FROM agent_feed WHERE id <= $1", &[&below])?;
    }
    tx.commit()?;
    Ok(out)
}

impl PostgresStore {
    /// After a commit that staged events (or at start): gives them their ids and tells the listener. The commit
    /// stands whatever happens here: events left staged are moved by the next writer.
    pub(super) fn sequence_feed(&self, client: &mut impl GenericClient) {
        match sequence(client, self.feed.retention()) {
            Ok(flushed) => self.feed.committed(flushed),
            Err(e) => tracing::warn!(error = %e, "agents' feed events stay staged until the next write"),
        }
    }

    /// `write` for the direct store calls that change inbox rows: their feed events go in the same transaction.
    pub(super) fn write_logged<R>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>, &mut FeedLog) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        let mut log = FeedLog::default();
        let out = f(&mut tx, &mut log)?;
        let staged = stage(&mut tx, &log)?;
        tx.commit()?;
        if staged {
            self.sequence_feed(&mut *conn);
        }
        Ok(out)
    }
}

impl FeedStore for PostgresStore {
    fn feed_events(&self, app_id: &str, after: i64, limit: u32) -> StoreResult<Vec<FeedEvent>> {
        let rows = self.pool.get()?.query(
            "SELECT id, kind, conversation_id, ref FROM agent_feed WHERE app_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            &[&app_id, &after, &i64::from(limit)],
        )?;
        rows.into_iter()
            .map(|r| {
                let kind: String = r.get(1);
                let kind =
                    FeedKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("feed event kind `{kind}`")))?;
                Ok(FeedEvent { id: r.get(0), kind, conversation_id: r.get(2), reference: r.get(3) })
            })
            .collect()
    }

    fn feed_position(&self) -> StoreResult<FeedPosition> {
        // Retention keeps the newest events, so the highest id kept is the newest committed one.
        let row = self.pool.get()?.query_one("SELECT COALESCE(MAX(id), 0), MIN(id) FROM agent_feed", &[])?;
        let last: i64 = row.get(0);
        let oldest: Option<i64> = row.get(1);
        Ok(FeedPosition { last, horizon: oldest.map_or(last, |o| o - 1) })
    }

    fn set_feed_listener(&self, listener: FeedListener) {
        self.feed.set_listener(listener);
    }

    fn set_feed_retention(&self, events: u64) {
        self.feed.set_retention(events);
    }
}
