//! Knowledge-base articles in SQLite: CRUD with a global change counter, tombstones for deletions, the change feed
//! of a base, and FTS5 search (the index holds published articles only; triggers keep it in step).

use chatflow_protocol::Article;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::SqliteStore;
use crate::store::kb::{primary_language, ArticleInput, ChangesPage, KbMatch, KbQuery, KbStore, SeedArticle, TermMode};
use crate::store::{StoreError, StoreResult};

const COLS: &str = "id, kb_id, title, body, language, tags, published, url, updated_at";

struct Raw {
    article: Article,
    tags: String,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        article: Article {
            id: r.get(0)?,
            kb_id: r.get(1)?,
            title: r.get(2)?,
            body: r.get(3)?,
            language: r.get(4)?,
            tags: Vec::new(),
            published: r.get(6)?,
            url: r.get(7)?,
            updated_at: r.get(8)?,
        },
        tags: r.get(5)?,
    })
}

fn finish(raw: Raw) -> StoreResult<Article> {
    let mut a = raw.article;
    a.tags =
        serde_json::from_str(&raw.tags).map_err(|e| StoreError::Corrupt(format!("tags of article {}: {e}", a.id)))?;
    Ok(a)
}

fn article_in(conn: &Connection, app_id: &str, kb_id: i64, id: i64) -> StoreResult<Option<Article>> {
    conn.prepare_cached(&format!("SELECT {COLS} FROM kb_articles WHERE id = ?1 AND app_id = ?2 AND kb_id = ?3"))?
        .query_row(params![id, app_id, kb_id], raw)
        .optional()?
        .map(finish)
        .transpose()
}

/// Takes the next value of the change counter.
fn next_change(tx: &Connection) -> StoreResult<i64> {
    Ok(tx
        .prepare_cached("UPDATE kb_counter SET value = value + 1 WHERE id = 1 RETURNING value")?
        .query_row([], |r| r.get(0))?)
}

fn tags_json(input: &ArticleInput) -> StoreResult<String> {
    serde_json::to_string(&input.tags).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn insert(
    tx: &Connection,
    app_id: &str,
    kb_id: i64,
    id: Option<i64>,
    input: &ArticleInput,
    now: i64,
) -> StoreResult<i64> {
    if let Some(id) = id {
        let taken: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM kb_articles WHERE id = ?1) OR EXISTS (SELECT 1 FROM kb_tombstones WHERE article_id = ?1)")?
            .query_row([id], |r| r.get(0))?;
        if taken {
            return Err(StoreError::Invalid(format!("article id {id} is already used")));
        }
    }
    let change = next_change(tx)?;
    tx.prepare_cached(
        "INSERT INTO kb_articles (id, app_id, kb_id, title, body, language, lang, tags, published, url, updated_at,
             change_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        id,
        app_id,
        kb_id,
        input.title,
        input.body,
        input.language,
        primary_language(&input.language),
        tags_json(input)?,
        input.published,
        input.url,
        now,
        change
    ])?;
    Ok(tx.last_insert_rowid())
}

/// The FTS5 `MATCH` expression of a structured query: quoted tokens (never FTS syntax), implicit AND or `OR`, `*` on
/// prefixes — rendered by the protocol's builder, the same code as the SDK's offline index.
fn fts5_expression(q: &KbQuery<'_>) -> String {
    match q.mode {
        TermMode::All => q.terms.all_terms(),
        TermMode::Any => q.terms.any_term(),
    }
}

