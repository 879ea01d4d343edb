//! The chat's state and how SDK events are shown: team messages with numbered quick replies, delivery of the
//! visitor's messages, typing, "seen" marks, and the connection as an offline indicator.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;

use chatflow_core::chatflow::ResolvedChatflow;
use chatflow_core::consent::ProcessDataStatus;
use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::protocol::{AuthorKind, ConversationStatus, QuickReply, Reader};
use chatflow_core::store::conversations::ChatConversation;
use chatflow_core::store::messages::{ChatMessage, MessageState};

use crate::cmd::{conversation_for, current_conversation};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::Style;
use crate::views::{author_label, quick_replies, word, ChatflowView, ConversationView, MessageView};

/// A question waiting for the visitor's next line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// Explicit consent to process data: y/n.
    Consent,
    /// The communications checkbox: y/n.
    OptIn,
    /// The chatflow's email capture prompt: an address, or empty to skip.
    Email,
}

pub struct Chat<'a> {
    pub ctx: &'a Ctx,
    pub flow: ResolvedChatflow,
    pub st: Style,
    /// stdin and stdout are a terminal: prompt, line clearing, no echo of the visitor's own lines.
    pub tty: bool,
    /// `None` until the first message opens one (no empty conversations in the team's inbox).
    pub conversation: Option<ChatConversation>,
    /// Server messages already on screen (by seq).
    shown: HashSet<u64>,
    /// Messages up to this seq existed before the chat started: a catch-up that stores them later is not news.
    baseline: u64,
    /// The intro showed the chatflow's welcome and no team message has been shown since (see `show_message`).
    welcome_on_screen: bool,
    /// The visitor's messages sent from this chat: client id → last state shown.
    pub echoes: HashMap<String, &'static str>,
    /// Highest seq of a visitor message (for "seen").
    last_visitor_seq: u64,
    seen_shown: u64,
    pub quick_replies: Vec<QuickReply>,
    /// Who is shown typing.
    typing: HashSet<String>,
    pub offline_shown: bool,
    ever_online: bool,
    pub paused: bool,
    pub questions: VecDeque<Question>,
    prompt_shown: bool,
}

