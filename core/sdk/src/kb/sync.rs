//! Delta sync of a knowledge base into the local index, and where the articles come from ([`KbSource`]).
//!
//! The sync asks for the changes after the stored cursor, one page at a time, until `has_more` is false:
//! `GET /v1/kb/{kb_id}/changes?since=CURSOR&limit=N` (no `since` on a first sync) → [`ArticleChanges`]. Each page is
//! applied in one transaction together with its `next_cursor`, so an interrupted sync (network loss, app killed,
//! future dropped) resumes after the last applied page. Progress is reported after every page as
//! (articles in the local index, published articles on the server): a first sync of a large base counts up to the
//! total; a resumed one starts where it stopped. If the server refuses the stored cursor (400 `invalid_paging` or
//! `invalid_field`: its data was reset), the local copy is cleared and synced again from the beginning.

use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use chatflow_protocol::kb::{ArticleChanges, SearchResults};
use chatflow_protocol::ErrorCode;

use super::index;
use crate::error::{Error, Result};
use crate::model::count;
use crate::store::Store;
use crate::transport::http::{Fetched, HttpClient};

/// Where articles come from: the server over HTTP ([`HttpKbSource`]) or an in-process source
/// ([`super::MemoryKbSource`]: bundled content, tests, benchmarks).
pub trait KbSource: Send + Sync {
    /// The changes of base `kb_id` after cursor `since` (`None`: from the beginning), at most `limit` articles.
    fn changes(
        &self,
        kb_id: i64,
        since: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<ArticleChanges>> + Send;

    /// The server's own search, used while there is no local index yet.
    fn search(
        &self,
        kb_id: i64,
        query: &str,
        language: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> impl Future<Output = Result<SearchResults>> + Send;
}

/// Receives sync progress: `done` articles of `total` are in the local index. Called after every page, on the
/// syncing task; keep it quick (post to the UI thread).
pub trait KbSyncProgress: Send + Sync {
    fn on_progress(&self, done: i32, total: i32);
}

/// What one sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KbSyncReport {
    /// Pages fetched and applied.
    pub pages: i32,
    /// Articles inserted or updated.
    pub upserted: i32,
    /// Articles removed (deleted or unpublished on the server).
    pub removed: i32,
    /// Articles in the local index at the end.
    pub articles: i32,
    /// Published articles on the server at the end.
    pub total_published: i32,
}

/// Merge the index segments after a sync that wrote at least this many articles (a first sync, a big import).
const OPTIMIZE_AFTER_UPSERTS: i32 = 1_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Runs one delta sync of `kb_id` to the end of the server's changes.
pub(crate) async fn sync<S: KbSource>(
    store: &Store,
    source: &S,
    kb_id: i64,
    page_size: u32,
    progress: Option<&dyn KbSyncProgress>,
) -> Result<KbSyncReport> {
    let mut cursor = store.read(|c| index::status(c, kb_id))?.cursor;
    let mut report = KbSyncReport::default();
    let mut reset = false;
    loop {
        let page = match source.changes(kb_id, cursor.as_deref(), page_size).await {
            Err(e) if cursor.is_some() && !reset && is_cursor_refusal(&e) => {
                // The server no longer knows our cursor (its data was reset, or the cursor expired): start over from
                // an empty local copy, since a from-scratch listing cannot tell us what was deleted meanwhile.
                tracing::warn!(kb_id, error = %e, "kb cursor refused; syncing the knowledge base again from scratch");
                store.write(|tx| index::clear(tx, kb_id))?;
                cursor = None;
                reset = true;
                continue;
            }
            other => other?,
        };
        let stalled = page.upserted.is_empty() && page.removed.is_empty();
        if page.has_more && stalled && cursor.as_deref() == Some(page.next_cursor.as_str()) {
            return Err(Error::Protocol {
                message: format!(
                    "knowledge base {kb_id} changes: an empty page with has_more = true did not move the cursor `{}`",
                    page.next_cursor
                ),
            });
        }
        let now = now_ms();
        let (applied, articles) = store.write(|tx| {
            let applied = index::apply_page(tx, kb_id, &page, now)?;
            Ok((applied, index::article_count(tx, kb_id)?))
        })?;
        report.pages += 1;
        report.upserted = report.upserted.saturating_add(count(applied.upserted));
        report.removed = report.removed.saturating_add(count(applied.removed));
        report.articles = count(articles);
        report.total_published = count(page.total_published);
        if let Some(p) = progress {
            p.on_progress(count(articles), count(page.total_published.max(articles)));
        }
        tracing::debug!(kb_id, page = report.pages, articles, total = page.total_published, "kb sync page applied");
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    if report.upserted >= OPTIMIZE_AFTER_UPSERTS {
        store.write(index::optimize)?;
    }
    tracing::info!(kb_id, pages = report.pages, upserted = report.upserted, removed = report.removed, "kb synced");
    Ok(report)
}

/// A 400 about the paging parameters: the `since` cursor is not (or no longer) valid on the server.
fn is_cursor_refusal(e: &Error) -> bool {
    matches!(e, Error::Server { status: 400, code: ErrorCode::InvalidPaging | ErrorCode::InvalidField, .. })
}

/// [`KbSource`] over the server's REST routes.
#[derive(Debug, Clone)]
pub struct HttpKbSource {
    http: HttpClient,
    bearer: Option<String>,
}

/// Longest query text sent to the server's search, in bytes (cut at a character boundary): the local parser keeps
/// far less, and a URL must stay short.
pub const MAX_SERVER_QUERY_BYTES: usize = 1_024;

impl HttpKbSource {
    /// `bearer`: the visitor token, when the server wants one for KB routes.
    pub fn new(http: HttpClient, bearer: Option<String>) -> HttpKbSource {
        HttpKbSource { http, bearer }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        match self.http.get::<T>(path, self.bearer.as_deref(), None).await? {
            Fetched::Fresh { body, .. } => Ok(body),
            Fetched::NotModified => {
                Err(Error::Protocol { message: format!("GET {path} answered 304 to an unconditional request") })
            }
        }
    }
}

impl KbSource for HttpKbSource {
    async fn changes(&self, kb_id: i64, since: Option<&str>, limit: u32) -> Result<ArticleChanges> {
        let mut path = format!("/v1/kb/{kb_id}/changes?limit={limit}");
        if let Some(since) = since {
            path.push_str("&since=");
            push_encoded(&mut path, since);
        }
        self.get(&path).await
    }

    async fn search(
        &self,
        kb_id: i64,
        query: &str,
        language: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults> {
        let mut path = format!("/v1/kb/{kb_id}/search?limit={limit}&offset={offset}&q=");
        push_encoded(&mut path, truncate(query, MAX_SERVER_QUERY_BYTES));
        if let Some(language) = language {
            path.push_str("&language=");
            push_encoded(&mut path, language);
        }
        self.get(&path).await
    }
}

fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Percent-encodes a query component (RFC 3986: everything but unreserved characters).
fn push_encoded(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_percent_encoded() {
        let mut s = String::new();
        push_encoded(&mut s, "données & co=1/2 ~ok_-.");
        assert_eq!(s, "donn%C3%A9es%20%26%20co%3D1%2F2%20~ok_-.");
    }

    #[test]
    fn server_queries_are_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_SERVER_QUERY_BYTES);
        let cut = truncate(&text, MAX_SERVER_QUERY_BYTES);
        assert_eq!(cut.len(), MAX_SERVER_QUERY_BYTES);
        let odd = format!("a{text}");
        assert_eq!(truncate(&odd, MAX_SERVER_QUERY_BYTES).len(), MAX_SERVER_QUERY_BYTES - 1);
        assert_eq!(truncate("short", MAX_SERVER_QUERY_BYTES), "short");
    }
}
