//! Serializable views of the SDK's records (the SDK's own types are plain Rust, not serde) and their text forms.
//! Protocol enums (`ChatflowKind`, `ProcessDataMode`, …) are wire types and serialize as the protocol spells them.

use chatflow_core::chatflow::{CacheInfo, Candidate, ResolvedChatflow, Verdict};
use chatflow_core::consent::{ConsentState, ProcessDataStatus};
use chatflow_core::model::ChatConversation;
use chatflow_core::model::MessageSurvey;
use chatflow_core::model::{ChatMessage, MessageState};
use chatflow_core::protocol::{
    AuthorKind, AwayBehavior, ChatflowKind, CommunicateConsent, EmailCaptureMode, ProcessDataMode, QuickReply,
    TypicalResponseTime,
};
use serde::Serialize;

use crate::output::Style;

/// Any serde value as the snake_case word the protocol uses (`live_chat`, `explicit`, …).
pub fn word<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// Unix ms as local `YYYY-MM-DD HH:MM:SS` (UTC when the zone is unknown).
pub fn time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

/// A duration in ms as `42s`, `3m`, `5h`, `2d`.
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheView {
    pub fetched_at: Option<i64>,
    pub age_ms: Option<i64>,
    pub chatflow_count: i32,
    /// The list could not be refreshed now; this is the cached copy.
    pub stale: bool,
}

impl CacheView {
    pub fn new(c: &CacheInfo, stale: bool) -> CacheView {
        CacheView { fetched_at: c.fetched_at, age_ms: c.age_ms, chatflow_count: c.chatflow_count, stale }
    }

