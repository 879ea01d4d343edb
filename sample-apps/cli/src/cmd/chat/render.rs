//! The chat screen: its lines and prompt, the intro (header, welcome, recent history from the conversation state) and
//! the questions asked before the first message. What changes while the chat runs is printed by `changes.rs`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::sync::{mpsc, Arc};

use chatflow_core::chatflow::ResolvedChatflow;
use chatflow_core::consent::ProcessDataStatus;
use chatflow_core::model::ChatConversation;
use chatflow_core::state::{ConversationObserver, ConversationState, Delivery};

use super::{ForwardUpdates, Input};
use crate::cmd::{conversation_for, current_conversation};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::Style;
use crate::views::{word, ChatflowView, ConversationView, MessageView};

/// The conversation state holds at least this many of the latest messages (more when `--history` asks for more), so
/// a burst of messages between two updates is never cut off.
const MIN_WINDOW: i32 = 50;

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

/// What the chat knows of one message of the conversation state.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Printed (as history, live, or as the visitor's own line): later delivery changes are printed under it.
    pub on_screen: bool,
    /// The delivery state the screen last reflects.
    pub delivery: Delivery,
}

pub struct Chat<'a> {
    pub ctx: &'a Ctx,
    pub flow: ResolvedChatflow,
    pub st: Style,
    /// stdin and stdout are a terminal: prompt, line clearing, no echo of the visitor's own lines.
    pub tty: bool,
    /// `None` until the first message opens one (no empty conversations in the team's inbox).
    pub conversation: Option<ChatConversation>,
    /// The conversation as the SDK last described it: every update is applied to it, and the screen prints what
    /// moved. `None` until the first snapshot.
    pub state: Option<ConversationState>,
    /// Keeps the updates coming; dropped with the chat.
    observer: Option<ConversationObserver>,
    /// Where the observer's updates go: the chat loop's channel.
    updates: mpsc::Sender<Input>,
    /// How many messages the intro shows (`--history`).
    history: i32,
    /// Every message of the state met so far, by its stable id.
    pub seen: HashMap<i64, Seen>,
    /// The visitor's messages sent from this chat (ids): the end of piped input waits for them.
    pub sent_here: Vec<i64>,
    /// Messages up to this seq are older than what the chat shows: a catch-up that stores them later is not news.
    pub baseline: i64,
    /// The intro showed the chatflow's welcome and no team message has been shown since (see `changes.rs`).
    pub welcome_on_screen: bool,
    /// The quick replies last printed (under their message or on their own).
    pub offer_on_screen: Vec<chatflow_core::protocol::QuickReply>,
    /// The survey (prompt seq) whose "answer with /survey" hint is on screen.
    pub survey_on_screen: Option<i64>,
    pub offline_shown: bool,
    pub ever_online: bool,
    pub paused: bool,
    pub questions: VecDeque<Question>,
    prompt_shown: bool,
    /// `--json`: the visitor's messages (client ids) whose confirmation an SDK event already carried.
    pub confirmed_in_events: HashSet<String>,
}

impl<'a> Chat<'a> {
    /// `updates`: the chat loop's channel; `history`: how many messages the intro shows.
    pub fn new(
        ctx: &'a Ctx,
        flow: ResolvedChatflow,
        tty: bool,
        updates: mpsc::Sender<Input>,
        history: i32,
    ) -> Chat<'a> {
        Chat {
            ctx,
            flow,
            st: ctx.out.out,
            tty,
            conversation: None,
            state: None,
            observer: None,
            updates,
            history,
            seen: HashMap::new(),
            sent_here: Vec::new(),
            baseline: 0,
            welcome_on_screen: false,
            offer_on_screen: Vec::new(),
            survey_on_screen: None,
            offline_shown: false,
            ever_online: false,
            paused: false,
            questions: VecDeque::new(),
            prompt_shown: false,
            confirmed_in_events: HashSet::new(),
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

    /// Picks the conversation to continue (or the one named) and follows its state; a new one is opened on the first
    /// message.
    pub fn open(&mut self, explicit: Option<&str>, new: bool, offline: bool) -> CliResult<()> {
        self.conversation = match (explicit, new) {
            (Some(_), _) => Some(conversation_for(self.ctx, &self.flow, explicit, false, offline)?),
            (None, true) => None,
            (None, false) => current_conversation(self.ctx, self.flow.chatflow_id, offline)?,
        };
        if let Some(c) = self.conversation.clone() {
            if self.history > 0 {
                // The first state holds what the device has, and the device may lack the latest messages (stored
                // by the server since it last synced): the page the intro shows is fetched into it first.
                self.ctx.block_on(self.ctx.client.messages(&c.id, None, self.history))?;
            }
            self.follow(&c.id)?;
        }
        Ok(())
    }

    /// Starts the updates of `conversation_id`'s state: a snapshot first, then its changes, through the chat loop.
    pub fn follow(&mut self, conversation_id: &str) -> CliResult<()> {
        let listener = Arc::new(ForwardUpdates(self.updates.clone()));
        let window = self.history.max(MIN_WINDOW);
        self.observer = Some(self.ctx.client.observe_conversation(conversation_id, window, listener)?);
        Ok(())
    }

    pub fn is_following(&self) -> bool {
        self.observer.is_some()
    }

    /// Header, welcome message, the latest `--history` messages of the conversation's first state, and the
    /// questions to ask first (consent, opt-in, email).
    pub fn intro(&mut self, first: Option<ConversationState>) -> CliResult<()> {
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
        if let Some(state) = first {
            self.show_earlier(state);
        }
        self.ask_first()?;
        let help = "type a message and press enter · a number picks a quick reply · /help for commands · /quit";
        self.say(&st.dim(help));
        if let Some(q) = self.questions.front().copied() {
            self.ask(q);
        }
        Ok(())
    }

    /// The conversation's first state: its latest `--history` messages are printed; older ones, and any the device
    /// lacks older than those, are not news when a catch-up stores them later.
    fn show_earlier(&mut self, state: ConversationState) {
        let history = self.history;
        let id = state.details.conversation_id.clone();
        let last_seq = self.conversation.as_ref().map_or(0, |c| c.last_seq);
        self.baseline = last_seq.saturating_sub(i64::from(history));
        let earlier = state.messages.len().saturating_sub(history as usize);
        let shown = &state.messages[earlier..];
        if history > 0 {
            self.emit(serde_json::json!({ "event": "history", "conversation_id": id,
                "messages": shown.iter().map(|m| MessageView::from(&m.message)).collect::<Vec<_>>() }));
        }
        if !shown.is_empty() {
            self.say(&self.st.dim(&format!("— earlier in conversation {id} —")));
        }
        for (i, item) in state.messages.iter().enumerate() {
            let on_screen = i >= earlier;
            if on_screen {
                self.show_message(&item.message);
            }
            self.seen.insert(item.id, Seen { on_screen, delivery: item.delivery.clone() });
        }
        if !shown.is_empty() {
            // On screen now: read (the team sees it read).
            if let Err(e) = self.ctx.client.mark_read(&id, None) {
                self.say(&self.st.dim(&format!("(read marker not saved: {e})")));
            }
        }
        // Typing, the quick replies and the survey on offer, the connection.
        self.show_changes(None, &state);
        self.state = Some(state);
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
