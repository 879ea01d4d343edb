//! `search QUERY`: the resolved chatflow's knowledge base — synced into the SDK's local index first (delta sync, with
//! a progress bar on a terminal), then searched (offline from the index; the server's search until a first sync
//! completed); `--article ID` prints one synced article.

use std::sync::Arc;
use std::time::Duration;

use chatflow_core::chatflow::ResolvedChatflow;
use chatflow_core::kb::KbSyncProgress;
use chatflow_core::protocol::kb::{Article, SearchHit};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::resolve_flow;
use crate::cli::SearchArgs;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{Render, Style};

#[derive(Debug, Serialize)]
pub struct SyncView {
    pub articles: i32,
    pub total_published: i32,
    pub upserted: i32,
    pub removed: i32,
    /// The sync failed (offline): the search used what was already indexed.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SearchReport {
    pub chatflow_id: i64,
    pub kb_id: i64,
    pub query: String,
    pub sync: Option<SyncView>,
    pub hits: Vec<SearchHit>,
}

impl SearchReport {
    /// The hits with their highlighted snippets.
    pub fn render_hits(&self, st: &Style) -> String {
        if self.hits.is_empty() {
            return format!("{}\n", st.dim(&format!("no article matches \"{}\"", self.query)));
        }
        let mut s = String::new();
        for (i, h) in self.hits.iter().enumerate() {
            s.push_str(&format!(
                "{} {} {}\n",
                st.bold(&format!("{}.", i + 1)),
                st.bold(&h.title),
                st.dim(&format!("(article {})", h.article_id))
            ));
            s.push_str(&format!("   {}\n", highlight(&h.snippet, &h.highlights, st)));
            if !h.url.is_empty() {
                s.push_str(&format!("   {}\n", st.dim(&h.url)));
            }
        }
        s
    }
}

impl Render for SearchReport {
    fn render(&self, st: &Style) -> String {
        let mut s = String::new();
        if let Some(sync) = &self.sync {
            let line = match &sync.error {
                Some(e) => st.yellow(&format!("knowledge base not synced ({e}); searching the local index")),
                None => st.dim(&format!(
                    "knowledge base {}: {} articles indexed locally ({} new or updated, {} removed)",
                    self.kb_id, sync.articles, sync.upserted, sync.removed
                )),
            };
            s.push_str(&line);
            s.push('\n');
        }
        s.push_str(&self.render_hits(st));
        s
    }
}

/// Bold on the matched byte ranges (ignoring ranges that do not fall on character boundaries).
fn highlight(snippet: &str, ranges: &[(u32, u32)], st: &Style) -> String {
    let mut out = String::new();
    let mut at = 0usize;
    for &(start, end) in ranges {
        let (start, end) = (start as usize, end as usize);
        if start < at || end > snippet.len() || !snippet.is_char_boundary(start) || !snippet.is_char_boundary(end) {
            continue;
        }
        out.push_str(&snippet[at..start]);
        out.push_str(&st.bold(&snippet[start..end]));
        at = end;
    }
    out.push_str(&snippet[at..]);
    out
}

/// An indicatif bar on stderr (hidden when stderr is not a terminal or with `--json`). The SDK calls it from its
/// worker thread after every page; indicatif's bar is thread-safe.
struct Bar(ProgressBar);

impl KbSyncProgress for Bar {
    fn on_progress(&self, done: i32, total: i32) {
        self.0.set_length(total.max(0).unsigned_abs().into());
        self.0.set_position(done.max(0).unsigned_abs().into());
    }
}

fn bar(ctx: &Ctx) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if !ctx.out.stderr_tty || ctx.out.json {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} articles") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message("syncing the knowledge base");
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn kb_of(flow: &ResolvedChatflow) -> CliResult<i64> {
    match (flow.knowledge_base_enabled, flow.knowledge_base_id) {
        (true, Some(id)) => Ok(id),
        _ => Err(CliError::new(
            Kind::NotFound,
            format!("chatflow {} \"{}\" has no knowledge base (knowledge base off)", flow.chatflow_id, flow.name),
        )),
    }
}

/// Syncs the chatflow's knowledge base (unless `no_sync`; offline, the local index answers) and searches it in
/// `language` (default: the chatflow's).
pub fn search(
    ctx: &Ctx,
    flow: &ResolvedChatflow,
    query: &str,
    language: Option<&str>,
    limit: i32,
    no_sync: bool,
) -> CliResult<SearchReport> {
    let kb_id = kb_of(flow)?;
    let sync = if no_sync {
        None
    } else {
        let pb = bar(ctx);
        let progress: Arc<dyn KbSyncProgress> = Arc::new(Bar(pb.clone()));
        let result = ctx.block_on(ctx.client.sync_knowledge_base(kb_id, Some(progress)));
        pb.finish_and_clear();
        Some(match result {
            Ok(r) => SyncView {
                articles: r.articles,
                total_published: r.total_published,
                upserted: r.upserted,
                removed: r.removed,
                error: None,
            },
            Err(e) if e.is_recoverable() => {
                SyncView { articles: 0, total_published: 0, upserted: 0, removed: 0, error: Some(e.to_string()) }
            }
            Err(e) => return Err(CliError::from(e).context("knowledge-base sync")),
        })
    };
    let language = language.unwrap_or(&flow.language).to_owned();
    let results = ctx.block_on(ctx.client.search_kb(query.to_owned(), Some(language), limit, 0))?;
    Ok(SearchReport { chatflow_id: flow.chatflow_id, kb_id, query: query.to_owned(), sync, hits: results.hits })
}

#[derive(Debug, Serialize)]
struct ArticleReport {
    article: Article,
}

impl Render for ArticleReport {
    fn render(&self, st: &Style) -> String {
        let a = &self.article;
        format!(
            "{}\n{}\n\n{}\n",
            st.bold(&a.title),
            st.dim(&format!("article {} · {} · {}", a.id, a.language, a.url)),
            a.body
        )
    }
}

pub fn run(ctx: &Ctx, a: &SearchArgs) -> CliResult<u8> {
    if let Some(id) = a.article {
        let article = ctx.client.article(id)?.ok_or_else(|| {
            CliError::new(Kind::NotFound, format!("article {id} is not in the local index (search first to sync it)"))
        })?;
        ctx.out.show(&ArticleReport { article });
        return Ok(0);
    }
    let query = a.query.join(" ");
    let flow = resolve_flow(ctx, &a.target)?;
    let report = search(ctx, &flow, &query, a.target.languages.first().map(String::as_str), a.limit, a.no_sync)?;
    ctx.out.show(&report);
    Ok(0)
}
