//! The app's SMTP settings in the admin API (`/v1/admin/email`) and the seed: validated before they are stored; the
//! password is write-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::ErrorBody;
use serde::{Deserialize, Serialize};

use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::http::{ApiJson, NoBody};
use crate::state::AppState;
use crate::store::email::{SmtpSecurity, SmtpSettings};

const PLACEHOLDERS: [&str; 3] = ["{conversation_id}", "{chatflow_id}", "{app_id}"];

/// What the admin (or the seed) gives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettingsInput {
    /// SMTP server host name or IP address.
    #[schema(max_length = 253)]
    pub host: String,
    #[schema(minimum = 1, maximum = 65535)]
    pub port: u32,
    pub security: SmtpSecurity,
    /// SMTP AUTH user; absent: no authentication.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub username: Option<String>,
    /// Write-only. Absent with the same `username` as stored: the stored password is kept.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub password: Option<String>,
    /// The sender address (`From`).
    #[schema(max_length = 254)]
    pub from_address: String,
    /// The sender's display name.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub from_name: Option<String>,
    /// Link that reopens the chat in the app (a deep link or an https page), put in unread-reply and transcript
    /// emails. `{conversation_id}`, `{chatflow_id}` and `{app_id}` are replaced.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reopen_link: Option<String>,
}

/// What the admin reads back: everything but the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SmtpSettingsView {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub has_password: bool,
    pub from_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reopen_link: Option<String>,
    /// Unix ms.
    pub updated_at: i64,
}

impl From<SmtpSettings> for SmtpSettingsView {
    fn from(s: SmtpSettings) -> Self {
        Self {
            host: s.host,
            port: s.port,
            security: s.security,
            username: s.username,
            has_password: s.password.is_some(),
            from_address: s.from_address,
            from_name: s.from_name,
            reopen_link: s.reopen_link,
            updated_at: s.updated_at,
        }
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

/// A syntactically valid address (the form SMTP accepts), at most 254 characters.
pub fn check_address(field: &str, address: &str) -> Result<(), String> {
    if address.chars().count() > 254 || has_control(address) {
        return Err(format!(
            "{field}: `{address}` is not an email address (at most 254 characters, no control characters)"
        ));
    }
    address
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|e| format!("{field}: `{address}` is not an email address ({e}); write it as name@example.com"))
}

/// Checks the input; `stored` is the app's current settings (their password is kept when the input has none and
/// names the same user).
pub fn validate(input: SmtpSettingsInput, stored: Option<&SmtpSettings>, now: i64) -> Result<SmtpSettings, String> {
    let host = input.host.trim().to_owned();
    if host.is_empty() || host.len() > 253 || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
        return Err(format!("host: `{}` is not a host name or IP address (1-253 characters, no spaces)", input.host));
    }
    let port = u16::try_from(input.port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("port: {} is outside 1-65535 (587 for STARTTLS, 465 for TLS)", input.port))?;
    let username = input.username.filter(|u| !u.is_empty());
    if let Some(u) = &username {
        if u.chars().count() > 256 || has_control(u) {
            return Err("username: at most 256 characters, no control characters".into());
        }
    }
    if let Some(p) = &input.password {
        if username.is_none() {
            return Err("password: given without `username`; set both, or neither for a server without AUTH".into());
        }
        if p.is_empty() || p.chars().count() > 256 {
            return Err("password: 1-256 characters".into());
        }
    }
    if username.is_some() && input.security == SmtpSecurity::None && !is_loopback(&host) {
        return Err(format!(
            "security: credentials are never sent in clear to `{host}`; use `starttls` or `tls` (or drop \
             `username`/`password` for a relay without AUTH)"
        ));
    }
    let password = match (&input.password, stored) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(old)) if username.is_some() && old.username == username => old.password.clone(),
        _ => None,
    };
    if username.is_some() && password.is_none() {
        return Err("password: required with a new `username`".into());
    }
    check_address("from_address", &input.from_address)?;
    let from_name = input.from_name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if let Some(n) = &from_name {
        if n.chars().count() > 100 || has_control(n) {
            return Err("from_name: at most 100 characters, no control characters".into());
        }
    }
    let reopen_link = input.reopen_link.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if let Some(l) = &reopen_link {
        check_link(l)?;
    }
    Ok(SmtpSettings {
        host,
        port,
        security: input.security,
        username,
        password,
        from_address: input.from_address,
        from_name,
        reopen_link,
        updated_at: now,
    })
}

fn check_link(link: &str) -> Result<(), String> {
    if link.chars().count() > 500 || link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("reopen_link: at most 500 characters, no spaces".into());
    }
    let scheme = link.split_once(':').map(|(s, _)| s).unwrap_or("");
    let scheme_ok = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    if !scheme_ok {
        return Err(format!(
            "reopen_link: `{link}` has no scheme; write a deep link (acme://chat/…) or an https:// URL"
        ));
    }
    let mut rest = link.to_owned();
    for p in PLACEHOLDERS {
        rest = rest.replace(p, "");
    }
    if rest.contains('{') || rest.contains('}') {
        return Err(format!(
            "reopen_link: unknown placeholder in `{link}`; only {} are replaced",
            PLACEHOLDERS.join(", ")
        ));
    }
    Ok(())
}

