//! Visitor sessions: anonymous creation, identification with an identity token, properties, device, push token,
//! deletion of everything the visitor owns.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::limits::{
    MAX_PROPERTIES, MAX_PROPERTY_KEY_CHARS, MAX_PROPERTY_VALUE_CHARS, MAX_PUSH_TOKEN_CHARS,
};
use chatflow_protocol::{
    ChatProperties, DeviceInfo, ErrorBody, ErrorCode, IdentifyRequest, IdentifyResponse, PushTokenRequest,
    VisitorSession,
};
use uuid::Uuid;

use crate::auth::{hash_token, new_visitor_token, verify_identity_token, VisitorAuth};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath, ApiQuery, NoBody};
use crate::limits::{Action, ClientAddress};
use crate::state::AppState;
use crate::store::{Identify, StoreError, VisitorRecord};

const MAX_DEVICE_FIELD_CHARS: usize = 128;

fn session(visitor: &VisitorRecord, token: String) -> VisitorSession {
    VisitorSession {
        visitor_id: visitor.id.clone(),
        visitor_token: token,
        user_id: visitor.user_id.clone(),
        email: visitor.email.clone(),
    }
}

/// The visitor was deleted after its token was checked (a concurrent `DELETE /v1/visitor`): its token is no longer
/// valid, which is what the caller is told, rather than `not_found` about itself.
fn session_ended(e: ApiError) -> ApiError {
    if e.code == ErrorCode::NotFound {
        return ApiError::new(ErrorCode::InvalidToken, "this visitor was deleted: create a new visitor session");
    }
    e
}

pub fn validate_properties(p: &ChatProperties) -> Result<(), ApiError> {
    let too_many = |m: String| ApiError::new(ErrorCode::TooManyProperties, m);
    if p.properties.len() > MAX_PROPERTIES {
        return Err(too_many(format!("{} properties; at most {MAX_PROPERTIES}", p.properties.len())));
    }
    for (k, v) in &p.properties {
        let key_chars = k.chars().count();
        if key_chars == 0 || key_chars > MAX_PROPERTY_KEY_CHARS {
            let shown: String = k.chars().take(MAX_PROPERTY_KEY_CHARS).collect();
            return Err(too_many(format!("property key `{shown}` must be 1..={MAX_PROPERTY_KEY_CHARS} characters")));
        }
        if v.chars().count() > MAX_PROPERTY_VALUE_CHARS {
            return Err(too_many(format!("property `{k}` is longer than {MAX_PROPERTY_VALUE_CHARS} characters")));
        }
    }
    Ok(())
}

