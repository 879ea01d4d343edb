//! `GET/PUT/DELETE /v1/admin/push`: the app's push credentials. Secrets (private keys) are write-only: the API never
//! returns them and the server never logs them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::ErrorBody;
use serde::{Deserialize, Serialize};

use super::keys;
use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::http::ApiJson;
use crate::state::AppState;
use crate::store::push::{ApnsCredentials, ApnsEnvironment, FcmCredentials, PushCredentials};

pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// `PUT /v1/admin/push`: replaces the app's push configuration (a provider left out is turned off).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushConfigInput {
    /// Put the message text in notifications (`cf_preview`, the APNs alert body). Off: a generic line in the
    /// chatflow's language.
    #[serde(default)]
    pub previews: bool,
    #[serde(default)]
    pub fcm: Option<FcmInput>,
    #[serde(default)]
    pub apns: Option<ApnsInput>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FcmInput {
    /// The service-account JSON file downloaded from the Firebase console, as is.
    pub service_account: ServiceAccount,
}

/// The fields of a Google service-account file the server uses; the file's other fields are accepted and ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ServiceAccount {
    /// `service_account` when present.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub project_id: String,
    pub client_email: String,
    /// PKCS#8 PEM of the RSA key (write-only).
    pub private_key: String,
    /// Default `https://oauth2.googleapis.com/token`.
    #[serde(default)]
    pub token_uri: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApnsInput {
    /// Apple Developer team id (10 characters).
    pub team_id: String,
    /// Id of the APNs auth key (10 characters).
    pub key_id: String,
    /// The `.p8` file's content: PKCS#8 PEM of a P-256 key (write-only).
    pub private_key: String,
    /// The app's bundle id, sent as `apns-topic`.
    pub topic: String,
    /// `sandbox` (development builds) or `production` (TestFlight, App Store).
    #[schema(pattern = "^(sandbox|production)$")]
    pub environment: String,
}

/// What the API shows of the configuration: no secrets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PushConfigView {
    pub previews: bool,
    pub fcm: Option<FcmView>,
    pub apns: Option<ApnsView>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FcmView {
    pub project_id: String,
    pub client_email: String,
    pub token_uri: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApnsView {
    pub team_id: String,
    pub key_id: String,
    pub topic: String,
    pub environment: String,
}

impl From<&PushCredentials> for PushConfigView {
    fn from(c: &PushCredentials) -> Self {
        PushConfigView {
            previews: c.previews,
            fcm: c.fcm.as_ref().map(|f| FcmView {
                project_id: f.project_id.clone(),
                client_email: f.client_email.clone(),
                token_uri: f.token_uri.clone(),
            }),
            apns: c.apns.as_ref().map(|a| ApnsView {
                team_id: a.team_id.clone(),
                key_id: a.key_id.clone(),
                topic: a.topic.clone(),
                environment: a.environment.as_str().into(),
            }),
            updated_at: c.updated_at,
        }
    }
}

fn apple_id(field: &str, v: &str) -> Result<(), String> {
    if v.len() != 10 || !v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(format!("apns.{field} must be Apple's 10-character id (A-Z, 0-9), got `{v}`"));
    }
    Ok(())
}

fn url_ok(u: &str) -> bool {
    u.starts_with("https://") || u.starts_with("http://127.0.0.1") || u.starts_with("http://localhost")
}

