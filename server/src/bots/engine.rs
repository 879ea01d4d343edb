//! The bot's state machine, pure: a session, the bot's settings and the visitor's input in; the messages to send,
//! the properties to write and whether to hand off out. No I/O and no clock: the runner (`runner.rs`) loads and saves
//! the session, sends the messages and decides the handoff text from the team's availability.
//!
//! A run walks the tree from a node: `send_message` queues its text, `set_property` writes, `branch` picks the first
//! rule that holds (else `otherwise`), and the walk stops at an `ask` (the session then waits on it), a `handoff`,
//! an `end` or a missing `next` (completed). An answer to the waiting question is matched against its quick replies
//! (the tapped id, or a typed label), then checked (email, number); a bad answer gets the error reply and the question
//! again.

use std::collections::BTreeMap;

use chatflow_protocol::limits::{MAX_PROPERTIES, MAX_PROPERTY_VALUE_CHARS};
use chatflow_protocol::{
    AnswerValidation, BotAction, BotNode, BotSettings, Condition, ConditionOp, ConditionSubject, QuickReply,
};
use serde::{Deserialize, Serialize};

/// How a bot session ended. A session with an outcome never restarts and the bot stays silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The visitor went through the flow to an `end` (or a node without `next`).
    Completed,
    /// The flow reached a `handoff`: the team takes the conversation.
    HandedOff,
}

/// A bot message decided but not yet stored. Its client id makes storing it idempotent (a retry after a crash
/// returns the stored message). `bot:` cannot start a client-chosen id (`:` is not allowed there), and the
/// conversation id makes it unique across conversations (the SDK keys its local messages by client id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMessage {
    pub client_message_id: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
}

/// The bot's state in one conversation (persisted by `BotStore`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSession {
    pub conversation_id: String,
    /// The question waiting for the visitor's answer.
    pub current_node: Option<String>,
    /// Answers of this run, by question node id.
    pub answers: BTreeMap<String, String>,
    /// The last answer: the quick-reply id when a button was chosen, else the text.
    pub last_answer: Option<String>,
    pub outcome: Option<Outcome>,
    /// Unix ms of the visitor's last message (or of the opening): the session timeout counts from here.
    pub last_activity_at: i64,
    /// Highest visitor message seq the bot has handled (a repeated trigger is ignored).
    pub handled_seq: u64,
    /// Runs of the flow in this conversation (1 at the start; +1 at each timeout restart).
    pub runs: u32,
    /// Bot messages decided so far (numbers their client ids).
    pub emitted: u64,
    /// Messages decided and not yet stored, in order.
    pub pending: Vec<PendingMessage>,
    /// The flow handed off and the conversation is not yet marked as handed off.
    pub handoff_due: bool,
}

impl BotSession {
    pub fn new(conversation_id: &str, now: i64) -> Self {
        BotSession {
            conversation_id: conversation_id.to_owned(),
            current_node: None,
            answers: BTreeMap::new(),
            last_answer: None,
            outcome: None,
            last_activity_at: now,
            handled_seq: 0,
            runs: 0,
            emitted: 0,
            pending: Vec::new(),
            handoff_due: false,
        }
    }

    /// Decides a bot message: it gets the next client id and waits in `pending` until stored.
    pub fn queue(&mut self, body: &str, quick_replies: &[QuickReply]) {
        self.emitted += 1;
        self.pending.push(PendingMessage {
            client_message_id: format!("bot:{}:{}", self.conversation_id, self.emitted),
            body: body.to_owned(),
            quick_replies: quick_replies.to_vec(),
        });
    }

    /// Has the visitor been idle longer than the timeout in a flow that is not over?
    pub fn expired(&self, now: i64, timeout_minutes: u32) -> bool {
        self.outcome.is_none() && now.saturating_sub(self.last_activity_at) > i64::from(timeout_minutes) * 60_000
    }
}

/// Texts the bot falls back on when the flow leaves them empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub error_reply: &'static str,
}

/// What a step decided besides the queued messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// Visitor properties to write (in order; a later write of a name wins).
    pub properties: Vec<(String, String)>,
    /// The flow reached a `handoff`; its text, if it has one.
    pub handoff: Option<Option<String>>,
}

