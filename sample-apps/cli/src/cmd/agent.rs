//! Demo helpers (hidden commands): reply as an agent through the server's agent API, and write an SDK config for a
//! server started with a seed file. They play the business's side so the demo and the tests need no curl or jq.

use std::path::Path;
use std::time::Duration;

use chatflow_core::config::Config;
use chatflow_core::protocol::{AgentReplyRequest, Message, ReadReceipt, TypingRequest};
use chatflow_core::transport::{Fetched, HttpClient};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{AgentReplyArgs, DemoConfigArgs};
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{Output, Render, Style};

fn read_seed(path: &Path) -> CliResult<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(Kind::Config, format!("seed file {}: cannot be read ({e})", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::new(Kind::Config, format!("seed file {}: is not valid JSON ({e})", path.display())))
}

/// The token of agent `prefer` (the conversation's assignee) in a server seed file, else of the app's first
/// available agent, else of its first agent.
pub fn agent_token_from_seed(path: &Path, app_id: &str, prefer: Option<&str>) -> CliResult<String> {
    let seed = read_seed(path)?;
    let apps = seed["apps"].as_array().cloned().unwrap_or_default();
    let app = apps
        .iter()
        .find(|a| a["id"] == app_id)
        .ok_or_else(|| CliError::new(Kind::Config, format!("seed file {}: has no app `{app_id}`", path.display())))?;
    let agents = app["agents"].as_array().cloned().unwrap_or_default();
    agents
        .iter()
        .find(|a| prefer.is_some_and(|p| a["id"] == p))
        .or_else(|| agents.iter().find(|a| a["available"] == true))
        .or_else(|| agents.first())
        .and_then(|a| a["token"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            CliError::new(Kind::Config, format!("seed file {}: app `{app_id}` has no agent token", path.display()))
        })
}

/// `--agent-token`, else the seed's (the assignee's token when `assignee` is in the seed).
pub fn agent_token(ctx: &Ctx, token: Option<&str>, seed: Option<&Path>, assignee: Option<&str>) -> CliResult<String> {
    match (token, seed) {
        (Some(t), _) => Ok(t.to_owned()),
        (None, Some(seed)) => agent_token_from_seed(seed, &ctx.config.app_id, assignee),
        (None, None) => Err(CliError::new(
            Kind::Usage,
            "an agent token is needed: pass --agent-token TOKEN (or CHATFLOW_AGENT_TOKEN) or --seed FILE",
        )),
    }
}

/// The agent side of the reference server, with one agent's token.
pub struct Agent {
    http: HttpClient,
    token: String,
}

impl Agent {
    pub fn new(ctx: &Ctx, token: String) -> CliResult<Agent> {
        Ok(Agent { http: HttpClient::for_config(&ctx.config)?, token })
    }

    /// The app's open conversations, most recently active first: (id, assignee id, last seq).
    pub fn open_conversations(&self, ctx: &Ctx) -> CliResult<Vec<(String, Option<String>, u64)>> {
        let path = "/v1/agent/conversations?status=open&limit=500";
        let list: Value = match ctx.block_on(self.http.get(path, Some(&self.token), None))? {
            Fetched::Fresh { body, .. } => body,
            Fetched::NotModified => Value::Null,
        };
        let rows = list["conversations"].as_array().cloned().unwrap_or_default();
        Ok(rows
            .iter()
            .filter_map(|r| {
                let c = &r["conversation"];
                let id = c["id"].as_str()?.to_owned();
                Some((id, c["assignee"]["id"].as_str().map(str::to_owned), c["last_seq"].as_u64().unwrap_or(0)))
            })
            .collect())
    }

    /// The agent read the conversation up to `seq` (the visitor sees "seen").
    pub fn read(&self, ctx: &Ctx, conversation_id: &str, seq: u64) -> CliResult<()> {
        let path = format!("/v1/agent/conversations/{conversation_id}/read");
        let _: Value = ctx.block_on(self.http.post(&path, Some(&self.token), Some(&ReadReceipt { seq })))?;
        Ok(())
    }

    pub fn typing(&self, ctx: &Ctx, conversation_id: &str, typing: bool) -> CliResult<()> {
        let path = format!("/v1/agent/conversations/{conversation_id}/typing");
        let _: Value = ctx.block_on(self.http.post(&path, Some(&self.token), Some(&TypingRequest { typing })))?;
        Ok(())
    }

    pub fn reply(&self, ctx: &Ctx, conversation_id: &str, body: &str) -> CliResult<Message> {
        let path = format!("/v1/agent/conversations/{conversation_id}/messages");
        let req = AgentReplyRequest { body: body.to_owned(), client_message_id: None, attachments: Vec::new() };
        Ok(ctx.block_on(self.http.post(&path, Some(&self.token), Some(&req)))?)
    }
}

#[derive(Debug, Serialize)]
struct ReplyReport {
    message: Message,
}

impl Render for ReplyReport {
    fn render(&self, st: &Style) -> String {
        format!(
            "{} #{} in conversation {} as {}\n",
            st.green("replied"),
            self.message.seq,
            st.dim(&self.message.conversation_id),
            self.message.author.display_name.as_deref().unwrap_or("agent")
        )
    }
}

pub fn reply(ctx: &Ctx, a: &AgentReplyArgs) -> CliResult<u8> {
    let mut agent = Agent::new(ctx, agent_token(ctx, a.agent_token.as_deref(), a.seed.as_deref(), None)?)?;
    let open = agent.open_conversations(ctx)?;
    let (conversation, assignee, last_seq) = match &a.conversation {
        Some(c) => open.iter().find(|(id, _, _)| id == c).cloned().unwrap_or((c.clone(), None, 0)),
        None => open
            .first()
            .cloned()
            .ok_or_else(|| CliError::new(Kind::NotFound, "the app has no open conversation to reply to"))?,
    };
    // With a seed, the assigned agent answers (as in a real inbox).
    if a.agent_token.is_none() && assignee.is_some() {
        agent = Agent::new(ctx, agent_token(ctx, None, a.seed.as_deref(), assignee.as_deref())?)?;
    }
    // As a person in the inbox: read what the visitor wrote ("seen" on their side), type, answer.
    if last_seq > 0 {
        agent.read(ctx, &conversation, last_seq)?;
    }
    if let Some(ms) = a.typing_ms {
        agent.typing(ctx, &conversation, true)?;
        ctx.sleep(Duration::from_millis(ms));
    }
    let message = agent.reply(ctx, &conversation, &a.text.join(" "))?;
    ctx.out.show(&ReplyReport { message });
    Ok(0)
}

pub fn demo_config(a: &DemoConfigArgs, out: &Output) -> CliResult<()> {
    let seed = read_seed(&a.seed)?;
    let app_id = seed["apps"][0]["id"].as_str().ok_or_else(|| {
        CliError::new(Kind::Config, format!("seed file {}: has no app (apps[0].id)", a.seed.display()))
    })?;
    let json = serde_json::json!({
        "server_url": a.server_url,
        "app_id": app_id,
        "environment": "development",
        "default_tag": a.default_tag,
    });
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| CliError::new(Kind::Internal, format!("cannot encode the config: {e}")))?;
    // The SDK's own validation, so a bad URL is reported here rather than by the first command.
    Config::from_json_str(&text)?;
    match &a.out {
        Some(path) => std::fs::write(path, format!("{text}\n"))
            .map_err(|e| CliError::new(Kind::Config, format!("cannot write the config to {}: {e}", path.display())))?,
        None => out.text(&format!("{text}\n")),
    }
    Ok(())
}
