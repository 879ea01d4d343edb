//! Scenario tests of the knowledge base: sync (deltas, removals, resumption, progress) and search (folding, prefix,
//! ranking, injection, languages, paging, server fallback) on the demo articles of `server/seeds/kb-articles.json`
//! and on the generated corpus.
//!
//! The sync tests use [`MemoryKbSource`] behind [`TestSource`]: a test double of a *network source* (it can go
//! offline or fail mid-sync), not of our server. The end-to-end test against the real server's KB routes comes when
//! those routes exist.

use std::sync::{Arc, Mutex};

use chatflow_protocol::kb::{Article, ArticleChanges, SearchResults};

use super::corpus;
use super::*;
use crate::error::Error;

const SEEDS: &str = include_str!("../../../../server/seeds/kb-articles.json");

/// The demo articles (the seed file has no `updated_at`: the server assigns it).
fn seeds() -> Vec<Article> {
    let values: Vec<serde_json::Value> = serde_json::from_str(SEEDS).unwrap();
    values
        .into_iter()
        .map(|mut v| {
            let id = v["id"].as_i64().unwrap();
            v["updated_at"] = serde_json::json!(1_700_000_000_000i64 + id);
            serde_json::from_value(v).unwrap()
        })
        .collect()
}

/// A network source in front of a [`MemoryKbSource`]: records calls, can be offline, can fail one changes call.
struct TestSource<'a> {
    inner: &'a MemoryKbSource,
    offline: bool,
    /// 1-based index of the changes call that fails with a network error.
    fail_changes_call: Option<usize>,
    calls: Mutex<Vec<String>>,
}

impl<'a> TestSource<'a> {
    fn new(inner: &'a MemoryKbSource) -> TestSource<'a> {
        TestSource { inner, offline: false, fail_changes_call: None, calls: Mutex::new(Vec::new()) }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn offline_error() -> Error {
    Error::Network { message: "offline (test source)".into() }
}

impl KbSource for TestSource<'_> {
    async fn changes(&self, kb_id: i64, since: Option<&str>, limit: u32) -> Result<ArticleChanges> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(format!("changes since={}", since.unwrap_or("-")));
            calls.iter().filter(|c| c.starts_with("changes")).count()
        };
        if self.offline || self.fail_changes_call == Some(n) {
            return Err(offline_error());
        }
        self.inner.changes(kb_id, since, limit).await
    }

