//! The UI-facing records of a resolved chatflow: everything a chat screen needs, owned and flat enough for UniFFI.

use chatflow_protocol::{
    AvailabilityNow, AwayBehavior, BotSettings, Chatflow, ChatflowKind, CommunicateConsent, EmailCaptureMode,
    ProcessDataMode, TypicalResponseTime,
};

use super::cache::CacheInfo;
use crate::consent::text_version;

/// A chatflow ready to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedChatflow {
    pub chatflow_id: i64,
    pub name: String,
    pub kind: ChatflowKind,
    /// BCP 47 language of the chatflow's texts.
    pub language: String,
    pub welcome_message: String,
    pub header: Header,
    pub availability: AvailabilityInfo,
    pub email_capture: EmailCaptureInfo,
    pub knowledge_base_enabled: bool,
    pub knowledge_base_id: Option<i64>,
    pub consent: ConsentRequirements,
    /// Present for rule-based bots.
    pub bot: Option<BotOptions>,
    pub csat_survey: bool,
    pub transcript_on_close: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// Show this name/avatar on agent messages instead of the agent's own.
    pub use_branding_as_agent_alias: bool,
}

/// Availability now, and what to show while away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilityInfo {
    pub available: bool,
    /// When `available` flips next (Unix ms), when known.
    pub next_change_at: Option<i64>,
    pub when_away: AwayBehavior,
    /// Set while away and the chatflow shows an away message.
    pub away_message: Option<String>,
    /// Set while away and the chatflow shows a typical response time.
    pub typical_response_time: Option<TypicalResponseTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCaptureInfo {
    pub mode: EmailCaptureMode,
    pub prompt: String,
    /// The rule asks for an email now (ignoring whether one is already known: see `email_capture_prompt`).
    pub ask_now_by_rule: bool,
}

/// What must be shown or asked before chatting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequirements {
    pub process_data_mode: ProcessDataMode,
    pub process_data_text: String,
    /// sha256 hex of `process_data_text`: a changed text is a new version.
    pub process_data_text_version: String,
    /// The optional opt-in to communications (`None` when off).
    pub communicate: Option<CommunicateConsent>,
}

/// Rule-based bot presentation options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotOptions {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub session_timeout_minutes: i32,
    pub message_delay_ms: i32,
    pub error_reply: String,
}

/// The typed outcome of `ChatClient::resolve`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveOutcome {
    Found(Box<ResolvedChatflow>),
    /// No enabled chatflow carries the tag (check the tag in the app's config, or `explain`).
    NotFound {
        tag: String,
    },
    /// Every candidate hides its launcher now; show no chat entry point until `next_change_at` (if known).
    AllHidden {
        tag: String,
        next_change_at: Option<i64>,
    },
}

/// `resolve`'s answer: the outcome and how old the cached chatflow list it came from is.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatflowResolution {
    pub outcome: ResolveOutcome,
    pub cache: CacheInfo,
}

impl ResolvedChatflow {
    pub(crate) fn new(f: &Chatflow, now: AvailabilityNow) -> ResolvedChatflow {
        let a = &f.availability;
        let away = !now.available;
        let ask_now_by_rule = match f.email_capture.mode {
            EmailCaptureMode::Never => false,
            EmailCaptureMode::WhenAway => away,
            EmailCaptureMode::Always => true,
        };
        ResolvedChatflow {
            chatflow_id: f.id,
            name: f.name.clone(),
            kind: f.kind,
            language: f.language.clone(),
            welcome_message: f.welcome_message.clone(),
            header: Header {
                display_name: f.header.display_name.clone(),
                avatar_url: f.header.avatar_url.clone(),
                use_branding_as_agent_alias: f.header.use_branding_as_agent_alias,
            },
            availability: AvailabilityInfo {
                available: now.available,
                next_change_at: now.next_change_at,
                when_away: a.when_away,
                away_message: (away && a.when_away == AwayBehavior::AwayMessage).then(|| a.away_message.clone()),
                typical_response_time: if away && a.when_away == AwayBehavior::TypicalResponseTime {
                    a.typical_response_time
                } else {
                    None
                },
            },
            email_capture: EmailCaptureInfo {
                mode: f.email_capture.mode,
                prompt: f.email_capture.prompt.clone(),
                ask_now_by_rule,
            },
            knowledge_base_enabled: f.knowledge_base.enabled,
            knowledge_base_id: f.knowledge_base.kb_id,
            consent: ConsentRequirements {
                process_data_mode: f.consent.process_data.mode,
                process_data_text: f.consent.process_data.text.clone(),
                process_data_text_version: text_version(&f.consent.process_data.text),
                communicate: f.consent.communicate.clone(),
            },
            bot: f.bot.as_ref().map(bot_options),
            csat_survey: f.csat_survey,
            transcript_on_close: f.transcript_on_close,
        }
    }
}

fn bot_options(b: &BotSettings) -> BotOptions {
    BotOptions {
        display_name: b.display_name.clone(),
        avatar_url: b.avatar_url.clone(),
        session_timeout_minutes: crate::model::count(b.session_timeout_minutes),
        message_delay_ms: crate::model::count(b.message_delay_ms),
        error_reply: b.error_reply.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chatflow::resolve::tests::flow;
    use chatflow_protocol::AvailabilityMode;

    #[test]
    fn away_texts_only_while_away() {
        let mut f = flow(1, &["t"], 0, "en");
        f.availability.mode = AvailabilityMode::TeamStatus;
        f.availability.away_message = "back soon".into();
        f.email_capture.mode = EmailCaptureMode::WhenAway;
        f.consent.process_data.text = "We store your data.".into();
        let open = ResolvedChatflow::new(&f, AvailabilityNow { available: true, next_change_at: None });
        assert_eq!(open.availability.away_message, None);
        assert!(!open.email_capture.ask_now_by_rule);
        let closed = ResolvedChatflow::new(&f, AvailabilityNow { available: false, next_change_at: Some(5) });
        assert_eq!(closed.availability.away_message.as_deref(), Some("back soon"));
        assert_eq!(closed.availability.next_change_at, Some(5));
        assert!(closed.email_capture.ask_now_by_rule);
        assert_eq!(closed.consent.process_data_text_version.len(), 64);

        f.availability.when_away = AwayBehavior::TypicalResponseTime;
        f.availability.typical_response_time = Some(TypicalResponseTime::FewHours);
        let closed = ResolvedChatflow::new(&f, AvailabilityNow { available: false, next_change_at: None });
        assert_eq!(closed.availability.away_message, None);
        assert_eq!(closed.availability.typical_response_time, Some(TypicalResponseTime::FewHours));
    }
}
