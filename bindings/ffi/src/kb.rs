//! The knowledge-base half of [`ChatClient`]: sync to the device, search (offline once synced), articles.

use std::sync::Arc;

use chatflow_core::kb::KbSyncProgress as CoreProgress;

use crate::client::ChatClient;
use crate::error::ChatflowError;
use crate::types::kb::{Article, KbSyncReport, SearchResults};

type Result<T, E = ChatflowError> = std::result::Result<T, E>;

/// Progress of a knowledge-base sync: articles done out of the total, after every page (on an SDK thread).
#[uniffi::export(with_foreign)]
pub trait KbSyncProgress: Send + Sync {
    fn on_progress(&self, done: i32, total: i32) -> Result<()>;
}

struct ProgressBridge(Arc<dyn KbSyncProgress>);

impl CoreProgress for ProgressBridge {
    fn on_progress(&self, done: i32, total: i32) {
        // Progress is informational: a failing app callback does not stop the sync.
        let _ = self.0.on_progress(done, total);
    }
}

#[uniffi::export(name = "NativeChatClient")]
impl ChatClient {
    /// Brings knowledge base `kb_id` (the resolved chatflow's `knowledge_base_id`) up to date on the device and makes
    /// it the one `search_kb` searches. Delta sync, resumable after an interruption.
    pub async fn sync_knowledge_base(
        &self,
        kb_id: i64,
        progress: Option<Arc<dyn KbSyncProgress>>,
    ) -> Result<KbSyncReport> {
        let progress = progress.map(|p| Arc::new(ProgressBridge(p)) as Arc<dyn CoreProgress>);
        Ok(self.core.sync_knowledge_base(kb_id, progress).await?)
    }

    /// Searches the current knowledge base: offline once synced, else the server's search. `language` (BCP 47;
    /// `null`: the config's, else the device's) is preferred, all languages are the fallback. `limit` ≤ 100.
    pub async fn search_kb(
        &self,
        query: String,
        language: Option<String>,
        limit: i32,
        offset: i32,
    ) -> Result<SearchResults> {
        Ok(self.core.search_kb(query, language, limit, offset).await?.into())
    }

    /// The full article `id` from the device (`null` when not synced, deleted or unpublished).
    pub fn article(&self, id: i64) -> Result<Option<Article>> {
        Ok(self.core.article(id)?)
    }
}
