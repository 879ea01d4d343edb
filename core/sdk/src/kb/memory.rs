//! [`MemoryKbSource`]: an in-process [`KbSource`] that follows the server's delta-sync contract.
//!
//! For articles bundled with an app, for tests of the sync logic and for benchmarks. It is a stand-in for a network
//! source, not a model of our server's storage: the end-to-end tests run the real server.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chatflow_protocol::kb::{Article, ArticleChanges, SearchHit, SearchResults};

use super::index::primary_language;
use super::sync::KbSource;
use crate::error::{Error, Result};

/// Articles in memory with a change counter. Cursors are `"s<counter>"`; every change (upsert, unpublish, delete)
/// moves an article to the end of the change log, so a delta lists each changed article once, in its latest state.
#[derive(Debug, Default)]
pub struct MemoryKbSource {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    counter: u64,
    /// change counter → article id (latest change of each article only).
    log: BTreeMap<u64, i64>,
    /// article id → (its change counter, kb id, the article or `None` once deleted).
    articles: HashMap<i64, (u64, i64, Option<Article>)>,
}

impl MemoryKbSource {
    pub fn new() -> MemoryKbSource {
        MemoryKbSource::default()
    }

    /// A source holding `articles`, changed in the given order.
    pub fn with_articles(articles: impl IntoIterator<Item = Article>) -> MemoryKbSource {
        let source = MemoryKbSource::new();
        for article in articles {
            source.upsert(article);
        }
        source
    }

    /// Adds or replaces an article (an unpublished one is listed as removed by later deltas).
    pub fn upsert(&self, article: Article) {
        self.change(article.id, article.kb_id, Some(article));
    }

    /// Deletes an article.
    pub fn delete(&self, id: i64) {
        let kb_id = self.lock().articles.get(&id).map(|(_, kb, _)| *kb);
        if let Some(kb_id) = kb_id {
            self.change(id, kb_id, None);
        }
    }

    /// Published articles of `kb_id`.
    pub fn published(&self, kb_id: i64) -> Vec<Article> {
        let state = self.lock();
        let mut out: Vec<Article> = state
            .articles
            .values()
            .filter_map(|(_, kb, a)| a.as_ref().filter(|a| *kb == kb_id && a.published).cloned())
            .collect();
        out.sort_by_key(|a| a.id);
        out
    }

    fn change(&self, id: i64, kb_id: i64, article: Option<Article>) {
        let mut state = self.lock();
        state.counter += 1;
        let counter = state.counter;
        if let Some((old, _, _)) = state.articles.insert(id, (counter, kb_id, article)) {
            state.log.remove(&old);
        }
        state.log.insert(counter, id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the maps half-updated in a way later calls depend on.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changes_now(&self, kb_id: i64, since: Option<&str>, limit: u32) -> Result<ArticleChanges> {
        let after = match since {
            None => 0,
            Some(cursor) => cursor.strip_prefix('s').and_then(|n| n.parse::<u64>().ok()).ok_or_else(|| {
                Error::InvalidInput { field: "since", message: format!("`{cursor}` is not a cursor of this source") }
            })?,
        };
        let state = self.lock();
        let limit = limit.max(1) as usize;
        let mut page = ArticleChanges {
            upserted: Vec::new(),
            removed: Vec::new(),
            next_cursor: format!("s{after}"),
            has_more: false,
            total_published: 0,
        };
        let mut taken = 0usize;
        for (&counter, id) in state.log.range(after + 1..) {
            let Some((_, kb, article)) = state.articles.get(id) else { continue };
            if *kb != kb_id {
                continue;
            }
            if taken == limit {
                page.has_more = true;
                break;
            }
            taken += 1;
            page.next_cursor = format!("s{counter}");
            match article {
                Some(a) if a.published => page.upserted.push(a.clone()),
                // A first sync has nothing to remove.
                _ if since.is_none() => {}
                _ => page.removed.push(*id),
            }
        }
        page.total_published = state
            .articles
            .values()
            .filter(|(_, kb, a)| *kb == kb_id && a.as_ref().is_some_and(|a| a.published))
            .count() as u64;
        Ok(page)
    }

    /// A plain word search (every word, case-insensitive substring; titles count 10×), language filter with
    /// fallback. Enough to stand in for a server's search.
    fn search_now(&self, kb_id: i64, query: &str, language: Option<&str>, limit: u32, offset: u32) -> SearchResults {
        let words: Vec<String> = query.split_whitespace().take(12).map(str::to_lowercase).collect();
        if words.is_empty() {
            return SearchResults { hits: Vec::new() };
        }
        let articles = self.published(kb_id);
        let score = |a: &Article| -> f64 {
            let (title, body) = (a.title.to_lowercase(), a.body.to_lowercase());
            if !words.iter().all(|w| title.contains(w.as_str()) || body.contains(w.as_str())) {
                return 0.0;
            }
            words
                .iter()
                .map(|w| 10.0 * title.matches(w.as_str()).count() as f64 + body.matches(w.as_str()).count() as f64)
                .sum()
        };
        let wanted = language.map(primary_language);
        let mut hits: Vec<(f64, &Article)> = Vec::new();
        for filter in [wanted.clone(), None] {
            hits = articles
                .iter()
                .filter(|a| filter.as_ref().is_none_or(|l| primary_language(&a.language) == *l))
                .map(|a| (score(a), a))
                .filter(|(s, _)| *s > 0.0)
                .collect();
            if !hits.is_empty() || filter.is_none() {
                break;
            }
        }
        hits.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.id.cmp(&y.1.id)));
        let hits = hits
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|(score, a)| SearchHit {
                article_id: a.id,
                title: a.title.clone(),
                snippet: a.body.chars().take(160).collect(),
                highlights: Vec::new(),
                url: a.url.clone(),
                score,
            })
            .collect();
        SearchResults { hits }
    }
}

