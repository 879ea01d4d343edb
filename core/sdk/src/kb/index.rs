//! The local article store and its FTS5 index (tables from migration `0003_knowledge_base.sql`).
//!
//! Writes happen one delta page per transaction: the page's upserts and removals and the base's new cursor commit
//! together, so a sync interrupted at any point (network loss, app killed) leaves the index consistent with the
//! stored cursor and the next sync resumes after the last applied page. Triggers keep `kb_fts` in step with
//! `kb_articles`.

use chatflow_protocol::kb::{Article, ArticleChanges};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::error::{Error, Result};

/// Where the local copy of one knowledge base stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KbIndexStatus {
    /// Articles in the local index.
    pub articles: u64,
    /// Server cursor after the last applied page; `None` before the first page.
    pub cursor: Option<String>,
    /// Published articles the server reported on the last page.
    pub total_published: u64,
    /// Unix ms of the last sync that reached the end of the changes; `None` until a first full sync finished.
    pub completed_at: Option<i64>,
}

impl KbIndexStatus {
    /// The local index has been fully synced at least once and can answer searches offline.
    pub fn is_ready(&self) -> bool {
        self.completed_at.is_some()
    }
}

/// What applying one page changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PageApplied {
    /// Articles inserted or changed (an unchanged re-delivery does not count).
    pub upserted: u64,
    pub removed: u64,
}

/// The primary language subtag, lowercased: "fr-CA" → "fr", " EN " → "en". Filters compare these.
pub(crate) fn primary_language(tag: &str) -> String {
    tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase()
}

/// Applies one delta page and stores its cursor, inside the caller's transaction.
///
/// An upserted article that is not published is treated as removed. An article of another base is a protocol error
/// (nothing of the page is kept: the caller's transaction rolls back).
pub(crate) fn apply_page(tx: &Transaction<'_>, kb_id: i64, page: &ArticleChanges, now_ms: i64) -> Result<PageApplied> {
    let mut applied = PageApplied::default();
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO kb_articles (id, kb_id, title, body, language, lang, tags, url, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET
                kb_id = excluded.kb_id, title = excluded.title, body = excluded.body,
                language = excluded.language, lang = excluded.lang, tags = excluded.tags,
                url = excluded.url, updated_at = excluded.updated_at
             -- An article delivered again unchanged (a resumed page) is not re-indexed.
             WHERE excluded.updated_at <> kb_articles.updated_at OR excluded.kb_id <> kb_articles.kb_id
                OR excluded.title <> kb_articles.title OR excluded.body <> kb_articles.body
                OR excluded.language <> kb_articles.language OR excluded.tags <> kb_articles.tags
                OR excluded.url <> kb_articles.url",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM kb_articles WHERE id = ?1 AND kb_id = ?2")?;
        for article in &page.upserted {
            if article.kb_id != kb_id {
                return Err(Error::Protocol {
                    message: format!(
                        "knowledge base {kb_id} changes contained article {} of knowledge base {}",
                        article.id, article.kb_id
                    ),
                });
            }
            if !article.published {
                applied.removed += delete.execute(params![article.id, kb_id])? as u64;
                continue;
            }
            applied.upserted += upsert.execute(params![
                article.id,
                kb_id,
                article.title,
                article.body,
                article.language,
                primary_language(&article.language),
                serde_json::to_string(&article.tags)?,
                article.url,
                article.updated_at,
            ])? as u64;
        }
        for id in &page.removed {
            applied.removed += delete.execute(params![id, kb_id])? as u64;
        }
    }
    let completed_at = (!page.has_more).then_some(now_ms);
    tx.prepare_cached(
        "INSERT INTO kb_sync (kb_id, cursor, total_published, completed_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kb_id) DO UPDATE SET cursor = excluded.cursor, total_published = excluded.total_published,
            completed_at = COALESCE(excluded.completed_at, kb_sync.completed_at)",
    )?
    .execute(params![kb_id, page.next_cursor, page.total_published as i64, completed_at])?;
    Ok(applied)
}

/// Merges the FTS5 index segments into one b-tree: smaller and faster to query. Worth it after a large sync.
pub(crate) fn optimize(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("INSERT INTO kb_fts (kb_fts) VALUES ('optimize')", [])?;
    Ok(())
}

