//! Rule-based bots: the settings and rule tree of a `bot` chatflow. The server executes the tree; the SDK renders
//! its messages and quick replies.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotSettings {
    /// Minutes of visitor inactivity after which the bot starts again from the top (unless the flow was completed):
    /// 1..=43200.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 43200))]
    pub session_timeout_minutes: u32,
    /// Delay between two consecutive bot messages, in milliseconds (at most 10000).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub message_delay_ms: u32,
    /// Sent when an action fails (e.g. an answer does not validate); at most 4000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub error_reply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// The rule tree.
    pub flow: BotFlow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotFlow {
    /// Id of the first node.
    pub start: String,
    /// 1..=200 nodes.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 200))]
    pub nodes: Vec<BotNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotNode {
    /// Unique within the flow.
    pub id: String,
    #[serde(flatten)]
    pub action: BotAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BotAction {
    /// Send a message, then continue at `next` (or end when `None`).
    SendMessage {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Ask a question and wait for the visitor's answer.
    Ask {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        quick_replies: Vec<QuickReply>,
        /// Accept typed answers (always true when there are no quick replies).
        #[serde(default)]
        allow_free_text: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validation: Option<AnswerValidation>,
        /// Store the answer as this visitor property.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        save_as: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Go to the first rule whose condition holds, else `otherwise`.
    Branch {
        rules: Vec<BranchRule>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        otherwise: Option<String>,
    },
    /// Set a visitor property, then continue.
    SetProperty {
        name: String,
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Hand the conversation to the team (routing applies; the away message shows if nobody is available).
    Handoff {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// End the flow.
    End {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

/// A button under a bot message. Tapping it sends a normal message that carries `quick_reply_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuickReply {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnswerValidation {
    Email,
    Number,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BranchRule {
    pub condition: Condition,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Condition {
    pub subject: ConditionSubject,
    pub op: ConditionOp,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConditionSubject {
    /// The visitor's last answer (its quick-reply id when a button was tapped, else the text).
    LastAnswer,
    /// A visitor property.
    Property { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConditionOp {
    /// Equal, ignoring case and surrounding spaces.
    Equals,
    /// Contains, ignoring case.
    Contains,
    IsSet,
    IsNotSet,
}
