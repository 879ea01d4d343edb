//! Chatflows: what a business configures on the server and the SDK resolves by mobile tag.

use serde::{Deserialize, Serialize};

use crate::availability::Availability;
use crate::bot::BotSettings;

/// One chatflow as the app (SDK) and the admin API see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chatflow {
    /// Assigned by the server; the tie-breaker of equal priorities (lowest id wins).
    pub id: i64,
    pub name: String,
    pub kind: ChatflowKind,
    pub enabled: bool,
    /// Higher wins among chatflows that share a mobile tag.
    pub priority: i32,
    /// Tags the app's config refers to. Matching ignores surrounding spaces and ASCII case.
    pub mobile_tags: Vec<String>,
    /// BCP 47 language of the chatflow's texts (`en`, `fr`, `fr-CA`).
    pub language: String,
    pub welcome_message: String,
    pub header: ChatHeader,
    pub email_capture: EmailCapture,
    pub routing: Routing,
    pub availability: Availability,
    pub knowledge_base: KnowledgeBaseSettings,
    pub consent: ConsentSettings,
    /// Present for `bot` chatflows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotSettings>,
    /// Show a satisfaction survey when a conversation ends.
    #[serde(default)]
    pub csat_survey: bool,
    /// Offer the visitor a transcript when the conversation is closed.
    #[serde(default)]
    pub transcript_on_close: bool,
    /// Unix ms of the last change (server-assigned).
    #[serde(default)]
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChatflowKind {
    /// Visitors talk to the team straight away.
    LiveChat,
    /// A rule-based bot (executed by the server) collects information, then may hand off to the team.
    Bot,
    /// An AI agent answers from the business's content.
    AiAgent,
}

/// Name and avatar shown at the top of the chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatHeader {
    /// 1..=200 characters, not only spaces.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = r"\S"))]
    pub display_name: String,
    /// An `http://` or `https://` URL of at most 2048 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048, pattern = r"^https?://"))]
    pub avatar_url: Option<String>,
    /// Show the header's name/avatar on agent messages instead of the agent's own (also in transcripts).
    #[serde(default)]
    pub use_branding_as_agent_alias: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailCapture {
    pub mode: EmailCaptureMode,
    /// Text shown when the visitor is asked for an email address (at most 4000 characters).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub prompt: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmailCaptureMode {
    Never,
    /// Ask only when the team is away.
    WhenAway,
    Always,
}

/// Who receives a new conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "serde_json::Value")]
pub struct Routing {
    #[serde(flatten)]
    pub target: RoutingTarget,
    /// Only assign to agents whose presence is "available"; otherwise leave unassigned.
    #[serde(default)]
    pub available_agents_only: bool,
}

/// The shape `Routing` is read through once its `mode` is known to be a name.
#[derive(Deserialize)]
struct RoutingFields {
    #[serde(flatten)]
    target: RoutingTarget,
    #[serde(default)]
    available_agents_only: bool,
}

impl TryFrom<serde_json::Value> for Routing {
    type Error = String;

