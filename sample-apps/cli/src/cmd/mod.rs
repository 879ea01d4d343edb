//! One module per command, and the steps they share: resolving the chatflow, finding the conversation, waiting
//! for a delivery.

pub mod agent;
pub mod chat;
pub mod consent;
pub mod history;
pub mod resolve;
pub mod search;
pub mod send;
pub mod session;
pub mod tour;

use std::time::Duration;

use chatflow_core::chatflow::{ResolveOutcome, ResolvedChatflow};
use chatflow_core::model::ChatConversation;
use chatflow_core::model::{ChatMessage, MessageState};
use chatflow_core::protocol::{AuthorKind, ConversationStatus};
use chatflow_core::Error as SdkError;

use crate::cli::{Args, Command, Target};
use crate::context::{poll, Ctx};
use crate::error::{CliError, CliResult, Kind};
use crate::output::Output;
use crate::views::CacheView;

/// Runs the command; `Ok` carries the exit code of a command that printed its own (non-error) outcome.
pub fn run(args: &Args, out: Output) -> CliResult<u8> {
    if let Command::DemoConfig(a) = &args.command {
        // Needs no config: it writes one.
        return agent::demo_config(a, &out).map(|()| 0);
    }
    let ctx = Ctx::open(args, out)?;
    match &args.command {
        Command::Resolve(a) => resolve::resolve(&ctx, &a.target),
        Command::Explain(a) => resolve::explain(&ctx, &a.target),
        Command::Chat(a) => chat::run(&ctx, a),
        Command::Send(a) => send::run(&ctx, a),
        Command::History(a) => history::run(&ctx, a),
        Command::Search(a) => search::run(&ctx, a),
        Command::Consent(a) => consent::run(&ctx, a),
        Command::Identify(a) => session::identify(&ctx, a),
        Command::Status => session::status(&ctx),
        Command::Logout(a) => session::logout(&ctx, a),
        Command::Tour(a) => tour::run(&ctx, a),
        Command::Download(a) => send::download(&ctx, a),
        Command::AgentReply(a) => agent::reply(&ctx, a),
        Command::DemoConfig(_) => Ok(0),
    }
}

/// Refreshes the cached chatflow list (unless `offline`); a network failure falls back on the cache when it has
/// something, with a warning. Returns the cache state for display.
pub fn refresh(ctx: &Ctx, offline: bool) -> CliResult<CacheView> {
    let mut stale = false;
    if !offline {
        match ctx.block_on(ctx.client.refresh_chatflows()) {
            Ok(_) => {}
            Err(e @ SdkError::Network { .. }) => {
                let cache = ctx.client.chatflow_cache_info()?;
                if cache.fetched_at.is_none() {
                    return Err(CliError::from(e).context("refresh chatflows (nothing cached yet)"));
                }
                ctx.out.warn(&format!("{e}; resolving from the cached list"));
                stale = true;
            }
            Err(e) => return Err(CliError::from(e).context("refresh chatflows")),
        }
    }
    let cache = ctx.client.chatflow_cache_info()?;
    if offline && cache.fetched_at.is_none() {
        return Err(CliError::new(
            Kind::NotFound,
            "no cached chatflow list: it was never fetched from the server (run once without --offline)",
        ));
    }
    Ok(CacheView::new(&cache, stale))
}

