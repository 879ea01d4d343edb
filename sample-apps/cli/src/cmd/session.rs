//! `identify`, `status` and `logout`: the visitor session.

use serde::Serialize;

use chatflow_core::sync::queue::OutboxKind;
use chatflow_core::sync::tables::outbox;

use crate::cli::{IdentifyArgs, LogoutArgs};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{Render, Style};
use crate::views::{CacheView, ConversationView, MessageView};

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub visitor_id: Option<String>,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub identify_pending: bool,
}

fn session(ctx: &Ctx) -> Option<SessionView> {
    ctx.client.session_info().map(|s| SessionView {
        visitor_id: s.visitor_id,
        user_id: s.user_id,
        email: s.email,
        identify_pending: s.identify_pending,
    })
}

fn session_line(s: &Option<SessionView>, st: &Style) -> String {
    match s {
        None => st.dim("no visitor yet (created on first need)"),
        Some(s) => {
            let who = match &s.user_id {
                Some(u) => format!("identified as {u}"),
                None => "anonymous".to_owned(),
            };
            let pending =
                if s.identify_pending { st.yellow(" (identification pending: offline)") } else { String::new() };
            format!(
                "visitor {} {who}{}{pending}",
                s.visitor_id.as_deref().unwrap_or("(not created yet)"),
                s.email.as_ref().map(|e| format!(", email {e}")).unwrap_or_default()
            )
        }
    }
}

#[derive(Debug, Serialize)]
pub struct IdentifyReport {
    pub user_id: String,
    pub visitor_id: Option<String>,
    pub merged_conversation_ids: Vec<String>,
    pub switched_user: bool,
    pub pending: bool,
}

impl Render for IdentifyReport {
    fn render(&self, st: &Style) -> String {
        let mut s = format!("{} as {}", st.green("identified"), self.user_id);
        if self.pending {
            s = format!(
                "{} as {} (server unreachable: sent on the next connection)",
                st.yellow("identification queued"),
                self.user_id
            );
        }
        s.push('\n');
        if self.switched_user {
            s.push_str(&st.yellow("another user was signed in: their local data was wiped\n"));
        }
        if !self.merged_conversation_ids.is_empty() {
            s.push_str(&format!("merged conversations: {}\n", self.merged_conversation_ids.join(", ")));
        }
        s
    }
}

pub fn identify(ctx: &Ctx, a: &IdentifyArgs) -> CliResult<u8> {
    let o = ctx.block_on(ctx.client.identify(a.token.clone(), a.email.clone()))?;
    ctx.out.show(&IdentifyReport {
        user_id: o.user_id,
        visitor_id: o.visitor_id,
        merged_conversation_ids: o.merged_conversation_ids,
        switched_user: o.switched_user,
        pending: o.pending,
    });
    Ok(0)
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub config: String,
    pub server_url: String,
    pub app_id: String,
    pub environment: String,
    pub default_tag: String,
    pub data_dir: String,
    pub session: Option<SessionView>,
    pub chatflow_cache: CacheView,
    pub conversations: Vec<ConversationView>,
    pub unread_total: i32,
    /// Messages waiting for the server (queued, sending or refused).
    pub pending_messages: Vec<MessageView>,
    /// Consent decisions waiting for the server.
    pub pending_consent_records: usize,
}

impl Render for StatusReport {
    fn render(&self, st: &Style) -> String {
        let mut s = format!(
            "{} {} ({}, app {}, default tag `{}`)\n",
            st.bold("server"),
            self.server_url,
            self.environment,
            self.app_id,
            self.default_tag
        );
        s.push_str(&format!(
            "{}\n{}\n",
            st.dim(&format!("config {}", self.config)),
            st.dim(&format!("data {}", self.data_dir))
        ));
        s.push_str(&format!("{}\n", session_line(&self.session, st)));
        s.push_str(&self.chatflow_cache.line(st));
        s.push('\n');
        for c in &self.conversations {
            s.push_str(&format!(
                "conversation {} on chatflow {}: {}, {} messages, {} unread\n",
                c.id, c.chatflow_id, c.status, c.last_seq, c.unread_count
            ));
        }
        let queued = self.pending_messages.len();
        let line = format!("send queue: {queued} message(s), {} consent record(s)\n", self.pending_consent_records);
        s.push_str(&if queued + self.pending_consent_records > 0 { st.yellow(&line) } else { st.dim(&line) });
        for m in &self.pending_messages {
            s.push_str(&format!("  {}", m.render(st)));
        }
        s
    }
}

pub fn status(ctx: &Ctx) -> CliResult<u8> {
    let conversations = ctx.client.conversations()?;
    let pending = ctx.client.pending_sends()?;
    let consents = ctx.client.store().read(outbox::all)?.iter().filter(|e| e.kind == OutboxKind::Consent).count();
    ctx.out.show(&StatusReport {
        config: ctx.config_path.display().to_string(),
        server_url: ctx.config.server_url.clone(),
        app_id: ctx.config.app_id.clone(),
        environment: ctx.config.environment.as_str().to_owned(),
        default_tag: ctx.config.default_tag.clone(),
        data_dir: ctx.data_dir.display().to_string(),
        session: session(ctx),
        chatflow_cache: CacheView::new(&ctx.client.chatflow_cache_info()?, false),
        conversations: conversations.iter().map(ConversationView::from).collect(),
        unread_total: ctx.client.unread_counts()?.total,
        pending_messages: pending.iter().map(MessageView::from).collect(),
        pending_consent_records: consents,
    });
    Ok(0)
}

#[derive(Debug, Serialize)]
pub struct LogoutReport {
    /// The session that was ended (`None`: there was none).
    pub previous: Option<SessionView>,
    pub deleted_on_server: bool,
    pub data_dir: String,
}

impl Render for LogoutReport {
    fn render(&self, st: &Style) -> String {
        let what = if self.deleted_on_server {
            "logged out; local data wiped and the visitor deleted on the server (or queued for deletion if offline)"
        } else {
            "logged out; local data of the visitor wiped"
        };
        format!("{}\n{}\n", st.green(what), st.dim(&format!("was: {}", session_line(&self.previous, st))))
    }
}

pub fn logout(ctx: &Ctx, a: &LogoutArgs) -> CliResult<u8> {
    let previous = session(ctx);
    if a.delete {
        ctx.block_on(ctx.client.clear_user_data())?;
    } else {
        ctx.block_on(ctx.client.logout())?;
    }
    ctx.out.show(&LogoutReport { previous, deleted_on_server: a.delete, data_dir: ctx.data_dir.display().to_string() });
    Ok(0)
}
