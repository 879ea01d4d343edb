//! Knowledge-base articles, delta sync and server-side search.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Article {
    pub id: i64,
    pub kb_id: i64,
    pub title: String,
    /// Plain text or simple Markdown.
    pub body: String,
    /// BCP 47.
    pub language: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub published: bool,
    pub url: String,
    pub updated_at: i64,
}

/// `GET /v1/kb/{kb_id}/changes?since=CURSOR&limit=N`: published articles changed after the cursor, and ids that
/// were deleted or unpublished. Apply pages until `has_more` is false, storing `next_cursor` after each page
/// (so an interrupted sync resumes where it stopped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleChanges {
    pub upserted: Vec<Article>,
    /// Deleted or unpublished since the cursor: remove from the local index.
    pub removed: Vec<i64>,
    pub next_cursor: String,
    pub has_more: bool,
    /// Published articles in the base now (for progress: done / total on a first sync).
    pub total_published: u64,
}

/// `GET /v1/kb/{kb_id}/search?q=...&language=..&limit=..&offset=..` answer, and the SDK's offline result shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub article_id: i64,
    pub title: String,
    pub snippet: String,
    /// Byte ranges `[start, end)` of `snippet` that matched the query (for bold, not HTML).
    pub highlights: Vec<(u32, u32)>,
    pub url: String,
    /// Higher is better.
    pub score: f64,
}
