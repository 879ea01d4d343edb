//! Agent accounts (email, password hash, disabled flag), teams and browser sessions. The rules (email
//! normalisation, password policy, session expiry) live in `crate::domain::agents`; this trait only stores.

use super::{AgentRecord, StoreResult};

/// An agent with its sign-in data, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAccount {
    pub agent: AgentRecord,
    pub email: Option<String>,
    pub disabled: bool,
    pub has_password: bool,
    /// Teams the agent belongs to, ascending.
    pub team_ids: Vec<String>,
}

/// A new agent, checked and hashed by the domain.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub agent: AgentRecord,
    pub email: String,
    pub email_norm: String,
    pub password_hash: String,
    pub token_hash: String,
}

/// An agent who may sign in with an email: the password check happens in the domain.
#[derive(Debug, Clone)]
pub struct LoginCandidate {
    pub agent: AgentRecord,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

/// What the seed says about an agent's sign-in (password already hashed). Applied after `apply_app_seed`.
#[derive(Debug, Clone)]
pub struct SeedLogin {
    pub agent_id: String,
    pub email: Option<(String, String)>,
    pub password_hash: Option<String>,
}

/// A browser session; `token_hash` is the SHA-256 of the cookie's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub agent_id: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    /// Members, ascending.
    pub agent_ids: Vec<String>,
}

pub trait AccountStore {
    /// Every agent of the app, disabled ones included, ascending id.
    fn agent_accounts(&self, app_id: &str) -> StoreResult<Vec<AgentAccount>>;
    fn agent_account(&self, app_id: &str, agent_id: &str) -> StoreResult<Option<AgentAccount>>;
    /// Inserts the agent; `Invalid` when the id or the app's email is taken.
    fn create_agent(&self, new: &NewAgent) -> StoreResult<AgentAccount>;
    /// Sets the flag and ends the agent's browser sessions (both ways: a re-enabled agent signs in again).
    /// `None` when the agent is not of this app.
    fn set_agent_disabled(&self, app_id: &str, agent_id: &str, disabled: bool) -> StoreResult<Option<AgentAccount>>;
    /// Replaces the password hash and ends the agent's browser sessions. False when the agent is not of this app.
    fn set_agent_password(&self, app_id: &str, agent_id: &str, password_hash: &str) -> StoreResult<bool>;
    /// Agents whose normalised email is `email_norm`, in `app_id` when given, ascending app id.
    fn login_candidates(&self, email_norm: &str, app_id: Option<&str>) -> StoreResult<Vec<LoginCandidate>>;
    /// Seed data: emails (set every start) and passwords (set only while the agent has none), and the seed's teams.
    fn apply_seed_logins(&self, app_id: &str, logins: &[SeedLogin], team_ids: &[String], now: i64) -> StoreResult<()>;

    /// Stores a new session and deletes sessions that started before `started_after` or were last seen before
    /// `seen_after` (expired ones of any agent).
    fn create_session(&self, session: &SessionRecord, started_after: i64, seen_after: i64) -> StoreResult<()>;
    /// The session and its agent, unless the agent is disabled.
    fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, AgentRecord)>>;
    fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()>;
    fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// The app's teams with their members, ascending id.
    fn teams(&self, app_id: &str) -> StoreResult<Vec<Team>>;
    /// False when the team already exists.
    fn create_team(&self, app_id: &str, team_id: &str, now: i64) -> StoreResult<bool>;
    /// Adds a member (idempotent). `NotFound` for an unknown team or an agent of another app.
    fn add_team_member(&self, app_id: &str, team_id: &str, agent_id: &str) -> StoreResult<()>;
    /// False when the agent was not a member. `NotFound` for an unknown team.
    fn remove_team_member(&self, app_id: &str, team_id: &str, agent_id: &str) -> StoreResult<bool>;
}