/// The chatflow the target resolves to, or a not-found error that says why and what exists.
pub fn resolve_flow(ctx: &Ctx, target: &Target) -> CliResult<ResolvedChatflow> {
    refresh(ctx, target.offline)?;
    let resolution = ctx.client.resolve(target.tag.clone(), target.languages.clone())?;
    match resolution.outcome {
        ResolveOutcome::Found(f) => Ok(*f),
        ResolveOutcome::NotFound { tag } => {
            let known = ctx.client.explain(Some(tag.clone()), target.languages.clone())?.known_tags;
            Err(CliError::new(
                Kind::NotFound,
                format!(
                    "no enabled chatflow carries the tag `{tag}`; tags that exist: {} (see `chatflow explain --tag {tag}`)",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            ))
        }
        ResolveOutcome::AllHidden { tag, next_change_at } => Err(CliError::new(
            Kind::NotFound,
            format!(
                "every chatflow for tag `{tag}` hides its launcher now (team away){}; see `chatflow explain --tag {tag}`",
                next_change_at.map(|t| format!(", until {}", crate::views::time(t))).unwrap_or_default()
            ),
        )),
    }
}

/// The newest open local conversation on `chatflow_id`, after asking the server for the list when a session exists
/// and `offline` is false (network errors: the local list is used).
pub fn current_conversation(ctx: &Ctx, chatflow_id: i64, offline: bool) -> CliResult<Option<ChatConversation>> {
    if !offline && ctx.client.session_info().is_some_and(|s| s.visitor_id.is_some()) {
        if let Err(e) = ctx.block_on(ctx.client.refresh_conversations()) {
            if !e.is_recoverable() {
                return Err(CliError::from(e).context("refresh conversations"));
            }
        }
    }
    let list = ctx.client.conversations()?;
    // `conversations()` is newest first.
    Ok(list.into_iter().find(|c| c.chatflow_id == chatflow_id && c.status == ConversationStatus::Open))
}

/// The conversation a command talks in: `--conversation`, else the newest open one on the chatflow, else a new one
/// (opening needs the server). `new` forces a new one.
pub fn conversation_for(
    ctx: &Ctx,
    flow: &ResolvedChatflow,
    explicit: Option<&str>,
    new: bool,
    offline: bool,
) -> CliResult<ChatConversation> {
    if let Some(id) = explicit {
        return ctx
            .client
            .conversations()?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| CliError::new(Kind::NotFound, format!("conversation {id} is not one of this visitor's")));
    }
    if !new {
        if let Some(c) = current_conversation(ctx, flow.chatflow_id, offline)? {
            return Ok(c);
        }
    }
    ctx.block_on(ctx.client.open_conversation(flow.chatflow_id))
        .map_err(|e| CliError::from(e).context("open a conversation"))
}

/// Waits (bounded) until the queued message `client_message_id` is stored by the server; returns it with its seq.
/// A refusal (wedged) is an error; still queued at the deadline is a network error (the message stays queued).
pub fn wait_delivered(ctx: &Ctx, echo: &ChatMessage, within: Duration) -> CliResult<ChatMessage> {
    let Some(id) = echo.client_message_id.clone() else { return Ok(echo.clone()) };
    let conv = echo.conversation_id.clone();
    let found = poll(ctx, within, Duration::from_millis(100), || {
        let pending = ctx.client.pending_sends()?;
        if let Some(p) = pending.iter().find(|m| m.client_message_id.as_deref() == Some(id.as_str())) {
            if let MessageState::Wedged { code, message } = &p.state {
                let code = crate::views::word(code);
                return Err(CliError {
                    kind: if code == "consent_required" { Kind::Consent } else { Kind::Refused },
                    code: Some(code.clone()),
                    message: format!("the server refused the message ({code}): {message}"),
                });
            }
            return Ok(None);
        }
        let page = ctx.block_on(ctx.client.messages(&conv, None, 100))?;
        Ok(page.into_iter().find(|m| m.client_message_id.as_deref() == Some(id.as_str()) && m.seq.is_some()))
    })?;
    found.ok_or_else(|| {
        CliError::new(
            Kind::Network,
            format!(
                "the server did not confirm the message within {}s (connection: {}); it stays queued and is sent by \
                 the next command that connects (chatflow send / chat)",
                within.as_secs(),
                connection_word(ctx)
            ),
        )
    })
}

/// The next message from the team (agent, bot, system) after `after_seq`, waiting at most `within`.
pub fn wait_team_reply(
    ctx: &Ctx,
    conversation_id: &str,
    after_seq: i64,
    within: Duration,
) -> CliResult<Option<ChatMessage>> {
    poll(ctx, within, Duration::from_millis(150), || {
        let page = ctx.block_on(ctx.client.messages(conversation_id, None, 50))?;
        Ok(page.into_iter().find(|m| m.seq.is_some_and(|s| s > after_seq) && m.author.kind != AuthorKind::Visitor))
    })
}

pub fn connection_word(ctx: &Ctx) -> String {
    use chatflow_core::events::ConnectionState;
    match ctx.client.connection_state() {
        ConnectionState::Offline => "offline".into(),
        ConnectionState::Connecting => "connecting".into(),
        ConnectionState::Online => "online".into(),
        ConnectionState::WaitingToRetry { retry_at } => {
            format!("server unreachable, retrying in {}", crate::views::age(retry_at - now_ms()))
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
