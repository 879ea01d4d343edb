//! Knowledge-base articles in PostgreSQL: CRUD with a global change counter, tombstones for deletions, the change
//! feed of a base, and full-text search on the generated `search` tsvector (title weight A, body weight B, the
//! accent- and case-folding `chatflow_search` configuration).

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};
use chatflow_protocol::kb_query::FtsQuery;
use chatflow_protocol::Article;

use super::PostgresStore;
use crate::store::kb::{primary_language, ArticleInput, ChangesPage, KbMatch, KbQuery, KbStore, SeedArticle, TermMode};
use crate::store::{StoreError, StoreResult};

const COLS: &str = "id, kb_id, title, body, language, tags, published, url, updated_at";

fn article_from_row(r: &Row) -> StoreResult<Article> {
    let id: i64 = r.get(0);
    let tags: String = r.get(5);
    let tags = serde_json::from_str(&tags).map_err(|e| StoreError::Corrupt(format!("tags of article {id}: {e}")))?;
    Ok(Article {
        id,
        kb_id: r.get(1),
        title: r.get(2),
        body: r.get(3),
        language: r.get(4),
        tags,
        published: r.get(6),
        url: r.get(7),
        updated_at: r.get(8),
    })
}

/// The article `id` of the base; `for_update` locks its row until the end of the transaction.
fn article_in(
    c: &mut impl GenericClient,
    app_id: &str,
    kb_id: i64,
    id: i64,
    for_update: bool,
) -> StoreResult<Option<Article>> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    c.query_opt(
        &format!("SELECT {COLS} FROM kb_articles WHERE id = $1 AND app_id = $2 AND kb_id = $3{lock}"),
        &[&id, &app_id, &kb_id],
    )?
    .map(|r| article_from_row(&r))
    .transpose()
}

/// Takes the next value of the change counter. The row stays locked until the commit, so writers take values in
/// commit order and a reader never sees a value before the changes below it.
fn next_change(c: &mut impl GenericClient) -> StoreResult<i64> {
    Ok(c.query_one("UPDATE kb_counter SET value = value + 1 WHERE id = 1 RETURNING value", &[])?.get(0))
}

fn tags_json(input: &ArticleInput) -> StoreResult<String> {
    serde_json::to_string(&input.tags).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn insert(
    c: &mut impl GenericClient,
    app_id: &str,
    kb_id: i64,
    id: Option<i64>,
    input: &ArticleInput,
    now: i64,
) -> StoreResult<i64> {
    if let Some(id) = id {
        let taken: bool = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM kb_articles WHERE id = $1)
                     OR EXISTS (SELECT 1 FROM kb_tombstones WHERE article_id = $1)",
                &[&id],
            )?
            .get(0);
        if taken {
            return Err(StoreError::Invalid(format!("article id {id} is already used")));
        }
    }
    let change = next_change(c)?;
    let (lang, tags) = (primary_language(&input.language), tags_json(input)?);
    let fields: [&(dyn ToSql + Sync); 11] = [
        &app_id,
        &kb_id,
        &input.title,
        &input.body,
        &input.language,
        &lang,
        &tags,
        &input.published,
        &input.url,
        &now,
        &change,
    ];
    const INTO: &str = "app_id, kb_id, title, body, language, lang, tags, published, url, updated_at, change_seq";
    let row = match id {
        Some(id) => {
            let params: Vec<&(dyn ToSql + Sync)> = std::iter::once(&id as &(dyn ToSql + Sync)).chain(fields).collect();
            let row = c.query_one(
                &format!(
                    "INSERT INTO kb_articles (id, {INTO}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     RETURNING id"
                ),
                &params,
            )?;
            move_article_identity(c)?;
            row
        }
        None => c.query_one(
            &format!(
                "INSERT INTO kb_articles ({INTO}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"
            ),
            &fields,
        )?,
    };
    Ok(row.get(0))
}

