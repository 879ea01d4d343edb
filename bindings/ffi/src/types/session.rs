//! Consent, session, profile and push records (remote types: see `chatflow.rs`).

use chatflow_core::consent;
use chatflow_core::protocol as wire;
use chatflow_core::session;

use super::chatflow::{EmailCaptureMode, ProcessDataMode};

// ----------------------------------------------------------------------------- consent

pub type ProcessDataStatus = consent::ProcessDataStatus;

/// Consent to process data, for the text the chatflow shows now.
#[uniffi::remote(Enum)]
pub enum ProcessDataStatus {
    /// The chatflow does not ask.
    NotRequired,
    /// Explicit mode, no decision on this text yet: show the text and "I agree"; sending is refused.
    AwaitingDecision,
    Accepted,
    /// Chatting is blocked until the visitor accepts (knowledge-base search still works).
    Declined,
    /// Legitimate interest: show the notice; the first message records it.
    NoticeToShow,
    Implied,
}

pub type ProcessDataState = consent::ProcessDataState;

#[uniffi::remote(Record)]
pub struct ProcessDataState {
    pub mode: ProcessDataMode,
    pub text: String,
    pub text_version: String,
    pub status: ProcessDataStatus,
}

pub type CommunicateState = consent::CommunicateState;

#[uniffi::remote(Record)]
pub struct CommunicateState {
    pub subscription_type: String,
    pub checkbox_label: String,
    pub label_version: String,
    /// `null`: not asked yet (show the box unchecked).
    pub opted_in: Option<bool>,
}

pub type ConsentState = consent::ConsentState;

/// Everything the UI needs about one chatflow's consents.
#[uniffi::remote(Record)]
pub struct ConsentState {
    pub chatflow_id: i64,
    pub process_data: ProcessDataState,
    pub communicate: Option<CommunicateState>,
    /// A message could be sent now.
    pub can_send: bool,
}

// ----------------------------------------------------------------------------- session and profile

pub type SessionInfo = session::SessionInfo;

/// What the app may know about the session (tokens never leave the SDK).
#[uniffi::remote(Record)]
pub struct SessionInfo {
    pub visitor_id: Option<String>,
    pub user_id: Option<String>,
    pub email: Option<String>,
    /// `identify` was called offline and waits for the server.
    pub identify_pending: bool,
}

pub type IdentifyOutcome = session::IdentifyOutcome;

#[uniffi::remote(Record)]
pub struct IdentifyOutcome {
    pub user_id: String,
    pub visitor_id: Option<String>,
    /// Conversations of the anonymous visitor that now belong to the user.
    pub merged_conversation_ids: Vec<String>,
    /// Another user was identified on this device before: their local data was wiped.
    pub switched_user: bool,
    /// The server could not be reached: identification completes on the next network need.
    pub pending: bool,
}

pub type EmailPrompt = session::EmailPrompt;

/// Whether the chat should ask for the visitor's email now.
#[uniffi::remote(Record)]
pub struct EmailPrompt {
    pub mode: EmailCaptureMode,
    pub prompt: String,
    pub ask_now: bool,
    pub known_email: Option<String>,
}

pub type DeviceInfo = wire::DeviceInfo;

/// What the platform facade reports about the device (filled from Android / iOS APIs by the facades).
#[uniffi::remote(Record)]
pub struct DeviceInfo {
    /// `android`, `ios`, `jvm`, `linux`...
    pub platform: String,
    pub os_version: String,
    pub app_version: String,
    pub device_model: String,
    /// BCP 47.
    pub locale: String,
    /// Filled in by the SDK when empty.
    pub sdk_version: String,
}

pub type PushPlatform = wire::PushPlatform;

#[uniffi::remote(Enum)]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service.
    Apns,
}

pub type PushTarget = session::PushTarget;

/// What a push payload means for the chat.
#[uniffi::remote(Enum)]
pub enum PushTarget {
    /// Ours: open this conversation.
    Conversation { conversation_id: String, chatflow_id: Option<i64>, seq: Option<i64> },
    /// Not one of ours: let the app handle it.
    NotOurs,
}

pub type PushHandling = session::PushHandling;

/// What `handle_push` made of a payload.
#[uniffi::remote(Enum)]
pub enum PushHandling {
    /// Ours: show this notification; tapping it should open its conversation.
    Notification { notification: PushNotification },
    /// Not one of ours: let the app handle it.
    NotOurs,
}

pub type PushNotification = session::PushNotification;

/// What a chat notification needs.
#[uniffi::remote(Record)]
pub struct PushNotification {
    pub conversation_id: String,
    pub chatflow_id: Option<i64>,
    pub seq: Option<i64>,
    /// The sender's name, else the chatflow header's display name, else a generic line.
    pub title: String,
    /// The message text (from the device after the catch-up, the payload's preview when offline), else a generic line.
    pub body: String,
    /// Unread messages from the team in this conversation.
    pub unread_count: i32,
    pub sync: PushSync,
}

pub type PushSync = session::PushSync;

/// Whether the conversation was caught up before the notification was made.
#[uniffi::remote(Enum)]
pub enum PushSync {
    /// The device holds the conversation up to date (`received` messages fetched now): opening it needs no wait.
    CaughtUp { received: i32 },
    /// The server could not be reached in time: body and unread count come from the payload.
    Offline { message: String },
    /// The server refused: the visitor on this device cannot read that conversation. Do not show it.
    Refused { message: String },
    /// No visitor on this device (never chatted, or logged out): nothing was fetched. Do not show it.
    NoSession,
}
