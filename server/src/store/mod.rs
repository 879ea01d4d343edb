//! Persistence behind narrow traits, one per capability, so a Postgres store can follow the SQLite one.
//!
//! The traits are synchronous on purpose: the SQLite implementation blocks, and the async layer
//! (`AppState::db`) runs every call on the blocking pool. Nothing here names a backend: errors are [`StoreError`],
//! whatever stores them.

pub mod accounts;
pub mod agent;
pub mod attachments;
pub mod bots;
pub mod columns;
pub mod email;
pub(crate) mod feed_log;
pub mod inbox;
pub mod kb;
pub mod postgres;
pub mod push;
pub mod sqlite;
pub mod survey;
#[cfg(test)]
pub mod test_backends;
pub mod tx;

use chatflow_protocol::{
    Channel, Chatflow, ChatflowInput, ConversationStatus, DeviceInfo, MessagePage, PushTokenRequest,
};

pub use accounts::AccountStore;
pub use agent::{CannedStore, FeedStore, NoteStore, VisitorContextStore};
pub use attachments::AttachmentStore;
pub use bots::BotStore;
pub use email::EmailStore;
pub use inbox::{InboxStore, TicketStore};
pub use kb::KbStore;
pub use postgres::PostgresStore;
pub use push::PushStore;
pub use sqlite::SqliteStore;
pub use survey::SurveyStore;
pub use tx::UnitOfWork;

/// Why a store call (or a domain service running in a unit of work) failed. Backend-neutral: each backend converts
/// its own errors into it (the SQLite one in `store/sqlite/error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist (or the caller may not know it does).
    #[error("{0}")]
    NotFound(String),
    /// An idempotency key was reused for different content.
    #[error("{0}")]
    Conflict(String),
    /// The consent gate refused a message.
    #[error("{0}")]
    ConsentRequired(String),
    /// A name or key that must be unique is already used (an agent's email or id, a canned response's shortcut).
    #[error("{0}")]
    Taken(String),
    /// A value the caller gave is not acceptable (an unknown agent, a seq beyond the last message).
    #[error("{0}")]
    Invalid(String),
    /// A message references an upload that is not complete, or already used (`upload_not_ready`).
    #[error("{0}")]
    NotReady(String),
    /// The backend is busy or unreachable (locked database, lost connection): the caller may retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Any other backend failure, described by the backend.
    #[error("store backend: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database schema version {found} is newer than this server knows ({known}); upgrade the server")]
    SchemaTooNew { found: i64, known: i64 },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    pub id: String,
    pub name: String,
    /// HS256 key of identity tokens. Kept in clear: verification needs it.
    pub identity_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// Presence: "available" for routing and `team_status` availability.
    pub available: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub team_id: String,
    pub agent_id: String,
}

/// Everything the seed says about one app, tokens already hashed.
#[derive(Debug, Clone)]
pub struct AppSeed {
    pub app: AppRecord,
    pub admin_token_hash: String,
    /// Agents with the hash of their token.
    pub agents: Vec<(AgentRecord, String)>,
    pub team_members: Vec<TeamMember>,
    /// Chatflows with an optional fixed id; inserted only when the app is created.
    pub chatflows: Vec<(Option<i64>, ChatflowInput)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorRecord {
    pub id: String,
    pub app_id: String,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    pub id: String,
    pub app_id: String,
    pub chatflow_id: i64,
    pub visitor_id: String,
    pub status: ConversationStatus,
    pub channel: Channel,
    pub assignee_agent_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seq: u64,
    pub agent_read_seq: u64,
    pub visitor_read_seq: u64,
}

#[derive(Debug, Clone)]
pub struct NewConversation {
    pub id: String,
    pub app_id: String,
    pub chatflow_id: i64,
    pub visitor_id: String,
    pub assignee_agent_id: Option<String>,
    pub now: i64,
}

/// Which slice of a conversation's messages to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Ascending, strictly after this seq (catch-up).
    After(u64),
    /// The messages just before this seq (history), returned ascending.
    Before(u64),
    /// Ascending, strictly between the two seqs (`after`, `before`): catch-up that stops at a known message.
    Between(u64, u64),
    /// The latest page.
    Latest,
}

/// How a backend reads a page of [`Paging`]: messages with `seq <comparison> bound` and `seq < upper`, in `seq` order
/// (ascending or not), one more than the page holds (it tells whether more exist in that direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWindow {
    /// `>`, `<` or `<=`.
    pub comparison: &'static str,
    pub bound: i64,
    /// Exclusive; only `Between` sets it below the maximum.
    pub upper: i64,
    pub ascending: bool,
}

impl Paging {
    pub fn window(self) -> PageWindow {
        use columns::seq_to_sql;
        let (comparison, bound, upper, ascending) = match self {
            Paging::After(n) => (">", seq_to_sql(n), i64::MAX, true),
            Paging::Between(a, b) => (">", seq_to_sql(a), seq_to_sql(b), true),
            Paging::Before(n) => ("<", seq_to_sql(n), i64::MAX, false),
            Paging::Latest => ("<=", i64::MAX, i64::MAX, false),
        };
        PageWindow { comparison, bound, upper, ascending }
    }
}