/// Moves the article identity past the highest id ever used (seeds give fixed ids), never backwards: like SQLite's
/// AUTOINCREMENT, an id is never handed out twice, not even a deleted article's, and later articles of the same seed
/// never collide with a fixed id.
fn move_article_identity(c: &mut impl GenericClient) -> StoreResult<()> {
    c.execute(
        "SELECT setval(s.seq, GREATEST((SELECT MAX(id) FROM kb_articles), (SELECT MAX(article_id) FROM kb_tombstones),
             COALESCE(pg_sequence_last_value(s.seq), 0), 1))
         FROM (SELECT pg_get_serial_sequence('kb_articles', 'id')::regclass AS seq) s",
        &[],
    )?;
    Ok(())
}

/// The `to_tsquery` text of each token: quoted as one lexeme (never tsquery syntax from the visitor), `:*` on a
/// prefix. `to_tsquery('chatflow_search', …)` then folds case and accents as the indexed text was.
fn term_queries(terms: &FtsQuery) -> Vec<String> {
    terms
        .terms()
        .map(|(text, prefix)| {
            let mut out = String::with_capacity(text.len() + 4);
            out.push('\'');
            // Tokens hold only letters, digits and combining marks; escape anyway so that the text stays one lexeme.
            for c in text.chars() {
                if c == '\'' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('\'');
            if prefix {
                out.push_str(":*");
            }
            out
        })
        .collect()
}

/// The whole query: the terms joined with `&` (every term) or `|` (any term).
fn matching_query(terms: &[String], mode: TermMode) -> String {
    terms.join(match mode {
        TermMode::All => " & ",
        TermMode::Any => " | ",
    })
}

/// Ranked search, as SQLite's bm25(10, 1) ranks: the sum over the terms of the term's inverse document frequency
/// (FTS5's formula, over the published articles of the base) times its weighted frequency in the article (`ts_rank`
/// of the term alone, a title occurrence worth 10 body ones). Ties go to the article of fewer words (bm25 favours
/// it), then to the older one. The word count is what `ts_rank`'s normalization 2 divides by (every position of every
/// lexeme), read back as the ratio of the two ranks: counting positions in SQL would unnest each article.
/// `$1`: the matching query, `$2`: the terms' queries, `$8`: any term (present in every match).
const SEARCH_SQL: &str = "
    WITH t AS MATERIALIZED (
        SELECT q.tq, GREATEST(ln((n.total - h.hits + 0.5) / (h.hits + 0.5)), 1e-6)::float8 AS idf
        FROM (SELECT to_tsquery('chatflow_search', term) AS tq FROM unnest($2::text[]) AS term) q
        CROSS JOIN (SELECT COUNT(*) AS total FROM kb_articles WHERE published AND app_id = $3 AND kb_id = $4) n
        CROSS JOIN LATERAL (
            SELECT COUNT(*) AS hits FROM kb_articles
            WHERE published AND app_id = $3 AND kb_id = $4 AND search @@ q.tq
        ) h
    )
    SELECT id, title, url, body, rank FROM (
        SELECT a.id, a.title, a.url, a.body,
            -(SELECT SUM(t.idf * ts_rank('{0.01, 0.02, 0.1, 1.0}'::float4[], a.search, t.tq)) FROM t)::float8 AS rank,
            COALESCE(round(ts_rank(a.search, any_term)::float8 / NULLIF(ts_rank(a.search, any_term, 2), 0)), 0)
                AS words
        FROM kb_articles a, to_tsquery('chatflow_search', $8) AS any_term
        WHERE a.published AND a.app_id = $3 AND a.kb_id = $4 AND ($5::text IS NULL OR a.lang = $5)
            AND a.search @@ to_tsquery('chatflow_search', $1)
    ) m
    ORDER BY rank, words, id LIMIT $6 OFFSET $7";

impl KbStore for PostgresStore {
    fn kb_articles(&self, app_id: &str, kb_id: i64) -> StoreResult<Vec<Article>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            &format!("SELECT {COLS} FROM kb_articles WHERE app_id = $1 AND kb_id = $2 ORDER BY id"),
            &[&app_id, &kb_id],
        )?;
        rows.iter().map(article_from_row).collect()
    }

    fn kb_article(&self, app_id: &str, kb_id: i64, id: i64) -> StoreResult<Option<Article>> {
        article_in(&mut *self.pool.get()?, app_id, kb_id, id, false)
    }

    fn create_kb_article(&self, app_id: &str, kb_id: i64, input: &ArticleInput, now: i64) -> StoreResult<Article> {
        self.write(|tx| {
            let id = insert(tx, app_id, kb_id, None, input, now)?;
            article_in(tx, app_id, kb_id, id, false)?.ok_or_else(|| StoreError::Corrupt("article vanished".into()))
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
            // Locked: a concurrent delete waits, and this update never takes a change value for nothing.
            if article_in(tx, app_id, kb_id, id, true)?.is_none() {
                return Ok(None);
            }
            let change = next_change(tx)?;
            tx.execute(
                "UPDATE kb_articles SET title = $2, body = $3, language = $4, lang = $5, tags = $6, published = $7,
                     url = $8, updated_at = $9, change_seq = $10
                 WHERE id = $1",
                &[
                    &id,
                    &input.title,
                    &input.body,
                    &input.language,
                    &primary_language(&input.language),
                    &tags_json(input)?,
                    &input.published,
                    &input.url,
                    &now,
                    &change,
                ],
            )?;
            article_in(tx, app_id, kb_id, id, false)
        })
    }

    fn delete_kb_article(&self, app_id: &str, kb_id: i64, id: i64) -> StoreResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM kb_articles WHERE id = $1 AND app_id = $2 AND kb_id = $3",
                &[&id, &app_id, &kb_id],
            )?;
            if n == 0 {
                return Ok(false);
            }
            let change = next_change(tx)?;
            tx.execute(
                "INSERT INTO kb_tombstones (article_id, app_id, kb_id, change_seq) VALUES ($1, $2, $3, $4)",
                &[&id, &app_id, &kb_id, &change],
            )?;
            Ok(true)
        })
    }

    fn kb_changes(&self, app_id: &str, kb_id: i64, since: Option<i64>, limit: u32) -> StoreResult<ChangesPage> {
        // One snapshot: the articles, tombstones and counter agree.
        self.read(|tx| {
            let after = since.unwrap_or(0);
            let fetch = i64::from(limit) + 1;
            // (change, article or None for a removal, id). Each change value is unique, so the merge is a total order.
            let mut items: Vec<(i64, Option<Article>, i64)> = Vec::new();
            let first_sync = if since.is_none() { "AND published" } else { "" };
            let rows = tx.query(
                &format!(
                    "SELECT {COLS}, change_seq FROM kb_articles WHERE app_id = $1 AND kb_id = $2 AND change_seq > $3 \
                     {first_sync} ORDER BY change_seq LIMIT $4"
                ),
                &[&app_id, &kb_id, &after, &fetch],
            )?;
            for r in &rows {
                let article = article_from_row(r)?;
                let id = article.id;
                items.push((r.get(9), article.published.then_some(article), id));
            }
            if since.is_some() {
                let rows = tx.query(
                    "SELECT change_seq, article_id FROM kb_tombstones WHERE app_id = $1 AND kb_id = $2 AND change_seq > $3
                     ORDER BY change_seq LIMIT $4",
                    &[&app_id, &kb_id, &after, &fetch],
                )?;
                items.extend(rows.iter().map(|r| (r.get(0), None, r.get(1))));
            }
            let counter: i64 = tx.query_one("SELECT value FROM kb_counter WHERE id = 1", &[])?.get(0);
            let total_published: i64 = tx
                .query_one("SELECT COUNT(*) FROM kb_articles WHERE app_id = $1 AND kb_id = $2 AND published", &[
                    &app_id, &kb_id,
                ])?
                .get(0);
            Ok(ChangesPage::assemble(items, limit, after, counter, total_published))
        })
    }

    fn kb_search(&self, q: &KbQuery<'_>) -> StoreResult<Vec<KbMatch>> {
        let terms = term_queries(q.terms);
        let matching = matching_query(&terms, q.mode);
        let (limit, offset) = (i64::from(q.limit), i64::from(q.offset));
        let mut c = self.pool.get()?;
        let any_term = matching_query(&terms, TermMode::Any);
        let rows =
            c.query(SEARCH_SQL, &[&matching, &terms, &q.app_id, &q.kb_id, &q.language, &limit, &offset, &any_term])?;
        Ok(rows
            .iter()
            .map(|r| KbMatch { id: r.get(0), title: r.get(1), url: r.get(2), body: r.get(3), rank: r.get(4) })
            .collect())
    }

    fn kb_match_exists(&self, q: &KbQuery<'_>) -> StoreResult<bool> {
        let matching = matching_query(&term_queries(q.terms), q.mode);
        let mut c = self.pool.get()?;
        Ok(c.query_one(
            "SELECT EXISTS (SELECT 1 FROM kb_articles WHERE published AND app_id = $2 AND kb_id = $3
                 AND ($4::text IS NULL OR lang = $4) AND search @@ to_tsquery('chatflow_search', $1))",
            &[&matching, &q.app_id, &q.kb_id, &q.language],
        )?
        .get(0))
    }

    fn seed_kb_articles(&self, app_id: &str, articles: &[SeedArticle], now: i64) -> StoreResult<usize> {
        if articles.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            // Every article write takes the counter row: locking it first makes "never had any" hold until the commit
            // (two nodes starting at once seed once).
            tx.execute("SELECT value FROM kb_counter WHERE id = 1 FOR UPDATE", &[])?;
            let touched: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM kb_articles WHERE app_id = $1)
                         OR EXISTS (SELECT 1 FROM kb_tombstones WHERE app_id = $1)",
                    &[&app_id],
                )?
                .get(0);
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
    // On the backend the run asks for (`CHATFLOW_TEST_POSTGRES`), like the SQLite file's own tests.
    use crate::store::kb::{ArticleInput, SeedArticle};
    use crate::store::test_backends::store;
    use crate::store::{AppRecord, AppSeed, StoreError};

    fn input(title: &str) -> ArticleInput {
        ArticleInput {
            title: title.into(),
            body: "Body".into(),
            language: "fr-CA".into(),
            tags: vec!["t".into()],
            published: true,
            url: "https://help.example.com/a".into(),
        }
    }

    #[test]
    fn seeded_ids_move_the_identity_and_ids_are_never_reused() {
        let s = store();
        let seed = |id| SeedArticle { id, kb_id: 1, input: input("Seeded") };
        assert_eq!(s.seed_kb_articles("app1", &[seed(Some(7)), seed(None), seed(Some(9)), seed(None)], 1).unwrap(), 4);
        let ids: Vec<i64> = s.kb_articles("app1", 1).unwrap().iter().map(|a| a.id).collect();
        assert_eq!(ids, vec![7, 8, 9, 10]);
        let created = s.create_kb_article("app1", 1, &input("Created"), 2).unwrap();
        assert_eq!(created.id, 11);
        assert!(s.delete_kb_article("app1", 1, created.id).unwrap());
        assert_eq!(s.create_kb_article("app1", 1, &input("Next"), 3).unwrap().id, 12);
        // A fixed id a deleted article had is refused, and the refused seed leaves nothing.
        let app2 = AppSeed {
            app: AppRecord { id: "app2".into(), name: "Two".into(), identity_secret: "s".into() },
            admin_token_hash: "app2-admin".into(),
            agents: vec![],
            team_members: vec![],
            chatflows: vec![],
        };
        assert!(s.apply_app_seed(&app2, 1).unwrap());
        let err = s.seed_kb_articles("app2", &[seed(Some(20)), seed(Some(11))], 4).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert_eq!(s.kb_articles("app2", 1).unwrap(), vec![]);
    }

    #[test]
    fn concurrent_writers_take_distinct_changes_that_a_paged_sync_sees_in_order() {
        let s = store();
        let shared = s.shared();
        std::thread::scope(|scope| {
            for w in 0..4 {
                let shared = &shared;
                scope.spawn(move || {
                    for i in 0..5 {
                        shared.create_kb_article("app1", 1, &input(&format!("w{w} a{i}")), 1).unwrap();
                    }
                });
            }
        });
        let (mut since, mut seen) = (None, Vec::new());
        loop {
            let page = s.kb_changes("app1", 1, since, 3).unwrap();
            seen.extend(page.upserted.iter().map(|a| a.id));
            since = Some(page.last_change);
            if !page.has_more {
                break;
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=20).collect::<Vec<i64>>());
    }
}
