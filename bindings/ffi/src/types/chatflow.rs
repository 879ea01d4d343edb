//! Config and chatflow records. Types defined in `chatflow-core` / `chatflow-protocol` are exposed as UniFFI *remote*
//! types: the declarations below mirror the real ones field by field (the compiler checks every field, so a change
//! in the core fails this build instead of drifting). Shapes UniFFI cannot carry (boxed variants, the full protocol
//! chatflow inside `explain`) get a small record of their own with a `From` impl.

use chatflow_core::chatflow::{model, resolve};
pub use chatflow_core::chatflow::{CacheInfo, RefreshOutcome};
use chatflow_core::config;
use chatflow_core::protocol as wire;

// ----------------------------------------------------------------------------- config

pub type Environment = config::Environment;

/// The app's deployment environment (`environment` in the config file).
#[uniffi::remote(Enum)]
pub enum Environment {
    Production,
    Staging,
    Development,
}

pub type ChatflowConfig = config::Config;

/// The SDK configuration: build it in code, or read the JSON config file with `configFromJson` / `configFromFile`.
#[uniffi::remote(Record)]
pub struct ChatflowConfig {
    /// `https://…`, or `http://` to a loopback host only.
    pub server_url: String,
    /// The app (tenant) id from the admin tool.
    pub app_id: String,
    pub environment: Environment,
    /// The mobile tag resolved when the app names none.
    pub default_tag: String,
    /// BCP 47 language used when the app gives no preferred languages.
    pub language: Option<String>,
    /// PEM text of CA certificates trusted in addition to the platform's store (self-hosted server, private CA).
    #[uniffi(default)]
    pub extra_root_certificates: Option<String>,
    /// base64 SHA-256 of SubjectPublicKeyInfo; when not empty, a certificate the server sends must have one of them.
    #[uniffi(default)]
    pub pinned_spki_sha256: Vec<String>,
    /// Bound of the received-attachment cache in bytes (`null`: 100 MiB).
    #[uniffi(default)]
    pub attachment_cache_bytes: Option<i64>,
}

// ----------------------------------------------------------------------------- protocol enums

pub type ChatflowKind = wire::ChatflowKind;

#[uniffi::remote(Enum)]
pub enum ChatflowKind {
    LiveChat,
    Bot,
    AiAgent,
}

pub type AwayBehavior = wire::AwayBehavior;

/// What the chat shows while the team is away.
#[uniffi::remote(Enum)]
pub enum AwayBehavior {
    AwayMessage,
    TypicalResponseTime,
    HideLauncher,
}

pub type TypicalResponseTime = wire::TypicalResponseTime;

#[uniffi::remote(Enum)]
pub enum TypicalResponseTime {
    FewMinutes,
    FewHours,
    ADay,
}

pub type EmailCaptureMode = wire::EmailCaptureMode;

#[uniffi::remote(Enum)]
pub enum EmailCaptureMode {
    Never,
    WhenAway,
    Always,
}

pub type ProcessDataMode = wire::ProcessDataMode;

/// How a chatflow asks for consent to process data.
#[uniffi::remote(Enum)]
pub enum ProcessDataMode {
    /// Not asked.
    Off,
    /// "I agree" required before the first message.
    Explicit,
    /// The notice is shown; starting to chat implies consent.
    LegitimateInterest,
}

pub type CommunicateConsent = wire::CommunicateConsent;

/// The optional opt-in to a subscription type, shown as a checkbox.
#[uniffi::remote(Record)]
pub struct CommunicateConsent {
    pub subscription_type: String,
    pub checkbox_label: String,
}

// ----------------------------------------------------------------------------- resolved chatflow

pub type ChatHeader = model::Header;

/// Name and avatar at the top of the chat.
#[uniffi::remote(Record)]
pub struct ChatHeader {
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// Show this name/avatar on agent messages instead of the agent's own.
    pub use_branding_as_agent_alias: bool,
}

pub type AvailabilityInfo = model::AvailabilityInfo;

/// Availability now, and what to show while away.
#[uniffi::remote(Record)]
pub struct AvailabilityInfo {
    pub available: bool,
    /// When `available` flips next (Unix ms), when known.
    pub next_change_at: Option<i64>,
    pub when_away: AwayBehavior,
    pub away_message: Option<String>,
    pub typical_response_time: Option<TypicalResponseTime>,
}

pub type EmailCaptureInfo = model::EmailCaptureInfo;

#[uniffi::remote(Record)]
pub struct EmailCaptureInfo {
    pub mode: EmailCaptureMode,
    pub prompt: String,
    /// The rule asks for an email now (see `emailCapturePrompt` for whether one is already known).
    pub ask_now_by_rule: bool,
}

pub type ConsentRequirements = model::ConsentRequirements;

/// What must be shown or asked before chatting.
#[uniffi::remote(Record)]
pub struct ConsentRequirements {
    pub process_data_mode: ProcessDataMode,
    pub process_data_text: String,
    /// Version (sha256 hex) of `process_data_text`; pass it back to `acceptConsent`.
    pub process_data_text_version: String,
    pub communicate: Option<CommunicateConsent>,
}

