//! Agent accounts: the rules of emails, passwords, sign-in and browser-session expiry.
//!
//! - Emails are trimmed and compared lowercased (`email_norm`); unique per app. The same email may exist in two
//!   apps: sign-in then picks the app whose password matches (or asks for `app_id` when both match).
//! - Passwords: 10 to 256 characters; stored as argon2id hashes (`password`).
//! - A disabled agent cannot sign in, and its sessions and token stop working at once.
//! - Sessions end after 12 hours without a request or 7 days after sign-in, whichever comes first.

pub mod password;

use uuid::Uuid;

use crate::store::accounts::{AgentAccount, NewAgent};
use crate::store::{AgentRecord, Store, StoreError, StoreResult};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// A session unused this long is over.
pub const SESSION_IDLE_MS: i64 = 12 * 3600 * 1000;
/// A session this old is over, used or not.
pub const SESSION_MAX_MS: i64 = 7 * 24 * 3600 * 1000;
/// `last_seen_at` is written at most this often (not on every request).
pub const SESSION_TOUCH_MS: i64 = 60 * 1000;
/// Agents of one email checked at sign-in (one argon2 verification each).
const MAX_LOGIN_CANDIDATES: usize = 5;

/// The email as stored (trimmed) and its normalised form, or why it is refused.
pub fn normalize_email(email: &str) -> Result<(String, String), String> {
    let email = email.trim();
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !domain.starts_with('.')
        });
    if !valid {
        return Err(format!(
            "`email` must look like name@example.com (at most {MAX_EMAIL_CHARS} characters, no spaces)"
        ));
    }
    Ok((email.to_owned(), email.to_lowercase()))
}

pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(format!("`password` must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters (got {n})"));
    }
    Ok(())
}

pub fn check_display_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(format!("`display_name` must have 1 to {MAX_DISPLAY_NAME_CHARS} characters"));
    }
    Ok(name.to_owned())
}

/// Agent and team ids: 1 to 64 of `[A-Za-z0-9_-]` (the seed's rule).
pub fn check_id(field: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!("`{field}` must be 1 to 64 of [A-Za-z0-9_-], got `{id}`"));
    }
    Ok(())
}

/// Is a session still valid at `now`?
pub fn session_live(now: i64, created_at: i64, last_seen_at: i64) -> bool {
    now - created_at < SESSION_MAX_MS && now - last_seen_at < SESSION_IDLE_MS
}

/// A password a person never chose: 40 hex characters (over 150 random bits).
pub fn generated_password() -> String {
    Uuid::new_v4().simple().to_string() + &Uuid::new_v4().simple().to_string()[..8]
}

/// What the admin gives to create an agent.
#[derive(Debug, Clone)]
pub struct AgentInput {
    pub id: Option<String>,
    pub email: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub password: Option<String>,
}

/// A created agent with the secrets shown once: the generated password (when none was given) and the API token.
#[derive(Debug, Clone)]
pub struct CreatedAgent {
    pub account: AgentAccount,
    pub generated_password: Option<String>,
    pub api_token: String,
}

/// Why an admin request about an account is refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates an agent (hashing its password: call it on a blocking thread).
pub fn create_agent(s: &dyn Store, app_id: &str, input: AgentInput) -> Result<CreatedAgent, AccountError> {
    let id = input.id.unwrap_or_else(|| format!("ag_{}", &Uuid::new_v4().simple().to_string()[..12]));
    check_id("id", &id).map_err(AccountError::Invalid)?;
    let (email, email_norm) = normalize_email(&input.email).map_err(AccountError::Invalid)?;
    let display_name = check_display_name(&input.display_name).map_err(AccountError::Invalid)?;
    if let Some(url) = &input.avatar_url {
        if url.chars().count() > 2048 || !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(AccountError::Invalid("`avatar_url` must be an http(s) URL of at most 2048 characters".into()));
        }
    }
    let (password, generated) = match input.password {
        Some(p) => (p, false),
        None => (generated_password(), true),
    };
    check_password(&password).map_err(AccountError::Invalid)?;
    let password_hash = password::hash(&password).map_err(StoreError::Backend)?;
    let api_token = crate::auth::new_agent_token();
    let new = NewAgent {
        agent: AgentRecord {
            id,
            app_id: app_id.to_owned(),
            display_name,
            avatar_url: input.avatar_url,
            available: false,
        },
        email,
        email_norm,
        password_hash,
        token_hash: crate::auth::hash_token(&api_token),
    };
    let account = s.create_agent(&new).map_err(|e| match e {
        StoreError::Invalid(m) => AccountError::Invalid(m),
        other => AccountError::Store(other),
    })?;
    Ok(CreatedAgent { account, generated_password: generated.then_some(password), api_token })
}