    async fn search(
        &self,
        kb_id: i64,
        query: &str,
        language: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults> {
        self.calls.lock().unwrap().push(format!("search {query}"));
        if self.offline {
            return Err(offline_error());
        }
        self.inner.search(kb_id, query, language, limit, offset).await
    }
}

#[derive(Default)]
struct Progress(Mutex<Vec<(i32, i32)>>);

impl KbSyncProgress for Progress {
    fn on_progress(&self, done: i32, total: i32) {
        self.0.lock().unwrap().push((done, total));
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    kb: KnowledgeBase,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    Fixture { _dir: dir, kb: KnowledgeBase::new(store) }
}

/// A store synced with the demo articles.
async fn synced() -> (Fixture, MemoryKbSource) {
    let f = fixture();
    let source = MemoryKbSource::with_articles(seeds());
    f.kb.sync(&source, 1, None).await.unwrap();
    (f, source)
}

fn titles(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|h| h.title.as_str()).collect()
}

fn local(f: &Fixture, query: &str, language: Option<&str>) -> SearchResults {
    f.kb.search_local(1, query, language, 10, 0).unwrap()
}

fn fold(text: &str) -> String {
    corpus::strip_accents(&text.to_lowercase())
}

#[tokio::test]
async fn french_accents_and_case_fold_both_ways() {
    let (f, _) = synced().await;
    for query in ["donnees", "DONNÉES", "Données", "données personnelles", "donnees PERSONNELLES"] {
        let r = local(&f, query, Some("fr"));
        assert!(titles(&r).contains(&"Données personnelles : ce que Trailmate collecte"), "{query}: {:?}", titles(&r));
    }
    // The accent-less legacy article ("eleve") and the accented one ("élèves") answer both spellings.
    for query in ["élève", "eleve", "ÉLÈVE"] {
        let t = titles(&local(&f, query, Some("fr"))).into_iter().map(str::to_owned).collect::<Vec<_>>();
        assert!(t.contains(&"Offre education : compte eleve gratuit".to_owned()), "{query}: {t:?}");
        assert!(t.contains(&"Sorties scolaires : encadrer un groupe d'élèves".to_owned()), "{query}: {t:?}");
    }
    let r = local(&f, "resilier abonnement", Some("fr"));
    assert_eq!(titles(&r).first(), Some(&"Résilier votre abonnement Premium"));
    // Highlights cover the accented words of the text, whatever the query's spelling.
    let r = local(&f, "donnees", Some("fr"));
    let hit = r.hits.iter().find(|h| !h.highlights.is_empty()).expect("a body match");
    for (s, e) in &hit.highlights {
        assert!(fold(&hit.snippet[*s as usize..*e as usize]).starts_with("donnees"), "{}", hit.snippet);
    }
}

#[tokio::test]
async fn english_case_and_accents_fold() {
    let f = fixture();
    let mut articles = seeds();
    let mut extra = articles[0].clone();
    (extra.id, extra.title, extra.body) = (500, "Café stops on the trail".into(), "Find a café or a résumé.".into());
    articles.push(extra);
    let source = MemoryKbSource::with_articles(articles);
    f.kb.sync(&source, 1, None).await.unwrap();
    assert_eq!(titles(&local(&f, "RESET PASSWORD", Some("en"))).first(), Some(&"Reset your password"));
    assert_eq!(titles(&local(&f, "Gpx Export", Some("en"))).first(), Some(&"Export your trip as a GPX file"));
    for query in ["cafe", "CAFÉ", "resume", "Résumé"] {
        assert_eq!(titles(&local(&f, query, Some("en"))), vec!["Café stops on the trail"], "{query}");
    }
}

#[tokio::test]
async fn the_last_word_is_a_prefix() {
    let (f, _) = synced().await;
    assert_eq!(
        titles(&local(&f, "télécharger des cartes hors li", Some("fr"))).first(),
        Some(&"Télécharger des cartes hors ligne")
    );
    let r = local(&f, "synchro", Some("fr"));
    assert!(titles(&r).iter().take(2).all(|t| t.contains("ynchronis")), "{:?}", titles(&r));
    assert_eq!(titles(&local(&f, "reset passw", Some("en"))).first(), Some(&"Reset your password"));
    let r = local(&f, "passw", Some("en"));
    let t = titles(&r);
    assert!(t.len() >= 2 && t[..2].iter().all(|t| t.contains("password")), "{t:?}");
}

#[tokio::test]
async fn title_matches_rank_above_body_matches() {
    let (f, _) = synced().await;
    for (query, language) in [("offline maps", "en"), ("cartes hors ligne", "fr"), ("password", "en"), ("gpx", "fr")] {
        let r = f.kb.search_local(1, query, Some(language), 50, 0).unwrap();
        assert!(r.hits.len() >= 3, "{query}: {:?}", titles(&r));
        let words: Vec<String> = query.split(' ').map(fold).collect();
        let in_title: Vec<bool> = r.hits.iter().map(|h| words.iter().all(|w| fold(&h.title).contains(w))).collect();
        assert!(in_title[0], "{query}: {:?}", titles(&r));
        let first_body_only = in_title.iter().position(|t| !t).unwrap_or(in_title.len());
        assert!(in_title[first_body_only..].iter().all(|t| !t), "{query}: title hits first: {:?}", titles(&r));
        assert!(r.hits.windows(2).all(|w| w[0].score >= w[1].score), "scores descend");
        assert!(r.hits.iter().all(|h| h.score > 0.0), "higher is better, positive");
    }
    // A short title match beats a body that repeats the word.
    let f = fixture();
    let mut a = seeds()[0].clone();
    let mut b = a.clone();
    (a.id, a.title, a.body) = (1, "Battery".into(), "Short.".into());
    (b.id, b.title, b.body) =
        (2, "Power tips".into(), "battery battery battery battery battery, again battery.".into());
    f.kb.sync(&MemoryKbSource::with_articles([b, a]), 1, None).await.unwrap();
    assert_eq!(titles(&local(&f, "battery", None)), vec!["Battery", "Power tips"]);
}

#[tokio::test]
async fn operators_quotes_and_odd_text_are_plain_words() {
    let (f, _) = synced().await;
    let hostile = [
        "\"offline\" AND maps",
        "offline OR",
        "NEAR(offline maps, 2)",
        "-billing",
        "premium -",
        "*",
        "\"",
        "\"\"\"",
        "(refund",
        "refund)",
        "title:password",
        "{title}: x",
        "^start",
        "a + b",
        "NOT premium",
        "🙂 offline 🗺️",
        "e\u{301}le\u{300}ve",
        "\u{0}\u{2}\u{3}",
        "AND",
        "OR OR OR",
        "' OR 1=1 --",
        "\\",
        "données\"",
    ];
    for query in hostile {
        let r = f.kb.search_local(1, query, Some("en"), 10, 0);
        assert!(r.is_ok(), "{query:?}: {r:?}");
    }
    assert_eq!(
        titles(&local(&f, "\"offline\" AND maps", Some("en"))).first().copied().map(|t| t.contains("ffline")),
        Some(true)
    );
    assert!(!local(&f, "NEAR(offline maps, 2)", Some("en")).hits.is_empty());
    assert_eq!(titles(&local(&f, "(refund", Some("en"))).first(), Some(&"Request a refund"));
}

#[tokio::test]
async fn empty_and_huge_queries() {
    let (f, _) = synced().await;
    for query in ["", " ", "\n\t  ", "?!", "🙂🙂", "— … ·"] {
        assert!(local(&f, query, None).hits.is_empty(), "{query:?}");
    }
    assert!(f.kb.search_local(1, "offline", None, 0, 0).unwrap().hits.is_empty(), "limit 0");
    let pasted = "Offline maps are not loading on my phone, what can I do? ".repeat(200);
    assert!(pasted.len() > 10_000);
    assert!(f.kb.search_local(1, &pasted, Some("en"), 10, 0).is_ok());
    let noise: String = (0..12_000u32).map(|i| char::from_u32(0x20 + (i * 7919) % 0x2FFF).unwrap_or('x')).collect();
    assert!(f.kb.search_local(1, &noise, None, 10, 0).is_ok());
    let big = f.kb.search_local(1, "trailmate", None, 10_000, 0).unwrap();
    assert!(big.hits.len() as u32 <= search::MAX_SEARCH_LIMIT);
}

#[tokio::test]
async fn language_filter_falls_back_to_all_languages() {
    let (f, _) = synced().await;
    let lang_of = |r: &SearchResults| -> Vec<String> {
        r.hits.iter().map(|h| f.kb.article(h.article_id).unwrap().unwrap().language).collect()
    };
    let fr = local(&f, "premium", Some("fr"));
    assert!(!fr.hits.is_empty() && lang_of(&fr).iter().all(|l| l.starts_with("fr")), "{:?}", lang_of(&fr));
    let en = local(&f, "premium", Some("en-GB"));
    assert!(!en.hits.is_empty() && lang_of(&en).iter().all(|l| l == "en"));
    // No French article says "password": the English ones answer.
    let fallback = local(&f, "password", Some("fr"));
    assert!(titles(&fallback).first().is_some_and(|t| t.ends_with("your password")), "{:?}", titles(&fallback));
    // The fallback pages like a search in every language.
    let ids = |r: &SearchResults| r.hits.iter().map(|h| h.article_id).collect::<Vec<_>>();
    let every = ids(&f.kb.search_local(1, "password", None, 100, 0).unwrap());
    assert!(every.len() >= 2, "{every:?}");
    let second_page = f.kb.search_local(1, "password", Some("fr"), 2, 1).unwrap();
    assert_eq!(ids(&second_page), every[1..every.len().min(3)].to_vec());
    assert_eq!(ids(&local(&f, "password", Some("fr"))), every[..every.len().min(10)].to_vec());
    // "fr" matches the "fr-CA" article.
    assert_eq!(titles(&local(&f, "taxes", Some("fr"))), vec!["Achats intégrés au Canada : taxes et devises"]);
    // No language: everything.
    let all = f.kb.search_local(1, "premium", None, 100, 0).unwrap();
    assert!(lang_of(&all).iter().any(|l| l == "en") && lang_of(&all).iter().any(|l| l == "fr"));
    // No article has every word: any word, ranked.
    let any = local(&f, "refund xylophone", Some("en"));
    assert_eq!(titles(&any).first(), Some(&"Request a refund"));
}

#[tokio::test]
async fn paging_is_consistent_and_never_falls_back_past_the_end() {
    let (f, _) = synced().await;
    let all = f.kb.search_local(1, "premium", Some("en"), 100, 0).unwrap();
    assert!(all.hits.len() > 6);
    let p1 = f.kb.search_local(1, "premium", Some("en"), 3, 0).unwrap();
    let p2 = f.kb.search_local(1, "premium", Some("en"), 3, 3).unwrap();
    let ids = |r: &SearchResults| r.hits.iter().map(|h| h.article_id).collect::<Vec<_>>();
    assert_eq!([ids(&p1), ids(&p2)].concat(), ids(&all)[..6].to_vec());
    let past = f.kb.search_local(1, "premium", Some("en"), 10, all.hits.len() as u32).unwrap();
    assert!(past.hits.is_empty(), "no French results after the English ones: {:?}", titles(&past));
}

#[tokio::test]
async fn article_returns_the_full_article() {
    let (f, _) = synced().await;
    let seed = seeds().into_iter().find(|a| a.title == "Download offline maps").unwrap();
    assert_eq!(f.kb.article(seed.id).unwrap(), Some(seed));
    let unpublished = seeds().into_iter().find(|a| !a.published).unwrap();
    assert_eq!(f.kb.article(unpublished.id).unwrap(), None);
    assert_eq!(f.kb.article(123_456).unwrap(), None);
}

#[tokio::test]
async fn deletions_and_unpublishing_sync() {
    let (f, source) = synced().await;
    let published = seeds().iter().filter(|a| a.published).count() as i32;
    assert_eq!(f.kb.status(1).unwrap().articles, published as u64);
    let refund = seeds().into_iter().find(|a| a.title == "Request a refund").unwrap();
    let mut gpx = seeds().into_iter().find(|a| a.title == "Import a GPX track").unwrap();
    let mut edited = seeds().into_iter().find(|a| a.title == "Contact support").unwrap();
    source.delete(refund.id);
    gpx.published = false;
    source.upsert(gpx.clone());
    edited.body = "Write to us at help@trailmate.app, we answer within a day.".into();
    source.upsert(edited.clone());

    let report = f.kb.sync(&source, 1, None).await.unwrap();
    assert_eq!((report.upserted, report.removed, report.articles), (1, 2, published - 2));
    assert_eq!(f.kb.article(refund.id).unwrap(), None);
    assert_eq!(f.kb.article(gpx.id).unwrap(), None);
    assert!(!titles(&local(&f, "refund", Some("en"))).contains(&"Request a refund"));
    assert!(!titles(&local(&f, "import gpx", Some("en"))).contains(&"Import a GPX track"));
    assert_eq!(titles(&local(&f, "help trailmate app", Some("en"))), vec!["Contact support"]);
    assert!(local(&f, "opening hours screenshot", Some("en")).hits.iter().all(|h| h.article_id != edited.id));
    // Republishing brings it back.
    gpx.published = true;
    source.upsert(gpx.clone());
    f.kb.sync(&source, 1, None).await.unwrap();
    assert_eq!(f.kb.article(gpx.id).unwrap(), Some(gpx));
}

#[tokio::test]
async fn an_interrupted_sync_resumes_after_its_last_page() {
    let f = fixture();
    let kb = KnowledgeBase::new(f.kb.store.clone()).with_page_size(50);
    let articles = corpus::articles(500, 1, 7);
    let memory = MemoryKbSource::with_articles(articles.clone());
    let mut failing = TestSource::new(&memory);
    failing.fail_changes_call = Some(4);
    let progress = Progress::default();
    let err = kb.sync(&failing, 1, Some(&progress)).await.unwrap_err();
    assert!(err.is_recoverable(), "{err}");
    let status = kb.status(1).unwrap();
    assert_eq!((status.articles, status.is_ready()), (150, false));
    let cursor = status.cursor.clone().unwrap();
    assert_eq!(*progress.0.lock().unwrap(), vec![(50, 500), (100, 500), (150, 500)]);

    let resumed = TestSource::new(&memory);
    let report = kb.sync(&resumed, 1, Some(&progress)).await.unwrap();
    assert_eq!(resumed.calls()[0], format!("changes since={cursor}"), "resumes at the stored cursor");
    assert_eq!((report.pages, report.upserted), (7, 350));
    let events = progress.0.lock().unwrap().clone();
    assert!(events.windows(2).all(|w| w[0].0 <= w[1].0), "done never goes back: {events:?}");
    assert_eq!(events.last(), Some(&(500, 500)));
    let status = kb.status(1).unwrap();
    assert!(status.is_ready());
    assert_eq!(status.articles, 500);
    let ids: Vec<i64> = (1..=500).filter(|id| kb.article(*id).unwrap().is_some()).collect();
    assert_eq!(ids.len(), 500);
    assert_eq!(kb.article(42).unwrap(), Some(articles[41].clone()));
    // Nothing more to fetch: one empty page.
    let again = kb.sync(&memory, 1, None).await.unwrap();
    assert_eq!((again.pages, again.upserted, again.removed), (1, 0, 0));
}

/// A source whose server forgot every cursor but its own (e.g. its database was restored).
struct ForgetfulSource<'a>(&'a MemoryKbSource);

