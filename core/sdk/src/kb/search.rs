//! Ranked offline search over the local FTS5 index.
//!
//! Ranking is FTS5's bm25 with column weights: a title match counts [`TITLE_WEIGHT`] times a body match, so an article
//! whose title has the words comes before one that only mentions them in its body. The weights live in the FTS
//! table's `rank` configuration (migration `0003`). Scores are reported as `-bm25`: higher is better, comparable only
//! within one answer.
//!
//! One SQL statement per attempt. `ORDER BY rank` is handed to FTS5 itself (it sorts the matches by bm25 internally),
//! so the base and language filters (a rowid seek in `kb_articles`) run only until the page is full, not on every
//! match, and bodies are read only for the rows returned.
//! Snippets are computed in Rust from the returned bodies (`chatflow_protocol::kb_snippet`, shared with the server). The attempts, in order, until one has
//! a hit:
//!
//! 1. every word (AND, last word as prefix) in the preferred language;
//! 2. every word in any language;
//! 3. any word (OR) in the preferred language — only for queries of two words or more;
//! 4. any word in any language.
//!
//! "Has a hit" means the attempt matches at least one article, not that the requested page is non-empty: paging past
//! the end of the preferred-language results gives an empty page, never results from a fallback.

use chatflow_protocol::kb::{SearchHit, SearchResults};
use rusqlite::{params, Connection};

use super::index::primary_language;
use super::query::FtsQuery;
use crate::error::Result;
use chatflow_protocol::kb_snippet::{snippet, Matcher, SNIPPET_WORDS};

/// Weight of a title match relative to a body match (weight 1) in bm25 (see the migration's `rank` configuration).
pub const TITLE_WEIGHT: f64 = 10.0;
/// Largest page of hits one search returns.
pub const MAX_SEARCH_LIMIT: u32 = 100;

// FTS5 is the outer loop and consumes `ORDER BY rank` (no temp b-tree: see the test); each match then costs one
// rowid seek in kb_articles, which reads the small columns first and the body only for the rows returned.
//
// Written so that the statement is never re-prepared (see `the_statements_are_never_re_prepared`): a bound parameter
// compared to an indexed column, or a bare `LIMIT ?` handed to FTS5, lets SQLite re-plan the statement at every new
// binding, which cost more than the search itself. The store's connections now forbid that (stable plans, see
// `Store::open`); the statement also avoids it on its own: `+a.kb_id` keeps the filters off the index (the rowid seek
// is the plan anyway) and `(?4 + 0)` keeps the limit an expression.
#[doc(hidden)] // the benchmark's breakdown runs it
pub const SEARCH_SQL: &str = "SELECT a.id, a.title, a.url, a.body, f.rank
     FROM kb_fts f JOIN kb_articles a ON a.id = f.rowid
     WHERE kb_fts MATCH ?1 AND +a.kb_id = ?2 AND (?3 IS NULL OR +a.lang = ?3)
     ORDER BY f.rank LIMIT (?4 + 0) OFFSET (?5 + 0)";

const EXISTS_SQL: &str = "SELECT EXISTS (SELECT 1 FROM kb_fts f JOIN kb_articles a ON a.id = f.rowid
     WHERE kb_fts MATCH ?1 AND +a.kb_id = ?2 AND (?3 IS NULL OR +a.lang = ?3))";

/// Searches knowledge base `kb_id` in the local index. `language` is a BCP 47 tag or `None` for all languages;
/// `limit` is capped at [`MAX_SEARCH_LIMIT`]. Empty or word-less text gives an empty answer.
pub(crate) fn search(
    conn: &Connection,
    kb_id: i64,
    text: &str,
    language: Option<&str>,
    limit: u32,
    offset: u32,
) -> Result<SearchResults> {
    let empty = SearchResults { hits: Vec::new() };
    let Some(query) = FtsQuery::parse(text) else { return Ok(empty) };
    let limit = limit.min(MAX_SEARCH_LIMIT);
    if limit == 0 {
        return Ok(empty);
    }
    let matcher = Matcher::new(&query);
    let language = language.map(primary_language).filter(|l| !l.is_empty());
    let mut expressions = vec![query.all_terms()];
    if query.len() > 1 {
        expressions.push(query.any_term());
    }
    for expression in &expressions {
        let languages = match &language {
            Some(l) => vec![Some(l.as_str()), None],
            None => vec![None],
        };
        for lang in languages {
            let hits = run(conn, kb_id, expression, &matcher, lang, limit, offset)?;
            if !hits.is_empty() || (offset > 0 && exists(conn, kb_id, expression, lang)?) {
                return Ok(SearchResults { hits });
            }
        }
    }
    Ok(empty)
}

