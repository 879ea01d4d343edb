//! `tour`: a scripted walk through the SDK against a live server, printing each step — what `scripts/demo.sh` runs
//! when stdin is not a terminal. With `--json`, one JSON object per step (JSON Lines).
//!
//! Steps: resolve the tag (and why that chatflow won), the welcome message, consent, a knowledge-base search, a
//! message sent, the team's reply (the bot's, or an agent's through the agent API), and a message sent while
//! offline (`pause` → `send` → `resume`) delivered after the reconnect.

use std::time::Duration;

use chatflow_core::chatflow::ResolvedChatflow;
use chatflow_core::consent::ProcessDataStatus;
use chatflow_core::model::ChatConversation;
use chatflow_core::protocol::ChatflowKind;
use serde_json::{json, Value};

use super::agent::{agent_token, Agent};
use super::resolve::explain_report;
use super::{connection_word, resolve_flow, search, wait_delivered, wait_team_reply};
use crate::cli::TourArgs;
use crate::context::{poll, Ctx};
use crate::error::{CliError, CliResult, Kind};
use crate::views::{author_label, status_word, word, ChatflowView, MessageView};

const STEPS: usize = 7;

struct Tour<'a> {
    ctx: &'a Ctx,
    n: usize,
    timeout: Duration,
}

impl Tour<'_> {
    /// Prints step `title` (text) or one JSON line `{"step": key, ...data}`.
    fn step(&mut self, key: &str, title: &str, lines: &[String], data: Value) {
        self.n += 1;
        let out = &self.ctx.out;
        if out.json {
            let mut doc = json!({ "step": key, "n": self.n });
            if let (Some(d), Value::Object(extra)) = (doc.as_object_mut(), data) {
                d.extend(extra);
            }
            out.json_line(&doc, false);
            return;
        }
        let st = out.out;
        let mut s = format!("\n{} {}\n", st.cyan(&format!("==> [{}/{STEPS}]", self.n)), st.bold(title));
        for l in lines {
            s.push_str(&format!("    {l}\n"));
        }
        out.text(&s);
    }
}

pub fn run(ctx: &Ctx, a: &TourArgs) -> CliResult<u8> {
    let st = ctx.out.out;
    let mut t = Tour { ctx, n: 0, timeout: Duration::from_secs(a.timeout) };
    if !ctx.out.json {
        ctx.out.text(&format!(
            "{} {} (app {}, data {})\n",
            st.bold("Chatflow SDK tour against"),
            ctx.config.server_url,
            ctx.config.app_id,
            ctx.data_dir.display()
        ));
    }

    // 1. Resolve, and why that chatflow won.
    let flow = resolve_flow(ctx, &a.target)?;
    let explain = explain_report(ctx, &a.target)?;
    let mut lines =
        vec![format!("tag `{}` → chatflow {} \"{}\" ({})", explain.tag, flow.chatflow_id, flow.name, word(&flow.kind))];
    if let Some(w) = explain.winner_line() {
        lines.push(format!("why: {w}"));
    }
    for c in explain.candidates.iter().filter(|c| Some(c.chatflow_id) != explain.winner_id) {
        lines.push(st.dim(&format!("not chosen: chatflow {} \"{}\" — {}", c.chatflow_id, c.name, c.reason)));
    }
    let title = format!("resolve the mobile tag `{}`", explain.tag);
    let data = json!({ "chatflow": ChatflowView::from(&flow), "explain": explain });
    t.step("resolve", &title, &lines, data);

    // 2. Welcome.
    let lines =
        vec![format!("{}: {}", st.magenta(&flow.header.display_name), flow.welcome_message), availability(&flow, ctx)];
    let data = json!({ "header": flow.header.display_name, "welcome_message": flow.welcome_message,
        "available": flow.availability.available });
    t.step("welcome", "the chat screen: header and welcome message", &lines, data);

    // 3. Consent.
    consent_step(&mut t, &flow)?;

    // 4. Knowledge base.
    kb_step(&mut t, &flow, &a.kb_query)?;

    // 5. Send.
    let conversation = ctx
        .block_on(ctx.client.open_conversation(flow.chatflow_id))
        .map_err(|e| CliError::from(e).context("open a conversation"))?;
    let text = "Hi! I have a question about my order.";
    let echo = ctx.client.send(&conversation.id, text)?;
    let sent = wait_delivered(ctx, &echo, t.timeout)?;
    let seq = sent.seq.unwrap_or(0);
    let lines = vec![
        format!("conversation {} opened{}", conversation.id, assignee(&conversation)),
        format!("{}: {text}", st.cyan("you")),
        st.dim(&format!(
            "queued locally as {}, stored by the server as #{seq}",
            echo.client_message_id.as_deref().unwrap_or("?")
        )),
    ];
    t.step(
        "send",
        "send a message",
        &lines,
        json!({ "conversation_id": conversation.id, "message": MessageView::from(&sent) }),
    );

    // 6. The team's reply.
    reply_step(&mut t, a, &flow, &conversation, seq)?;

    // 7. Offline send.
    offline_step(&mut t, &conversation)?;

    if !ctx.out.json {
        ctx.out.text(&format!("\n{}\n", st.green("tour complete")));
    }
    Ok(0)
}

