//! Knowledge bases: admin CRUD of articles, the SDK's delta sync (`changes`) and the server-side search used by
//! clients that have no local index yet.
//!
//! Articles belong to `(app, kb_id)`. A visitor reads a base only if a chatflow of its app offers it
//! (`knowledge_base.enabled` with that `kb_id`); anything else is `not_found`. Every change takes the next value of a
//! global counter; the opaque cursor `c<N>` is the last value a client has applied. Deletions leave tombstones, and an
//! unpublished article is reported as removed, so a client's index follows the base exactly.
//!
//! Search follows the SDK's offline rules (`core/sdk/src/kb/search.rs`): bm25 with a title match worth 10 body matches,
//! accent- and case-insensitive, last word as a prefix; attempts in order until one matches: every word in the
//! preferred language, every word in any language, then (for two words or more) any word in the preferred language,
//! any word in any language.

pub mod query;
pub mod seed;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use chatflow_protocol::{Article, ArticleChanges, ErrorBody, ErrorCode, SearchHit, SearchResults};
use serde::{Deserialize, Serialize};

use crate::auth::{AdminAuth, VisitorAuth};
use crate::chatflows::validate::is_language_tag;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::kb::{primary_language, ArticleInput, KbQuery, TermMode};
use crate::store::Store;
use chatflow_protocol::kb_snippet::{snippet, Matcher, SNIPPET_WORDS};
use query::FtsQuery;

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_ARTICLE_CHARS: usize = 50_000;
pub const MAX_ARTICLE_TAGS: usize = 20;
pub const MAX_ARTICLE_TAG_CHARS: usize = 64;
const MAX_URL_CHARS: usize = 2_048;
/// Default and largest page of search hits.
pub const DEFAULT_SEARCH_LIMIT: u32 = 10;
pub const MAX_SEARCH_LIMIT: u32 = 100;
/// Deepest search offset (paging further than this is not a search any more).
pub const MAX_SEARCH_OFFSET: u32 = 10_000;

/// `GET /v1/admin/kb/{kb_id}/articles` answer: every article of the base, published or not, ascending id.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArticleList {
    pub articles: Vec<Article>,
}

/// Query of `GET /v1/kb/{kb_id}/changes`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// `next_cursor` of the last page applied; absent on a first sync.
    #[param(pattern = r"^c[0-9]{1,18}$")]
    pub since: Option<String>,
    /// Articles per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Query of `GET /v1/kb/{kb_id}/search`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What the visitor typed (any text; word-less text gives no hit).
    #[serde(default)]
    pub q: String,
    /// Preferred language (BCP 47); all languages are searched when it has no hit. Blank means none.
    #[param(pattern = r"^\s*([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)?\s*$")]
    pub language: Option<String>,
    /// Hits per page, 1..=100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Hits to skip, 0..=10000.
    #[param(minimum = 0, maximum = 10000)]
    pub offset: Option<u32>,
}

pub fn cursor(change: i64) -> String {
    format!("c{change}")
}

