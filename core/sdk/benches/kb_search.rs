//! Knowledge-base benchmark: offline search latency against the raw FTS5 floor, index size, full-sync time.
//!
//! `cargo bench -p chatflow-core --bench kb_search` (env `KB_BENCH_ARTICLES`, default 10000; `KB_BENCH_ROUNDS`,
//! default 5; `KB_BENCH_KEEP_DB=path` keeps a copy of the synced database for inspection).
//!
//! - Corpus: generated, deterministic, mixed French/English help-center articles (see `benches/support/corpus.rs`).
//! - Sync: through `KnowledgeBase::sync` from an in-process source that JSON-encodes and decodes every page (what a
//!   network sync pays, minus the network), default page size, fresh store, the SDK's commits (WAL, `synchronous = NORMAL`).
//! - Search: `KnowledgeBase::search_local` (query parsing, language filter and fallbacks, bm25 with title weight,
//!   snippet + highlight ranges, limit 10) against two floors: a raw `MATCH` of the same terms (the same FTS5
//!   expressions, tried in the same order: every word, then any word when no article has every word) on the same
//!   table, `ORDER BY rank LIMIT 10`, returning rowid and rank only; and the same `MATCH`es returning the article
//!   text (title, body: the table's columns). Same reader connection, same run; for every query
//!   the three run in an order that rotates (none always finds the pages another just read). A last breakdown line
//!   runs each search twice and times the second: the difference is reading the hits' text from the file.
//! - Size: database file growth after a checkpoint, and what each index adds (a compacted copy without it).

#[path = "support/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};

use chatflow_core::kb::query::FtsQuery;
use chatflow_core::kb::search::{FLOOR_SQL, SCAN_SQL};
use chatflow_core::kb::{KbSource, KnowledgeBase, MemoryKbSource};
use chatflow_core::protocol::kb::{ArticleChanges, SearchResults};
use chatflow_core::store::Store;
use chatflow_core::Result;

/// The second floor: the same raw MATCH returning the table's columns, the article text (`SELECT *` with rowid and
/// rank), as an app querying FTS5 directly to show results would. FTS5 reads them from its content table,
/// kb_articles.
const FLOOR_WITH_TEXT_SQL: &str =
    "SELECT rowid, title, body, rank FROM kb_fts WHERE kb_fts MATCH ?1 ORDER BY rank LIMIT (10 + 0)";

const BREAKDOWN_FILTERS_SQL: &str =
    "SELECT a.id, a.title, a.url, f.rank FROM kb_fts f JOIN kb_articles a ON a.id = f.rowid
     WHERE kb_fts MATCH ?1 AND +a.kb_id = ?2 AND +a.lang = ?3 ORDER BY f.rank LIMIT 10";
const BREAKDOWN_SNIPPET_SQL: &str = "SELECT a.id, snippet(kb_fts, 1, char(2), char(3), '…', 24), a.url, f.rank
     FROM kb_fts f JOIN kb_articles a ON a.id = f.rowid
     WHERE kb_fts MATCH ?1 AND +a.kb_id = ?2 AND +a.lang = ?3 ORDER BY f.rank LIMIT 10";

/// An in-process source that pays the JSON encode/decode of every page, as a network sync would.
struct JsonSource(MemoryKbSource);