/// Removes a base's articles and sync state (e.g. the chatflow no longer uses it).
pub(crate) fn clear(tx: &Transaction<'_>, kb_id: i64) -> Result<()> {
    tx.execute("DELETE FROM kb_articles WHERE kb_id = ?1", [kb_id])?;
    tx.execute("DELETE FROM kb_sync WHERE kb_id = ?1", [kb_id])?;
    Ok(())
}

pub(crate) fn article_count(conn: &Connection, kb_id: i64) -> Result<u64> {
    let n: i64 =
        conn.prepare_cached("SELECT count(*) FROM kb_articles WHERE kb_id = ?1")?.query_row([kb_id], |r| r.get(0))?;
    Ok(n as u64)
}

pub(crate) fn status(conn: &Connection, kb_id: i64) -> Result<KbIndexStatus> {
    let articles = article_count(conn, kb_id)?;
    let row = conn
        .prepare_cached("SELECT cursor, total_published, completed_at FROM kb_sync WHERE kb_id = ?1")?
        .query_row([kb_id], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?, r.get(2)?)))
        .optional()?;
    Ok(match row {
        Some((cursor, total, completed_at)) => {
            KbIndexStatus { articles, cursor, total_published: total.max(0) as u64, completed_at }
        }
        None => KbIndexStatus { articles, ..KbIndexStatus::default() },
    })
}

