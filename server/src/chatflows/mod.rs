//! What the SDK reads about chatflows: the full list (cached by ETag) and the live availability status.

pub mod validate;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatflow_protocol::{Chatflow, ChatflowList, ChatflowStatus, ChatflowStatusList, ErrorBody};

use crate::auth::sha256_hex;
use crate::conversations::team_available;
use crate::error::ApiError;
use crate::http::ApiPath;
use crate::state::AppState;
use crate::store::{AgentRecord, TeamMember};

/// Strong ETag over the serialized list: any change to any field of any chatflow changes it.
/// Quoted, as it appears in the `ETag` header (and in `ChatflowList.etag`, so a client can send it back as is).
pub fn etag_of(chatflows: &[Chatflow]) -> String {
    // Serializing plain data (no maps with non-string keys) cannot fail.
    let bytes = serde_json::to_vec(chatflows).unwrap_or_default();
    format!("\"{}\"", &sha256_hex(&bytes)[..32])
}

/// The list's ETag with the app's attachment limits: the default limits leave the chatflows' tag as it was, another
/// limit changes it (a client's cached copy must learn the new limit).
pub fn etag_with_limits(chatflows: &[Chatflow], limits: &chatflow_protocol::attachment::AttachmentLimits) -> String {
    if *limits == Default::default() {
        return etag_of(chatflows);
    }
    let bytes = serde_json::to_vec(&(chatflows, limits)).unwrap_or_default();
    format!("\"{}\"", &sha256_hex(&bytes)[..32])
}

/// `If-None-Match` semantics (RFC 9110 §13.1.2): `*`, or a list of tags compared weakly.
pub fn if_none_match(header: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    header.trim() == "*" || header.split(',').any(|t| bare(t) == bare(etag))
}

/// The availability of each chatflow at `now_ms`.
pub fn statuses(
    flows: &[Chatflow],
    agents: &[AgentRecord],
    members: &[TeamMember],
    now_ms: i64,
) -> Vec<ChatflowStatus> {
    flows
        .iter()
        .map(|f| {
            let team = team_available(&f.routing, agents, members);
            match f.availability.at(now_ms, team) {
                Ok(a) => ChatflowStatus { chatflow_id: f.id, available: a.available, next_change_at: a.next_change_at },
                Err(e) => {
                    // Schedules are validated on save; a stored one that fails is reported as away, not as an error.
                    tracing::warn!(chatflow = f.id, error = %e, "chatflow schedule cannot be evaluated");
                    ChatflowStatus { chatflow_id: f.id, available: false, next_change_at: None }
                }
            }
        })
        .collect()
}

async fn require_app(state: &AppState, app_id: String) -> Result<String, ApiError> {
    let id = app_id.clone();
    state
        .db(move |s| s.app(&id))
        .await?
        .map(|a| a.id)
        .ok_or_else(|| ApiError::not_found(format!("app `{app_id}` does not exist")))
}

#[utoipa::path(
    get,
    path = "/v1/apps/{app_id}/chatflows",
    tag = "chatflows",
    description = "Every chatflow of the app, enabled or not, ascending id. Strong `ETag`; send it back in \
        `If-None-Match` to get 304 when nothing changed.",
    params(
        ("app_id" = String, Path, description = "App id"),
        ("If-None-Match" = Option<String>, Header, description = "ETag of the copy the client holds"),
    ),
    responses(
        (status = 200, description = "The list", body = ChatflowList,
            headers(("ETag" = String, description = "Strong validator of the list"))),
        (status = 304, description = "Not modified"),
        (status = 404, description = "not_found (unknown app)", body = ErrorBody),
    )
)]
pub async fn list_chatflows(
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app_id = require_app(&state, app_id).await?;
    let limits = crate::attachments::limits::limits_of(&state, &app_id).await?;
    let chatflows = state.db(move |s| s.chatflows(&app_id)).await?;
    let etag = etag_with_limits(&chatflows, &limits);
    let etag_header = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let cache = HeaderValue::from_static("no-cache");
    let matches = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| if_none_match(v, &etag));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag_header), (CACHE_CONTROL, cache)]).into_response());
    }
    Ok((
        [(ETAG, etag_header), (CACHE_CONTROL, cache)],
        Json(ChatflowList { chatflows, etag, attachment_limits: limits }),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/v1/apps/{app_id}/chatflows/status",
    tag = "chatflows",
    description = "Availability of every chatflow now: `always`; `team_status` (any agent the chatflow routes to is \
        available); `business_hours` (the schedule in its time zone, with the next change).",
    params(("app_id" = String, Path, description = "App id")),
    responses(
        (status = 200, description = "Availability now", body = ChatflowStatusList),
        (status = 404, description = "not_found (unknown app)", body = ErrorBody),
    )
)]
pub async fn chatflow_status(
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<ChatflowStatusList>, ApiError> {
    let app_id = require_app(&state, app_id).await?;
    let (flows, agents, members) =
        state.db(move |s| Ok((s.chatflows(&app_id)?, s.agents(&app_id)?, s.team_members(&app_id)?))).await?;
    let now = state.now_ms();
    Ok(Json(ChatflowStatusList { statuses: statuses(&flows, &agents, &members, now), computed_at: now }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::test_support::chatflow_input;

    #[test]
    fn etag_changes_with_any_field_and_is_stable_otherwise() {
        let a = vec![chatflow_input("A").into_chatflow(1, 10)];
        let same = vec![chatflow_input("A").into_chatflow(1, 10)];
        let mut b = a.clone();
        b[0].priority = 1;
        assert_eq!(etag_of(&a), etag_of(&same));
        assert_ne!(etag_of(&a), etag_of(&b));
        assert_ne!(etag_of(&a), etag_of(&[]));
        assert!(etag_of(&a).starts_with('"') && etag_of(&a).ends_with('"'));
    }

    #[test]
    fn if_none_match_forms() {
        let tag = "\"abc\"";
        assert!(if_none_match("\"abc\"", tag));
        assert!(if_none_match("W/\"abc\"", tag));
        assert!(if_none_match("\"x\", \"abc\"", tag));
        assert!(if_none_match("*", tag));
        assert!(!if_none_match("\"abd\"", tag));
        assert!(!if_none_match("abc", tag));
        assert!(!if_none_match("", tag));
    }

    #[test]
    fn team_status_follows_routed_agents() {
        let mut input = chatflow_input("A");
        input.availability.mode = chatflow_protocol::AvailabilityMode::TeamStatus;
        input.routing.target =
            chatflow_protocol::RoutingTarget::Specific { agent_ids: vec!["a1".into()], team_ids: vec![] };
        let flows = vec![input.into_chatflow(1, 0)];
        let agent = |available| AgentRecord {
            id: "a1".into(),
            app_id: "x".into(),
            display_name: "A".into(),
            avatar_url: None,
            available,
        };
        assert!(!statuses(&flows, &[agent(false)], &[], 0)[0].available);
        assert!(statuses(&flows, &[agent(true)], &[], 0)[0].available);
    }
}
