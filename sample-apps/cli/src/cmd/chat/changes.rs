//! What the chat prints when the conversation state moves. Each update from the SDK is applied to the chat's
//! `ConversationState`; the screen then shows the difference: new messages (bot questions with numbered quick
//! replies), the delivery of the visitor's messages (`✓ sent`, `✓✓ read`, `✗ not sent`), the team joining, closing
//! or typing, a survey to answer, the team's availability, and the connection as an offline indicator.

use chatflow_core::events::ConnectionState;
use chatflow_core::model::{ChatMessage, MessageState};
use chatflow_core::protocol::{AuthorKind, ConversationStatus};
use chatflow_core::state::{ConversationDetails, ConversationState, ConversationUpdate, Delivery, MessageItem};

use super::render::{Chat, Seen};
use crate::views::{attachment_line, author_label, quick_replies, word};

impl Chat<'_> {
    /// Applies one update of the conversation state and prints what it changed.
    pub fn on_update(&mut self, update: ConversationUpdate) {
        let before = self.state.as_ref().map(|s| s.details.clone());
        match (&mut self.state, update) {
            (Some(state), update) => state.apply(update),
            (None, ConversationUpdate::Snapshot { state }) => self.state = Some(state),
            // The observer always starts with a snapshot, so a change never comes first.
            (None, ConversationUpdate::Changed { .. }) => return,
        }
        // Taken out while printing (the printing borrows the chat), put back after.
        let Some(state) = self.state.take() else { return };
        self.show_changes(before.as_ref(), &state);
        self.state = Some(state);
    }

    /// The screen catches up with `state`; `before`: the details it reflected (`None`: the first state).
    pub fn show_changes(&mut self, before: Option<&ConversationDetails>, state: &ConversationState) {
        let details = &state.details;
        if before.map(|b| b.connection) != Some(details.connection) {
            self.on_connection(details.connection);
        }
        let fresh = self.show_deliveries(&state.messages);
        if let Some(before) = before {
            self.show_team_moves(before, details);
        }
        let spoke: Vec<AuthorKind> = fresh.iter().map(|m| m.message.author.kind).collect();
        self.show_typing(before, details, &spoke);
        for item in &fresh {
            self.show_message(&item.message);
        }
        self.mark_read(&fresh, &details.conversation_id);
        self.show_offer(details);
        self.show_survey(details);
        self.show_availability(before, details);
    }

    /// Prints the delivery changes of the messages on screen and records every message; returns the messages that
    /// are news, to print after the lines about what happened before them.
    fn show_deliveries<'s>(&mut self, messages: &'s [MessageItem]) -> Vec<&'s MessageItem> {
        let mut fresh = Vec::new();
        let mut read = Vec::new();
        for item in messages {
            let known = self.seen.get(&item.id).cloned();
            let on_screen = match known {
                Some(seen) if seen.on_screen => {
                    if seen.delivery != item.delivery {
                        self.show_delivery(&seen.delivery, item, &mut read);
                    }
                    true
                }
                // Met before without being news: only a local echo the server stored since then can become news.
                Some(seen) if !self.is_news(&item.message) || !unconfirmed(&seen.delivery) => false,
                None if !self.is_news(&item.message) => false,
                _ => {
                    fresh.push(item);
                    true
                }
            };
            self.seen.insert(item.id, Seen { on_screen, delivery: item.delivery.clone() });
        }
        if !read.is_empty() {
            let seqs: Vec<String> = read.iter().map(|s| format!("#{s}")).collect();
            let line = self.st.dim(&format!("  ✓✓ read {}", seqs.join(", ")));
            self.say(&line);
        }
        fresh
    }

    /// One of the visitor's messages on screen moved from `was` to its current delivery. Read marks are gathered in
    /// `read` (one line for all the messages one read marker covers).
    fn show_delivery(&mut self, was: &Delivery, item: &MessageItem, read: &mut Vec<i64>) {
        let seq = item.message.seq.map(|s| format!(" #{s}")).unwrap_or_default();
        let confirmed_before = matches!(was, Delivery::Sent | Delivery::ReadByTeam);
        match &item.delivery {
            Delivery::Sent | Delivery::ReadByTeam if !confirmed_before => {
                let line = self.st.dim(&format!("  ✓ sent{seq}"));
                self.say(&line);
            }
            Delivery::Failed { code, message } => {
                let line = self.st.red(&format!("  ✗ not sent ({}): {message}", word(code)));
                self.say(&line);
            }
            _ => {}
        }
        if let (Delivery::ReadByTeam, Some(s)) = (&item.delivery, item.message.seq) {
            read.push(s);
        }
    }

    /// Stored by the server after what the chat showed when it started (older messages a catch-up stores later are
    /// not news; local echoes are shown when sent, or once the server stored them).
    fn is_news(&self, m: &ChatMessage) -> bool {
        m.seq.is_some_and(|seq| seq > self.baseline)
    }

    /// An agent joined; the team closed or reopened the conversation.
    fn show_team_moves(&mut self, before: &ConversationDetails, details: &ConversationDetails) {
        let joined = before.assignee.as_ref().map(|a| &a.id) != details.assignee.as_ref().map(|a| &a.id);
        if let Some(agent) = details.assignee.as_ref().filter(|_| joined) {
            let line = self.st.dim(&format!("{} joined the conversation", agent.display_name));
            self.say(&line);
        }
        if before.status != details.status {
            let line = match details.status {
                ConversationStatus::Closed => self.st.yellow("the team closed this conversation (writing reopens it)"),
                ConversationStatus::Open => self.st.dim("conversation reopened"),
            };
            self.say(&line);
        }
    }

    /// Who of the team started typing, unless their message is in the same update (it ends the typing).
    fn show_typing(
        &mut self,
        before: Option<&ConversationDetails>,
        details: &ConversationDetails,
        spoke: &[AuthorKind],
    ) {
        let was = before.map_or(&[][..], |b| b.typing.as_slice());
        for author in details.typing.iter().filter(|a| !was.contains(a) && !spoke.contains(&a.kind)) {
            let name = author_label(author.kind, author.display_name.as_deref());
            let line = self.st.dim(&format!("{name} is typing…"));
            self.say(&line);
        }
    }

    /// The visitor has seen the team's new messages: the read marker moves (the team sees them read).
    fn mark_read(&mut self, fresh: &[&MessageItem], conversation_id: &str) {
        let newest =
            fresh.iter().filter(|m| m.message.author.kind != AuthorKind::Visitor).filter_map(|m| m.message.seq);
        let Some(seq) = newest.max() else { return };
        if let Err(e) = self.ctx.client.mark_read(conversation_id, Some(seq)) {
            let line = self.st.dim(&format!("(read marker not saved: {e})"));
            self.say(&line);
        }
    }

    /// Quick replies on offer that were not printed under their message (a number typed now picks one of them).
    fn show_offer(&mut self, details: &ConversationDetails) {
        if details.quick_replies.is_empty() || details.quick_replies == self.offer_on_screen {
            return;
        }
        let text = quick_replies(&details.quick_replies, &self.st);
        self.say(text.trim_end());
        self.offer_on_screen = details.quick_replies.clone();
    }

    /// A satisfaction survey waits for the visitor's answer.
    fn show_survey(&mut self, details: &ConversationDetails) {
        let Some(survey) = details.pending_survey.as_ref().filter(|s| self.survey_on_screen != Some(s.seq)) else {
            return;
        };
        // The prompt's message (on screen) names the scale's ends; this says how to answer.
        let hint =
            format!("  ☆ rate this chat: /survey {}..{} [comment]", survey.prompt.scale_min, survey.prompt.scale_max);
        self.survey_on_screen = Some(survey.seq);
        let line = self.st.dim(&hint);
        self.say(&line);
    }

    /// The team became available or went away (the intro showed the chatflow's availability when it resolved).
    fn show_availability(&mut self, before: Option<&ConversationDetails>, details: &ConversationDetails) {
        let was = before.map_or(Some(self.flow.availability.available), |b| b.team_available);
        let (Some(was), Some(now)) = (was, details.team_available) else { return };
        if was == now {
            return;
        }
        let line = if now {
            self.st.green("● the team is available now")
        } else {
            let away = self.flow.availability.away_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            self.st.yellow(&format!("○ the team is away now{away}"))
        };
        self.say(&line);
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

    /// One message as a line (`14:02 Alice: text`), its files, and the quick replies it offers.
    pub fn show_message(&mut self, m: &ChatMessage) {
        let st = self.st;
        let from_team = m.author.kind != AuthorKind::Visitor;
        // The server stores the welcome as the conversation's first team message — not always its first message: a
        // bot's greeting may come after the visitor's first words. It is on screen already, from the intro.
        if from_team && std::mem::take(&mut self.welcome_on_screen) && m.body == self.flow.welcome_message {
            return;
        }
        let who = author_label(m.author.kind, m.author.display_name.as_deref());
        let who = if from_team { st.magenta(&who) } else { st.cyan(&who) };
        let time = crate::views::time(m.created_at);
        let time = time.get(11..16).unwrap_or(&time).to_owned();
        let mut text = format!("{} {who}: {}", st.dim(&time), m.body);
        for a in &m.attachments {
            text.push_str(&format!("\n   {}", attachment_line(a)));
        }
        if !m.quick_replies.is_empty() {
            text.push('\n');
            text.push_str(quick_replies(&m.quick_replies, &st).trim_end());
            if from_team {
                self.offer_on_screen = m.quick_replies.clone();
            }
        }
        self.say(&text);
    }

    /// The visitor's message `echo` is on screen (typed, or printed by the command that sent it): its delivery is
    /// followed from here.
    pub fn sent(&mut self, echo: &ChatMessage) {
        self.seen.insert(echo.local_id, Seen { on_screen: true, delivery: Delivery::Queued });
        self.sent_here.push(echo.local_id);
    }

    /// Something is still to be sent: a message of the queue not refused, or one sent from this chat that the
    /// conversation state does not show delivered (or refused) yet.
    pub fn awaiting_delivery(&self) -> bool {
        let queue_busy = self
            .ctx
            .client
            .pending_sends()
            .is_ok_and(|p| p.iter().any(|m| !matches!(m.state, MessageState::Wedged { .. })));
        queue_busy
            || self.sent_here.iter().any(|id| {
                let item = self.state.as_ref().and_then(|s| s.messages.iter().find(|m| m.id == *id));
                item.is_none_or(|m| matches!(m.delivery, Delivery::Queued | Delivery::Sending))
            })
    }
}

/// Not stored by the server yet (so without a `seq`).
fn unconfirmed(delivery: &Delivery) -> bool {
    matches!(delivery, Delivery::Queued | Delivery::Sending | Delivery::Failed { .. })
}