impl KbSource for ForgetfulSource<'_> {
    async fn changes(&self, kb_id: i64, since: Option<&str>, limit: u32) -> Result<ArticleChanges> {
        if since == Some("stale") {
            return Err(Error::Server {
                status: 400,
                code: chatflow_protocol::ErrorCode::InvalidPaging,
                message: "unknown cursor".into(),
            });
        }
        self.0.changes(kb_id, since, limit).await
    }

    async fn search(&self, _: i64, _: &str, _: Option<&str>, _: u32, _: u32) -> Result<SearchResults> {
        Err(offline_error())
    }
}

#[tokio::test]
async fn a_refused_cursor_resyncs_from_scratch() {
    let (f, _) = synced().await;
    // The local copy holds an article the server no longer has, and a cursor the server no longer knows.
    let mut ghost = seeds()[0].clone();
    (ghost.id, ghost.title) = (777, "Ghost article".into());
    let page = ArticleChanges {
        upserted: vec![ghost],
        removed: vec![],
        next_cursor: "stale".into(),
        has_more: false,
        total_published: 0,
    };
    f.kb.store.write(|tx| index::apply_page(tx, 1, &page, 1)).unwrap();
    let memory = MemoryKbSource::with_articles(seeds());
    let report = f.kb.sync(&ForgetfulSource(&memory), 1, None).await.unwrap();
    let published = seeds().iter().filter(|a| a.published).count() as i32;
    assert_eq!((report.articles, report.upserted), (published, published));
    assert_eq!(f.kb.article(777).unwrap(), None, "the ghost went with the reset");
    assert!(f.kb.status(1).unwrap().is_ready());
}