fn missing() -> ApiError {
    ApiError::not_found("this app has no SMTP settings; set them with PUT /v1/admin/email")
}

#[utoipa::path(
    get,
    path = "/v1/admin/email",
    tag = "admin",
    security(("admin_token" = [])),
    description = "The app's SMTP settings (the password is never returned: `has_password`).",
    responses(
        (status = 200, description = "The settings", body = SmtpSettingsView),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (no settings: the app sends no email)", body = ErrorBody),
    )
)]
pub async fn get(State(state): State<AppState>, auth: AdminAuth) -> Result<Json<SmtpSettingsView>, ApiError> {
    let app_id = auth.app.id;
    let s = state.db(move |s| s.email_settings(&app_id)).await?.ok_or_else(missing)?;
    Ok(Json(s.into()))
}

#[utoipa::path(
    put,
    path = "/v1/admin/email",
    tag = "admin",
    security(("admin_token" = [])),
    request_body = SmtpSettingsInput,
    description = "Sets the app's SMTP settings: from now on the server emails unread replies and transcripts \
        (docs/email.md). Credentials need `starttls` or `tls` unless the host is the loopback.",
    responses(
        (status = 200, description = "The stored settings", body = SmtpSettingsView),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiJson(input): ApiJson<SmtpSettingsInput>,
) -> Result<Json<SmtpSettingsView>, ApiError> {
    let app_id = auth.app.id;
    let now = state.now_ms();
    let saved = state
        .db_try(move |s| {
            let stored = s.email_settings(&app_id)?;
            let settings = validate(input, stored.as_ref(), now).map_err(ApiError::invalid_field)?;
            s.put_email_settings(&app_id, &settings)?;
            tracing::info!(app = %app_id, host = %settings.host, port = settings.port, "SMTP settings saved");
            Ok(settings)
        })
        .await?;
    Ok(Json(saved.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/email",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Removes the app's SMTP settings: nothing new is queued, and queued emails fail when their turn comes.",
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (no settings)", body = ErrorBody),
    )
)]
pub async fn delete(State(state): State<AppState>, auth: AdminAuth, _: NoBody) -> Result<StatusCode, ApiError> {
    let app_id = auth.app.id;
    if state.db(move |s| s.delete_email_settings(&app_id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(missing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SmtpSettingsInput {
        SmtpSettingsInput {
            host: "smtp.example.com".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: Some("mailer".into()),
            password: Some("secret-1".into()),
            from_address: "help@acme.example".into(),
            from_name: Some("Acme".into()),
            reopen_link: Some("acme://chat/{conversation_id}".into()),
        }
    }

    #[test]
    fn a_full_setting_is_accepted() {
        let s = validate(input(), None, 5).unwrap();
        assert_eq!((s.port, s.password.as_deref(), s.updated_at), (587, Some("secret-1"), 5));
    }

    #[test]
    fn refusals_name_the_field() {
        type Change = Box<dyn Fn(&mut SmtpSettingsInput)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|i| i.host = " ".into()), "host"),
            (Box::new(|i| i.host = "a b".into()), "host"),
            (Box::new(|i| i.port = 0), "port"),
            (Box::new(|i| i.port = 70_000), "port"),
            (Box::new(|i| i.from_address = "not-an-address".into()), "from_address"),
            (Box::new(|i| i.from_name = Some("a\r\nBcc: x@y.z".into())), "from_name"),
            (Box::new(|i| i.username = None), "password"),
            (Box::new(|i| i.security = SmtpSecurity::None), "security"),
            (Box::new(|i| i.reopen_link = Some("chat/{conversation_id}".into())), "reopen_link"),
            (Box::new(|i| i.reopen_link = Some("acme://chat/{visitor}".into())), "reopen_link"),
            (Box::new(|i| i.password = None), "password"),
        ];
        for (change, field) in cases {
            let mut i = input();
            change(&mut i);
            let err = validate(i.clone(), None, 0).unwrap_err();
            assert!(err.starts_with(field), "{i:?}: {err}");
        }
    }

    #[test]
    fn the_password_is_kept_for_the_same_user_only_and_loopback_may_go_in_clear() {
        let stored = validate(input(), None, 0).unwrap();
        let mut again = input();
        again.password = None;
        assert_eq!(validate(again.clone(), Some(&stored), 1).unwrap().password.as_deref(), Some("secret-1"));
        again.username = Some("other".into());
        assert!(validate(again, Some(&stored), 1).unwrap_err().starts_with("password"));
        let mut local = input();
        local.host = "127.0.0.1".into();
        local.security = SmtpSecurity::None;
        assert!(validate(local, None, 0).is_ok());
    }
}