pub type BotOptions = model::BotOptions;

#[uniffi::remote(Record)]
pub struct BotOptions {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub session_timeout_minutes: i32,
    pub message_delay_ms: i32,
    pub error_reply: String,
}

pub type ResolvedChatflow = model::ResolvedChatflow;

/// A chatflow ready to show: everything a chat screen needs.
#[uniffi::remote(Record)]
pub struct ResolvedChatflow {
    pub chatflow_id: i64,
    pub name: String,
    pub kind: ChatflowKind,
    pub language: String,
    pub welcome_message: String,
    pub header: ChatHeader,
    pub availability: AvailabilityInfo,
    pub email_capture: EmailCaptureInfo,
    pub knowledge_base_enabled: bool,
    pub knowledge_base_id: Option<i64>,
    pub consent: ConsentRequirements,
    pub bot: Option<BotOptions>,
    pub csat_survey: bool,
    pub transcript_on_close: bool,
}

/// How fresh the cached chatflow list is.
#[uniffi::remote(Record)]
pub struct CacheInfo {
    /// Last time the server confirmed the list (Unix ms); `null`: never fetched.
    pub fetched_at: Option<i64>,
    pub age_ms: Option<i64>,
    pub chatflow_count: i32,
}

#[uniffi::remote(Record)]
pub struct RefreshOutcome {
    /// The list changed (rather than being confirmed unchanged).
    pub changed: bool,
    pub chatflow_count: i32,
    pub statuses_refreshed: bool,
}

/// The outcome of `resolve`.
// UniFFI cannot carry a `Box`: the core's boxed variant is unboxed here (a short-lived value).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ResolveOutcome {
    Found {
        chatflow: ResolvedChatflow,
    },
    /// No enabled chatflow carries the tag (check the tag, or call `explain`).
    NotFound {
        tag: String,
    },
    /// Every candidate hides its launcher now: show no chat entry point until `next_change_at` (if known).
    AllHidden {
        tag: String,
        next_change_at: Option<i64>,
    },
}

/// `resolve`'s answer: the outcome, and how old the cached list it came from is.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChatflowResolution {
    pub outcome: ResolveOutcome,
    pub cache: CacheInfo,
}

impl From<model::ChatflowResolution> for ChatflowResolution {
    fn from(r: model::ChatflowResolution) -> Self {
        let outcome = match r.outcome {
            model::ResolveOutcome::Found(chatflow) => ResolveOutcome::Found { chatflow: *chatflow },
            model::ResolveOutcome::NotFound { tag } => ResolveOutcome::NotFound { tag },
            model::ResolveOutcome::AllHidden { tag, next_change_at } => {
                ResolveOutcome::AllHidden { tag, next_change_at }
            }
        };
        ChatflowResolution { outcome, cache: r.cache }
    }
}

// ----------------------------------------------------------------------------- explain

pub type Verdict = resolve::Verdict;

/// Why one chatflow carrying the tag was kept or dropped.
#[uniffi::remote(Enum)]
pub enum Verdict {
    Chosen,
    Disabled,
    OtherLanguage { matched_language: String },
    Hidden { next_change_at: Option<i64> },
    LowerPriority { winner_id: i64, winner_priority: i32 },
    TieLostToLowerId { winner_id: i64 },
}

pub type Candidate = resolve::Candidate;

#[uniffi::remote(Record)]
pub struct Candidate {
    pub chatflow_id: i64,
    pub name: String,
    pub enabled: bool,
    pub priority: i32,
    pub language: String,
    pub verdict: Verdict,
}

/// How `resolve` decided, for developers debugging their setup.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Explanation {
    /// The tag as matched (trimmed, lowercased).
    pub tag: String,
    pub languages: Vec<String>,
    pub matched_language: Option<String>,
    /// Every chatflow carrying the tag, enabled or not, in id order.
    pub candidates: Vec<Candidate>,
    /// Tags of the enabled chatflows (spot a typo in the app's config).
    pub known_tags: Vec<String>,
    pub warnings: Vec<String>,
    /// The winner, if any.
    pub chosen_chatflow_id: Option<i64>,
    /// Set when every candidate is hidden now: when the first one reappears, if known.
    pub all_hidden_until: Option<i64>,
}

impl From<resolve::Explanation> for Explanation {
    fn from(e: resolve::Explanation) -> Self {
        let (chosen_chatflow_id, all_hidden_until) = match &e.outcome {
            resolve::Resolution::Found { chatflow, .. } => (Some(chatflow.id), None),
            resolve::Resolution::NotFound { .. } => (None, None),
            resolve::Resolution::AllHidden { next_change_at, .. } => (None, *next_change_at),
        };
        Explanation {
            tag: e.tag,
            languages: e.languages,
            matched_language: e.matched_language,
            candidates: e.candidates,
            known_tags: e.known_tags,
            warnings: e.warnings,
            chosen_chatflow_id,
            all_hidden_until,
        }
    }
}
