//! The agents' feed log in PostgreSQL: the changes a transaction made are collected while it runs ([`FeedLog`]) and
//! written to `agent_feed` just before it commits; after the commit the listener learns which apps got events.
//!
//! Ids come from an identity column, and several transactions may write at once. A reader that has seen id N must
//! have seen every event below N, so writers take one advisory lock before their first event and hold it to their
//! commit: ids are handed out, and become visible, in commit order.

use ::postgres::Transaction;

use super::PostgresStore;
use crate::store::agent::{FeedEvent, FeedKind, FeedListener, FeedPosition, FeedStore};
pub(super) use crate::store::feed_log::{FeedConfig, FeedLog, Flushed};
use crate::store::{StoreError, StoreResult};

/// Any fixed number: the key of the advisory lock that orders feed writers.
const FEED_LOCK: i64 = 0x6665_6564; // "feed"

/// Writes the log's events and prunes beyond retention. Runs inside the transaction, before its commit.
pub(super) fn flush(tx: &mut Transaction<'_>, log: &FeedLog, keep: u64) -> StoreResult<Flushed> {
    let mut out = Flushed::default();
    let rows = log.rows(|visitor| {
        let ids =
            tx.query("SELECT id FROM conversations WHERE visitor_id = $1 ORDER BY created_at, id", &[&visitor])?;
        Ok(ids.iter().map(|r| r.get(0)).collect())
    })?;
    if rows.is_empty() {
        return Ok(out);
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK])?;
    let insert = tx.prepare(
        "INSERT INTO agent_feed (app_id, kind, conversation_id, ref)
         SELECT app_id, $2, id, $3 FROM conversations WHERE id = $1 RETURNING app_id, id",
    )?;
    for (kind, id, reference) in &rows {
        // A conversation deleted in the same transaction has nothing to show: no event.
        if let Some(row) = tx.query_opt(&insert, &[id, &kind.as_str(), reference])? {
            out.wrote(row.get(0), row.get(1));
        }
    }
    if let Some(below) = out.prune_up_to(keep) {
        tx.execute("DELETE FROM agent_feed WHERE id <= $1", &[&below])?;
    }
    Ok(out)
}

impl PostgresStore {
    /// `write` for the direct store calls that change inbox rows: their feed events go in the same transaction.
    pub(super) fn write_logged<R>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>, &mut FeedLog) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction()?;
        let mut log = FeedLog::default();
        let out = f(&mut tx, &mut log)?;
        let flushed = flush(&mut tx, &log, self.feed.retention())?;
        tx.commit()?;
        drop(conn);
        self.feed.committed(flushed);
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