impl KbSource for MemoryKbSource {
    async fn changes(&self, kb_id: i64, since: Option<&str>, limit: u32) -> Result<ArticleChanges> {
        self.changes_now(kb_id, since, limit)
    }

    async fn search(
        &self,
        kb_id: i64,
        query: &str,
        language: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults> {
        Ok(self.search_now(kb_id, query, language, limit, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(id: i64, kb_id: i64, title: &str, language: &str) -> Article {
        Article {
            id,
            kb_id,
            title: title.into(),
            body: format!("body of {title}"),
            language: language.into(),
            tags: vec![],
            published: true,
            url: format!("u{id}"),
            updated_at: id,
        }
    }

    #[test]
    fn deltas_list_each_changed_article_once_in_its_latest_state() {
        let source = MemoryKbSource::with_articles((1..=5).map(|i| art(i, 1, &format!("a{i}"), "en")));
        source.upsert(art(100, 2, "other base", "en"));
        let p1 = source.changes_now(1, None, 2).unwrap();
        assert_eq!(p1.upserted.iter().map(|a| a.id).collect::<Vec<_>>(), vec![1, 2]);
        assert!(p1.has_more);
        assert_eq!(p1.total_published, 5);
        let p2 = source.changes_now(1, Some(&p1.next_cursor), 10).unwrap();
        assert_eq!(p2.upserted.iter().map(|a| a.id).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert!(!p2.has_more);

        source.upsert(art(2, 1, "a2 edited", "en"));
        let mut hidden = art(3, 1, "a3", "en");
        hidden.published = false;
        source.upsert(hidden);
        source.delete(4);
        source.delete(999);
        let p3 = source.changes_now(1, Some(&p2.next_cursor), 10).unwrap();
        assert_eq!(p3.upserted.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(), vec!["a2 edited"]);
        assert_eq!(p3.removed, vec![3, 4]);
        assert_eq!(p3.total_published, 3);
        let p4 = source.changes_now(1, Some(&p3.next_cursor), 10).unwrap();
        assert!(p4.upserted.is_empty() && p4.removed.is_empty() && !p4.has_more);
        assert_eq!(p4.next_cursor, p3.next_cursor);
        assert!(source.changes_now(1, Some("garbage"), 10).is_err());
    }

    #[test]
    fn plain_search_filters_language_with_fallback() {
        let source = MemoryKbSource::with_articles([art(1, 1, "Offline maps", "en"), art(2, 1, "Cartes", "fr")]);
        let hits = |q: &str, l: Option<&str>| -> Vec<i64> {
            source.search_now(1, q, l, 10, 0).hits.iter().map(|h| h.article_id).collect()
        };
        assert_eq!(hits("maps", Some("en")), vec![1]);
        assert_eq!(hits("maps", Some("fr")), vec![1]);
        assert_eq!(hits("body", Some("fr-CA")), vec![2]);
        assert_eq!(hits("body", None), vec![1, 2]);
        assert!(hits("  ", None).is_empty());
    }
}