/// Checks the input (keys included: a key that cannot sign is refused now, not at the first push).
pub fn credentials_from(input: PushConfigInput, app_id: &str, now: i64) -> Result<PushCredentials, String> {
    let fcm = match input.fcm {
        None => None,
        Some(FcmInput { service_account: sa }) => {
            if sa.kind.as_deref().is_some_and(|k| k != "service_account") {
                return Err(
                    "fcm.service_account.type must be `service_account` (a Google service-account key file)".into()
                );
            }
            for (name, v) in [("project_id", &sa.project_id), ("client_email", &sa.client_email)] {
                if v.trim().is_empty() || v.len() > 256 {
                    return Err(format!("fcm.service_account.{name} must be 1..=256 characters"));
                }
            }
            keys::rsa_key(&sa.private_key).map_err(|e| format!("fcm.service_account.private_key: {e}"))?;
            let token_uri = sa.token_uri.unwrap_or_else(|| GOOGLE_TOKEN_URI.into());
            if !url_ok(&token_uri) {
                return Err(format!("fcm.service_account.token_uri must be an https:// URL, got `{token_uri}`"));
            }
            Some(FcmCredentials {
                project_id: sa.project_id,
                client_email: sa.client_email,
                private_key: sa.private_key,
                token_uri,
            })
        }
    };
    let apns = match input.apns {
        None => None,
        Some(a) => {
            apple_id("team_id", &a.team_id)?;
            apple_id("key_id", &a.key_id)?;
            if a.topic.is_empty()
                || a.topic.len() > 255
                || !a.topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                return Err(format!(
                    "apns.topic must be the app's bundle id (A-Z, a-z, 0-9, `.`, `-`), got `{}`",
                    a.topic
                ));
            }
            let environment = ApnsEnvironment::parse(&a.environment).ok_or_else(|| {
                format!("apns.environment must be `sandbox` or `production`, got `{}`", a.environment)
            })?;
            keys::ec_key(&a.private_key).map_err(|e| format!("apns.private_key: {e}"))?;
            Some(ApnsCredentials {
                team_id: a.team_id,
                key_id: a.key_id,
                private_key: a.private_key,
                topic: a.topic,
                environment,
            })
        }
    };
    Ok(PushCredentials { app_id: app_id.to_owned(), previews: input.previews, fcm, apns, updated_at: now })
}

fn not_configured() -> ApiError {
    ApiError::not_found("push is not configured for this app: PUT /v1/admin/push first")
}

#[utoipa::path(
    get,
    path = "/v1/admin/push",
    tag = "admin",
    security(("admin_token" = [])),
    description = "The app's push configuration, without its private keys.",
    responses(
        (status = 200, description = "Configured", body = PushConfigView),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (push not configured)", body = ErrorBody),
    )
)]
pub async fn get(State(state): State<AppState>, auth: AdminAuth) -> Result<Json<PushConfigView>, ApiError> {
    let found = state.db(move |s| s.push_credentials(&auth.app.id)).await?;
    found.as_ref().map(|c| Json(c.into())).ok_or_else(not_configured)
}

#[utoipa::path(
    put,
    path = "/v1/admin/push",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Replaces the app's push configuration: FCM (a service-account file) and/or APNs (token-based \
        auth: team id, key id, .p8 key, bundle id, environment), and whether notifications show the message text. \
        A provider left out is turned off. Keys are checked now and never returned.",
    request_body = PushConfigInput,
    responses(
        (status = 200, description = "Stored", body = PushConfigView),
        (status = 400, description = "invalid_body, invalid_field (the message names the field)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiJson(input): ApiJson<PushConfigInput>,
) -> Result<Json<PushConfigView>, ApiError> {
    let credentials = credentials_from(input, &auth.app.id, state.now_ms()).map_err(ApiError::invalid_field)?;
    let view = PushConfigView::from(&credentials);
    state.db(move |s| s.set_push_credentials(&credentials)).await?;
    tracing::info!(app = %auth.app.id, fcm = view.fcm.is_some(), apns = view.apns.is_some(), "push configured");
    Ok(Json(view))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/push",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Turns push off for the app and forgets its keys.",
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (push not configured)", body = ErrorBody),
    )
)]
pub async fn delete(State(state): State<AppState>, auth: AdminAuth) -> Result<StatusCode, ApiError> {
    if state.db(move |s| s.delete_push_credentials(&auth.app.id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_configured())
    }
}