impl KbStore for SqliteStore {
    fn kb_articles(&self, app_id: &str, kb_id: i64) -> StoreResult<Vec<Article>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLS} FROM kb_articles WHERE app_id = ?1 AND kb_id = ?2 ORDER BY id"
            ))?;
            let rows = stmt.query_map(params![app_id, kb_id], raw)?;
            rows.map(|r| finish(r?)).collect()
        })
    }

    fn kb_article(&self, app_id: &str, kb_id: i64, id: i64) -> StoreResult<Option<Article>> {
        self.read(|c| article_in(c, app_id, kb_id, id))
    }

    fn create_kb_article(&self, app_id: &str, kb_id: i64, input: &ArticleInput, now: i64) -> StoreResult<Article> {
        self.write(|tx| {
            let id = insert(tx, app_id, kb_id, None, input, now)?;
            article_in(tx, app_id, kb_id, id)?.ok_or_else(|| StoreError::Corrupt("article vanished".into()))
        })
    }

    fn update_kb_article(
        &self,
        app_id: &str,
        kb_id: i64,
        id: i64,
        input: &ArticleInput,
        now: i64,
    ) -> StoreResult<Option<Article>> {
        self.write(|tx| {
            if article_in(tx, app_id, kb_id, id)?.is_none() {
                return Ok(None);
            }
            let change = next_change(tx)?;
            tx.prepare_cached(
                "UPDATE kb_articles SET title = ?2, body = ?3, language = ?4, lang = ?5, tags = ?6, published = ?7,
                     url = ?8, updated_at = ?9, change_seq = ?10
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                input.title,
                input.body,
                input.language,
                primary_language(&input.language),
                tags_json(input)?,
                input.published,
                input.url,
                now,
                change
            ])?;
            article_in(tx, app_id, kb_id, id)
        })
    }

    fn delete_kb_article(&self, app_id: &str, kb_id: i64, id: i64) -> StoreResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM kb_articles WHERE id = ?1 AND app_id = ?2 AND kb_id = ?3",
                params![id, app_id, kb_id],
            )?;
            if n == 0 {
                return Ok(false);
            }
            let change = next_change(tx)?;
            tx.execute(
                "INSERT INTO kb_tombstones (article_id, app_id, kb_id, change_seq) VALUES (?1, ?2, ?3, ?4)",
                params![id, app_id, kb_id, change],
            )?;
            Ok(true)
        })
    }

    fn kb_changes(&self, app_id: &str, kb_id: i64, since: Option<i64>, limit: u32) -> StoreResult<ChangesPage> {
        self.read(|c| {
            let after = since.unwrap_or(0);
            let fetch = i64::from(limit) + 1;
            // (change, article or None for a removal). Each change value is unique, so the merge is a total order.
            let mut items: Vec<(i64, Option<Article>, i64)> = Vec::new();
            {
                let first_sync = if since.is_none() { "AND published" } else { "" };
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLS}, change_seq FROM kb_articles WHERE app_id = ?1 AND kb_id = ?2 AND change_seq > ?3 \
                     {first_sync} ORDER BY change_seq LIMIT ?4"
                ))?;
                let rows = stmt.query_map(params![app_id, kb_id, after, fetch], |r| Ok((raw(r)?, r.get::<_, i64>(9)?)))?;
                for row in rows {
                    let (raw, change) = row?;
                    let article = finish(raw)?;
                    let id = article.id;
                    items.push((change, article.published.then_some(article), id));
                }
            }
            if since.is_some() {
                let mut stmt = c.prepare_cached(
                    "SELECT change_seq, article_id FROM kb_tombstones WHERE app_id = ?1 AND kb_id = ?2 AND change_seq > ?3
                     ORDER BY change_seq LIMIT ?4",
                )?;
                let rows = stmt.query_map(params![app_id, kb_id, after, fetch], |r| Ok((r.get(0)?, None, r.get(1)?)))?;
                for row in rows {
                    items.push(row?);
                }
            }
            let counter: i64 = c.prepare_cached("SELECT value FROM kb_counter WHERE id = 1")?.query_row([], |r| r.get(0))?;
            let total_published: i64 = c
                .prepare_cached("SELECT COUNT(*) FROM kb_articles WHERE app_id = ?1 AND kb_id = ?2 AND published")?
                .query_row(params![app_id, kb_id], |r| r.get(0))?;
            Ok(ChangesPage::assemble(items, limit, after, counter, total_published))
        })
    }

    fn kb_search(&self, q: &KbQuery<'_>) -> StoreResult<Vec<KbMatch>> {
        let expression = fts5_expression(q);
        let (app_id, kb_id, lang, limit, offset) = (q.app_id, q.kb_id, q.language, q.limit, q.offset);
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT f.rowid, a.title, a.url, a.body, f.rank FROM kb_fts f JOIN kb_articles a ON a.id = f.rowid
                 WHERE kb_fts MATCH ?1 AND f.app_id = ?2 AND f.kb_id = ?3 AND (?4 IS NULL OR f.lang = ?4)
                 ORDER BY f.rank LIMIT ?5 OFFSET ?6",
            )?;
            let rows = stmt.query_map(params![expression, app_id, kb_id, lang, limit, offset], |r| {
                Ok(KbMatch { id: r.get(0)?, title: r.get(1)?, url: r.get(2)?, body: r.get(3)?, rank: r.get(4)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn kb_match_exists(&self, q: &KbQuery<'_>) -> StoreResult<bool> {
        let expression = fts5_expression(q);
        let (app_id, kb_id, lang) = (q.app_id, q.kb_id, q.language);
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM kb_fts WHERE kb_fts MATCH ?1 AND app_id = ?2 AND kb_id = ?3
                     AND (?4 IS NULL OR lang = ?4))",
            )?
            .query_row(params![expression, app_id, kb_id, lang], |r| r.get(0))?)
        })
    }

    fn seed_kb_articles(&self, app_id: &str, articles: &[SeedArticle], now: i64) -> StoreResult<usize> {
        if articles.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let touched: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM kb_articles WHERE app_id = ?1)
                         OR EXISTS (SELECT 1 FROM kb_tombstones WHERE app_id = ?1)",
                )?
                .query_row([app_id], |r| r.get(0))?;
            if touched {
                return Ok(0);
            }
            for a in articles {
                insert(tx, app_id, a.kb_id, a.id, &a.input, now)?;
            }
            Ok(articles.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::test_support::store;
    use chatflow_protocol::kb_query::FtsQuery;

    fn input(title: &str, body: &str, language: &str) -> ArticleInput {
        ArticleInput {
            title: title.into(),
            body: body.into(),
            language: language.into(),
            tags: vec!["t".into()],
            published: true,
            url: "https://help.example.com/a".into(),
        }
    }

    fn ids(articles: &[Article]) -> Vec<i64> {
        articles.iter().map(|a| a.id).collect()
    }

    #[test]
    fn change_feed_reports_upserts_unpublishing_and_deletions_in_order() {
        let (_dir, s) = store();
        let a = s.create_kb_article("app1", 1, &input("Offline maps", "Download a region", "en"), 10).unwrap();
        let b = s.create_kb_article("app1", 1, &input("Cartes hors ligne", "Télécharger", "fr-CA"), 11).unwrap();
        s.create_kb_article("app1", 2, &input("Other base", "x", "en"), 12).unwrap();
        let first = s.kb_changes("app1", 1, None, 1).unwrap();
        assert_eq!((ids(&first.upserted), first.has_more, first.total_published), (vec![a.id], true, 2));
        let second = s.kb_changes("app1", 1, Some(first.last_change), 10).unwrap();
        assert_eq!((ids(&second.upserted), second.has_more), (vec![b.id], false));
        let cursor = second.last_change;
        assert_eq!(s.kb_changes("app1", 1, Some(cursor), 10).unwrap().upserted, vec![]);

        let mut hidden = input("Offline maps", "Download a region", "en");
        hidden.published = false;
        s.update_kb_article("app1", 1, a.id, &hidden, 20).unwrap().unwrap();
        assert!(s.delete_kb_article("app1", 1, b.id).unwrap());
        assert!(!s.delete_kb_article("app1", 1, b.id).unwrap());
        let page = s.kb_changes("app1", 1, Some(cursor), 10).unwrap();
        assert_eq!((page.upserted.len(), page.removed.clone(), page.total_published), (0, vec![a.id, b.id], 0));
        // A first sync sees neither.
        assert_eq!(s.kb_changes("app1", 1, None, 10).unwrap().removed, Vec::<i64>::new());
        // Another app never sees this base.
        assert_eq!(s.kb_changes("other", 1, None, 10).unwrap().upserted, vec![]);
    }

    #[test]
    fn search_ranks_titles_first_folds_accents_and_filters() {
        let (_dir, s) = store();
        let body_hit = s.create_kb_article("app1", 1, &input("Billing", "About données exports", "fr"), 1).unwrap();
        let title_hit =
            s.create_kb_article("app1", 1, &input("Exporter vos données", "Un fichier CSV", "fr"), 2).unwrap();
        let en = s.create_kb_article("app1", 1, &input("Export data", "CSV file", "en"), 3).unwrap();
        let terms = |text: &str| FtsQuery::parse(text).unwrap();
        fn query<'a>(kb_id: i64, terms: &'a FtsQuery, language: Option<&'a str>) -> KbQuery<'a> {
            KbQuery { app_id: "app1", kb_id, terms, mode: TermMode::All, language, limit: 10, offset: 0 }
        }
        let found = |q: &str, lang: Option<&str>| -> Vec<i64> {
            s.kb_search(&query(1, &terms(q), lang)).unwrap().iter().map(|m| m.id).collect()
        };
        assert_eq!(found("donnees", None), vec![title_hit.id, body_hit.id]);
        assert_eq!(found("export", Some("en")), vec![en.id]);
        assert_eq!(found("export", Some("fr")).len(), 2);
        assert!(s.kb_match_exists(&query(1, &terms("csv"), None)).unwrap());
        assert!(!s.kb_match_exists(&query(2, &terms("csv"), None)).unwrap());
        let two_words = terms("zzz csv");
        let either = KbQuery { mode: TermMode::Any, ..query(1, &two_words, Some("en")) };
        assert_eq!(s.kb_search(&either).unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![en.id]);
        assert!(!s.kb_match_exists(&query(1, &terms("zzz csv"), None)).unwrap(), "all terms: zzz is nowhere");
        let mut hidden = input("Exporter vos données", "Un fichier CSV", "fr");
        hidden.published = false;
        s.update_kb_article("app1", 1, title_hit.id, &hidden, 4).unwrap();
        assert_eq!(found("\"donnees\"", None), vec![body_hit.id], "unpublished articles are not searched");
    }

    #[test]
    fn seed_articles_load_once_with_their_ids() {
        let (_dir, s) = store();
        let seed = |id| SeedArticle { id: Some(id), kb_id: 1, input: input("T", "B", "en") };
        assert_eq!(s.seed_kb_articles("app1", &[seed(7), seed(9)], 1).unwrap(), 2);
        assert_eq!(ids(&s.kb_articles("app1", 1).unwrap()), vec![7, 9]);
        assert_eq!(s.seed_kb_articles("app1", &[seed(11)], 1).unwrap(), 0, "the app already has articles");
        s.delete_kb_article("app1", 1, 7).unwrap();
        s.delete_kb_article("app1", 1, 9).unwrap();
        assert_eq!(s.seed_kb_articles("app1", &[seed(11)], 1).unwrap(), 0, "deletions are kept");
        let next = s.create_kb_article("app1", 1, &input("T", "B", "en"), 2).unwrap();
        assert!(next.id > 9, "ids are never reused: {}", next.id);
    }
}