fn parse_cursor(s: &str) -> Result<i64, ApiError> {
    let digits = s.strip_prefix('c').filter(|n| (1..=18).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    digits.and_then(|n| n.parse::<i64>().ok()).ok_or_else(|| {
        let shown: String = s.chars().take(40).collect();
        ApiError::invalid_field(format!(
            "since `{shown}` is not a cursor this server issued; sync again from the start (without `since`)"
        ))
    })
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Checks an article before it is saved (admin API and seed). The error names the field.
pub fn validate_article(a: &ArticleInput) -> Result<(), String> {
    let bounded = |field: &str, v: &str, max: usize| {
        if v.trim().is_empty() || chars(v) > max {
            return Err(format!("{field} must be 1..={max} characters, got {}", chars(v)));
        }
        Ok(())
    };
    bounded("title", &a.title, MAX_TITLE_CHARS)?;
    bounded("body", &a.body, MAX_ARTICLE_CHARS)?;
    if !is_language_tag(&a.language) {
        return Err(format!("language must be a BCP 47 tag such as `en` or `fr-CA`, got `{}`", a.language));
    }
    if a.tags.len() > MAX_ARTICLE_TAGS {
        return Err(format!("tags has {} entries; at most {MAX_ARTICLE_TAGS}", a.tags.len()));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, t) in a.tags.iter().enumerate() {
        bounded(&format!("tags[{i}]"), t, MAX_ARTICLE_TAG_CHARS)?;
        if !seen.insert(t.trim().to_lowercase()) {
            return Err(format!("tags[{i}] `{t}` repeats another tag"));
        }
    }
    if !(a.url.starts_with("https://") || a.url.starts_with("http://")) || chars(&a.url) > MAX_URL_CHARS {
        return Err(format!("url must be an http(s) URL of at most {MAX_URL_CHARS} characters"));
    }
    Ok(())
}

fn check_kb_id(kb_id: i64) -> Result<(), ApiError> {
    if kb_id <= 0 {
        return Err(ApiError::not_found(format!("knowledge base {kb_id} does not exist (ids are positive)")));
    }
    Ok(())
}

/// The visitor's app offers the base through at least one chatflow.
fn require_offered(s: &dyn Store, app_id: &str, kb_id: i64) -> Result<(), ApiError> {
    let offered =
        s.chatflows(app_id)?.iter().any(|f| f.knowledge_base.enabled && f.knowledge_base.kb_id == Some(kb_id));
    if !offered {
        return Err(ApiError::not_found(format!("knowledge base {kb_id} is not offered by any chatflow of this app")));
    }
    Ok(())
}

fn missing_article(kb_id: i64, id: i64) -> ApiError {
    ApiError::not_found(format!("article {id} does not exist in knowledge base {kb_id}"))
}

#[utoipa::path(
    get,
    path = "/v1/kb/{kb_id}/changes",
    tag = "kb",
    security(("visitor_token" = [])),
    description = "Delta sync. Published articles changed after `since` (`upserted`) and ids deleted or unpublished \
        since (`removed`), in change order. Apply the page, store `next_cursor`, repeat while `has_more`. Without \
        `since` (a first sync) only published articles come, no removals.",
    params(("kb_id" = i64, Path, description = "Knowledge base id"), ChangesQuery),
    responses(
        (status = 200, description = "One page of changes", body = ArticleChanges),
        (status = 400, description = "invalid_field (a cursor this server did not issue), invalid_paging", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (no chatflow of the visitor's app offers this base)", body = ErrorBody),
    )
)]
pub async fn changes(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(kb_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Result<Json<ArticleChanges>, ApiError> {
    check_kb_id(kb_id)?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ApiError::new(
            ErrorCode::InvalidPaging,
            format!("limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}"),
        ));
    }
    let since = q.since.as_deref().filter(|s| !s.is_empty()).map(parse_cursor).transpose()?;
    let app_id = auth.visitor.app_id;
    let page = state
        .db_try(move |s| {
            require_offered(s, &app_id, kb_id)?;
            Ok(s.kb_changes(&app_id, kb_id, since, limit)?)
        })
        .await?;
    Ok(Json(ArticleChanges {
        upserted: page.upserted,
        removed: page.removed,
        next_cursor: cursor(page.last_change),
        has_more: page.has_more,
        total_published: page.total_published,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/kb/{kb_id}/search",
    tag = "kb",
    security(("visitor_token" = [])),
    description = "Server-side search for clients without a local index, with the SDK's ranking: titles weigh 10× \
        the body (bm25), accent- and case-insensitive, the last word is a prefix. Every word in the preferred \
        language first, then in all languages, then any word. Any text is accepted (it never reaches FTS syntax). \
        `highlights` are byte ranges of `snippet`.",
    params(("kb_id" = i64, Path, description = "Knowledge base id"), SearchQuery),
    responses(
        (status = 200, description = "Hits, best first", body = SearchResults),
        (status = 400, description = "invalid_field (language, offset), invalid_paging (limit)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (no chatflow of the visitor's app offers this base)", body = ErrorBody),
        (status = 429, description = "rate_limited: the visitor's search budget (`--limit-kb-searches-per-visitor`, 30 \
            per 10 s) is spent", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(kb_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    state.limits.check(crate::limits::Action::KbSearch, &auth.visitor.id)?;
    check_kb_id(kb_id)?;
    let limit = q.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
    if limit == 0 || limit > MAX_SEARCH_LIMIT {
        return Err(ApiError::new(
            ErrorCode::InvalidPaging,
            format!("limit must be between 1 and {MAX_SEARCH_LIMIT}, got {limit}"),
        ));
    }
    let offset = q.offset.unwrap_or(0);
    if offset > MAX_SEARCH_OFFSET {
        return Err(ApiError::invalid_field(format!("offset must be at most {MAX_SEARCH_OFFSET}, got {offset}")));
    }
    let language = match q.language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if is_language_tag(l) => Some(primary_language(l)),
        Some(l) => {
            let shown: String = l.chars().take(40).collect();
            return Err(ApiError::invalid_field(format!("language must be a BCP 47 tag such as `fr`, got `{shown}`")));
        }
        None => None,
    };
    let app_id = auth.visitor.app_id;
    let hits = state
        .db_try(move |s| {
            require_offered(s, &app_id, kb_id)?;
            let Some(query) = FtsQuery::parse(&q.q) else { return Ok(Vec::new()) };
            Ok(ranked_search(s, &app_id, kb_id, &query, language.as_deref(), limit, offset)?)
        })
        .await?;
    Ok(Json(SearchResults { hits }))
}

/// The attempts of the search, in order, until one matches something (see the module documentation). "Matches"
/// means at least one article, not a non-empty page: paging past the end never falls back to another attempt.
pub fn ranked_search(
    s: &dyn Store,
    app_id: &str,
    kb_id: i64,
    query: &FtsQuery,
    language: Option<&str>,
    limit: u32,
    offset: u32,
) -> Result<Vec<SearchHit>, crate::store::StoreError> {
    let matcher = Matcher::new(query);
    let mut modes = vec![TermMode::All];
    if query.len() > 1 {
        modes.push(TermMode::Any);
    }
    let languages: Vec<Option<&str>> = match language {
        Some(l) => vec![Some(l), None],
        None => vec![None],
    };
    for mode in modes {
        for &language in &languages {
            let q = KbQuery { app_id, kb_id, terms: query, mode, language, limit, offset };
            let matches = s.kb_search(&q)?;
            if !matches.is_empty() || (offset > 0 && s.kb_match_exists(&q)?) {
                return Ok(matches
                    .into_iter()
                    .map(|m| {
                        let (snippet, highlights) = snippet(m.body.as_bytes(), &matcher, SNIPPET_WORDS);
                        SearchHit { article_id: m.id, title: m.title, snippet, highlights, url: m.url, score: -m.rank }
                    })
                    .collect());
            }
        }
    }
    Ok(Vec::new())
}

#[utoipa::path(
    get,
    path = "/v1/admin/kb/{kb_id}/articles",
    tag = "admin",
    security(("admin_token" = [])),
    params(("kb_id" = i64, Path, description = "Knowledge base id")),
    responses(
        (status = 200, description = "Every article of the base, published or not, ascending id", body = ArticleList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (kb_id not positive)", body = ErrorBody),
    )
)]
pub async fn admin_list(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(kb_id): ApiPath<i64>,
) -> Result<Json<ArticleList>, ApiError> {
    check_kb_id(kb_id)?;
    let articles = state.db(move |s| s.kb_articles(&auth.app.id, kb_id)).await?;
    Ok(Json(ArticleList { articles }))
}

#[utoipa::path(
    post,
    path = "/v1/admin/kb/{kb_id}/articles",
    tag = "admin",
    security(("admin_token" = [])),
    params(("kb_id" = i64, Path, description = "Knowledge base id")),
    request_body = ArticleInput,
    responses(
        (status = 201, description = "Created", body = Article),
        (status = 400, description = "invalid_body, invalid_field (the message names the field)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (kb_id not positive)", body = ErrorBody),
    )
)]
pub async fn admin_create(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(kb_id): ApiPath<i64>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<(StatusCode, Json<Article>), ApiError> {
    check_kb_id(kb_id)?;
    validate_article(&input).map_err(ApiError::invalid_field)?;
    let now = state.now_ms();
    let article = state.db(move |s| s.create_kb_article(&auth.app.id, kb_id, &input, now)).await?;
    tracing::info!(kb = kb_id, article = article.id, "article created");
    Ok((StatusCode::CREATED, Json(article)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/kb/{kb_id}/articles/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("kb_id" = i64, Path, description = "Knowledge base id"), ("id" = i64, Path, description = "Article id")),
    responses(
        (status = 200, description = "The article", body = Article),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn admin_get(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath((kb_id, id)): ApiPath<(i64, i64)>,
) -> Result<Json<Article>, ApiError> {
    let article = state.db(move |s| s.kb_article(&auth.app.id, kb_id, id)).await?;
    article.map(Json).ok_or_else(|| missing_article(kb_id, id))
}

#[utoipa::path(
    put,
    path = "/v1/admin/kb/{kb_id}/articles/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Replaces the article. Unpublishing it removes it from the SDK's index at the next sync.",
    params(("kb_id" = i64, Path, description = "Knowledge base id"), ("id" = i64, Path, description = "Article id")),
    request_body = ArticleInput,
    responses(
        (status = 200, description = "Replaced", body = Article),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn admin_update(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath((kb_id, id)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<Json<Article>, ApiError> {
    validate_article(&input).map_err(ApiError::invalid_field)?;
    let now = state.now_ms();
    let article = state.db(move |s| s.update_kb_article(&auth.app.id, kb_id, id, &input, now)).await?;
    tracing::info!(kb = kb_id, article = id, "article updated");
    article.map(Json).ok_or_else(|| missing_article(kb_id, id))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/kb/{kb_id}/articles/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Deletes the article; the next delta sync reports its id in `removed`.",
    params(("kb_id" = i64, Path, description = "Knowledge base id"), ("id" = i64, Path, description = "Article id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn admin_delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath((kb_id, id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    if !state.db(move |s| s.delete_kb_article(&auth.app.id, kb_id, id)).await? {
        return Err(missing_article(kb_id, id));
    }
    tracing::info!(kb = kb_id, article = id, "article deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ArticleInput {
        ArticleInput {
            title: "Offline maps".into(),
            body: "Download a region.".into(),
            language: "en".into(),
            tags: vec!["maps".into()],
            published: true,
            url: "https://help.example.com/1".into(),
        }
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(parse_cursor(&cursor(42)).unwrap(), 42);
        for bad in ["", "42", "c", "c-1", "cx", "c1.5", "d3"] {
            assert_eq!(parse_cursor(bad).unwrap_err().code, ErrorCode::InvalidField, "{bad}");
        }
    }

    #[test]
    fn article_checks_name_the_field() {
        validate_article(&input()).unwrap();
        type Patch = fn(&mut ArticleInput);
        let cases: [(Patch, &str); 6] = [
            (|a| a.title = " ".into(), "title"),
            (|a| a.body = String::new(), "body"),
            (|a| a.language = "english".into(), "language"),
            (|a| a.tags = vec!["x".into(), "X".into()], "tags[1]"),
            (|a| a.tags = vec![String::new()], "tags[0]"),
            (|a| a.url = "ftp://x".into(), "url"),
        ];
        for (patch, field) in cases {
            let mut a = input();
            patch(&mut a);
            let err = validate_article(&a).unwrap_err();
            assert!(err.starts_with(field), "{err} should name {field}");
        }
    }
}