impl<'a> Chat<'a> {
    pub fn new(ctx: &'a Ctx, flow: ResolvedChatflow, tty: bool) -> Chat<'a> {
        Chat {
            ctx,
            flow,
            st: ctx.out.out,
            tty,
            conversation: None,
            shown: HashSet::new(),
            welcome_on_screen: false,
            baseline: 0,
            echoes: HashMap::new(),
            last_visitor_seq: 0,
            seen_shown: 0,
            quick_replies: Vec::new(),
            typing: HashSet::new(),
            offline_shown: false,
            ever_online: false,
            paused: false,
            questions: VecDeque::new(),
            prompt_shown: false,
        }
    }

    /// Prints lines, clearing the prompt first on a terminal. Silent with `--json` (see [`Self::emit`]).
    pub fn say(&mut self, text: &str) {
        if self.ctx.out.json {
            return;
        }
        let mut s = String::new();
        if self.tty && self.prompt_shown {
            s.push_str("\r\x1b[2K");
        }
        s.push_str(text);
        if !text.ends_with('\n') {
            s.push('\n');
        }
        self.prompt_shown = false;
        self.ctx.out.text(&s);
    }

    /// One JSON line with `--json` (nothing otherwise).
    pub fn emit(&self, value: serde_json::Value) {
        if self.ctx.out.json {
            self.ctx.out.json_line(&value, false);
        }
    }

    /// The prompt (terminal only), or the pending question.
    pub fn prompt(&mut self) {
        if !self.tty || self.prompt_shown || self.ctx.out.json {
            return;
        }
        let p = match self.questions.front() {
            Some(Question::Consent) => "agree? [y/n] ",
            Some(Question::OptIn) => "opt in? [y/n] ",
            Some(Question::Email) => "email (enter to skip): ",
            None => "› ",
        };
        self.ctx.out.text(&self.st.bold(p));
        let _ = std::io::stdout().flush();
        self.prompt_shown = true;
    }

    /// The line the visitor typed is on screen already on a terminal.
    pub fn line_entered(&mut self) {
        self.prompt_shown = false;
    }

    /// Picks the conversation to continue (or the one named); a new one is opened on the first message.
    pub fn open(&mut self, explicit: Option<&str>, new: bool, offline: bool) -> CliResult<()> {
        self.conversation = match (explicit, new) {
            (Some(_), _) => Some(conversation_for(self.ctx, &self.flow, explicit, false, offline)?),
            (None, true) => None,
            (None, false) => current_conversation(self.ctx, self.flow.chatflow_id, offline)?,
        };
        Ok(())
    }

    /// Header, welcome message, recent history, and the questions to ask first (consent, opt-in, email).
    pub fn intro(&mut self, history: u32) -> CliResult<()> {
        let st = self.st;
        let f = &self.flow;
        let mut head =
            format!("{} {}", st.bold(&f.header.display_name), st.dim(&format!("· {} · {}", f.name, word(&f.kind))));
        if f.availability.available {
            head.push_str(&format!(" {}", st.green("● available")));
        } else {
            head.push_str(&format!(" {}", st.yellow("○ away")));
        }
        let mut lines = vec![head];
        if let Some(m) = &f.availability.away_message {
            lines.push(st.yellow(m));
        }
        if !f.welcome_message.is_empty() {
            lines.push(format!("{}: {}", st.magenta(&f.header.display_name), f.welcome_message));
            self.welcome_on_screen = true;
        }
        let text = lines.join("\n");
        self.say(&text);
        self.emit(serde_json::json!({ "event": "chatflow", "chatflow": ChatflowView::from(&self.flow),
            "conversation": self.conversation.as_ref().map(ConversationView::from) }));
        if let Some(c) = self.conversation.clone() {
            if history > 0 {
                let page = self.ctx.block_on(self.ctx.client.messages(&c.id, None, history))?;
                self.emit(serde_json::json!({ "event": "history", "conversation_id": c.id,
                    "messages": page.iter().map(MessageView::from).collect::<Vec<_>>() }));
                if !page.is_empty() {
                    self.say(&st.dim(&format!("— earlier in conversation {} —", c.id)));
                }
                for m in &page {
                    self.show_message(m, true);
                }
                self.baseline = page.iter().filter_map(|m| m.seq).max().unwrap_or(0);
                if !page.is_empty() {
                    // On screen now: read (the team sees "seen").
                    if let Err(e) = self.ctx.client.mark_read(&c.id, None) {
                        self.say(&st.dim(&format!("(read marker not saved: {e})")));
                    }
                }
            }
            self.baseline = self.baseline.max(c.last_seq);
        }
        self.ask_first()?;
        let help = "type a message and press enter · a number picks a quick reply · /help for commands · /quit";
        self.say(&st.dim(help));
        if let Some(q) = self.questions.front().copied() {
            self.ask(q);
        }
        Ok(())
    }

    fn ask_first(&mut self) -> CliResult<()> {
        let st = self.st;
        let consent = self.ctx.client.consent_state(self.flow.chatflow_id)?;
        match consent.process_data.status {
            ProcessDataStatus::AwaitingDecision => self.questions.push_back(Question::Consent),
            ProcessDataStatus::NoticeToShow | ProcessDataStatus::Implied => {
                let t = consent.process_data.text.clone();
                self.say(&st.dim(&format!("notice: {t}")));
            }
            ProcessDataStatus::Declined => {
                self.say(&st.red("you declined consent on this chat: sending is disabled (/consent accept to change)"))
            }
            ProcessDataStatus::Accepted | ProcessDataStatus::NotRequired => {}
        }
        if consent.communicate.as_ref().is_some_and(|c| c.opted_in.is_none()) {
            self.questions.push_back(Question::OptIn);
        }
        if self.ctx.client.email_capture_prompt(self.flow.chatflow_id)?.ask_now {
            self.questions.push_back(Question::Email);
        }
        Ok(())
    }

    /// Prints the text of question `q`.
    pub fn ask(&mut self, q: Question) {
        let st = self.st;
        let text = match q {
            Question::Consent => format!(
                "{} {}\n{}",
                st.bold("consent:"),
                self.flow.consent.process_data_text,
                st.dim("Do you agree? (y/n)")
            ),
            Question::OptIn => {
                let label =
                    self.flow.consent.communicate.as_ref().map(|c| c.checkbox_label.clone()).unwrap_or_default();
                format!("{} {label} {}", st.bold("☐"), st.dim("(y/n)"))
            }
            Question::Email => format!("{} {}", st.bold("email:"), self.flow.email_capture.prompt),
        };
        self.say(&text);
        let (name, prompt) = match q {
            Question::Consent => ("consent", self.flow.consent.process_data_text.clone()),
            Question::OptIn => {
                ("opt_in", self.flow.consent.communicate.as_ref().map(|c| c.checkbox_label.clone()).unwrap_or_default())
            }
            Question::Email => ("email", self.flow.email_capture.prompt.clone()),
        };
        self.emit(serde_json::json!({ "event": "question", "question": name, "text": prompt }));
    }

    pub fn has_pending_sends(&self) -> bool {
        self.ctx.client.pending_sends().map(|p| !p.is_empty()).unwrap_or(false)
    }

    fn is_current(&self, conversation_id: &str) -> bool {
        self.conversation.as_ref().is_some_and(|c| c.id == conversation_id)
    }

    pub fn on_event(&mut self, event: ChatEvent) {
        self.emit(super::json::event(&event));
        match event {
            ChatEvent::ConnectionChanged { state } => self.on_connection(state),
            ChatEvent::MessagesChanged { conversation_id, messages } if self.is_current(&conversation_id) => {
                for m in &messages {
                    self.show_message(m, false);
                }
            }
            ChatEvent::SendStateChanged {
                client_message_id, state: MessageState::Wedged { code, message }, ..
            } => self.on_wedged(client_message_id, &word(&code), &message),
            ChatEvent::Typing { conversation_id, author, typing } if self.is_current(&conversation_id) => {
                if author.kind == AuthorKind::Visitor {
                    return;
                }
                let name = author_label(author.kind, author.display_name.as_deref());
                if typing && self.typing.insert(name.clone()) {
                    let line = self.st.dim(&format!("{name} is typing…"));
                    self.say(&line);
                } else if !typing {
                    self.typing.remove(&name);
                }
            }
            ChatEvent::ReadMarker { conversation_id, reader: Reader::Agent, seq }
                if self.is_current(&conversation_id) =>
            {
                self.on_seen(seq)
            }
            ChatEvent::ConversationStatusChanged { conversation_id, status } if self.is_current(&conversation_id) => {
                let line = match status {
                    ConversationStatus::Closed => {
                        self.st.yellow("the team closed this conversation (writing reopens it)")
                    }
                    ConversationStatus::Open => self.st.dim("conversation reopened"),
                };
                self.say(&line);
            }
            ChatEvent::ConversationChanged { conversation } if self.is_current(&conversation.id) => {
                let before = self.conversation.as_ref().and_then(|c| c.assignee.as_ref().map(|a| a.id.clone()));
                if let Some(a) = conversation.assignee.as_ref().filter(|a| Some(&a.id) != before.as_ref()) {
                    let line = self.st.dim(&format!("{} joined the conversation", a.display_name));
                    self.say(&line);
                }
                self.conversation = Some(conversation);
            }
            _ => {}
        }
    }

    /// The server refused one of the visitor's messages (shown once).
    fn on_wedged(&mut self, client_message_id: String, code: &str, message: &str) {
        if self.echoes.insert(client_message_id, "wedged") != Some("wedged") {
            let line = self.st.red(&format!("  ✗ not sent ({code}): {message}"));
            self.say(&line);
        }
    }

    /// The team read up to `seq`: "seen" once per newest visitor message.
    fn on_seen(&mut self, seq: u64) {
        let last = self.last_visitor_seq;
        if last > 0 && seq >= last && last > self.seen_shown {
            self.seen_shown = last;
            let line = self.st.dim("  ✓✓ seen by the team");
            self.say(&line);
        }
    }

    fn on_connection(&mut self, state: ConnectionState) {
        match state {
            ConnectionState::Online => {
                self.ever_online = true;
                if self.offline_shown {
                    self.offline_shown = false;
                    let line = self.st.green("● back online");
                    self.say(&line);
                }
            }
            ConnectionState::WaitingToRetry { .. } => self.show_offline(),
            // Offline before the first connection is just "not started yet"; after it, or while paused, it is real.
            ConnectionState::Offline if self.ever_online || self.paused => self.show_offline(),
            ConnectionState::Offline | ConnectionState::Connecting => {}
        }
    }

    fn show_offline(&mut self) {
        if !self.offline_shown {
            self.offline_shown = true;
            let line = self.st.yellow("○ offline — messages will be sent when back");
            self.say(&line);
        }
    }

    /// Shows one message (from history or an event) if it is new or changed state.
    pub fn show_message(&mut self, m: &ChatMessage, history: bool) {
        let st = self.st;
        if m.author.kind == AuthorKind::Visitor {
            if let Some(seq) = m.seq {
                self.last_visitor_seq = self.last_visitor_seq.max(seq);
            }
            if let Some(id) = &m.client_message_id {
                if let Some(prev) = self.echoes.get(id).copied() {
                    let now = crate::views::state_word(&m.state);
                    if now == "sent" && prev != "sent" {
                        self.echoes.insert(id.clone(), "sent");
                        if let Some(seq) = m.seq {
                            self.shown.insert(seq);
                        }
                        let line = st.dim(&format!("  ✓ sent{}", m.seq.map(|s| format!(" #{s}")).unwrap_or_default()));
                        self.say(&line);
                    }
                    return;
                }
            }
        }
        let Some(seq) = m.seq else { return };
        if !self.shown.insert(seq) {
            return;
        }
        // Older than the chat (a catch-up filling the store): not news.
        if !history && seq <= self.baseline {
            return;
        }
        // The server stores the welcome as the conversation's first team message — not always its first message: a
        // bot's greeting may come after the visitor's first words. It is on screen already, from the intro.
        if m.author.kind != AuthorKind::Visitor
            && std::mem::take(&mut self.welcome_on_screen)
            && m.body == self.flow.welcome_message
        {
            return;
        }
        let who = author_label(m.author.kind, m.author.display_name.as_deref());
        let who = if m.author.kind == AuthorKind::Visitor { st.cyan(&who) } else { st.magenta(&who) };
        let time = crate::views::time(m.created_at);
        let time = time.get(11..16).unwrap_or(&time).to_owned();
        let mut text = format!("{} {who}: {}", st.dim(&time), m.body);
        if !m.quick_replies.is_empty() {
            text.push('\n');
            text.push_str(quick_replies(&m.quick_replies, &st).trim_end());
        }
        self.say(&text);
        if m.author.kind != AuthorKind::Visitor {
            self.typing.clear();
            // Only the latest team message's buttons can be picked.
            self.quick_replies = m.quick_replies.clone();
            if !history {
                // The visitor has seen it: move the read marker (the team sees "seen").
                if let Err(e) = self.ctx.client.mark_read(&m.conversation_id, Some(seq)) {
                    let line = st.dim(&format!("(read marker not saved: {e})"));
                    self.say(&line);
                }
            }
        }
    }

    /// Shows the confirmation of the visitor's messages the store has confirmed but whose event has not arrived yet.
    pub fn settle(&mut self) {
        let Some(c) = self.conversation.clone() else { return };
        if !self.echoes.values().any(|s| *s != "sent" && *s != "wedged") {
            return;
        }
        if let Ok(page) = self.ctx.block_on(self.ctx.client.messages(&c.id, None, 100)) {
            let confirmed: Vec<&ChatMessage> = page
                .iter()
                .filter(|m| {
                    m.seq.is_some()
                        && m.client_message_id.as_ref().and_then(|id| self.echoes.get(id)).is_some_and(|s| *s != "sent")
                })
                .collect();
            if !confirmed.is_empty() {
                self.emit(serde_json::json!({ "event": "messages", "conversation_id": c.id,
                    "messages": confirmed.iter().map(|m| MessageView::from(*m)).collect::<Vec<_>>() }));
            }
            for m in confirmed {
                self.show_message(m, false);
            }
        }
    }

    /// The end of the chat: a word about what is still queued.
    pub fn goodbye(&mut self) -> CliResult<()> {
        let pending = self.ctx.client.pending_sends()?;
        if !pending.is_empty() {
            let line = self.st.yellow(&format!(
                "{} message(s) still queued: they are sent the next time chatflow connects (chat, send)",
                pending.len()
            ));
            self.say(&line);
        } else if self.tty {
            let line = self.st.dim("bye");
            self.say(&line);
        }
        Ok(())
    }
}
