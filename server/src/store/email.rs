//! Email over SMTP: each app's SMTP settings and the outbox of emails to send (see `crate::email`).

use super::StoreResult;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Plain connection upgraded with `STARTTLS` (refused if the server does not offer it). Usually port 587.
    Starttls,
    /// TLS from the first byte ("implicit TLS", SMTPS). Usually port 465.
    Tls,
}

impl SmtpSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::None => "none",
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(SmtpSecurity::None),
            "starttls" => Some(SmtpSecurity::Starttls),
            "tls" => Some(SmtpSecurity::Tls),
            _ => None,
        }
    }
}

/// An app's SMTP settings (validated by `crate::email::settings` before they are stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Write-only in the API.
    pub password: Option<String>,
    pub from_address: String,
    pub from_name: Option<String>,
    /// Link to reopen the chat in the app; `{conversation_id}`, `{chatflow_id}` and `{app_id}` are replaced.
    pub reopen_link: Option<String>,
    pub updated_at: i64,
}

/// Why an email is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// An agent's reply the visitor has not read within the delay.
    UnreadReply,
    /// The transcript, to the visitor, when the conversation closed.
    Transcript,
    /// The transcript, to addresses an agent chose.
    ManualTranscript,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::UnreadReply => "unread_reply",
            EmailKind::Transcript => "transcript",
            EmailKind::ManualTranscript => "manual_transcript",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unread_reply" => Some(EmailKind::UnreadReply),
            "transcript" => Some(EmailKind::Transcript),
            "manual_transcript" => Some(EmailKind::ManualTranscript),
            _ => None,
        }
    }
}

/// Where an email of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailState {
    Pending,
    /// Claimed by the sender; committed before the SMTP exchange starts.
    Sending,
    Sent,
    /// Not needed any more (the visitor read the reply, or has no address now).
    Cancelled,
    /// Given up: refused for good, attempts exhausted, or interrupted while sending (never sent twice).
    Failed,
}

impl EmailState {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailState::Pending => "pending",
            EmailState::Sending => "sending",
            EmailState::Sent => "sent",
            EmailState::Cancelled => "cancelled",
            EmailState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(EmailState::Pending),
            "sending" => Some(EmailState::Sending),
            "sent" => Some(EmailState::Sent),
            "cancelled" => Some(EmailState::Cancelled),
            "failed" => Some(EmailState::Failed),
            _ => None,
        }
    }
}

/// An email to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmail {
    pub app_id: String,
    pub conversation_id: String,
    pub kind: EmailKind,
    /// Empty: the visitor's address, read when sending.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub first_seq: Option<u64>,
    pub up_to_seq: u64,
    pub now: i64,
    /// The unique left part of the `Message-ID` header (the same on every attempt).
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRecord {
    pub id: i64,
    pub app_id: String,
    pub conversation_id: String,
    pub kind: EmailKind,
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    pub first_seq: Option<u64>,
    pub up_to_seq: u64,
    pub state: EmailState,
    /// Attempts started so far (claims).
    pub attempts: u32,
    pub created_at: i64,
    pub next_attempt_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    pub message_id: String,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    Sent,
    Cancelled(String),
    Failed(String),
    /// Try again at this instant.
    Retry {
        at: i64,
        error: String,
    },
}

/// What the domain services do with the outbox inside a unit of work.
pub trait EmailTx {
    /// Whether the app has SMTP settings.
    fn email_configured(&mut self, app_id: &str) -> StoreResult<bool>;
    /// The conversation's latest email of this kind.
    fn latest_email(&mut self, conversation_id: &str, kind: EmailKind) -> StoreResult<Option<EmailRecord>>;
    /// Inserts a `pending` email; returns its id.
    fn insert_email(&mut self, email: &NewEmail) -> StoreResult<i64>;
}

/// Settings and the sender's side of the outbox.
pub trait EmailStore {
    fn email_settings(&self, app_id: &str) -> StoreResult<Option<SmtpSettings>>;
    /// Inserts or replaces the app's settings.
    fn put_email_settings(&self, app_id: &str, settings: &SmtpSettings) -> StoreResult<()>;
    /// Inserts the settings unless the app has some (the seed never overwrites an admin's edit); true when inserted.
    fn seed_email_settings(&self, app_id: &str, settings: &SmtpSettings) -> StoreResult<bool>;
    /// True when there were settings.
    fn delete_email_settings(&self, app_id: &str) -> StoreResult<bool>;
    /// Claims up to `limit` pending emails due at `now`, oldest first: each becomes `sending` with one more attempt,
    /// in one transaction, so no other claim takes it. An `unread_reply` is due `reply_delay_ms` after it was queued.
    fn claim_due_emails(&self, now: i64, reply_delay_ms: i64, limit: u32) -> StoreResult<Vec<EmailRecord>>;
    /// Records how a claimed email's attempt ended.
    fn finish_email(&self, id: i64, outcome: &EmailOutcome, now: i64) -> StoreResult<()>;
    /// At start: emails left `sending` by a stopped server become `failed` (they may have been delivered: never
    /// sent twice). Returns how many.
    fn abandon_interrupted_emails(&self, now: i64) -> StoreResult<u64>;
    /// The conversation's emails, oldest first.
    fn conversation_emails(&self, conversation_id: &str) -> StoreResult<Vec<EmailRecord>>;
}