/// Starts the flow from the top: a new run, the welcome message (if any), then the nodes up to the first stop.
pub fn start(
    bot: &BotSettings,
    welcome: &str,
    defaults: &Defaults,
    session: &mut BotSession,
    props: &mut BTreeMap<String, String>,
) -> Step {
    session.runs += 1;
    session.current_node = None;
    session.answers.clear();
    session.last_answer = None;
    session.outcome = None;
    if !welcome.trim().is_empty() {
        session.queue(welcome, &[]);
    }
    let mut step = Step::default();
    run(bot, Some(bot.flow.start.as_str()), defaults, session, props, &mut step);
    step
}

/// Handles the visitor's answer to the waiting question. Does nothing when the session waits on nothing.
pub fn answer(
    bot: &BotSettings,
    defaults: &Defaults,
    session: &mut BotSession,
    props: &mut BTreeMap<String, String>,
    body: &str,
    quick_reply_id: Option<&str>,
) -> Step {
    let mut step = Step::default();
    let Some(node_id) = session.current_node.clone() else { return step };
    let ask = node(bot, &node_id).filter(|n| matches!(n.action, BotAction::Ask { .. }));
    let Some(BotNode {
        action: BotAction::Ask { text, quick_replies, allow_free_text, validation, save_as, next },
        ..
    }) = ask
    else {
        // The flow was edited under the session: the question is gone. Say so and start from the top.
        session.queue(error_reply(bot, defaults), &[]);
        session.current_node = None;
        run(bot, Some(bot.flow.start.as_str()), defaults, session, props, &mut step);
        return step;
    };
    match interpret(quick_replies, *allow_free_text, *validation, body, quick_reply_id) {
        Some((value, text_value)) => {
            session.current_node = None;
            session.answers.insert(node_id, text_value.clone());
            session.last_answer = Some(value);
            if let Some(name) = save_as {
                set_property(props, &mut step, name, &text_value);
            }
            run(bot, next.as_deref(), defaults, session, props, &mut step);
        }
        None => {
            session.queue(error_reply(bot, defaults), &[]);
            session.queue(text, quick_replies);
        }
    }
    step
}

fn error_reply<'a>(bot: &'a BotSettings, defaults: &'a Defaults) -> &'a str {
    if bot.error_reply.trim().is_empty() {
        defaults.error_reply
    } else {
        &bot.error_reply
    }
}

fn node<'a>(bot: &'a BotSettings, id: &str) -> Option<&'a BotNode> {
    bot.flow.nodes.iter().find(|n| n.id == id)
}

fn set_property(props: &mut BTreeMap<String, String>, step: &mut Step, name: &str, value: &str) {
    if !props.contains_key(name) && props.len() >= MAX_PROPERTIES {
        tracing::warn!(property = name, "bot cannot add a property: the visitor has the maximum");
        return;
    }
    let value: String = value.chars().take(MAX_PROPERTY_VALUE_CHARS).collect();
    props.insert(name.to_owned(), value.clone());
    step.properties.push((name.to_owned(), value));
}

/// Walks from `from` until a stop. Validation rejects loops without a question; the step bound guards flows saved
/// before a rule existed.
fn run(
    bot: &BotSettings,
    from: Option<&str>,
    defaults: &Defaults,
    session: &mut BotSession,
    props: &mut BTreeMap<String, String>,
    step: &mut Step,
) {
    let mut at = from.map(str::to_owned);
    for _ in 0..=bot.flow.nodes.len() {
        let Some(id) = at.take() else {
            session.outcome = Some(Outcome::Completed);
            return;
        };
        let Some(n) = node(bot, &id) else {
            tracing::warn!(node = %id, "bot flow points to a missing node");
            break;
        };
        match &n.action {
            BotAction::SendMessage { text, next } => {
                session.queue(text, &[]);
                at = next.clone();
            }
            BotAction::Ask { text, quick_replies, .. } => {
                session.queue(text, quick_replies);
                session.current_node = Some(id);
                return;
            }
            BotAction::Branch { rules, otherwise } => {
                at = rules
                    .iter()
                    .find(|r| holds(&r.condition, session.last_answer.as_deref(), props))
                    .map(|r| r.next.clone())
                    .or_else(|| otherwise.clone());
            }
            BotAction::SetProperty { name, value, next } => {
                set_property(props, step, name, value);
                at = next.clone();
            }
            BotAction::Handoff { text } => {
                session.outcome = Some(Outcome::HandedOff);
                session.handoff_due = true;
                step.handoff = Some(text.clone());
                return;
            }
            BotAction::End { text } => {
                if let Some(t) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                    session.queue(t, &[]);
                }
                session.outcome = Some(Outcome::Completed);
                return;
            }
        }
    }
    // A missing node or a runaway walk: the action failed.
    session.queue(error_reply(bot, defaults), &[]);
    session.outcome = Some(Outcome::Completed);
}