#[tokio::test]
async fn offline_search_after_one_online_sync() {
    let f = fixture();
    let memory = MemoryKbSource::with_articles(seeds());
    f.kb.sync(&memory, 1, None).await.unwrap();
    let mut offline = TestSource::new(&memory);
    offline.offline = true;
    let r = f.kb.search(Some(&offline), 1, "cartes hors ligne", Some("fr"), 5, 0).await.unwrap();
    assert!(titles(&r).iter().take(3).all(|t| t.to_lowercase().contains("cartes hors ligne")), "{:?}", titles(&r));
    assert!(offline.calls().is_empty(), "a ready index never asks the network: {:?}", offline.calls());
    // A sync while offline fails (recoverably) and leaves the index usable.
    assert!(f.kb.sync(&offline, 1, None).await.unwrap_err().is_recoverable());
    assert!(!f.kb.search(Some(&offline), 1, "gpx", None, 5, 0).await.unwrap().hits.is_empty());
}

#[tokio::test]
async fn without_an_index_the_server_search_answers() {
    let f = fixture();
    let memory = MemoryKbSource::with_articles(seeds());
    let online = TestSource::new(&memory);
    let r = f.kb.search(Some(&online), 1, "refund", Some("en"), 5, 0).await.unwrap();
    assert_eq!(titles(&r).first(), Some(&"Request a refund"));
    assert_eq!(online.calls(), vec!["search refund".to_owned()]);
    // Empty text never reaches the server.
    assert!(f.kb.search(Some(&online), 1, "  ", None, 5, 0).await.unwrap().hits.is_empty());
    assert_eq!(online.calls().len(), 1);

    // No index, no network: the network error.
    let mut offline = TestSource::new(&memory);
    offline.offline = true;
    let err = f.kb.search(Some(&offline), 1, "refund", None, 5, 0).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err}");
    // No source at all: the (empty) local index.
    assert!(f.kb.search(None::<&TestSource>, 1, "refund", None, 5, 0).await.unwrap().hits.is_empty());

    // A partial index (interrupted first sync): the server still answers while online, the partial index offline.
    let kb = KnowledgeBase::new(f.kb.store.clone()).with_page_size(30);
    let mut failing = TestSource::new(&memory);
    failing.fail_changes_call = Some(2);
    assert!(kb.sync(&failing, 1, None).await.is_err());
    assert_eq!(kb.status(1).unwrap().articles, 30);
    kb.search(Some(&online), 1, "account", None, 5, 0).await.unwrap();
    assert_eq!(online.calls().last().map(String::as_str), Some("search account"));
    let partial = kb.search(Some(&offline), 1, "account", Some("en"), 5, 0).await.unwrap();
    assert!(!partial.hits.is_empty());
}