/// Sets a new password (the given one, or a generated one that is returned) and ends the agent's sessions.
/// `Ok(None)` when the agent is not of this app.
pub fn reset_password(
    s: &dyn Store,
    app_id: &str,
    agent_id: &str,
    password: Option<String>,
) -> Result<Option<Option<String>>, AccountError> {
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (generated_password(), true),
    };
    check_password(&password).map_err(AccountError::Invalid)?;
    let hash = password::hash(&password).map_err(StoreError::Backend)?;
    if !s.set_agent_password(app_id, agent_id, &hash)? {
        return Ok(None);
    }
    Ok(Some(generated.then_some(password)))
}

/// Why a sign-in is refused. `Invalid` never says whether the email exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefusal {
    Invalid,
    /// The email and password match agents of several apps: the caller must name `app_id`.
    SeveralApps(Vec<String>),
}

/// Checks an email and password (argon2: call it on a blocking thread). Every refusal costs at least one
/// verification, so an unknown email answers in about the time of a wrong password.
pub fn login(
    s: &dyn Store,
    email: &str,
    password: &str,
    app_id: Option<&str>,
) -> StoreResult<Result<AgentRecord, LoginRefusal>> {
    let norm = normalize_email(email).map(|(_, n)| n).ok();
    let candidates = match (&norm, password.chars().count() <= MAX_PASSWORD_CHARS) {
        (Some(n), true) => s.login_candidates(n, app_id)?,
        _ => Vec::new(),
    };
    if candidates.is_empty() {
        password::verify_dummy(password);
        return Ok(Err(LoginRefusal::Invalid));
    }
    let mut matched = Vec::new();
    for c in candidates.into_iter().take(MAX_LOGIN_CANDIDATES) {
        match &c.password_hash {
            Some(hash) => {
                if password::verify(password, hash) && !c.disabled {
                    matched.push(c.agent);
                }
            }
            None => password::verify_dummy(password),
        }
    }
    Ok(match matched.len() {
        0 => Err(LoginRefusal::Invalid),
        1 => Ok(matched.remove(0)),
        _ => Err(LoginRefusal::SeveralApps(matched.into_iter().map(|a| a.app_id).collect())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_compared_lowercased() {
        assert_eq!(
            normalize_email("  Ann.Lee@Example.COM ").unwrap(),
            ("Ann.Lee@Example.COM".into(), "ann.lee@example.com".into())
        );
        for bad in ["", "ann", "@example.com", "ann@", "a b@example.com", "a@b@c", "ann@.com"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn password_policy_counts_characters() {
        assert!(check_password("123456789").is_err());
        assert!(check_password("1234567890").is_ok());
        assert!(check_password(&"é".repeat(10)).is_ok(), "characters, not bytes");
        assert!(check_password(&"x".repeat(256)).is_ok());
        assert!(check_password(&"x".repeat(257)).is_err());
        assert!(check_password(&generated_password()).is_ok());
        assert_ne!(generated_password(), generated_password());
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let h = 3600 * 1000;
        assert!(session_live(11 * h, 0, 0));
        assert!(!session_live(12 * h, 0, 0), "12 h idle");
        assert!(session_live(6 * 24 * h, 0, 6 * 24 * h - h));
        assert!(!session_live(7 * 24 * h, 0, 7 * 24 * h - 1), "7 days after sign-in, even when used");
    }

    #[test]
    fn ids_and_names() {
        assert!(check_id("id", "ag_new-1").is_ok());
        assert!(check_id("id", "bad id").is_err());
        assert!(check_id("id", "").is_err());
        assert_eq!(check_display_name("  Ann ").unwrap(), "Ann");
        assert!(check_display_name("   ").is_err());
    }
}
