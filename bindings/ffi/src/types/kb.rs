//! Knowledge-base records (remote types where the shapes allow, see `chatflow.rs`).

use chatflow_core::kb;
use chatflow_core::protocol::kb as wire;

pub type Article = wire::Article;

/// A knowledge-base article, as synced to the device.
#[uniffi::remote(Record)]
pub struct Article {
    pub id: i64,
    pub kb_id: i64,
    pub title: String,
    /// Plain text or simple Markdown.
    pub body: String,
    /// BCP 47.
    pub language: String,
    pub tags: Vec<String>,
    pub published: bool,
    pub url: String,
    pub updated_at: i64,
}

pub type KbSyncReport = kb::KbSyncReport;

/// What one knowledge-base sync did.
#[uniffi::remote(Record)]
pub struct KbSyncReport {
    pub pages: i32,
    pub upserted: i32,
    pub removed: i32,
    /// Articles on the device at the end.
    pub articles: i32,
    /// Published articles on the server at the end.
    pub total_published: i32,
}

/// A range of a snippet that matched the query, in UTF-8 **bytes** `[start, end)` (the facades convert it to their
/// string indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ByteRange {
    pub start: i32,
    pub end: i32,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SearchHit {
    pub article_id: i64,
    pub title: String,
    pub snippet: String,
    /// Parts of `snippet` that matched (for bold text).
    pub highlights: Vec<ByteRange>,
    pub url: String,
    /// Higher is better.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
}

impl From<wire::SearchResults> for SearchResults {
    fn from(r: wire::SearchResults) -> Self {
        let hits = r
            .hits
            .into_iter()
            .map(|h| SearchHit {
                article_id: h.article_id,
                title: h.title,
                snippet: h.snippet,
                highlights: h
                    .highlights
                    .into_iter()
                    .map(|(start, end)| ByteRange { start: byte_offset(start), end: byte_offset(end) })
                    .collect(),
                url: h.url,
                score: h.score,
            })
            .collect();
        SearchResults { hits }
    }
}

/// Snippets are a few hundred bytes: an offset always fits.
fn byte_offset(offset: u32) -> i32 {
    i32::try_from(offset).unwrap_or(i32::MAX)
}