#[tokio::test]
async fn knowledge_bases_are_kept_apart() {
    let f = fixture();
    let mut other = seeds()[0].clone();
    (other.id, other.kb_id, other.title) = (900, 2, "Other base: offline maps".into());
    let source = MemoryKbSource::with_articles(seeds().into_iter().chain([other]));
    f.kb.sync(&source, 1, None).await.unwrap();
    f.kb.sync(&source, 2, None).await.unwrap();
    assert!(!titles(&local(&f, "offline maps", None)).contains(&"Other base: offline maps"));
    assert_eq!(titles(&f.kb.search_local(2, "offline", None, 10, 0).unwrap()), vec!["Other base: offline maps"]);
    f.kb.clear(2).unwrap();
    assert!(f.kb.search_local(2, "offline", None, 10, 0).unwrap().hits.is_empty());
    assert!(!local(&f, "offline maps", None).hits.is_empty());
}

/// On a generated corpus, the filtered, snippeted search returns exactly the raw FTS5 bm25 order when no language
/// filter applies, and every corpus query is answered.
#[tokio::test]
async fn search_order_equals_raw_bm25_on_the_corpus() {
    let f = fixture();
    let source = MemoryKbSource::with_articles(corpus::articles(1_500, 1, 42));
    let report = f.kb.sync(&source, 1, None).await.unwrap();
    assert_eq!(report.articles, 1_500);
    for (text, language) in corpus::queries(120, 9) {
        let ours = f.kb.search_local(1, &text, None, 10, 0).unwrap();
        let expr = query::FtsQuery::parse(&text).unwrap().all_terms();
        let raw: Vec<i64> =
            f.kb.store
                .read(|c| {
                    let mut stmt = c.prepare(
                        "SELECT rowid FROM kb_fts WHERE kb_fts MATCH ?1 AND rank MATCH 'bm25(10.0, 1.0)'
                     ORDER BY rank LIMIT 10",
                    )?;
                    let ids = stmt.query_map([&expr], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
                    Ok(ids)
                })
                .unwrap();
        if !raw.is_empty() {
            assert_eq!(ours.hits.iter().map(|h| h.article_id).collect::<Vec<_>>(), raw, "{text:?}");
        }
        f.kb.search_local(1, &text, Some(language), 10, 0).unwrap();
    }
}