fn availability(flow: &ResolvedChatflow, ctx: &Ctx) -> String {
    let st = ctx.out.out;
    match (&flow.availability.away_message, flow.availability.available) {
        (_, true) => st.green("the team is available"),
        (Some(m), false) => st.yellow(&format!("the team is away: {m}")),
        (None, false) => st.yellow("the team is away"),
    }
}

fn assignee(c: &ChatConversation) -> String {
    c.assignee.as_ref().map(|a| format!(", assigned to {}", a.display_name)).unwrap_or_default()
}

fn consent_step(t: &mut Tour<'_>, flow: &ResolvedChatflow) -> CliResult<()> {
    let ctx = t.ctx;
    let st = ctx.out.out;
    let id = flow.chatflow_id;
    let before = ctx.client.consent_state(id)?;
    let mut lines = Vec::new();
    let after = match before.process_data.status {
        ProcessDataStatus::NotRequired => {
            lines.push(st.dim("this chatflow does not ask for consent to process data (mode off)"));
            before.clone()
        }
        ProcessDataStatus::AwaitingDecision => {
            lines.push(format!("asked: \"{}\"", before.process_data.text));
            lines.push(format!(
                "{} (explicit consent: sending is refused until then)",
                st.green("visitor answers: I agree")
            ));
            ctx.client.accept_consent(id, Some(before.process_data.text_version.clone()))?
        }
        ProcessDataStatus::NoticeToShow | ProcessDataStatus::Implied => {
            lines.push(format!("notice shown: \"{}\"", before.process_data.text));
            lines.push(st.dim("legitimate interest: recorded as implied with the first message"));
            before.clone()
        }
        ProcessDataStatus::Accepted | ProcessDataStatus::Declined => {
            lines.push(format!("already decided: {}", status_word(&before.process_data.status)));
            before.clone()
        }
    };
    if let Some(c) = &after.communicate {
        lines.push(st.dim(&format!("optional opt-in offered: \"{}\" ({})", c.checkbox_label, c.subscription_type)));
    }
    lines.push(format!(
        "state: {}, sending {}",
        status_word(&after.process_data.status),
        if after.can_send { "allowed" } else { "refused" }
    ));
    let data = json!({ "before": status_word(&before.process_data.status), "after": status_word(&after.process_data.status),
        "can_send": after.can_send });
    t.step("consent", "consent", &lines, data);
    Ok(())
}

fn kb_step(t: &mut Tour<'_>, flow: &ResolvedChatflow, query: &str) -> CliResult<()> {
    let ctx = t.ctx;
    let st = ctx.out.out;
    if !flow.knowledge_base_enabled || flow.knowledge_base_id.is_none() {
        let lines = vec![st.dim("this chatflow has no knowledge base: skipped")];
        t.step("kb_search", "knowledge-base search", &lines, json!({ "skipped": "no knowledge base" }));
        return Ok(());
    }
    match search::search(ctx, flow, query, None, 3, false) {
        Ok(report) => {
            let mut lines = vec![format!("search \"{query}\":")];
            lines.extend(report.render_hits(&st).lines().map(str::to_owned));
            t.step("kb_search", "knowledge-base search", &lines, json!({ "query": query, "hits": report.hits }));
        }
        Err(e) => {
            // The KB is optional for the tour (the server may not serve it yet): say why and go on.
            let lines = vec![st.yellow(&format!("skipped: {}", e.message))];
            t.step("kb_search", "knowledge-base search", &lines, json!({ "skipped": e.message }));
        }
    }
    Ok(())
}

