//! The knowledge base on [`ChatClient`]: sync, search, article.
//!
//! Which base: the app passes the resolved chatflow's `knowledge_base_id` to [`ChatClient::sync_knowledge_base`];
//! the SDK remembers it (in the store, so it survives restarts) as the *current* base, and
//! [`ChatClient::search_kb`] searches it. Before any sync, `search_kb` uses the knowledge base of the chatflow that
//! `resolve` gives for the default tag (from the cached chatflow list, no network), and — with no local index yet —
//! asks the server's search.
//!
//! The server scopes knowledge-base routes to the visitor's app, so syncing or searching over the network uses the
//! visitor token (creating the anonymous visitor on first need, like sending does). Offline search needs nothing.

use std::sync::Arc;

use chatflow_protocol::kb::{Article, SearchResults};
use chatflow_protocol::DeviceInfo;

use super::{HttpKbSource, KbSyncProgress, KbSyncReport};
use crate::chatflow::ResolveOutcome;
use crate::client::{ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::session::local::META_DEVICE_INFO;

/// Meta key of the current knowledge base id (set by `sync_knowledge_base`).
pub(crate) const META_CURRENT_KB: &str = "kb.current";

impl ClientInner {
    async fn source(self: &Arc<Self>) -> Result<HttpKbSource> {
        let session = self.visitor_session().await?;
        Ok(HttpKbSource::new(self.http()?.clone(), Some(session.visitor_token)))
    }

    /// The base `search_kb` searches: the last synced one, else the default chatflow's.
    fn current_kb_id(&self) -> Result<i64> {
        if let Some(id) = self.store().meta_get(META_CURRENT_KB)?.and_then(|v| v.parse().ok()) {
            return Ok(id);
        }
        Err(Error::NotFound {
            what: "knowledge base (no base was synced and the default chatflow offers no knowledge-base search: \
                   call sync_knowledge_base with ResolvedChatflow::knowledge_base_id)"
                .into(),
        })
    }

    /// The search language when the app gives none: the config's `language`, else the device locale, else all.
    fn default_search_language(&self) -> Result<Option<String>> {
        if let Some(l) = &self.config().language {
            return Ok(Some(l.clone()));
        }
        Ok(self
            .store()
            .meta_get(META_DEVICE_INFO)?
            .and_then(|j| serde_json::from_str::<DeviceInfo>(&j).ok())
            .map(|d| d.locale)
            .filter(|l| !l.is_empty()))
    }
}

impl ChatClient {
    /// Brings the local copy of knowledge base `kb_id` (the resolved chatflow's `knowledge_base_id`) up to date and
    /// makes it the base [`Self::search_kb`] searches. Delta sync, resumable: an interrupted sync (network loss, app
    /// killed) continues after its last applied page next time. `progress` receives (articles done, total) after
    /// every page — on the SDK's worker thread.
    pub async fn sync_knowledge_base(
        &self,
        kb_id: i64,
        progress: Option<Arc<dyn KbSyncProgress>>,
    ) -> Result<KbSyncReport> {
        self.inner.store().meta_set(META_CURRENT_KB, &kb_id.to_string())?;
        self.run(move |inner| async move {
            let source = inner.source().await?;
            inner.kb().sync(&source, kb_id, progress.as_deref()).await
        })
        .await
    }

    /// Searches the current knowledge base: offline from the local index once a sync completed, else the server's
    /// search (then a partial local index if the network fails). `language` (BCP 47; `None`: the config's
    /// `language`, else the device locale) is preferred, with all languages as fallback when it has no hit.
    /// Any text is accepted; empty or word-less text gives no hits. `limit` is capped at 100.
    pub async fn search_kb(
        &self,
        query: String,
        language: Option<String>,
        limit: i32,
        offset: i32,
    ) -> Result<SearchResults> {
        // Negative numbers are read as 0: no hits for a limit, the first hit for an offset.
        let (limit, offset) = (u32::try_from(limit).unwrap_or(0), u32::try_from(offset).unwrap_or(0));
        if super::query::FtsQuery::parse(&query).is_none() || limit == 0 {
            return Ok(SearchResults { hits: Vec::new() });
        }
        let inner = &self.inner;
        let kb_id = match inner.current_kb_id() {
            Ok(id) => id,
            Err(not_synced) => match self.resolve(None, Vec::new()).map(|r| r.outcome) {
                Ok(ResolveOutcome::Found(c)) if c.knowledge_base_enabled => c.knowledge_base_id.ok_or(not_synced)?,
                _ => return Err(not_synced),
            },
        };
        let language = match language.filter(|l| !l.trim().is_empty()) {
            Some(l) => Some(l),
            None => inner.default_search_language()?,
        };
        if inner.kb().status(kb_id)?.is_ready() {
            // Offline path: no runtime, no HTTP client.
            return inner.kb().search_local(kb_id, &query, language.as_deref(), limit, offset);
        }
        self.run(move |inner| async move {
            let source = inner.source().await?;
            inner.kb().search(Some(&source), kb_id, &query, language.as_deref(), limit, offset).await
        })
        .await
    }

    /// The full article `id` from the local store (`None` if it is not synced, or was deleted or unpublished).
    pub fn article(&self, id: i64) -> Result<Option<Article>> {
        self.inner.kb().article(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::kb::MemoryKbSource;

    fn client(dir: &std::path::Path) -> Arc<ChatClient> {
        // Port 9 (discard) on loopback: nothing listens, every request is a network error.
        let config = Config::from_json_str(
            r#"{"server_url":"http://127.0.0.1:9","app_id":"a","environment":"development","default_tag":"t",
                "language":"fr"}"#,
        )
        .unwrap();
        ChatClient::open(config, dir).unwrap()
    }

    fn article(id: i64, title: &str, body: &str, language: &str) -> Article {
        Article {
            id,
            kb_id: 3,
            title: title.into(),
            body: body.into(),
            language: language.into(),
            tags: vec![],
            published: true,
            url: format!("https://help.example/{id}"),
            updated_at: id,
        }
    }

    #[tokio::test]
    async fn search_and_article_work_offline_on_the_current_base() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let source = MemoryKbSource::with_articles([
            article(1, "Données personnelles", "Ce que nous collectons.", "fr"),
            article(2, "Personal data", "What we collect.", "en"),
        ]);
        c.inner.kb().sync(&source, 3, None).await.unwrap();
        c.inner.store().meta_set(META_CURRENT_KB, "3").unwrap();

        // Default language from the config ("fr"), accent-insensitive, and no network involved.
        let r = c.search_kb("donnees".into(), None, 10, 0).await.unwrap();
        assert_eq!(r.hits.iter().map(|h| h.article_id).collect::<Vec<_>>(), vec![1]);
        let r = c.search_kb("collect".into(), Some("en-US".into()), 10, 0).await.unwrap();
        assert_eq!(r.hits.iter().map(|h| h.article_id).collect::<Vec<_>>(), vec![2]);
        assert!(c.search_kb("  \"* ".into(), None, 10, 0).await.unwrap().hits.is_empty());
        assert_eq!(c.article(2).unwrap().map(|a| a.title), Some("Personal data".to_owned()));
        assert_eq!(c.article(99).unwrap(), None);
    }

    #[tokio::test]
    async fn without_a_base_search_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let err = c.search_kb("x".into(), None, 10, 0).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("sync_knowledge_base"), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_recoverable_error_and_the_base_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let err = c.sync_knowledge_base(3, None).await.unwrap_err();
        assert!(err.is_recoverable(), "{err}");
        assert_eq!(c.inner.store().meta_get(META_CURRENT_KB).unwrap().as_deref(), Some("3"));
        // No index yet, so the server's search is asked: a network error, not "no base".
        let err = c.search_kb("refund".into(), None, 10, 0).await.unwrap_err();
        assert!(matches!(err, Error::Network { .. }), "{err}");
    }
}
