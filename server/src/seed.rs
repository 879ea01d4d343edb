//! The seed file: apps (tenants) with their identity secret, admin token, agents (with tokens and presence), teams
//! and initial chatflows. Applied at every start: apps, agents, teams and tokens are upserted (so a rotated secret
//! takes effect); chatflows are inserted only when the app is new, so admin edits survive restarts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chatflow_protocol::ChatflowInput;
use serde::Deserialize;

use crate::auth::hash_token;
use crate::chatflows::validate::validate_chatflow;
use crate::store::accounts::SeedLogin;
use crate::store::{AgentRecord, AppRecord, AppSeed, Store, StoreError, TeamMember};

/// Shortest identity secret and token accepted: shorter ones are guessable.
pub const MIN_SECRET_CHARS: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    pub apps: Vec<SeedApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApp {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub identity_secret: String,
    pub admin_token: String,
    #[serde(default)]
    pub agents: Vec<SeedAgent>,
    #[serde(default)]
    pub teams: Vec<SeedTeam>,
    #[serde(default)]
    pub chatflows: Vec<SeedChatflow>,
    /// Knowledge-base articles in a JSON file (a list of articles), relative to the seed file.
    #[serde(default)]
    pub kb_articles_file: Option<String>,
    /// Knowledge-base articles inline (same shape as the file's entries).
    #[serde(default)]
    pub kb_articles: Vec<crate::kb::seed::SeedArticleEntry>,
    /// Help-desk rules: create a ticket for each new conversation of a chatflow or channel (see `tickets`).
    #[serde(default)]
    pub help_desk: Vec<crate::tickets::SeedHelpDesk>,
    /// Push credentials (`notify::push::seed`): keys come from files or environment variables the seed names.
    #[serde(default)]
    pub push: Option<crate::notify::push::seed::SeedPush>,
    /// SMTP settings (the admin API's `PUT /v1/admin/email` body); stored only if the app has none yet.
    #[serde(default)]
    pub email: Option<crate::email::settings::SmtpSettingsInput>,
    /// Attachment settings (the admin API's `PUT /v1/admin/attachments` body), set at every start.
    #[serde(default)]
    pub attachments: Option<crate::attachments::limits::AttachmentSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAgent {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub available: bool,
    pub token: String,
    /// Sign-in email of the web inbox, unique in the app (case-insensitive); set at every start.
    #[serde(default)]
    pub email: Option<String>,
    /// Sign-in password (10 to 256 characters), hashed (argon2id) at load. Set only while the agent has none, so a
    /// reset through the admin API survives restarts.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTeam {
    pub id: String,
    pub agent_ids: Vec<String>,
}

/// A chatflow of the seed: a `ChatflowInput` with an optional fixed `id` (stable ids make configs and tests simple).
#[derive(Debug, Deserialize)]
pub struct SeedChatflow {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(flatten)]
    pub input: ChatflowInput,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("seed file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("seed file {path}: {source}")]
    Store { path: PathBuf, source: StoreError },
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Sign-in data and team ids of one app of the seed, applied after the app itself.
pub type SeedAccounts = (String, Vec<SeedLogin>, Vec<String>);

/// Checks the whole file and turns it into store input (tokens and passwords hashed). The error names the app and
/// field.
pub fn prepare(file: SeedFile) -> Result<Vec<AppSeed>, String> {
    prepare_with_accounts(file).map(|(apps, _)| apps)
}

/// `prepare`, with each app's sign-in data.
pub fn prepare_with_accounts(file: SeedFile) -> Result<(Vec<AppSeed>, Vec<SeedAccounts>), String> {
    let mut accounts = Vec::new();
    let mut app_ids = HashSet::new();
    let mut agent_ids = HashSet::new();
    let mut tokens = HashSet::new();
    let mut flow_ids = HashSet::new();
    let mut out = Vec::new();
    for app in file.apps {
        let at = |what: &str| format!("app `{}`: {what}", app.id);
        if !is_identifier(&app.id) || !app_ids.insert(app.id.clone()) {
            return Err(format!("app id `{}` must be unique, 1..=64 of [A-Za-z0-9_-]", app.id));
        }
        if app.identity_secret.chars().count() < MIN_SECRET_CHARS {
            return Err(at(&format!("identity_secret must have at least {MIN_SECRET_CHARS} characters")));
        }
        let mut check_token = |field: String, token: &str| {
            if token.chars().count() < MIN_SECRET_CHARS || token.contains(char::is_whitespace) {
                return Err(at(&format!("{field} must have at least {MIN_SECRET_CHARS} characters and no spaces")));
            }
            if !tokens.insert(token.to_owned()) {
                return Err(at(&format!("{field} is used twice in the seed; every token must be unique")));
            }
            Ok(())
        };
        check_token("admin_token".into(), &app.admin_token)?;
        let mut agents = Vec::new();
        let mut logins = Vec::new();
        let mut emails = HashSet::new();
        for (i, a) in app.agents.iter().enumerate() {
            if !is_identifier(&a.id) || !agent_ids.insert(a.id.clone()) {
                return Err(at(&format!("agents[{i}].id `{}` must be unique, 1..=64 of [A-Za-z0-9_-]", a.id)));
            }
            check_token(format!("agents[{i}].token"), &a.token)?;
            let record = AgentRecord {
                id: a.id.clone(),
                app_id: app.id.clone(),
                display_name: a.display_name.clone(),
                avatar_url: a.avatar_url.clone(),
                available: a.available,
            };
            agents.push((record, hash_token(&a.token)));
            let email = a
                .email
                .as_deref()
                .map(crate::domain::agents::normalize_email)
                .transpose()
                .map_err(|e| at(&format!("agents[{i}].email: {e}")))?;
            if let Some((_, norm)) = &email {
                if !emails.insert(norm.clone()) {
                    return Err(at(&format!("agents[{i}].email is used twice in this app")));
                }
            }
            let password_hash = match &a.password {
                Some(p) => {
                    crate::domain::agents::check_password(p).map_err(|e| at(&format!("agents[{i}].password: {e}")))?;
                    Some(crate::domain::agents::password::hash(p).map_err(|e| at(&e))?)
                }
                None => None,
            };
            logins.push(SeedLogin { agent_id: a.id.clone(), email, password_hash });
        }
        let mut members = Vec::new();
        let team_ids: Vec<String> = app.teams.iter().map(|t| t.id.clone()).collect();
        for (i, t) in app.teams.iter().enumerate() {
            crate::domain::agents::check_id("id", &t.id).map_err(|e| at(&format!("teams[{i}]: {e}")))?;
            for id in &t.agent_ids {
                if !app.agents.iter().any(|a| &a.id == id) {
                    return Err(at(&format!("teams[{i}] names unknown agent `{id}`")));
                }
                members.push(TeamMember { team_id: t.id.clone(), agent_id: id.clone() });
            }
        }
        let records: Vec<AgentRecord> = agents.iter().map(|(a, _)| a.clone()).collect();
        let mut chatflows = Vec::new();
        for (i, c) in app.chatflows.into_iter().enumerate() {
            if let Some(id) = c.id {
                if id <= 0 || !flow_ids.insert(id) {
                    return Err(at(&format!("chatflows[{i}].id {id} must be positive and unique")));
                }
            }
            validate_chatflow(&c.input, &records, &members).map_err(|e| at(&format!("chatflows[{i}]: {e}")))?;
            chatflows.push((c.id, c.input));
        }
        accounts.push((app.id.clone(), logins, team_ids));
        out.push(AppSeed {
            app: AppRecord {
                name: app.name.unwrap_or_else(|| app.id.clone()),
                id: app.id,
                identity_secret: app.identity_secret,
            },
            admin_token_hash: hash_token(&app.admin_token),
            agents,
            team_members: members,
            chatflows,
        });
    }
    Ok((out, accounts))
}

/// Reads, checks and applies the seed file.
pub fn apply(store: &dyn Store, path: &Path, now: i64) -> Result<(), SeedError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Io { path: path.into(), source })?;
    let invalid = |message: String| SeedError::Invalid { path: path.into(), message };
    let mut file: SeedFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    // Knowledge-base articles are checked with the rest, and inserted once the apps exist.
    let mut article_ids = HashSet::new();
    let mut articles = Vec::new();
    let mut help_desk = Vec::new();
    let mut pushes = Vec::new();
    let mut email = Vec::new();
    let mut attachments = Vec::new();
    for app in &mut file.apps {
        if let Some(settings) = app.attachments.take() {
            crate::attachments::limits::check_max_bytes(settings.max_bytes)
                .map_err(|e| invalid(format!("app `{}`: attachments.{}", app.id, e.message)))?;
            attachments.push((app.id.clone(), settings.max_bytes));
        }
        if let Some(push) = app.push.take() {
            let prepared = crate::notify::push::seed::prepare(path, &app.id, push, now)
                .map_err(|e| invalid(format!("app `{}`: {e}", app.id)))?;
            pushes.push(prepared);
        }
        if let Some(input) = app.email.take() {
            let settings = crate::email::settings::validate(input, None, now)
                .map_err(|e| invalid(format!("app `{}`: email.{e}", app.id)))?;
            email.push((app.id.clone(), settings));
        }
        let rules = crate::tickets::prepare_seed_rules(std::mem::take(&mut app.help_desk), &app.chatflows)
            .map_err(|e| invalid(format!("app `{}`: {e}", app.id)))?;
        help_desk.push((app.id.clone(), rules));
        let (name, inline) = (app.kb_articles_file.take(), std::mem::take(&mut app.kb_articles));
        let list = crate::kb::seed::load(path, name.as_deref(), inline, &mut article_ids)
            .map_err(|e| invalid(format!("app `{}`: {e}", app.id)))?;
        articles.push((app.id.clone(), list));
    }
    let (apps, accounts) = prepare_with_accounts(file).map_err(invalid)?;
    for app in &apps {
        let created =
            store.apply_app_seed(app, now).map_err(|source| SeedError::Store { path: path.into(), source })?;
        tracing::info!(app = %app.app.id, created, chatflows = app.chatflows.len(), "seed applied");
    }
    for (app_id, logins, team_ids) in &accounts {
        store
            .apply_seed_logins(app_id, logins, team_ids, now)
            .map_err(|source| SeedError::Store { path: path.into(), source })?;
    }
    for (app_id, rules) in &help_desk {
        crate::tickets::apply_seed_rules(store, app_id, rules)
            .map_err(|source| SeedError::Store { path: path.into(), source })?;
    }
    for (app_id, settings) in &email {
        let inserted = store
            .seed_email_settings(app_id, settings)
            .map_err(|source| SeedError::Store { path: path.into(), source })?;
        tracing::info!(app = %app_id, inserted, "seed SMTP settings");
    }
    for (app_id, list) in &articles {
        let inserted = store
            .seed_kb_articles(app_id, list, now)
            .map_err(|source| SeedError::Store { path: path.into(), source })?;
        if inserted > 0 {
            tracing::info!(app = %app_id, articles = inserted, "seed knowledge-base articles inserted");
        }
    }
    for (app_id, max_bytes) in &attachments {
        store
            .set_attachment_max_bytes(app_id, *max_bytes, now)
            .map_err(|source| SeedError::Store { path: path.into(), source })?;
    }
    for push in &pushes {
        crate::notify::push::seed::apply(store, push).map_err(|e| invalid(format!("app `{}`: {e}", push.app_id)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Result<Vec<AppSeed>, String> {
        prepare(serde_json::from_value(v).map_err(|e| e.to_string())?)
    }

    fn app(id: &str, admin: &str) -> serde_json::Value {
        serde_json::json!({"id": id, "identity_secret": "0123456789abcdef", "admin_token": admin})
    }

    #[test]
    fn the_shipped_test_seed_is_valid() {
        let text = include_str!("../seeds/test.json");
        let apps = prepare(serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(apps.len(), 2);
    }

    #[test]
    fn refuses_duplicates_and_weak_secrets() {
        assert!(
            parse(serde_json::json!({"apps": [app("a", "admin-token-0001"), app("a", "admin-token-0002")]})).is_err()
        );
        let err = parse(serde_json::json!({"apps": [app("a", "same-token-00001"), app("b", "same-token-00001")]}))
            .unwrap_err();
        assert!(err.contains("used twice"), "{err}");
        let mut weak = app("a", "admin-token-0001");
        weak["identity_secret"] = "short".into();
        assert!(parse(serde_json::json!({"apps": [weak]})).unwrap_err().contains("identity_secret"));
        assert!(parse(serde_json::json!({"apps": [app("bad id", "admin-token-0001")]})).is_err());
        assert!(serde_json::from_value::<SeedFile>(serde_json::json!({"apps": [], "extra": 1})).is_err());
    }
}
