//! Knowledge-base sync into SQLite FTS5, offline search, and the server fallback.
//!
//! A chatflow may offer knowledge-base search (`Chatflow::knowledge_base.kb_id`): the visitor finds an answer before
//! (or instead of) waiting for an agent, also offline. [`KnowledgeBase`] is the component; it works on an
//! `Arc<Store>` and any [`KbSource`] (the server over HTTP: [`HttpKbSource`]; in process: [`MemoryKbSource`]).
//!
//! ```text
//! let kb = KnowledgeBase::new(store);
//! kb.sync(&source, kb_id, Some(&progress)).await?;       // delta pages until done; resumable; progress done/total
//! kb.search(Some(&source), kb_id, "donnees perso", Some("fr"), 10, 0).await?;   // local index, or server if none
//! kb.search_local(kb_id, "donnees perso", Some("fr"), 10, 0)?;                  // offline only
//! kb.article(article_id)?;                                                      // the full article, offline
//! kb.status(kb_id)?;                                                            // articles, cursor, ready?
//! ```
//!
//! Behaviour:
//! - **Sync** ([`sync`]): `GET /v1/kb/{kb_id}/changes?since=CURSOR&limit=N` pages until `has_more` is false; each
//!   page (upserts, removals of deleted/unpublished articles, new cursor) commits in one transaction, so an
//!   interrupted sync resumes after its last page. Syncs of one component run one at a time.
//! - **Search** ([`search`]): the user's text becomes a safe FTS5 expression ([`query`]: word tokens, each quoted,
//!   last one as a prefix, capped); bm25 ranking with titles weighing 10× the body; accent- and case-insensitive
//!   (`unicode61 remove_diacritics 2`); the preferred language first, all languages when it has no hit; every word
//!   first, any word when no article has them all. Hits carry a body snippet with highlight byte ranges.
//! - **Server fallback**: until a first full sync completed, [`KnowledgeBase::search`] asks the server's search; if
//!   the network fails and a partial index exists, it answers from that.
//! - Any text is safe: empty or word-less text gives an empty answer without touching the index or the network.

mod api;
pub mod index;
mod memory;
pub mod query;
pub mod search;
pub mod sync;

// The generated corpus lives with the benchmark that it was made for; the unit tests use it too.
#[cfg(test)]
#[path = "../../benches/support/corpus.rs"]
pub(crate) mod corpus;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chatflow_protocol::kb::{Article, SearchResults};
use chatflow_protocol::limits::MAX_PAGE_SIZE;

pub use index::KbIndexStatus;
pub use memory::MemoryKbSource;
pub use sync::{HttpKbSource, KbSource, KbSyncProgress, KbSyncReport};

use crate::error::Result;
use crate::store::Store;

/// Articles asked per changes page by default.
pub const DEFAULT_SYNC_PAGE_SIZE: u32 = 200;

/// The knowledge-base component: local index, sync and search over one store.
#[derive(Debug)]
pub struct KnowledgeBase {
    store: Arc<Store>,
    page_size: u32,
    /// Serializes syncs: two concurrent syncs would fetch the same pages twice.
    sync_lock: tokio::sync::Mutex<()>,
}

impl KnowledgeBase {
    pub fn new(store: Arc<Store>) -> KnowledgeBase {
        KnowledgeBase { store, page_size: DEFAULT_SYNC_PAGE_SIZE, sync_lock: tokio::sync::Mutex::new(()) }
    }

    /// Articles asked per changes page (1..=`MAX_PAGE_SIZE`).
    pub fn with_page_size(mut self, page_size: u32) -> KnowledgeBase {
        self.page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Brings the local index of `kb_id` up to date with `source`. See [`sync`].
    pub async fn sync<S: KbSource>(
        &self,
        source: &S,
        kb_id: i64,
        progress: Option<&dyn KbSyncProgress>,
    ) -> Result<KbSyncReport> {
        let _one_at_a_time = self.sync_lock.lock().await;
        sync::sync(&self.store, source, kb_id, self.page_size, progress).await
    }

    /// Searches the local index only (works offline; empty if nothing was synced). See [`search`].
    pub fn search_local(
        &self,
        kb_id: i64,
        query: &str,
        language: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults> {
        self.store.read(|c| search::search(c, kb_id, query, language, limit, offset))
    }

    /// Searches the local index once a full sync has completed; before that, the server's search through `source`
    /// (falling back on a partial local index when the network fails). `None` as source: local only.
    pub async fn search<S: KbSource>(
        &self,
        source: Option<&S>,
        kb_id: i64,
        query: &str,
        language: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults> {
        if query::FtsQuery::parse(query).is_none() || limit == 0 {
            return Ok(SearchResults { hits: Vec::new() });
        }
        let status = self.status(kb_id)?;
        let Some(source) = source.filter(|_| !status.is_ready()) else {
            return self.search_local(kb_id, query, language, limit, offset);
        };
        let limit = limit.min(search::MAX_SEARCH_LIMIT);
        match source.search(kb_id, query, language, limit, offset).await {
            Ok(results) => Ok(results),
            Err(e) if e.is_recoverable() && status.articles > 0 => {
                tracing::debug!(kb_id, error = %e, "kb server search failed; answering from the partial local index");
                self.search_local(kb_id, query, language, limit, offset)
            }
            Err(e) => Err(e),
        }
    }

    /// The full article `id` from the local store, whichever base it belongs to.
    pub fn article(&self, id: i64) -> Result<Option<Article>> {
        self.store.read(|c| index::article(c, id))
    }

    /// Where the local copy of `kb_id` stands (articles, cursor, whether a full sync completed).
    pub fn status(&self, kb_id: i64) -> Result<KbIndexStatus> {
        self.store.read(|c| index::status(c, kb_id))
    }

    /// Forgets the local copy of `kb_id` (articles, index entries, cursor).
    pub fn clear(&self, kb_id: i64) -> Result<()> {
        self.store.write(|tx| index::clear(tx, kb_id))
    }
}