fn reply_step(
    t: &mut Tour<'_>,
    a: &TourArgs,
    flow: &ResolvedChatflow,
    c: &ChatConversation,
    after: i64,
) -> CliResult<()> {
    let ctx = t.ctx;
    let st = ctx.out.out;
    let mut lines = Vec::new();
    let automated = matches!(flow.kind, ChatflowKind::Bot | ChatflowKind::AiAgent);
    let mut reply = None;
    if automated {
        reply = wait_team_reply(ctx, &c.id, after, t.timeout.min(Duration::from_secs(10)))?;
    }
    if reply.is_none() {
        let assignee = c.assignee.as_ref().map(|a| a.id.as_str());
        let token = agent_token(ctx, a.agent_token.as_deref(), a.seed.as_deref(), assignee)?;
        let agent = Agent::new(ctx, token)?;
        agent.read(ctx, &c.id, u64::try_from(after).unwrap_or(0))?;
        let seen = poll(ctx, t.timeout, Duration::from_millis(100), || {
            let conversations = ctx.client.conversations()?;
            Ok(conversations.into_iter().find(|x| x.id == c.id && x.agent_read_seq >= after).map(|_| ()))
        })?;
        if seen.is_some() {
            lines.push(st.dim(&format!("✓✓ seen: the agent read #{after} (read marker received in realtime)")));
        }
        agent.typing(ctx, &c.id, true)?;
        lines.push(st.dim("the agent types… (agent API: POST /v1/agent/conversations/{id}/typing)"));
        let m = agent.reply(ctx, &c.id, "Hello! This is the support team. How can I help with your order?")?;
        lines.push(st.dim(&format!("the agent replies through the agent API (#{})", m.seq)));
        reply = wait_team_reply(ctx, &c.id, after, t.timeout)?;
    }
    let m = reply.ok_or_else(|| {
        CliError::new(
            Kind::Network,
            format!("no reply reached the SDK within {}s ({})", t.timeout.as_secs(), connection_word(ctx)),
        )
    })?;
    lines.push(format!("{}: {}", st.magenta(&author_label(m.author.kind, m.author.display_name.as_deref())), m.body));
    lines.push(st.dim(&format!("received over the realtime connection as #{}", m.seq.unwrap_or(0))));
    ctx.client.mark_read(&c.id, m.seq)?;
    t.step(
        "reply",
        &format!("the {} replies", word(&m.author.kind)),
        &lines,
        json!({ "message": MessageView::from(&m) }),
    );
    Ok(())
}

fn offline_step(t: &mut Tour<'_>, c: &ChatConversation) -> CliResult<()> {
    let ctx = t.ctx;
    let st = ctx.out.out;
    ctx.client.pause();
    let text = "This one was written offline.";
    let echo = ctx.client.send(&c.id, text)?;
    // Paused: nothing leaves the device. Show that it is queued, not sent.
    let queued = ctx.client.pending_sends()?.iter().any(|m| m.client_message_id == echo.client_message_id);
    let mut lines = vec![
        format!("pause() — the app goes to the background: connection {}", connection_word(ctx)),
        format!("{}: {text}  {}", st.cyan("you"), st.yellow(if queued { "[queued]" } else { "[?]" })),
        "resume() — back in the foreground: reconnect, catch up, send the queue".to_owned(),
    ];
    ctx.client.resume()?;
    let sent = wait_delivered(ctx, &echo, t.timeout)?;
    let online = poll(ctx, t.timeout, Duration::from_millis(100), || {
        Ok((ctx.client.connection_state() == chatflow_core::events::ConnectionState::Online).then_some(()))
    })?;
    lines.push(st.green(&format!(
        "delivered after reconnect as #{} (connection {})",
        sent.seq.unwrap_or(0),
        if online.is_some() { "online" } else { "not online" }
    )));
    let data = json!({ "queued_while_paused": queued, "message": MessageView::from(&sent) });
    t.step("offline_send", "a message sent while offline", &lines, data);
    Ok(())
}
