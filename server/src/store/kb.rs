//! Persistence of knowledge-base articles (`kb/`): admin CRUD, the delta-sync change feed and the full-text index.

use chatflow_protocol::kb_query::FtsQuery;
use chatflow_protocol::Article;
use serde::{Deserialize, Serialize};

use super::StoreResult;

/// Admin create/replace body of an article (`POST`/`PUT /v1/admin/kb/{kb_id}/articles[/{id}]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// 1..=300 characters, not only spaces.
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub title: String,
    /// Plain text or simple Markdown: 1..=50000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 50000, pattern = r"\S")]
    pub body: String,
    /// BCP 47 (`en`, `fr`, `fr-CA`).
    #[schema(pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    pub language: String,
    /// At most 20 tags of 1..=64 characters (not only spaces), unique ignoring case.
    #[serde(default)]
    #[schema(schema_with = article_tags_schema)]
    pub tags: Vec<String>,
    /// Only published articles are synced to the SDK and searched.
    #[serde(default = "published_by_default")]
    pub published: bool,
    /// Where the article is read on the web (http or https), at most 2048 characters.
    #[schema(max_length = 2048, pattern = r"^https?://")]
    pub url: String,
}

/// At most 20 distinct tags, each 1..=64 characters and not only spaces (utoipa has no attribute for the items'
/// rules). The server also refuses two tags equal but for case or surrounding spaces, which JSON Schema cannot say.
fn article_tags_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let tag =
        ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(64)).pattern(Some(r"\S"));
    ArrayBuilder::new().items(tag).max_items(Some(20)).unique_items(true).build()
}

fn published_by_default() -> bool {
    true
}

/// The primary language subtag, lowercased: what the language filter compares (`fr` for `fr-CA`).
pub fn primary_language(tag: &str) -> String {
    tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase()
}

/// An article of a seed file: an input with its base and an optional fixed id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedArticle {
    pub id: Option<i64>,
    pub kb_id: i64,
    pub input: ArticleInput,
}

/// One page of the change feed of a base, in change order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesPage {
    /// Published articles changed after the cursor.
    pub upserted: Vec<Article>,
    /// Articles deleted or unpublished after the cursor.
    pub removed: Vec<i64>,
    /// The counter value the page ends at (the next cursor).
    pub last_change: i64,
    pub has_more: bool,
    pub total_published: u64,
}

/// One change read for a delta sync: its counter value, the article when it is published now (`None`: removed or
/// unpublished), and the article's id.
pub type ArticleChange = (i64, Option<Article>, i64);

impl ChangesPage {
    /// The page from the changes read after `after` (each backend reads up to `limit + 1` of them, in any order),
    /// the change counter's value and the base's published count.
    pub fn assemble(
        mut items: Vec<ArticleChange>,
        limit: u32,
        after: i64,
        counter: i64,
        total_published: i64,
    ) -> ChangesPage {
        items.sort_by_key(|(change, _, _)| *change);
        let has_more = items.len() > limit as usize;
        items.truncate(limit as usize);
        // Without more items, every change of this base up to the counter is in hand: the cursor may jump there.
        let last_change = match (has_more, items.last()) {
            (true, Some((change, _, _))) => *change,
            _ => counter.max(after),
        };
        let mut page = ChangesPage {
            upserted: Vec::new(),
            removed: Vec::new(),
            last_change,
            has_more,
            total_published: u64::try_from(total_published).unwrap_or(0),
        };
        for (_, article, id) in items {
            match article {
                Some(a) => page.upserted.push(a),
                None => page.removed.push(id),
            }
        }
        page
    }
}

/// A full-text match: the article's fields the search answer needs, and its bm25 rank (lower is better).
#[derive(Debug, Clone, PartialEq)]
pub struct KbMatch {
    pub id: i64,
    pub title: String,
    pub url: String,
    pub body: String,
    pub rank: f64,
}

/// How the terms of a search combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermMode {
    /// Every term must match.
    All,
    /// Any term may match; articles matching more (and better) rank first.
    Any,
}

/// A structured full-text query: each backend renders it in its own syntax (SQLite: an FTS5 `MATCH` expression,
/// built with `chatflow_protocol::kb_query`, the SDK's renderer). Titles weigh more than bodies, matching folds case
/// and accents, and the best match comes first (lowest `rank`).
#[derive(Debug, Clone, Copy)]
pub struct KbQuery<'a> {
    pub app_id: &'a str,
    pub kb_id: i64,
    /// The visitor's words, parsed by the protocol's rules: at most 12 terms, each exact or a prefix (the last word,
    /// for search-as-you-type).
    pub terms: &'a FtsQuery,
    pub mode: TermMode,
    /// Only articles whose primary language subtag is this one (`fr` for `fr-CA`); `None`: any language.
    pub language: Option<&'a str>,
    /// Paging of the ranked matches.
    pub limit: u32,
    pub offset: u32,
}

pub trait KbStore {
    /// Every article of the base (published or not), ascending id.
    fn kb_articles(&self, app_id: &str, kb_id: i64) -> StoreResult<Vec<Article>>;
    fn kb_article(&self, app_id: &str, kb_id: i64, id: i64) -> StoreResult<Option<Article>>;
    fn create_kb_article(&self, app_id: &str, kb_id: i64, input: &ArticleInput, now: i64) -> StoreResult<Article>;
    fn update_kb_article(
        &self,
        app_id: &str,
        kb_id: i64,
        id: i64,
        input: &ArticleInput,
        now: i64,
    ) -> StoreResult<Option<Article>>;
    /// Deletes the article and leaves a tombstone for the change feed; false when it does not exist.
    fn delete_kb_article(&self, app_id: &str, kb_id: i64, id: i64) -> StoreResult<bool>;
    /// Changes after counter value `since` (`None`: a first sync, published articles only), at most `limit` items.
    fn kb_changes(&self, app_id: &str, kb_id: i64, since: Option<i64>, limit: u32) -> StoreResult<ChangesPage>;
    /// Published articles of the base matching the query, best first, one page (`limit`, `offset`).
    fn kb_search(&self, query: &KbQuery<'_>) -> StoreResult<Vec<KbMatch>>;
    /// Does any published article match (paging ignored)? Tells "past the last page" from "no match".
    fn kb_match_exists(&self, query: &KbQuery<'_>) -> StoreResult<bool>;
    /// Inserts the seed's articles if the app never had any (no article, no tombstone); returns how many.
    fn seed_kb_articles(&self, app_id: &str, articles: &[SeedArticle], now: i64) -> StoreResult<usize>;
}