    pub fn line(&self, st: &Style) -> String {
        let when = match self.age_ms {
            Some(a) => format!("fetched {} ago", age(a)),
            None => "never fetched".into(),
        };
        let stale = if self.stale { st.yellow(" (server unreachable: cached copy)") } else { String::new() };
        st.dim(&format!("chatflow cache: {} chatflows, {when}", self.chatflow_count)) + &stale
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HeaderView {
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub use_branding_as_agent_alias: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AvailabilityView {
    pub available: bool,
    pub next_change_at: Option<i64>,
    pub when_away: AwayBehavior,
    pub away_message: Option<String>,
    pub typical_response_time: Option<TypicalResponseTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmailCaptureView {
    pub mode: EmailCaptureMode,
    pub prompt: String,
    pub ask_now_by_rule: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeBaseView {
    pub enabled: bool,
    pub id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentRequirementsView {
    pub process_data_mode: ProcessDataMode,
    pub process_data_text: String,
    pub process_data_text_version: String,
    pub communicate: Option<CommunicateConsent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BotView {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub session_timeout_minutes: i32,
    pub message_delay_ms: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatflowView {
    pub chatflow_id: i64,
    pub name: String,
    pub kind: ChatflowKind,
    pub language: String,
    pub welcome_message: String,
    pub header: HeaderView,
    pub availability: AvailabilityView,
    pub email_capture: EmailCaptureView,
    pub knowledge_base: KnowledgeBaseView,
    pub consent: ConsentRequirementsView,
    pub bot: Option<BotView>,
    pub csat_survey: bool,
    pub transcript_on_close: bool,
}

impl From<&ResolvedChatflow> for ChatflowView {
    fn from(f: &ResolvedChatflow) -> ChatflowView {
        ChatflowView {
            chatflow_id: f.chatflow_id,
            name: f.name.clone(),
            kind: f.kind,
            language: f.language.clone(),
            welcome_message: f.welcome_message.clone(),
            header: HeaderView {
                display_name: f.header.display_name.clone(),
                avatar_url: f.header.avatar_url.clone(),
                use_branding_as_agent_alias: f.header.use_branding_as_agent_alias,
            },
            availability: AvailabilityView {
                available: f.availability.available,
                next_change_at: f.availability.next_change_at,
                when_away: f.availability.when_away,
                away_message: f.availability.away_message.clone(),
                typical_response_time: f.availability.typical_response_time,
            },
            email_capture: EmailCaptureView {
                mode: f.email_capture.mode,
                prompt: f.email_capture.prompt.clone(),
                ask_now_by_rule: f.email_capture.ask_now_by_rule,
            },
            knowledge_base: KnowledgeBaseView { enabled: f.knowledge_base_enabled, id: f.knowledge_base_id },
            consent: ConsentRequirementsView {
                process_data_mode: f.consent.process_data_mode,
                process_data_text: f.consent.process_data_text.clone(),
                process_data_text_version: f.consent.process_data_text_version.clone(),
                communicate: f.consent.communicate.clone(),
            },
            bot: f.bot.as_ref().map(|b| BotView {
                display_name: b.display_name.clone(),
                avatar_url: b.avatar_url.clone(),
                session_timeout_minutes: b.session_timeout_minutes,
                message_delay_ms: b.message_delay_ms,
            }),
            csat_survey: f.csat_survey,
            transcript_on_close: f.transcript_on_close,
        }
    }
}

impl ChatflowView {
    /// A short block: name, kind, language, availability, KB, consent.
    pub fn render(&self, st: &Style) -> String {
        let mut s = format!(
            "{} {} {}\n",
            st.bold(&format!("chatflow {} \"{}\"", self.chatflow_id, self.name)),
            st.dim(&format!("({}, {})", word(&self.kind), self.language)),
            st.dim(&format!("header \"{}\"", self.header.display_name)),
        );
        let avail = if self.availability.available {
            st.green("available now")
        } else {
            let mut a = st.yellow("away now");
            if let Some(m) = &self.availability.away_message {
                a.push_str(&format!(" — \"{m}\""));
            }
            if let Some(t) = self.availability.typical_response_time {
                a.push_str(&format!(" — typically replies in {}", word(&t).replace('_', " ")));
            }
            a
        };
        let next = self.availability.next_change_at.map(|t| format!(" (changes at {})", time(t))).unwrap_or_default();
        s.push_str(&format!("  availability: {avail}{next}\n"));
        s.push_str(&format!("  welcome: {}\n", self.welcome_message));
        let kb = match (self.knowledge_base.enabled, self.knowledge_base.id) {
            (true, Some(id)) => format!("knowledge base {id}"),
            (true, None) => "enabled (no base id)".into(),
            _ => "off".into(),
        };
        s.push_str(&format!("  knowledge base: {kb}\n"));
        let mut consent = word(&self.consent.process_data_mode);
        if let Some(c) = &self.consent.communicate {
            consent.push_str(&format!(" + opt-in \"{}\" ({})", c.checkbox_label, c.subscription_type));
        }
        s.push_str(&format!("  consent: {consent}\n"));
        s.push_str(&format!(
            "  email capture: {}{}\n",
            word(&self.email_capture.mode),
            if self.email_capture.ask_now_by_rule { " (asks now)" } else { "" }
        ));
        s
    }
}

/// One candidate of `explain`, with its verdict as data and as a sentence.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateView {
    pub chatflow_id: i64,
    pub name: String,
    pub enabled: bool,
    pub priority: i32,
    pub language: String,
    pub verdict: &'static str,
    pub reason: String,
}

impl From<&Candidate> for CandidateView {
    fn from(c: &Candidate) -> CandidateView {
        let (verdict, reason) = match &c.verdict {
            Verdict::Chosen => ("chosen", format!("highest priority ({}) among the chatflows left", c.priority)),
            Verdict::Disabled => ("disabled", "carries the tag but is disabled".to_owned()),
            Verdict::OtherLanguage { matched_language } => (
                "other_language",
                format!("its language {} is not the preferred match `{matched_language}`", c.language),
            ),
            Verdict::Hidden { next_change_at } => (
                "hidden",
                match next_change_at {
                    Some(t) => format!("hides its launcher while away, until {}", time(*t)),
                    None => "hides its launcher while away".to_owned(),
                },
            ),
            Verdict::LowerPriority { winner_id, winner_priority } => {
                ("lower_priority", format!("priority {} < {winner_priority} of chatflow {winner_id}", c.priority))
            }
            Verdict::TieLostToLowerId { winner_id } => {
                ("tie_lost_to_lower_id", format!("same priority as chatflow {winner_id}, which has the lower id"))
            }
        };
        CandidateView {
            chatflow_id: c.chatflow_id,
            name: c.name.clone(),
            enabled: c.enabled,
            priority: c.priority,
            language: c.language.clone(),
            verdict,
            reason,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentView {
    pub chatflow_id: i64,
    pub process_data_mode: ProcessDataMode,
    pub status: &'static str,
    pub text: String,
    pub text_version: String,
    pub communicate: Option<CommunicateView>,
    pub can_send: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommunicateView {
    pub subscription_type: String,
    pub checkbox_label: String,
    pub label_version: String,
    pub opted_in: Option<bool>,
}

pub fn status_word(s: &ProcessDataStatus) -> &'static str {
    match s {
        ProcessDataStatus::NotRequired => "not_required",
        ProcessDataStatus::AwaitingDecision => "awaiting_decision",
        ProcessDataStatus::Accepted => "accepted",
        ProcessDataStatus::Declined => "declined",
        ProcessDataStatus::NoticeToShow => "notice_to_show",
        ProcessDataStatus::Implied => "implied",
    }
}

impl From<&ConsentState> for ConsentView {
    fn from(c: &ConsentState) -> ConsentView {
        ConsentView {
            chatflow_id: c.chatflow_id,
            process_data_mode: c.process_data.mode,
            status: status_word(&c.process_data.status),
            text: c.process_data.text.clone(),
            text_version: c.process_data.text_version.clone(),
            communicate: c.communicate.as_ref().map(|m| CommunicateView {
                subscription_type: m.subscription_type.clone(),
                checkbox_label: m.checkbox_label.clone(),
                label_version: m.label_version.clone(),
                opted_in: m.opted_in,
            }),
            can_send: c.can_send,
        }
    }
}

impl ConsentView {
    pub fn render(&self, st: &Style) -> String {
        let status = match self.status {
            "accepted" | "implied" | "not_required" => st.green(&self.status.replace('_', " ")),
            "declined" => st.red("declined"),
            other => st.yellow(&other.replace('_', " ")),
        };
        let mut s = format!(
            "{} on chatflow {}: {status} {}\n",
            st.bold("consent to process data"),
            self.chatflow_id,
            st.dim(&format!("(mode {})", word(&self.process_data_mode)))
        );
        if !self.text.is_empty() {
            s.push_str(&format!("  text: \"{}\"\n", self.text));
            s.push_str(&st.dim(&format!("  text version: {}", self.text_version)));
            s.push('\n');
        }
        if let Some(c) = &self.communicate {
            let choice = match c.opted_in {
                Some(true) => "opted in",
                Some(false) => "opted out",
                None => "not asked yet",
            };
            s.push_str(&format!("  communications: \"{}\" ({}): {choice}\n", c.checkbox_label, c.subscription_type));
        }
        let send = if self.can_send { st.green("allowed") } else { st.red("refused until the visitor accepts") };
        s.push_str(&format!("  sending: {send}\n"));
        s
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub conversation_id: String,
    pub seq: Option<i64>,
    pub client_message_id: Option<String>,
    pub author_kind: AuthorKind,
    pub author_name: Option<String>,
    pub body: String,
    pub quick_replies: Vec<QuickReply>,
    pub quick_reply_id: Option<String>,
    pub created_at: i64,
    /// `queued`, `sending`, `sent` or `wedged`.
    pub state: &'static str,
    /// Why the server refused it (wedged).
    pub error: Option<String>,
    /// A satisfaction survey's prompt or answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub survey: Option<MessageSurvey>,
    /// Files and images (name, type, size, id once sent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<chatflow_core::attachments::MessageAttachment>,
}

/// `📎 receipt.pdf (application/pdf, 12.3 kB) att_…`
pub fn attachment_line(a: &chatflow_core::attachments::MessageAttachment) -> String {
    let size = if a.size >= 1_000_000 {
        format!("{:.1} MB", a.size as f64 / 1e6)
    } else if a.size >= 1_000 {
        format!("{:.1} kB", a.size as f64 / 1e3)
    } else {
        format!("{} B", a.size)
    };
    let id = a.id.as_deref().map(|i| format!(" {i}")).unwrap_or_default();
    format!("📎 {} ({}, {size}){id}", a.file_name, a.mime_type)
}

pub fn state_word(s: &MessageState) -> &'static str {
    match s {
        MessageState::Queued => "queued",
        MessageState::Sending => "sending",
        MessageState::Sent => "sent",
        MessageState::Wedged { .. } => "wedged",
    }
}

impl From<&ChatMessage> for MessageView {
    fn from(m: &ChatMessage) -> MessageView {
        MessageView {
            conversation_id: m.conversation_id.clone(),
            seq: m.seq,
            client_message_id: m.client_message_id.clone(),
            author_kind: m.author.kind,
            author_name: m.author.display_name.clone(),
            body: m.body.clone(),
            quick_replies: m.quick_replies.clone(),
            quick_reply_id: m.quick_reply_id.clone(),
            created_at: m.created_at,
            state: state_word(&m.state),
            error: match &m.state {
                MessageState::Wedged { code, message } => Some(format!("{}: {message}", word(code))),
                _ => None,
            },
            survey: m.survey.clone(),
            attachments: m.attachments.clone(),
        }
    }
}

/// The name shown for a message's author.
pub fn author_label(kind: AuthorKind, name: Option<&str>) -> String {
    match (kind, name) {
        (AuthorKind::Visitor, _) => "you".into(),
        (_, Some(n)) if !n.is_empty() => n.to_owned(),
        (AuthorKind::Agent, _) => "agent".into(),
        (AuthorKind::Bot, _) => "bot".into(),
        (AuthorKind::System, _) => "system".into(),
    }
}

impl MessageView {
    /// `#3 14:02:11 Alice: hello` plus numbered quick replies and the state of local echoes.
    pub fn render(&self, st: &Style) -> String {
        let who = author_label(self.author_kind, self.author_name.as_deref());
        let who = match self.author_kind {
            AuthorKind::Visitor => st.cyan(&who),
            AuthorKind::System => st.dim(&who),
            _ => st.magenta(&who),
        };
        let seq = self.seq.map(|s| format!("#{s}")).unwrap_or_else(|| "#-".into());
        let mut s = format!("{} {who}: {}", st.dim(&format!("{seq} {}", time(self.created_at))), self.body);
        match self.state {
            "sent" => {}
            "wedged" => s.push_str(&st.red(&format!("  [not sent: {}]", self.error.as_deref().unwrap_or("")))),
            other => s.push_str(&st.yellow(&format!("  [{other}]"))),
        }
        s.push('\n');
        for a in &self.attachments {
            s.push_str(&format!("   {}\n", attachment_line(a)));
        }
        if let Some(MessageSurvey::Prompt(p)) = &self.survey {
            let hint = format!("   answer with /survey {}..{} [comment]", p.scale_min, p.scale_max);
            s.push_str(&st.dim(&hint));
            s.push('\n');
        }
        s.push_str(&quick_replies(&self.quick_replies, st));
        s
    }
}

/// `    [1] Yes   [2] No` under a bot question.
pub fn quick_replies(replies: &[QuickReply], st: &Style) -> String {
    if replies.is_empty() {
        return String::new();
    }
    let items: Vec<String> =
        replies.iter().enumerate().map(|(i, r)| format!("{} {}", st.bold(&format!("[{}]", i + 1)), r.label)).collect();
    format!("    {}\n", items.join("   "))
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationView {
    pub id: String,
    pub chatflow_id: i64,
    pub status: String,
    pub assignee: Option<String>,
    pub created_at: i64,
    pub last_seq: i64,
    pub read_seq: i64,
    pub agent_read_seq: i64,
    pub unread_count: i32,
}

impl From<&ChatConversation> for ConversationView {
    fn from(c: &ChatConversation) -> ConversationView {
        ConversationView {
            id: c.id.clone(),
            chatflow_id: c.chatflow_id,
            status: word(&c.status),
            assignee: c.assignee.as_ref().map(|a| a.display_name.clone()),
            created_at: c.created_at,
            last_seq: c.last_seq,
            read_seq: c.read_seq,
            agent_read_seq: c.agent_read_seq,
            unread_count: c.unread_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        assert_eq!(age(5_000), "5s");
        assert_eq!(age(125_000), "2m");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(age(-3), "0s");
    }

    #[test]
    fn protocol_words() {
        assert_eq!(word(&ChatflowKind::LiveChat), "live_chat");
        assert_eq!(word(&ProcessDataMode::LegitimateInterest), "legitimate_interest");
    }
}
