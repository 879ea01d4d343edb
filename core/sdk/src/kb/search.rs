//! Ranked offline search over the local FTS5 index.
//!
//! Ranking is FTS5's bm25 with column weights: a title match counts [`TITLE_WEIGHT`] times a body match, so an article
//! whose title has the words comes before one that only mentions them in its body. The weights live in the FTS
//! table's `rank` configuration (migration `0003`). Scores are reported as `-bm25`: higher is better, comparable only
//! within one answer.
//!
//! One ranked scan per FTS expression. `ORDER BY rank` is handed to FTS5 itself (it sorts the matches by bm25
//! internally) and the scan reads each match's base and language (from a small index on `kb_articles`, which stays
//! in the page cache) only until the page is full. The language preference is applied during that scan, not by a second query: matches in the preferred
//! language fill the page, and the first matches in other languages are kept aside as the fallback page, used only
//! when the preferred language has no match at all. The displayed columns (title, url, body) are then read for the
//! returned rows only, and their snippets computed in Rust (`chatflow_protocol::kb_snippet`, shared with the server).
//!
//! The expressions, in order, until one matches:
//!
//! 1. every word (AND, last word as prefix);
//! 2. any word (OR) — only for queries of two words or more;
//!
//! each in the preferred language first, then in any language. "Has a hit" means the attempt matches at least one
//! article, not that the requested page is non-empty: paging past the end of the preferred-language results gives an
//! empty page, never results from a fallback.

use chatflow_protocol::kb::{SearchHit, SearchResults};
use rusqlite::{params, Connection, OptionalExtension};

use super::index::primary_language;
use super::query::FtsQuery;
use crate::error::Result;
use chatflow_protocol::kb_snippet::{snippet, Matcher, SNIPPET_WORDS};

/// Weight of a title match relative to a body match (weight 1) in bm25 (see the migration's `rank` configuration).
pub const TITLE_WEIGHT: f64 = 10.0;
/// Largest page of hits one search returns.
pub const MAX_SEARCH_LIMIT: u32 = 100;

// FTS5 is the outer loop and consumes `ORDER BY rank` (no temp b-tree: see the test); each match then costs one
// seek in the `kb_articles_scope` index (id, kb_id, lang) for its base and language. The index is named: for
// `a.id = f.rowid` SQLite would seek the table by rowid, reading article rows and their bodies (2–3 per page, spread
// over the file, so mostly not in the page cache); the index is ≈ 0.2 MB for 10,000 articles and stays cached. No
// LIMIT: the caller stops stepping once its page is full.
//
// Written so that the statement is never re-prepared (see `the_statements_are_never_re_prepared`): a bound parameter
// compared to an indexed column lets SQLite re-plan the statement at every new binding, which cost more than the
// search itself. The store's connections forbid that (stable plans, see `Store::open`); `+a.kb_id` also keeps the
// bound base out of the planner's choices.
#[doc(hidden)] // the benchmark's breakdown runs it
pub const SCAN_SQL: &str = "SELECT f.rowid, a.lang, f.rank
     FROM kb_fts f JOIN kb_articles a INDEXED BY kb_articles_scope ON a.id = f.rowid
     WHERE kb_fts MATCH ?1 AND +a.kb_id = ?2 ORDER BY f.rank";

/// What a hit shows, read for the returned rows only.
#[doc(hidden)]
pub const HIT_SQL: &str = "SELECT title, url, body FROM kb_articles WHERE id = ?1";

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
    let language = language.map(primary_language).filter(|l| !l.is_empty());
    let mut expressions = vec![query.all_terms()];
    if query.len() > 1 {
        expressions.push(query.any_term());
    }
    for expression in &expressions {
        if let Some(page) = ranked_page(conn, kb_id, expression, language.as_deref(), limit, offset)? {
            let matcher = Matcher::new(&query);
            let mut hits = Vec::with_capacity(page.len());
            for (id, rank) in page {
                // None: removed by a sync that committed since the scan (its read ended with it).
                hits.extend(hit(conn, id, rank, &matcher)?);
            }
            return Ok(SearchResults { hits });
        }
    }
    Ok(empty)
}

/// The page of `(article id, rank)` for one expression: from the preferred language when it has a match, else from
/// all languages. `None` when nothing matches the expression in this base.
fn ranked_page(
    conn: &Connection,
    kb_id: i64,
    expression: &str,
    language: Option<&str>,
    limit: u32,
    offset: u32,
) -> Result<Option<Vec<(i64, f64)>>> {
    let (limit, offset) = (limit as usize, offset as usize);
    let mut stmt = conn.prepare_cached(SCAN_SQL)?;
    let mut rows = stmt.query(params![expression, kb_id])?;
    let mut preferred_seen = 0usize;
    let mut page = Vec::with_capacity(limit);
    // The first `offset + limit` matches, in case no match is in the preferred language (then all are in others).
    let mut any_language = Vec::new();
    let mut matches = 0usize;
    while let Some(row) = rows.next()? {
        matches += 1;
        let (id, rank): (i64, f64) = (row.get(0)?, row.get(2)?);
        let lang = row.get_ref(1)?;
        let preferred = language.is_none_or(|l| lang.as_str().is_ok_and(|lang| lang == l));
        if preferred {
            preferred_seen += 1;
            if preferred_seen > offset {
                page.push((id, rank));
                if page.len() == limit {
                    break;
                }
            }
        } else if preferred_seen == 0 && any_language.len() < offset + limit {
            any_language.push((id, rank));
        }
    }
    Ok(match (preferred_seen, matches) {
        (0, 0) => None,
        (0, _) => Some(any_language.into_iter().skip(offset).collect()),
        _ => Some(page),
    })
}

fn hit(conn: &Connection, article_id: i64, rank: f64, matcher: &Matcher) -> Result<Option<SearchHit>> {
    let mut stmt = conn.prepare_cached(HIT_SQL)?;
    Ok(stmt
        .query_row([article_id], |r| {
            let (snippet, highlights) = snippet(r.get_ref(2)?.as_bytes()?, matcher, SNIPPET_WORDS);
            Ok(SearchHit { article_id, title: r.get(0)?, snippet, highlights, url: r.get(1)?, score: -rank })
        })
        .optional()?)
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
        let runs = [("\"a\"*", 1, 10u32), ("\"b\" \"cd\"*", 2, 5), ("\"x\"", 3, 20)];
        store
            .read(|c| {
                for (expr, id, limit) in runs {
                    c.prepare_cached(SCAN_SQL)?.query(params![expr, 1])?.next()?;
                    c.prepare_cached(HIT_SQL)?.query(params![id])?.next()?;
                    c.prepare_cached(FLOOR_SQL)?.query(params![expr, limit])?.next()?;
                }
                for sql in [SCAN_SQL, HIT_SQL, FLOOR_SQL] {
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
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {SCAN_SQL}"))?;
                let rows = stmt.query_map(params!["\"x\"", 1], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap();
        assert!(plan.iter().all(|step| !step.contains("TEMP B-TREE")), "{plan:?}");
        assert!(plan[0].contains("VIRTUAL TABLE"), "FTS5 is the outer loop: {plan:?}");
        // The filter reads the small index (migration 0004), never the article rows and their bodies.
        assert!(plan[1].contains("USING COVERING INDEX kb_articles_scope"), "{plan:?}");
    }
}