impl KbSource for JsonSource {
    async fn changes(&self, kb_id: i64, since: Option<&str>, limit: u32) -> Result<ArticleChanges> {
        let page = self.0.changes(kb_id, since, limit).await?;
        let bytes = serde_json::to_vec(&page)?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn search(
        &self,
        kb_id: i64,
        query: &str,
        language: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults> {
        self.0.search(kb_id, query, language, limit, offset).await
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

struct Stats {
    p50: Duration,
    p95: Duration,
    mean: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    Stats { p50: percentile(&samples, 0.5), p95: percentile(&samples, 0.95), mean }
}

fn drop_conn(conn: rusqlite::Connection) {
    conn.close().map_err(|(_, e)| e).expect("close the copy");
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn main() {
    let n = env_usize("KB_BENCH_ARTICLES", 10_000);
    let rounds = env_usize("KB_BENCH_ROUNDS", 5);
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let articles = corpus::articles(n, 1, 2024);
    let text_bytes: usize = articles.iter().map(|a| a.title.len() + a.body.len()).sum();
    let words: usize = articles.iter().map(|a| a.body.split_whitespace().count()).sum();
    println!(
        "corpus: {n} articles ({} fr), {:.1} MB of text, {} words per body on average",
        articles.iter().filter(|a| a.language == "fr").count(),
        text_bytes as f64 / 1e6,
        words / n.max(1)
    );

    // --- Full sync, three fresh stores; the last one is kept for the search benchmark.
    let source = JsonSource(MemoryKbSource::with_articles(articles));
    let mut sync_times = Vec::new();
    let mut kept = None;
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = std::sync::Arc::new(Store::open(dir.path()).expect("store"));
        let empty_size = file_len(store.path());
        let kb = KnowledgeBase::new(store.clone());
        let started = Instant::now();
        let report = runtime.block_on(kb.sync(&source, 1, None)).expect("sync");
        sync_times.push(started.elapsed());
        assert_eq!(report.articles, n as i32);
        kept = Some((dir, store, kb, empty_size, report.pages));
    }
    let (dir, store, kb, empty_size, pages) = kept.expect("three syncs ran");
    sync_times.sort();
    println!(
        "full sync of {n} articles ({pages} pages, JSON decoded, one commit per page): median {:.0} ms (runs: {:?} ms)",
        sync_times[1].as_secs_f64() * 1e3,
        sync_times.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );

    // --- Size on disk.
    {
        let conn = rusqlite::Connection::open(store.path()).expect("open for checkpoint");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").expect("checkpoint");
        if let Ok(copy) = std::env::var("KB_BENCH_KEEP_DB") {
            std::fs::copy(store.path(), &copy).expect("copy of the database");
            println!("database copied to {copy}");
        }
        let per_k = |bytes: u64| bytes as f64 / (n as f64 / 1000.0) / 1e6;
        let total = file_len(store.path()) - empty_size;
        // What each index adds: the compacted file minus a compacted copy without that index. (The mobile SQLite
        // build leaves out the `dbstat` table: docs/decisions.md #13.)
        let compacted = |without: &str| -> u64 {
            let copy = dir.path().join("size-probe.db");
            let _ = std::fs::remove_file(&copy);
            conn.execute("VACUUM INTO ?1", [copy.to_str().expect("utf-8 path")]).expect("compacted copy");
            let probe = rusqlite::Connection::open(&copy).expect("open the copy");
            probe.execute_batch(&format!("{without} VACUUM;")).expect("drop and compact");
            drop_conn(probe);
            file_len(&copy)
        };
        let whole = compacted("");
        let parts = [
            ("fts index", whole - compacted("DROP TABLE kb_fts;")),
            ("search scope index", whole - compacted("DROP INDEX kb_articles_scope;")),
        ];
        println!(
            "size on disk: {:.2} MB per 1,000 articles ({:.1} MB total; raw text {:.2} MB per 1,000)",
            per_k(total),
            total as f64 / 1e6,
            per_k(text_bytes as u64)
        );
        for (part, bytes) in parts {
            println!("  {part:>18}: {:.2} MB per 1,000 articles", per_k(bytes));
        }
    }

    if let Ok(pragmas) = std::env::var("KB_BENCH_READER_PRAGMAS") {
        store.read(|c| Ok(c.execute_batch(&pragmas)?)).expect("reader pragmas");
        println!("reader connection: {pragmas}");
    }
    // --- Search vs floor.
    let queries = corpus::queries(400, 77);
    let mut ours = Vec::new();
    let mut floor = Vec::new();
    let mut ours_fallback = Vec::new();
    let mut floor_fallback = Vec::new();
    let mut hits_total = 0usize;
    // Per query kind (see corpus::queries): (search_kb, floor) samples.
    let mut by_kind: Vec<(Vec<Duration>, Vec<Duration>)> = vec![(Vec::new(), Vec::new()); 10];
    let floor_query = |expr: &str| -> usize {
        store
            .read(|c| {
                let mut stmt = c.prepare_cached(FLOOR_SQL)?;
                let mut rows = stmt.query(rusqlite::params![expr, 10])?;
                let mut count = 0;
                while let Some(row) = rows.next()? {
                    let (_id, _rank): (i64, f64) = (row.get(0)?, row.get(1)?);
                    count += 1;
                }
                Ok(count)
            })
            .expect("floor query")
    };
    let floor_text_query = |expr: &str| -> usize {
        store
            .read(|c| {
                let mut stmt = c.prepare_cached(FLOOR_WITH_TEXT_SQL)?;
                let mut rows = stmt.query(rusqlite::params![expr])?;
                let mut count = 0;
                while let Some(row) = rows.next()? {
                    let (_id, _title, _body, _rank): (i64, &str, &str, f64) = (
                        row.get(0)?,
                        row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
                        row.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                        row.get(3)?,
                    );
                    count += 1;
                }
                Ok(count)
            })
            .expect("floor query with text")
    };
    let mut floor_text = Vec::new();
    let mut floor_text_fallback = Vec::new();
    // Warm-up: page cache and prepared statements.
    for (text, language) in &queries {
        kb.search_local(1, text, Some(language), 10, 0).expect("search");
        floor_query(&FtsQuery::parse(text).expect("corpus queries have words").all_terms());
        floor_text_query(&FtsQuery::parse(text).expect("corpus queries have words").all_terms());
    }
    // Only a few corpus queries have no article with every word. To time the fallback on as many queries, every
    // fourth query runs once more with a word no article has (a typo): search and the floors then fall back to any
    // word. Reported on their own line, outside "all queries".
    let typo_queries: Vec<(String, &str)> =
        queries.iter().step_by(4).map(|(text, language)| (format!("{text} zqxwvk"), *language)).collect();
    let (mut typo_ours, mut typo_floor, mut typo_floor_text) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        for (i, (text, language)) in queries.iter().chain(&typo_queries).enumerate() {
            // The floors try the same expressions as search_kb, in the same order, until one matches: every word,
            // then (two words or more) any word. A query whose AND has no match pays both in the floor too.
            let parsed = FtsQuery::parse(text).expect("corpus queries have words");
            let mut expressions = vec![parsed.all_terms()];
            if parsed.len() > 1 {
                expressions.push(parsed.any_term());
            }
            let time_ours = || {
                let t = Instant::now();
                let r = kb.search_local(1, text, Some(language), 10, 0).expect("search");
                (t.elapsed(), r.hits.len())
            };
            // (time, hits of the last expression tried, hits of the AND expression)
            let time_floor = || {
                let t = Instant::now();
                let mut counts = Vec::with_capacity(expressions.len());
                for expr in &expressions {
                    counts.push(floor_query(expr));
                    if counts[counts.len() - 1] > 0 {
                        break;
                    }
                }
                (t.elapsed(), counts[0])
            };
            let time_floor_text = || {
                let t = Instant::now();
                for expr in &expressions {
                    if floor_text_query(expr) > 0 {
                        break;
                    }
                }
                t.elapsed()
            };
            // Rotate which runs first, second and last so that none always gets the pages another just read.
            let (mut d_ours, mut hits, mut d_floor, mut floor_hits, mut d_floor_text) =
                (Duration::ZERO, 0, Duration::ZERO, 0, Duration::ZERO);
            for step in 0..3 {
                match (step + i + round) % 3 {
                    0 => (d_ours, hits) = time_ours(),
                    1 => (d_floor, floor_hits) = time_floor(),
                    _ => d_floor_text = time_floor_text(),
                }
            }
            if i >= queries.len() {
                assert_eq!(floor_hits, 0, "no article has the typo, so no article has every word: {text}");
                typo_ours.push(d_ours);
                typo_floor.push(d_floor);
                typo_floor_text.push(d_floor_text);
                continue;
            }
            hits_total += hits;
            by_kind[i % 10].0.push(d_ours);
            by_kind[i % 10].1.push(d_floor);
            // "Fallback" queries: no article has every word, so search also tried OR (and so did the floors).
            if floor_hits == 0 {
                ours_fallback.push(d_ours);
                floor_fallback.push(d_floor);
                floor_text_fallback.push(d_floor_text);
            } else {
                ours.push(d_ours);
                floor.push(d_floor);
                floor_text.push(d_floor_text);
            }
        }
    }
    // Where the time goes: the floor plus the base/language filter (a rowid seek per scanned match) and the title
    // and url of the returned rows; and, for comparison, the same with FTS5's own snippet() (which search_kb replaced
    // by a Rust pass over the body).
    let mut breakdown: Vec<(&str, Vec<Duration>)> = Vec::new();
    for (label, sql) in [
        ("floor + filters + title/url", BREAKDOWN_FILTERS_SQL),
        ("search_kb's ranked scan", SCAN_SQL),
        ("filters + FTS5 snippet()", BREAKDOWN_SNIPPET_SQL),
    ] {
        let mut samples = Vec::new();
        for _ in 0..rounds {
            for (text, language) in &queries {
                let expr = FtsQuery::parse(text).expect("corpus queries have words").all_terms();
                let t = Instant::now();
                store
                    .read(|c| {
                        let mut stmt = c.prepare_cached(sql)?;
                        // The scan has no language filter or limit: it is stepped until 10 rows are in the language.
                        let mut rows = if sql == SCAN_SQL {
                            stmt.query(rusqlite::params![expr, 1])?
                        } else {
                            stmt.query(rusqlite::params![expr, 1, language])?
                        };
                        let mut page = 0;
                        while let Some(row) = rows.next()? {
                            let (_, lang): (i64, String) = (row.get(0)?, row.get(1)?);
                            page += usize::from(sql != SCAN_SQL || lang == *language);
                            if page == 10 {
                                break;
                            }
                        }
                        Ok(())
                    })
                    .expect("breakdown query");
                samples.push(t.elapsed());
            }
        }
        breakdown.push((label, samples));
    }
    // The same search run twice in a row, the second timed: its hits' text is then in SQLite's page cache. The
    // difference with the interleaved search_kb figure is the cost of reading the displayed articles' text from the
    // file, which the bare floor does not read.
    let mut warm = Vec::new();
    for _ in 0..rounds {
        for (text, language) in &queries {
            kb.search_local(1, text, Some(language), 10, 0).expect("search");
            let t = Instant::now();
            kb.search_local(1, text, Some(language), 10, 0).expect("search");
            warm.push(t.elapsed());
        }
    }
    breakdown.push(("search_kb, its text cached", warm));
    let direct = ours.len();
    let all_ours: Vec<Duration> = ours.iter().chain(&ours_fallback).copied().collect();
    let all_floor: Vec<Duration> = floor.iter().chain(&floor_fallback).copied().collect();
    let all_floor_text: Vec<Duration> = floor_text.iter().chain(&floor_text_fallback).copied().collect();
    let (ours_hit, ours_all, ours_fallback_text) = (ours.clone(), all_ours.clone(), ours_fallback.clone());
    let report = |label: &str, a: Vec<Duration>, b: Vec<Duration>| {
        if a.is_empty() {
            return;
        }
        let count = a.len();
        let (a, b) = (stats(a), stats(b));
        println!(
            "{label:<34} n={count:<5} search_kb p50 {:>7.1} µs  p95 {:>7.1} µs  mean {:>7.1} µs | floor p50 {:>7.1} µs  \
             p95 {:>7.1} µs  mean {:>7.1} µs | ratio p50 {:.2}×  p95 {:.2}×",
            us(a.p50),
            us(a.p95),
            us(a.mean),
            us(b.p50),
            us(b.p95),
            us(b.mean),
            us(a.p50) / us(b.p50),
            us(a.p95) / us(b.p95)
        );
    };
    println!(
        "search: {} queries × {rounds} rounds, limit 10, {:.1} hits per query on average",
        queries.len(),
        hits_total as f64 / (queries.len() * rounds) as f64
    );
    report("all queries", all_ours, all_floor);
    report("queries with an AND hit", ours, floor);
    report("no AND hit (fallbacks ran)", ours_fallback, floor_fallback);
    report("with a typo word (fallbacks ran)", typo_ours.clone(), typo_floor);
    println!("({direct} of {} timed queries had every word in some article)", queries.len() * rounds);
    println!("against the raw MATCH returning the article text, title and body (FLOOR_WITH_TEXT_SQL):");
    report("all queries", ours_all, all_floor_text);
    report("queries with an AND hit", ours_hit, floor_text);
    report("no AND hit (fallbacks ran)", ours_fallback_text, floor_text_fallback);
    report("with a typo word (fallbacks ran)", typo_ours, typo_floor_text);
    const KINDS: [&str; 10] = [
        "subject word",
        "two subject words",
        "subject word, no accents",
        "SUBJECT WORD",
        "general + subject word",
        "general + half-typed word",
        "general word",
        "two general words",
        "question",
        "subject + general, no accents",
    ];
    for (kind, (a, b)) in by_kind.into_iter().enumerate() {
        let (a, b) = (stats(a), stats(b));
        println!(
            "  {:<30} search_kb p50 {:>7.1} µs  p95 {:>7.1} µs | floor p50 {:>7.1} µs  p95 {:>7.1} µs",
            KINDS[kind],
            us(a.p50),
            us(a.p95),
            us(b.p50),
            us(b.p95)
        );
    }
    for (label, samples) in breakdown {
        let s = stats(samples);
        println!("  breakdown, {label:<26} p50 {:>7.1} µs  p95 {:>7.1} µs", us(s.p50), us(s.p95));
    }
    drop(kb);
    drop(store);
    drop(dir);
}