    /// serde reads an internally tagged enum's tag as a variant *index* too (`"mode": 0` would mean `unassigned`);
    /// the protocol names modes, so anything but a string is refused before that happens.
    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        match value.get("mode") {
            Some(serde_json::Value::String(_)) => {}
            Some(other) => {
                return Err(format!(
                    "routing.mode must be a string (unassigned, specific or contact_owner), not {other}"
                ))
            }
            None => return Err("routing.mode is missing (unassigned, specific or contact_owner)".into()),
        }
        let fields: RoutingFields = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(Routing { target: fields.target, available_agents_only: fields.available_agents_only })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum RoutingTarget {
    /// Conversations stay unassigned.
    Unassigned,
    /// Round-robin over these agents and the members of these teams.
    Specific {
        #[serde(default)]
        agent_ids: Vec<String>,
        #[serde(default)]
        team_ids: Vec<String>,
    },
    /// The contact's owner; `fallback_agent_id` when the contact has none (or the owner is away and only available
    /// agents may be chosen).
    ContactOwner {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback_agent_id: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeBaseSettings {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb_id: Option<i64>,
}

/// What the visitor must be told or asked before chatting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentSettings {
    pub process_data: ProcessDataConsent,
    /// Optional opt-in to a subscription type; `None` when off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communicate: Option<CommunicateConsent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessDataConsent {
    pub mode: ProcessDataMode,
    /// The notice shown to the visitor. Changing it is a new version: visitors are asked again.
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProcessDataMode {
    Off,
    /// The visitor must tap "I agree" before the first message.
    Explicit,
    /// The notice is shown; consent is implied by starting to chat.
    LegitimateInterest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommunicateConsent {
    /// The subscription the visitor opts into (e.g. `product_updates`): 1..=100 characters, not only spaces.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub subscription_type: String,
    /// 1..=10000 characters, not only spaces.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 10000, pattern = r"\S"))]
    pub checkbox_label: String,
}

/// `GET /v1/apps/{app_id}/chatflows` — every chatflow of the app (enabled or not: the SDK's `explain` shows both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatflowList {
    pub chatflows: Vec<Chatflow>,
    /// Same value as the `ETag` header, for clients that persist the body.
    pub etag: String,
    /// What files the app's server accepts (defaults when an older server leaves it out).
    #[serde(default)]
    pub attachment_limits: crate::attachment::AttachmentLimits,
}

/// `GET /v1/apps/{app_id}/chatflows/status` — what changes without an admin edit: team presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatflowStatusList {
    pub statuses: Vec<ChatflowStatus>,
    /// Server clock when computed (Unix ms).
    pub computed_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatflowStatus {
    pub chatflow_id: i64,
    /// Is the team available now (per the chatflow's availability mode)?
    pub available: bool,
    /// When `available` will next flip, if known (business hours). Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_change_at: Option<i64>,
}

/// Body of admin create/update: a chatflow without its server-assigned fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatflowInput {
    /// 1..=200 characters, not only spaces.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = r"\S"))]
    pub name: String,
    pub kind: ChatflowKind,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub priority: i32,
    /// At most 20 tags, each 1..=64 of letters, digits, `-`, `_` and `.` (unique, ignoring case).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 20))]
    pub mobile_tags: Vec<String>,
    /// A BCP 47 tag such as `en`, `fr-CA` or `zh-Hant-TW` (default `en`).
    #[serde(default = "default_language")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"))]
    pub language: String,
    /// At most 4000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub welcome_message: String,
    pub header: ChatHeader,
    pub email_capture: EmailCapture,
    pub routing: Routing,
    pub availability: Availability,
    pub knowledge_base: KnowledgeBaseSettings,
    pub consent: ConsentSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotSettings>,
    #[serde(default)]
    pub csat_survey: bool,
    #[serde(default)]
    pub transcript_on_close: bool,
}

fn default_true() -> bool {
    true
}

fn default_language() -> String {
    "en".to_owned()
}

impl ChatflowInput {
    /// The chatflow this input describes once the server gives it an id and a change time.
    pub fn into_chatflow(self, id: i64, updated_at: i64) -> Chatflow {
        Chatflow {
            id,
            name: self.name,
            kind: self.kind,
            enabled: self.enabled,
            priority: self.priority,
            mobile_tags: self.mobile_tags,
            language: self.language,
            welcome_message: self.welcome_message,
            header: self.header,
            email_capture: self.email_capture,
            routing: self.routing,
            availability: self.availability,
            knowledge_base: self.knowledge_base,
            consent: self.consent,
            bot: self.bot,
            csat_survey: self.csat_survey,
            transcript_on_close: self.transcript_on_close,
            updated_at,
        }
    }
}

/// Normalizes a mobile tag for comparison: surrounding whitespace trimmed, ASCII lowercased.
pub fn normalize_tag(tag: &str) -> String {
    tag.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routing_modes_are_names_never_variant_numbers() {
        let named: Routing = serde_json::from_value(json!({"mode": "unassigned"})).unwrap();
        assert_eq!(named.target, RoutingTarget::Unassigned);
        assert!(!named.available_agents_only);
        let specific: Routing =
            serde_json::from_value(json!({"mode": "specific", "agent_ids": ["a1"], "available_agents_only": true}))
                .unwrap();
        assert_eq!(specific.target, RoutingTarget::Specific { agent_ids: vec!["a1".into()], team_ids: vec![] });
        assert!(specific.available_agents_only);
        for bad in [json!({"mode": 0}), json!({"mode": 1, "agent_ids": []}), json!({"mode": null}), json!({})] {
            let e = serde_json::from_value::<Routing>(bad.clone()).unwrap_err().to_string();
            assert!(e.contains("routing.mode"), "{bad}: {e}");
        }
        assert!(serde_json::from_value::<Routing>(json!({"mode": "round_robin"})).is_err());
    }
}