/// Does the condition hold? Comparisons ignore case (and surrounding spaces for `equals`).
pub fn holds(c: &Condition, last_answer: Option<&str>, props: &BTreeMap<String, String>) -> bool {
    let subject = match &c.subject {
        ConditionSubject::LastAnswer => last_answer,
        ConditionSubject::Property { name } => props.get(name).map(String::as_str),
    };
    let set = subject.is_some_and(|s| !s.trim().is_empty());
    match c.op {
        ConditionOp::Equals => subject.is_some_and(|s| s.trim().to_lowercase() == c.value.trim().to_lowercase()),
        ConditionOp::Contains => subject.is_some_and(|s| s.to_lowercase().contains(&c.value.to_lowercase())),
        ConditionOp::IsSet => set,
        ConditionOp::IsNotSet => !set,
    }
}

/// The answer as (last-answer value, text value): a quick reply gives (its id, its label); free text gives the
/// trimmed text twice. `None` when the answer is not acceptable.
fn interpret(
    quick_replies: &[QuickReply],
    allow_free_text: bool,
    validation: Option<AnswerValidation>,
    body: &str,
    quick_reply_id: Option<&str>,
) -> Option<(String, String)> {
    let text = body.trim();
    if !quick_replies.is_empty() {
        let tapped = quick_reply_id.and_then(|id| quick_replies.iter().find(|q| q.id == id));
        let typed = || quick_replies.iter().find(|q| q.label.trim().to_lowercase() == text.to_lowercase());
        if let Some(q) = tapped.or_else(typed) {
            return Some((q.id.clone(), q.label.clone()));
        }
        if !allow_free_text {
            return None;
        }
    }
    let ok = match validation {
        None => !text.is_empty(),
        Some(AnswerValidation::Email) => is_email(text),
        Some(AnswerValidation::Number) => is_number(text),
    };
    ok.then(|| (text.to_owned(), text.to_owned()))
}

/// `local@domain.tld`, no spaces, one `@`, at most 254 characters.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