/// The full article from the local store (any base).
pub(crate) fn article(conn: &Connection, id: i64) -> Result<Option<Article>> {
    let row = conn
        .prepare_cached(
            "SELECT id, kb_id, title, body, language, tags, url, updated_at FROM kb_articles WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })
        .optional()?;
    let Some((id, kb_id, title, body, language, tags, url, updated_at)) = row else { return Ok(None) };
    let tags: Vec<String> = serde_json::from_str(&tags)?;
    Ok(Some(Article { id, kb_id, title, body, language, tags, published: true, url, updated_at }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn art(id: i64, title: &str, body: &str, language: &str) -> Article {
        Article {
            id,
            kb_id: 1,
            title: title.into(),
            body: body.into(),
            language: language.into(),
            tags: vec!["t".into()],
            published: true,
            url: format!("https://help.example/{id}"),
            updated_at: id,
        }
    }

    fn page(upserted: Vec<Article>, removed: Vec<i64>, cursor: &str, has_more: bool) -> ArticleChanges {
        ArticleChanges { upserted, removed, next_cursor: cursor.into(), has_more, total_published: 3 }
    }

    fn fts_ids(store: &Store, expr: &str) -> Vec<i64> {
        store
            .read(|c| {
                let mut stmt = c.prepare("SELECT rowid FROM kb_fts WHERE kb_fts MATCH ?1 ORDER BY rowid")?;
                let ids = stmt.query_map([expr], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
                Ok(ids)
            })
            .unwrap()
    }

    /// FTS5's 'integrity-check' with rank 1 also compares the index with the content table: it fails on any drift.
    fn assert_index_matches_content(store: &Store) {
        store
            .write(|tx| Ok(tx.execute("INSERT INTO kb_fts (kb_fts, rank) VALUES ('integrity-check', 1)", [])?))
            .unwrap();
    }

    #[test]
    fn primary_language_subtags() {
        assert_eq!(primary_language("fr-CA"), "fr");
        assert_eq!(primary_language(" EN "), "en");
        assert_eq!(primary_language("pt_BR"), "pt");
        assert_eq!(primary_language(""), "");
    }

    #[test]
    fn pages_upsert_remove_and_store_the_cursor_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.read(|c| status(c, 1)).unwrap(), KbIndexStatus::default());

        let p1 = page(
            vec![art(1, "Offline maps", "Download a region", "en"), art(2, "Billing", "Invoices", "en")],
            vec![],
            "c1",
            true,
        );
        store.write(|tx| apply_page(tx, 1, &p1, 100)).unwrap();
        let st = store.read(|c| status(c, 1)).unwrap();
        assert_eq!((st.articles, st.cursor.as_deref(), st.completed_at), (2, Some("c1"), None));
        assert!(!st.is_ready());
        assert_eq!(fts_ids(&store, "\"region\""), vec![1]);

        // Edit article 1, unpublish article 2, delete an unknown id, add article 3.
        let mut edited = art(1, "Offline maps", "Download an area", "en");
        edited.updated_at = 50;
        let mut unpublished = art(2, "Billing", "Invoices", "en");
        unpublished.published = false;
        let p2 = page(vec![edited, unpublished, art(3, "Données", "Vos données", "fr")], vec![99], "c2", false);
        let applied = store.write(|tx| apply_page(tx, 1, &p2, 200)).unwrap();
        assert_eq!(applied, PageApplied { upserted: 2, removed: 1 });
        let st = store.read(|c| status(c, 1)).unwrap();
        assert_eq!((st.articles, st.cursor.as_deref(), st.completed_at), (2, Some("c2"), Some(200)));
        assert!(fts_ids(&store, "\"region\"").is_empty(), "old body tokens are gone from the index");
        assert_eq!(fts_ids(&store, "\"area\""), vec![1]);
        assert!(fts_ids(&store, "\"invoices\"").is_empty());
        assert_eq!(fts_ids(&store, "\"donnees\""), vec![3]);

        // A later incremental page keeps the completion time.
        let p3 = page(vec![], vec![3], "c3", true);
        store.write(|tx| apply_page(tx, 1, &p3, 300)).unwrap();
        let st = store.read(|c| status(c, 1)).unwrap();
        assert_eq!((st.articles, st.completed_at), (1, Some(200)));
        assert!(fts_ids(&store, "\"donnees\"").is_empty());
        store.write(optimize).unwrap();
        assert_eq!(fts_ids(&store, "\"area\""), vec![1]);
        assert_index_matches_content(&store);
    }

    #[test]
    fn a_page_delivered_again_changes_nothing_and_a_text_edit_is_re_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let p1 = page(vec![art(1, "Offline maps", "Download a region", "en")], vec![], "c1", false);
        let first = store.write(|tx| apply_page(tx, 1, &p1, 1)).unwrap();
        assert_eq!(first, PageApplied { upserted: 1, removed: 0 });
        let again = store.write(|tx| apply_page(tx, 1, &p1, 2)).unwrap();
        assert_eq!(again, PageApplied::default(), "a resumed page re-delivers articles already applied");
        // Same version stamp, new text (the text alone decides): the index follows it.
        let p2 = page(vec![art(1, "Offline maps", "Download an area", "en")], vec![], "c2", false);
        assert_eq!(store.write(|tx| apply_page(tx, 1, &p2, 3)).unwrap().upserted, 1);
        assert!(fts_ids(&store, "\"region\"").is_empty());
        assert_eq!(fts_ids(&store, "\"area\""), vec![1]);
        // Metadata alone (url): counted, text untouched.
        let mut moved = art(1, "Offline maps", "Download an area", "en");
        moved.url = "https://help.example/moved".into();
        let p3 = page(vec![moved.clone()], vec![], "c3", false);
        assert_eq!(store.write(|tx| apply_page(tx, 1, &p3, 4)).unwrap().upserted, 1);
        assert_eq!(store.read(|c| article(c, 1)).unwrap(), Some(moved));
        assert_index_matches_content(&store);
    }

    #[test]
    fn article_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = art(7, "Title", "body", "fr-FR");
        store.write(|tx| apply_page(tx, 1, &page(vec![a.clone()], vec![], "c", false), 1)).unwrap();
        assert_eq!(store.read(|c| article(c, 7)).unwrap(), Some(a));
        assert_eq!(store.read(|c| article(c, 8)).unwrap(), None);
    }

    #[test]
    fn an_article_of_another_base_rolls_the_page_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut foreign = art(2, "x", "y", "en");
        foreign.kb_id = 9;
        let p = page(vec![art(1, "a", "b", "en"), foreign], vec![], "c", false);
        let err = store.write(|tx| apply_page(tx, 1, &p, 1)).unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }), "{err}");
        assert_eq!(store.read(|c| status(c, 1)).unwrap(), KbIndexStatus::default());
    }

    #[test]
    fn clear_removes_a_base() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.write(|tx| apply_page(tx, 1, &page(vec![art(1, "a", "b", "en")], vec![], "c", false), 1)).unwrap();
        store.write(|tx| clear(tx, 1)).unwrap();
        assert_eq!(store.read(|c| status(c, 1)).unwrap(), KbIndexStatus::default());
        assert!(fts_ids(&store, "\"a\"").is_empty());
    }
}