impl PageWindow {
    /// `ASC` or `DESC`.
    pub fn order(&self) -> &'static str {
        if self.ascending {
            "ASC"
        } else {
            "DESC"
        }
    }

    /// The page from the rows read (up to `limit + 1`, in the window's order), returned ascending.
    pub fn page(&self, mut messages: Vec<chatflow_protocol::Message>, limit: u32, last_seq: u64) -> MessagePage {
        let has_more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        if !self.ascending {
            messages.reverse();
        }
        MessagePage { messages, has_more, last_seq }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderKind {
    Visitor,
    Agent,
}

/// Result of an idempotent put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put<T> {
    Created(T),
    Existing(T),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyOutcome {
    /// The visitor the session now belongs to.
    pub visitor: VisitorRecord,
    /// Conversations of the anonymous visitor that now belong to the user.
    pub merged_conversation_ids: Vec<String>,
    /// The anonymous visitor that was folded into an existing user visitor (its sockets must close).
    pub removed_visitor_id: Option<String>,
}

/// Identification request after the identity token was verified.
#[derive(Debug, Clone)]
pub struct Identify {
    pub current_visitor_id: String,
    pub current_token_hash: String,
    pub app_id: String,
    pub user_id: String,
    pub email: Option<String>,
    /// Used when the user has no visitor yet and the current one cannot become it (already another user's).
    pub fresh_visitor_id: String,
    pub new_token_hash: String,
    pub now: i64,
}

pub trait AppStore {
    /// Creates or updates the app, its agents, teams and tokens; inserts its chatflows when the app is new.
    /// Returns true when the app was created.
    fn apply_app_seed(&self, seed: &AppSeed, now: i64) -> StoreResult<bool>;
    fn app(&self, app_id: &str) -> StoreResult<Option<AppRecord>>;
    fn app_by_admin_token(&self, token_hash: &str) -> StoreResult<Option<AppRecord>>;
    fn agent_by_token(&self, token_hash: &str) -> StoreResult<Option<AgentRecord>>;
    fn agents(&self, app_id: &str) -> StoreResult<Vec<AgentRecord>>;
    fn team_members(&self, app_id: &str) -> StoreResult<Vec<TeamMember>>;
    fn set_agent_presence(&self, agent_id: &str, available: bool) -> StoreResult<()>;
}

pub trait ChatflowStore {
    /// The app's chatflows, ascending id.
    fn chatflows(&self, app_id: &str) -> StoreResult<Vec<Chatflow>>;
    fn chatflow(&self, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>>;
    fn create_chatflow(&self, app_id: &str, input: &ChatflowInput, now: i64) -> StoreResult<Chatflow>;
    fn update_chatflow(&self, app_id: &str, id: i64, input: &ChatflowInput, now: i64) -> StoreResult<Option<Chatflow>>;
    fn delete_chatflow(&self, app_id: &str, id: i64) -> StoreResult<bool>;
    /// Atomically returns and increments the chatflow's round-robin cursor.
    fn next_routing_cursor(&self, chatflow_id: i64) -> StoreResult<u64>;
}

pub trait VisitorStore {
    fn create_visitor(&self, app_id: &str, visitor_id: &str, token_hash: &str, now: i64) -> StoreResult<VisitorRecord>;
    fn visitor_by_token(&self, token_hash: &str) -> StoreResult<Option<VisitorRecord>>;
    fn visitor(&self, id: &str) -> StoreResult<Option<VisitorRecord>>;
    fn set_properties(&self, visitor_id: &str, properties_json: &str) -> StoreResult<()>;
    fn set_device(&self, visitor_id: &str, device: &DeviceInfo) -> StoreResult<()>;
    fn set_push_token(&self, visitor_id: &str, push: Option<&PushTokenRequest>) -> StoreResult<()>;
    /// Deletes the visitor and everything it owns (tokens, conversations, messages, consent records).
    fn delete_visitor(&self, visitor_id: &str) -> StoreResult<()>;
}

pub trait ConversationStore {
    fn conversation(&self, id: &str) -> StoreResult<Option<ConversationRecord>>;
    /// The visitor's conversations, newest first.
    fn visitor_conversations(&self, visitor_id: &str) -> StoreResult<Vec<ConversationRecord>>;
    /// The app's conversations, most recently active first.
    fn app_conversations(
        &self,
        app_id: &str,
        status: Option<ConversationStatus>,
        limit: u32,
    ) -> StoreResult<Vec<ConversationRecord>>;
}

pub trait MessageStore {
    fn messages(&self, conversation_id: &str, paging: Paging, limit: u32) -> StoreResult<MessagePage>;
}

/// Everything the server needs from persistence. Reads go through the capability traits; writes that carry a product
/// rule run in a unit of work (`UnitOfWork`, see `tx`) from a domain service (`crate::domain`).
pub trait Store:
    UnitOfWork
    + AppStore
    + ChatflowStore
    + VisitorStore
    + ConversationStore
    + MessageStore
    + InboxStore
    + TicketStore
    + BotStore
    + KbStore
    + FeedStore
    + NoteStore
    + CannedStore
    + VisitorContextStore
    + AccountStore
    + PushStore
    + EmailStore
    + SurveyStore
    + AttachmentStore
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: UnitOfWork
        + AppStore
        + ChatflowStore
        + VisitorStore
        + ConversationStore
        + MessageStore
        + InboxStore
        + TicketStore
        + BotStore
        + KbStore
        + FeedStore
        + NoteStore
        + CannedStore
        + VisitorContextStore
        + AccountStore
        + PushStore
        + EmailStore
        + SurveyStore
        + AttachmentStore
        + Send
        + Sync
{
}