/// A decimal number: optional sign, digits, optional `.` or `,` and digits (`42`, `-3.5`, `3,5`).
pub fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = match digits.split_once(['.', ',']) {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: Defaults = Defaults { error_reply: "Sorry?" };

    fn bot() -> BotSettings {
        serde_json::from_value(json!({"session_timeout_minutes": 30, "error_reply": "", "flow": {"start": "hi",
        "nodes": [
            {"id": "hi", "action": "send_message", "text": "Hello", "next": "topic"},
            {"id": "topic", "action": "ask", "text": "Topic?", "quick_replies": [
                {"id": "billing", "label": "Billing"}, {"id": "other", "label": "Other"}], "next": "route"},
            {"id": "route", "action": "branch", "rules": [
                {"condition": {"subject": {"kind": "last_answer"}, "op": "equals", "value": "billing"},
                 "next": "email"}], "otherwise": "bye"},
            {"id": "email", "action": "ask", "text": "Email?", "validation": "email", "save_as": "email",
             "next": "tag"},
            {"id": "tag", "action": "set_property", "name": "segment", "value": "billing", "next": "human"},
            {"id": "human", "action": "handoff", "text": "Connecting you"},
            {"id": "bye", "action": "end", "text": "Bye"}
        ]}}))
        .unwrap()
    }

    fn bodies(s: &BotSession) -> Vec<&str> {
        s.pending.iter().map(|p| p.body.as_str()).collect()
    }

    #[test]
    fn walks_the_billing_branch_to_the_handoff() {
        let (b, mut s, mut props) = (bot(), BotSession::new("c1", 0), BTreeMap::new());
        let step = start(&b, "Welcome!", &D, &mut s, &mut props);
        assert_eq!(bodies(&s), ["Welcome!", "Hello", "Topic?"]);
        assert_eq!(s.pending[2].quick_replies.len(), 2);
        assert_eq!(s.pending[0].client_message_id, "bot:c1:1");
        assert_eq!((s.current_node.as_deref(), step), (Some("topic"), Step::default()));
        s.pending.clear();
        answer(&b, &D, &mut s, &mut props, "Billing", Some("billing"));
        assert_eq!(bodies(&s), ["Email?"]);
        s.pending.clear();
        answer(&b, &D, &mut s, &mut props, "not an email", None);
        assert_eq!(bodies(&s), ["Sorry?", "Email?"], "error reply, then the question again");
        s.pending.clear();
        let step = answer(&b, &D, &mut s, &mut props, " ann@example.com ", None);
        assert_eq!(step.handoff, Some(Some("Connecting you".into())));
        assert_eq!(s.outcome, Some(Outcome::HandedOff));
        assert!(s.handoff_due);
        assert_eq!(props.get("email").map(String::as_str), Some("ann@example.com"));
        assert_eq!(props.get("segment").map(String::as_str), Some("billing"));
        assert_eq!(s.answers.get("topic").map(String::as_str), Some("Billing"));
    }

    #[test]
    fn typed_labels_count_as_taps_and_other_text_is_refused() {
        let (b, mut s, mut props) = (bot(), BotSession::new("c", 0), BTreeMap::new());
        start(&b, "", &D, &mut s, &mut props);
        s.pending.clear();
        answer(&b, &D, &mut s, &mut props, "whatever", None);
        assert_eq!(bodies(&s), ["Sorry?", "Topic?"]);
        s.pending.clear();
        answer(&b, &D, &mut s, &mut props, "  other ", None);
        assert_eq!(bodies(&s), ["Bye"]);
        assert_eq!(s.outcome, Some(Outcome::Completed));
        assert_eq!(s.last_answer.as_deref(), Some("other"));
    }

    #[test]
    fn a_restart_clears_the_run_and_a_vanished_question_restarts() {
        let (mut b, mut s, mut props) = (bot(), BotSession::new("c", 0), BTreeMap::new());
        start(&b, "W", &D, &mut s, &mut props);
        answer(&b, &D, &mut s, &mut props, "Billing", None);
        assert_eq!(s.current_node.as_deref(), Some("email"));
        start(&b, "W", &D, &mut s, &mut props);
        assert_eq!((s.runs, s.current_node.as_deref(), s.answers.len()), (2, Some("topic"), 0));
        b.flow.nodes.retain(|n| n.id != "topic");
        s.pending.clear();
        answer(&b, &D, &mut s, &mut props, "x", None);
        assert_eq!(bodies(&s), ["Sorry?", "Hello", "Sorry?"], "start points to a missing node");
    }

    #[test]
    fn expiry_and_conditions() {
        let mut s = BotSession::new("c", 0);
        assert!(!s.expired(30 * 60_000, 30));
        assert!(s.expired(30 * 60_000 + 1, 30));
        s.outcome = Some(Outcome::Completed);
        assert!(!s.expired(i64::MAX, 30));
        let props = BTreeMap::from([("plan".to_owned(), "Pro Plus".to_owned()), ("empty".to_owned(), " ".to_owned())]);
        let cond = |subject: serde_json::Value, op: &str, value: &str| -> Condition {
            serde_json::from_value(json!({"subject": subject, "op": op, "value": value})).unwrap()
        };
        let plan = json!({"kind": "property", "name": "plan"});
        assert!(holds(&cond(plan.clone(), "equals", " pro plus "), None, &props));
        assert!(holds(&cond(plan.clone(), "contains", "PLUS"), None, &props));
        assert!(holds(&cond(plan, "is_set", ""), None, &props));
        assert!(holds(&cond(json!({"kind": "property", "name": "empty"}), "is_not_set", ""), None, &props));
        assert!(!holds(&cond(json!({"kind": "last_answer"}), "equals", "x"), None, &props));
    }

    #[test]
    fn answer_checks() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["", "a@b", "@b.co", "a b@c.de", "a@@b.co", "a@b..co", "a@.co"] {
            assert!(!is_email(bad), "{bad}");
        }
        for ok in ["0", "42", "-3.5", "+7", "3,25"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in ["", "-", "4.", ".5", "1e3", "12a", "1.2.3"] {
            assert!(!is_number(bad), "{bad}");
        }
    }
}
