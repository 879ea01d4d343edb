//! Push delivery's persistence: each visitor's device tokens, the app's provider credentials, and the queue of pushes
//! to send (written in the unit of work that stores the message, see `domain::push`).

use std::sync::Arc;

use chatflow_protocol::PushPlatform;

use super::StoreResult;

/// Firebase Cloud Messaging (HTTP v1) credentials: the parts of a Google service-account file that signing and
/// sending need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcmCredentials {
    pub project_id: String,
    pub client_email: String,
    /// PKCS#8 PEM of the RSA key. Secret: never returned by the API, never logged.
    pub private_key: String,
    /// The OAuth2 token endpoint of the service account.
    pub token_uri: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApnsEnvironment {
    Sandbox,
    Production,
}

impl ApnsEnvironment {
    pub fn as_str(self) -> &'static str {
        match self {
            ApnsEnvironment::Sandbox => "sandbox",
            ApnsEnvironment::Production => "production",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sandbox" => Some(ApnsEnvironment::Sandbox),
            "production" => Some(ApnsEnvironment::Production),
            _ => None,
        }
    }
}

/// APNs token-based authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsCredentials {
    pub team_id: String,
    pub key_id: String,
    /// PKCS#8 PEM of the P-256 `.p8` key. Secret: never returned by the API, never logged.
    pub private_key: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    pub environment: ApnsEnvironment,
}

/// An app's push configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushCredentials {
    pub app_id: String,
    /// Put the message text in the notification (otherwise a generic line in the chatflow's language).
    pub previews: bool,
    pub fcm: Option<FcmCredentials>,
    pub apns: Option<ApnsCredentials>,
    pub updated_at: i64,
}

/// One push to send: one message to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushJob {
    pub id: i64,
    pub app_id: String,
    pub visitor_id: String,
    pub conversation_id: String,
    pub seq: u64,
    pub platform: PushPlatform,
    pub token: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What a push says, read when it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushContent {
    pub chatflow_id: i64,
    /// The chatflow's language (BCP 47), for the generic line.
    pub language: String,
    /// The author's display name, else the chat header's name.
    pub sender_name: String,
    pub body: String,
    /// Messages from the team or a bot the visitor has not read in this conversation.
    pub unread: u64,
    /// The same over all the visitor's conversations (the app icon's badge).
    pub unread_total: u64,
}

/// Called after a commit that queued pushes.
pub type PushListener = Arc<dyn Fn() + Send + Sync>;

/// Most devices kept per visitor: registering one more forgets the least recently registered.
pub const MAX_TOKENS_PER_VISITOR: usize = 10;

pub trait PushStore {
    fn push_credentials(&self, app_id: &str) -> StoreResult<Option<PushCredentials>>;
    /// Inserts or replaces the app's configuration.
    fn set_push_credentials(&self, credentials: &PushCredentials) -> StoreResult<()>;
    /// True when there was one.
    fn delete_push_credentials(&self, app_id: &str) -> StoreResult<bool>;
    /// Registers a device of the visitor (moving the token from another visitor if it had it); keeps the newest
    /// [`MAX_TOKENS_PER_VISITOR`]. `NotFound` when the visitor does not exist.
    fn add_push_token(&self, visitor_id: &str, platform: PushPlatform, token: &str, now: i64) -> StoreResult<()>;
    /// Removes one token of the visitor, or all of them (`None`), with their queued pushes.
    fn remove_push_tokens(&self, visitor_id: &str, token: Option<&str>) -> StoreResult<usize>;
    /// The visitor's tokens, most recently registered first.
    fn push_tokens(&self, visitor_id: &str) -> StoreResult<Vec<(PushPlatform, String)>>;
    /// Jobs due at `now`, oldest first.
    fn due_push_jobs(&self, now: i64, limit: u32) -> StoreResult<Vec<PushJob>>;
    /// When the next job falls due, if any is queued.
    fn next_push_due(&self) -> StoreResult<Option<i64>>;
    /// `None` when the message (or its conversation) is gone.
    fn push_content(&self, conversation_id: &str, seq: u64) -> StoreResult<Option<PushContent>>;
    /// Sent, skipped or given up: removes the job.
    fn finish_push_job(&self, id: i64) -> StoreResult<()>;
    /// Counts a failed attempt and schedules the next one.
    fn retry_push_job(&self, id: i64, due_at: i64) -> StoreResult<()>;
    /// The provider says the token is dead: forgets it and its queued pushes.
    fn drop_push_token(&self, platform: PushPlatform, token: &str) -> StoreResult<()>;
    /// Replaces the commit listener (the push worker's wake-up).
    fn set_push_listener(&self, listener: PushListener);
}

/// Queuing inside the unit of work that stores a message.
pub trait PushTx {
    /// Queues message `seq` for every token of the visitor whose platform the app has credentials for, due `now`.
    /// Returns how many pushes were queued (the commit then wakes the worker).
    fn enqueue_pushes(
        &mut self,
        app_id: &str,
        visitor_id: &str,
        conversation_id: &str,
        seq: u64,
        now: i64,
    ) -> StoreResult<usize>;
}
