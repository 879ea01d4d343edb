//! The cached chatflow list and team statuses: fetched with an ETag (304 = unchanged), stored in the `chatflows`,
//! `chatflow_status` and `meta` tables, read back for offline resolution.
//!
//! The list and its ETag are replaced in one transaction, so the cache is never a mix of two versions. The cache
//! age is measured from the last *successful validation* (a 200 or a 304), on the device clock.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use chatflow_protocol::{Chatflow, ChatflowList, ChatflowStatusList};

use super::resolve::TeamStatus;
use crate::client::{now_ms, ClientInner};
use crate::error::Result;
use crate::store::{meta_get, meta_set};
use crate::transport::Fetched;

const META_ETAG: &str = "chatflows.etag";
const META_FETCHED_AT: &str = "chatflows.fetched_at";

/// How fresh the cached list is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheInfo {
    /// Last time the server confirmed the list (Unix ms, device clock); `None`: never fetched.
    pub fetched_at: Option<i64>,
    /// `now - fetched_at`, when fetched.
    pub age_ms: Option<i64>,
    pub chatflow_count: i32,
}

/// What `refresh_chatflows` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// The list changed (200) rather than being confirmed (304).
    pub changed: bool,
    pub chatflow_count: i32,
    /// Team statuses were refreshed too (their failure does not fail the refresh: the list is what matters).
    pub statuses_refreshed: bool,
}

/// The cached chatflows (unreadable rows are skipped: an older SDK's cache must not break resolution) and statuses.
pub(crate) fn load(conn: &Connection) -> Result<(Vec<Chatflow>, HashMap<i64, TeamStatus>)> {
    let mut stmt = conn.prepare_cached("SELECT id, json FROM chatflows ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut flows = Vec::new();
    for row in rows {
        let (id, json) = row?;
        match serde_json::from_str::<Chatflow>(&json) {
            Ok(f) => flows.push(f),
            Err(e) => tracing::warn!(chatflow = id, error = %e, "skipping an unreadable cached chatflow"),
        }
    }
    let mut stmt =
        conn.prepare_cached("SELECT chatflow_id, available, next_change_at, fetched_at FROM chatflow_status")?;
    let statuses = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                TeamStatus { available: r.get(1)?, next_change_at: r.get(2)?, fetched_at: r.get(3)? },
            ))
        })?
        .collect::<rusqlite::Result<HashMap<_, _>>>()?;
    Ok((flows, statuses))
}

/// One cached chatflow by id.
pub(crate) fn get(conn: &Connection, id: i64) -> Result<Option<Chatflow>> {
    let json: Option<String> =
        conn.query_row("SELECT json FROM chatflows WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    Ok(match json {
        Some(j) => Some(serde_json::from_str(&j)?),
        None => None,
    })
}

pub(crate) fn info(conn: &Connection, now: i64) -> Result<CacheInfo> {
    let fetched_at: Option<i64> = meta_get(conn, META_FETCHED_AT)?.and_then(|v| v.parse().ok());
    let count: i32 = conn.query_row("SELECT COUNT(*) FROM chatflows", [], |r| r.get(0))?;
    Ok(CacheInfo { fetched_at, age_ms: fetched_at.map(|t| now.saturating_sub(t).max(0)), chatflow_count: count })
}

impl ClientInner {
    /// Fetches the chatflow list (conditional on the cached ETag) and the team statuses into the store.
    pub(crate) async fn refresh_chatflows(self: &Arc<Self>) -> Result<RefreshOutcome> {
        let http = self.http()?;
        let etag = self.store().meta_get(META_ETAG)?;
        // Without cached rows a 304 would leave nothing to resolve from: ask unconditionally then.
        let have_rows = self.store().read(|c| info(c, 0))?.chatflow_count > 0;
        let path = format!("{}/chatflows", self.app_path());
        let fetched: Fetched<ChatflowList> = http.get(&path, None, etag.as_deref().filter(|_| have_rows)).await?;
        let now = now_ms();
        let (changed, chatflow_count) = match fetched {
            Fetched::NotModified => {
                self.store().meta_set(META_FETCHED_AT, &now.to_string())?;
                (false, self.store().read(|c| info(c, now))?.chatflow_count)
            }
            Fetched::Fresh { body, etag: header_etag } => {
                let etag = header_etag.unwrap_or(body.etag);
                let count = crate::model::count(body.chatflows.len());
                self.store().write(|tx| {
                    tx.execute("DELETE FROM chatflows", [])?;
                    let mut insert = tx.prepare_cached("INSERT INTO chatflows (id, json) VALUES (?1, ?2)")?;
                    for f in &body.chatflows {
                        insert.execute(params![f.id, serde_json::to_string(f)?])?;
                    }
                    // Statuses of chatflows that no longer exist are useless.
                    tx.execute("DELETE FROM chatflow_status WHERE chatflow_id NOT IN (SELECT id FROM chatflows)", [])?;
                    meta_set(tx, META_ETAG, &etag)?;
                    meta_set(tx, crate::attachments::META_LIMITS, &serde_json::to_string(&body.attachment_limits)?)?;
                    meta_set(tx, META_FETCHED_AT, &now.to_string())
                })?;
                tracing::info!(count, "chatflow list updated");
                (true, count)
            }
        };
        let statuses_refreshed = match self.refresh_statuses().await {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "team statuses not refreshed");
                false
            }
        };
        Ok(RefreshOutcome { changed, chatflow_count, statuses_refreshed })
    }

    async fn refresh_statuses(self: &Arc<Self>) -> Result<()> {
        let path = format!("{}/chatflows/status", self.app_path());
        let Fetched::Fresh { body, .. } = self.http()?.get::<ChatflowStatusList>(&path, None, None).await? else {
            return Ok(());
        };
        let now = now_ms();
        self.store().write(|tx| {
            tx.execute("DELETE FROM chatflow_status", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO chatflow_status (chatflow_id, available, next_change_at, fetched_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for s in &body.statuses {
                insert.execute(params![s.chatflow_id, s.available, s.next_change_at, now])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chatflow::resolve::tests::flow;
    use crate::store::Store;

    #[test]
    fn load_skips_unreadable_rows_and_reads_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO chatflows (id, json) VALUES (1, ?1)",
                    [serde_json::to_string(&flow(1, &["a"], 0, "en"))?],
                )?;
                tx.execute("INSERT INTO chatflows (id, json) VALUES (2, '{\"not\":\"a chatflow\"}')", [])?;
                tx.execute("INSERT INTO chatflow_status VALUES (1, 0, 99, 5)", [])?;
                meta_set(tx, META_FETCHED_AT, "1000")
            })
            .unwrap();
        let (flows, statuses) = store.read(load).unwrap();
        assert_eq!(flows.iter().map(|f| f.id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(statuses[&1], TeamStatus { available: false, next_change_at: Some(99), fetched_at: 5 });
        let i = store.read(|c| info(c, 4000)).unwrap();
        assert_eq!(i, CacheInfo { fetched_at: Some(1000), age_ms: Some(3000), chatflow_count: 2 });
        assert_eq!(store.read(|c| get(c, 1)).unwrap().unwrap().id, 1);
        assert!(store.read(|c| get(c, 3)).unwrap().is_none());
    }
}