fn validate_device(d: &DeviceInfo) -> Result<(), ApiError> {
    if d.platform.trim().is_empty() {
        return Err(ApiError::invalid_field("platform must not be empty (`android`, `ios`, …)"));
    }
    let fields = [
        ("platform", &d.platform),
        ("os_version", &d.os_version),
        ("app_version", &d.app_version),
        ("device_model", &d.device_model),
        ("locale", &d.locale),
        ("sdk_version", &d.sdk_version),
    ];
    for (name, value) in fields {
        if value.chars().count() > MAX_DEVICE_FIELD_CHARS {
            return Err(ApiError::invalid_field(format!("{name} is longer than {MAX_DEVICE_FIELD_CHARS} characters")));
        }
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/v1/apps/{app_id}/visitors",
    tag = "visitors",
    description = "Creates an anonymous visitor. The body is empty (or `{}`). Keep the token secret: it is the \
        visitor's only credential, and the server stores only its hash.",
    params(("app_id" = String, Path, description = "App id")),
    responses(
        (status = 201, description = "A new anonymous session", body = VisitorSession),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 404, description = "not_found (unknown app)", body = ErrorBody),
        (status = 429, description = "rate_limited: too many visitors created from this address \
            (`--limit-visitor-creates-per-address`, 30 per minute) or for this app (`--limit-visitor-creates-per-app`, \
            600 per minute)", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn create_visitor(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiPath(app_id): ApiPath<String>,
    _: NoBody,
) -> Result<(StatusCode, Json<VisitorSession>), ApiError> {
    state.limits.check_visitor_create(&app_id, &address)?;
    let token = new_visitor_token();
    let hash = hash_token(&token);
    let now = state.now_ms();
    let visitor = state
        .db(move |s| {
            if s.app(&app_id)?.is_none() {
                return Err(StoreError::NotFound(format!("app `{app_id}` does not exist")));
            }
            s.create_visitor(&app_id, &Uuid::now_v7().to_string(), &hash, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(session(&visitor, token))))
}

#[utoipa::path(
    post,
    path = "/v1/visitor/identify",
    tag = "visitors",
    security(("visitor_token" = [])),
    description = "Binds the session to a user of the app with an HS256 identity token signed by the app's backend \
        (claims `sub`, `aud` = app id, `email`, `iat`, `exp`). If the user already has a visitor (another device), \
        the session switches to it and this anonymous visitor's conversations move there. The presented visitor \
        token is revoked; use the returned one.",
    request_body = IdentifyRequest,
    responses(
        (status = 200, description = "Identified", body = IdentifyResponse),
        (status = 400, description = "invalid_body", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token, identity_token_expired, identity_token_forged, \
            identity_token_wrong_app, identity_token_malformed (not an HS256 JWT with the claims)", body = ErrorBody),
        (status = 429, description = "rate_limited: too many identify requests from this address \
            (`--limit-identifies-per-address`, 30 per minute)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn identify(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    auth: VisitorAuth,
    ApiJson(req): ApiJson<IdentifyRequest>,
) -> Result<Json<IdentifyResponse>, ApiError> {
    state.limits.check(Action::Identify, &address)?;
    let app_id = auth.visitor.app_id.clone();
    let app =
        state.db(move |s| s.app(&app_id)).await?.ok_or_else(|| ApiError::internal("a visitor's app is missing"))?;
    let claims =
        verify_identity_token(&req.identity_token, app.identity_secret.as_bytes(), &app.id, state.now_ms() / 1000)?;
    let token = new_visitor_token();
    let presenting_visitor_id = auth.visitor.id.clone();
    let plan = Identify {
        current_visitor_id: auth.visitor.id,
        current_token_hash: auth.token_hash,
        app_id: app.id,
        user_id: claims.sub,
        email: claims.email,
        fresh_visitor_id: Uuid::now_v7().to_string(),
        new_token_hash: hash_token(&token),
        now: state.now_ms(),
    };
    let outcome = state.db(move |s| crate::domain::visitors::identify(s, &plan)).await?;
    // The presented token is revoked: sockets opened with it must not stay authenticated. Kicking the presenting
    // visitor's sockets makes them reconnect with the new token (and a merged-away visitor's sockets end for good).
    match &outcome.removed_visitor_id {
        Some(old) => state.hub.kick(old),
        None => state.hub.kick(&presenting_visitor_id),
    }
    tracing::info!(
        visitor = %outcome.visitor.id,
        merged = outcome.merged_conversation_ids.len(),
        "visitor identified"
    );
    Ok(Json(IdentifyResponse {
        session: session(&outcome.visitor, token),
        merged_conversation_ids: outcome.merged_conversation_ids,
    }))
}

#[utoipa::path(
    put,
    path = "/v1/visitor/properties",
    tag = "visitors",
    security(("visitor_token" = [])),
    description = "Replaces the visitor's chat properties (at most 50; keys 1..=64 characters, values up to 1000).",
    request_body = ChatProperties,
    responses(
        (status = 200, description = "Stored", body = ChatProperties),
        (status = 400, description = "invalid_body, too_many_properties", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn put_properties(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiJson(props): ApiJson<ChatProperties>,
) -> Result<Json<ChatProperties>, ApiError> {
    validate_properties(&props)?;
    let json = serde_json::to_string(&props.properties).map_err(ApiError::internal)?;
    state.db(move |s| s.set_properties(&auth.visitor.id, &json)).await.map_err(session_ended)?;
    Ok(Json(props))
}

#[utoipa::path(
    put,
    path = "/v1/visitor/device",
    tag = "visitors",
    security(("visitor_token" = [])),
    request_body = DeviceInfo,
    responses(
        (status = 200, description = "Stored", body = DeviceInfo),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn put_device(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiJson(device): ApiJson<DeviceInfo>,
) -> Result<Json<DeviceInfo>, ApiError> {
    validate_device(&device)?;
    let stored = device.clone();
    state.db(move |s| s.set_device(&auth.visitor.id, &stored)).await.map_err(session_ended)?;
    Ok(Json(device))
}

#[utoipa::path(
    put,
    path = "/v1/visitor/push-token",
    tag = "visitors",
    security(("visitor_token" = [])),
    request_body = PushTokenRequest,
    description = "Registers a device of the visitor for push. A visitor may have several devices (an identified \
        user signs in on a phone and a tablet): each registered token gets the pushes, up to the 10 most recently \
        registered. A token registered by another visitor moves to this one.",
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn put_push_token(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiJson(push): ApiJson<PushTokenRequest>,
) -> Result<StatusCode, ApiError> {
    let n = push.token.chars().count();
    if push.token.trim().is_empty() || n > MAX_PUSH_TOKEN_CHARS {
        return Err(ApiError::invalid_field(format!("token must be 1..={MAX_PUSH_TOKEN_CHARS} characters, got {n}")));
    }
    state.db(move |s| s.set_push_token(&auth.visitor.id, Some(&push))).await.map_err(session_ended)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/v1/visitor/push-token",
    tag = "visitors",
    security(("visitor_token" = [])),
    description = "Stops pushes to one device (`?token=`, e.g. at sign-out on that device) or, without `token`, to \
        every device of the visitor.",
    params(("token" = Option<String>, Query, description = "The device's token; absent: all of the visitor's")),
    responses(
        (status = 204, description = "Removed (also when there was none)"),
        (status = 400, description = "invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn delete_push_token(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiQuery(query): ApiQuery<PushTokenQuery>,
) -> Result<StatusCode, ApiError> {
    state.db(move |s| s.remove_push_tokens(&auth.visitor.id, query.token.as_deref())).await.map_err(session_ended)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/visitor/push-token?token=…`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushTokenQuery {
    #[serde(default)]
    pub token: Option<String>,
}

#[utoipa::path(
    delete,
    path = "/v1/visitor",
    tag = "visitors",
    security(("visitor_token" = [])),
    description = "Deletes the visitor and everything it owns: tokens, conversations, messages, consent records, \
        properties, device and push token. Its sockets close with 4001.",
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn delete_visitor(State(state): State<AppState>, auth: VisitorAuth) -> Result<StatusCode, ApiError> {
    let id = auth.visitor.id.clone();
    state.db(move |s| s.delete_visitor(&id)).await.map_err(session_ended)?;
    state.hub.kick(&auth.visitor.id);
    tracing::info!(visitor = %auth.visitor.id, "visitor deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_limits() {
        let mut p = ChatProperties::default();
        for i in 0..MAX_PROPERTIES {
            p.properties.insert(format!("k{i}"), "v".into());
        }
        assert!(validate_properties(&p).is_ok());
        p.properties.insert("one_more".into(), "v".into());
        assert_eq!(validate_properties(&p).unwrap_err().code, ErrorCode::TooManyProperties);
        let long_key = ChatProperties { properties: [("k".repeat(65), String::new())].into() };
        assert_eq!(validate_properties(&long_key).unwrap_err().code, ErrorCode::TooManyProperties);
        let long_value = ChatProperties { properties: [("k".into(), "v".repeat(1001))].into() };
        assert_eq!(validate_properties(&long_value).unwrap_err().code, ErrorCode::TooManyProperties);
        let empty_key = ChatProperties { properties: [(String::new(), "v".into())].into() };
        assert!(validate_properties(&empty_key).is_err());
    }
}