fn run(
    conn: &Connection,
    kb_id: i64,
    expression: &str,
    matcher: &Matcher,
    lang: Option<&str>,
    limit: u32,
    offset: u32,
) -> Result<Vec<SearchHit>> {
    let mut stmt = conn.prepare_cached(SEARCH_SQL)?;
    let rows = stmt.query_map(params![expression, kb_id, lang, limit, offset], |r| {
        let (snippet, highlights) = snippet(r.get_ref(3)?.as_bytes()?, matcher, SNIPPET_WORDS);
        Ok(SearchHit {
            article_id: r.get(0)?,
            title: r.get(1)?,
            snippet,
            highlights,
            url: r.get(2)?,
            score: -r.get::<_, f64>(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn exists(conn: &Connection, kb_id: i64, expression: &str, lang: Option<&str>) -> Result<bool> {
    Ok(conn.prepare_cached(EXISTS_SQL)?.query_row(params![expression, kb_id, lang], |r| r.get(0))?)
}

/// The raw FTS5 query the benchmark compares against (same table, same expression, bm25 order, no filter, no snippet).
#[doc(hidden)]
pub const FLOOR_SQL: &str = "SELECT rowid, rank FROM kb_fts WHERE kb_fts MATCH ?1 ORDER BY rank LIMIT (?2 + 0)";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use rusqlite::StatementStatus;

    #[test]
    fn the_stored_rank_function_uses_the_title_weight() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rank: String =
            store.read(|c| Ok(c.query_row("SELECT v FROM kb_fts_config WHERE k = 'rank'", [], |r| r.get(0))?)).unwrap();
        assert_eq!(rank, format!("bm25({TITLE_WEIGHT:.1}, 1.0)"));
    }

    /// A statement SQLite re-plans at every binding costs more than the search: run each one with several bindings
    /// through the statement cache (as search does) and check it was prepared once.
    #[test]
    fn the_statements_are_never_re_prepared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let runs = [("\"a\"*", Some("fr"), 10u32, 0u32), ("\"b\" \"cd\"*", Some("en"), 5, 5), ("\"x\"", None, 20, 0)];
        store
            .read(|c| {
                for (expr, lang, limit, offset) in runs {
                    c.prepare_cached(SEARCH_SQL)?.query(params![expr, 1, lang, limit, offset])?.next()?;
                    c.prepare_cached(EXISTS_SQL)?.query(params![expr, 1, lang])?.next()?;
                    c.prepare_cached(FLOOR_SQL)?.query(params![expr, limit])?.next()?;
                }
                for sql in [SEARCH_SQL, EXISTS_SQL, FLOOR_SQL] {
                    let stmt = c.prepare_cached(sql)?;
                    assert_eq!(stmt.get_status(StatementStatus::Run), 3, "{sql}");
                    assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
                }
                Ok(())
            })
            .unwrap();
    }

    /// The ranked scan must stay inside FTS5: a temp b-tree would compute every match's row before sorting.
    #[test]
    fn fts5_consumes_the_rank_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let plan: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {SEARCH_SQL}"))?;
                let rows = stmt.query_map(params!["\"x\"", 1, "fr", 10, 0], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap();
        assert!(plan.iter().all(|step| !step.contains("TEMP B-TREE")), "{plan:?}");
        assert!(plan[0].contains("VIRTUAL TABLE"), "FTS5 is the outer loop: {plan:?}");
    }
}
