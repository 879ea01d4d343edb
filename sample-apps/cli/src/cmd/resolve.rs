//! `resolve` and `explain`: which chatflow a mobile tag gives now, and why.

use chatflow_core::chatflow::{Explanation, Resolution, ResolveOutcome};
use serde::Serialize;

use super::refresh;
use crate::cli::Target;
use crate::context::Ctx;
use crate::error::{CliResult, Kind};
use crate::output::{Render, Style};
use crate::views::{time, CacheView, CandidateView, ChatflowView};

#[derive(Debug, Serialize)]
pub struct ResolveReport {
    pub tag: String,
    /// `found`, `not_found` or `all_hidden`.
    pub outcome: &'static str,
    pub chatflow: Option<ChatflowView>,
    /// All hidden: when one reappears, if known.
    pub next_change_at: Option<i64>,
    pub cache: CacheView,
}

impl Render for ResolveReport {
    fn render(&self, st: &Style) -> String {
        let mut s = match (&self.chatflow, self.outcome) {
            (Some(f), _) => format!("tag `{}` → {}", self.tag, f.render(st)),
            (None, "all_hidden") => format!(
                "tag `{}` → {}{}\n",
                self.tag,
                st.yellow("every chatflow hides its launcher now (team away)"),
                self.next_change_at.map(|t| format!(", until {}", time(t))).unwrap_or_default()
            ),
            (None, _) => format!("tag `{}` → {}\n", self.tag, st.red("no enabled chatflow carries this tag")),
        };
        s.push_str(&self.cache.line(st));
        s.push('\n');
        s
    }
}

pub fn resolve(ctx: &Ctx, target: &Target) -> CliResult<u8> {
    let cache = refresh(ctx, target.offline)?;
    let r = ctx.client.resolve(target.tag.clone(), target.languages.clone())?;
    let tag = target.tag.clone().unwrap_or_else(|| ctx.config.default_tag.clone());
    let report = match &r.outcome {
        ResolveOutcome::Found(f) => ResolveReport {
            tag,
            outcome: "found",
            chatflow: Some(ChatflowView::from(f.as_ref())),
            next_change_at: None,
            cache,
        },
        ResolveOutcome::NotFound { tag } => {
            ResolveReport { tag: tag.clone(), outcome: "not_found", chatflow: None, next_change_at: None, cache }
        }
        ResolveOutcome::AllHidden { tag, next_change_at } => ResolveReport {
            tag: tag.clone(),
            outcome: "all_hidden",
            chatflow: None,
            next_change_at: *next_change_at,
            cache,
        },
    };
    ctx.out.show(&report);
    if report.chatflow.is_none() {
        ctx.out.note(&format!("hint: `chatflow explain --tag {}` shows every candidate and why", report.tag));
        return Ok(Kind::NotFound.exit_code());
    }
    Ok(0)
}

#[derive(Debug, Serialize)]
pub struct ExplainReport {
    pub tag: String,
    pub languages: Vec<String>,
    pub matched_language: Option<String>,
    pub candidates: Vec<CandidateView>,
    pub winner_id: Option<i64>,
    /// `found`, `not_found` or `all_hidden`.
    pub outcome: &'static str,
    pub known_tags: Vec<String>,
    pub warnings: Vec<String>,
    pub cache: CacheView,
}

impl ExplainReport {
    pub fn new(e: &Explanation, cache: CacheView) -> ExplainReport {
        let (outcome, winner_id) = match &e.outcome {
            Resolution::Found { chatflow, .. } => ("found", Some(chatflow.id)),
            Resolution::NotFound { .. } => ("not_found", None),
            Resolution::AllHidden { .. } => ("all_hidden", None),
        };
        ExplainReport {
            tag: e.tag.clone(),
            languages: e.languages.clone(),
            matched_language: e.matched_language.clone(),
            candidates: e.candidates.iter().map(CandidateView::from).collect(),
            winner_id,
            outcome,
            known_tags: e.known_tags.clone(),
            warnings: e.warnings.clone(),
            cache,
        }
    }

    /// "chatflow 1 "Support": highest priority (10) among the chatflows left".
    pub fn winner_line(&self) -> Option<String> {
        let w = self.candidates.iter().find(|c| Some(c.chatflow_id) == self.winner_id)?;
        Some(format!("chatflow {} \"{}\": {}", w.chatflow_id, w.name, w.reason))
    }
}

impl Render for ExplainReport {
    fn render(&self, st: &Style) -> String {
        let langs = if self.languages.is_empty() { "none given".to_owned() } else { self.languages.join(", ") };
        let matched = match &self.matched_language {
            Some(m) => format!("matched `{m}`"),
            None => "no preference matched: every language stays".to_owned(),
        };
        let mut s = format!("{} languages {langs} ({matched})\n", st.bold(&format!("tag `{}`:", self.tag)));
        if self.candidates.is_empty() {
            s.push_str(&st.red("  no chatflow carries this tag\n"));
        }
        let width = self.candidates.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
        for c in &self.candidates {
            let mark = if c.verdict == "chosen" { st.green("✓") } else { st.dim("✗") };
            let name = format!("{:<width$}", c.name);
            let verdict = if c.verdict == "chosen" { st.green(c.verdict) } else { st.yellow(c.verdict) };
            s.push_str(&format!(
                "  {mark} {:>4}  {name}  {}  {verdict}: {}\n",
                c.chatflow_id,
                st.dim(&format!("priority {:>4}  {:<5}", c.priority, c.language)),
                c.reason
            ));
        }
        match (self.winner_line(), self.outcome) {
            (Some(w), _) => s.push_str(&format!("{} {w}\n", st.bold("winner:"))),
            (None, "all_hidden") => s.push_str(&format!("{}\n", st.yellow("no winner: every candidate is hidden now"))),
            (None, _) => s.push_str(&format!("{}\n", st.red("no winner"))),
        }
        s.push_str(&st.dim(&format!("known tags: {}", self.known_tags.join(", "))));
        s.push('\n');
        for w in &self.warnings {
            s.push_str(&format!("{} {w}\n", st.yellow("warning:")));
        }
        s.push_str(&self.cache.line(st));
        s.push('\n');
        s
    }
}

pub fn explain_report(ctx: &Ctx, target: &Target) -> CliResult<ExplainReport> {
    let cache = refresh(ctx, target.offline)?;
    let e = ctx.client.explain(target.tag.clone(), target.languages.clone())?;
    Ok(ExplainReport::new(&e, cache))
}

pub fn explain(ctx: &Ctx, target: &Target) -> CliResult<u8> {
    let report = explain_report(ctx, target)?;
    ctx.out.show(&report);
    Ok(if report.winner_id.is_some() { 0 } else { Kind::NotFound.exit_code() })
}
