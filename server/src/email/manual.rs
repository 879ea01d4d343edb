//! `POST /v1/agent/conversations/{id}/transcript/email`: an agent sends a closed conversation's transcript to chosen
//! addresses (queued in the outbox, sent by the email worker).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

use super::settings::check_address;
use crate::domain::email::{send_transcript, ManualRefusal};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::inbox::app_conversation;
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::state::AppState;
use crate::store::email::EmailState;

/// Most recipients of one manual transcript.
pub const MAX_RECIPIENTS: usize = 10;
/// Longest subject.
pub const MAX_SUBJECT_CHARS: usize = 200;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranscriptEmailRequest {
    /// 1 to 10 addresses (duplicates, ignoring case, are sent once).
    #[schema(min_items = 1, max_items = 10)]
    pub to: Vec<String>,
    /// The subject; absent: "Transcript of your conversation with {chat header name}" in the chatflow's language.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TranscriptEmailQueued {
    /// The email's id in the outbox.
    pub email_id: i64,
    /// `pending`: the email worker sends it within a moment.
    pub state: EmailState,
    pub to: Vec<String>,
}

fn checked(req: TranscriptEmailRequest) -> Result<(Vec<String>, Option<String>), String> {
    let mut to: Vec<String> = Vec::new();
    for (i, raw) in req.to.iter().enumerate() {
        let address = raw.trim();
        check_address(&format!("to[{i}]"), address)?;
        if !to.iter().any(|t| t.eq_ignore_ascii_case(address)) {
            to.push(address.to_owned());
        }
    }
    if to.is_empty() {
        return Err("to: give at least one address".into());
    }
    if to.len() > MAX_RECIPIENTS {
        return Err(format!("to: {} addresses; at most {MAX_RECIPIENTS}", to.len()));
    }
    let subject = req.subject.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(s) = &subject {
        if s.chars().count() > MAX_SUBJECT_CHARS || s.chars().any(char::is_control) {
            return Err(format!("subject: at most {MAX_SUBJECT_CHARS} characters on one line"));
        }
    }
    Ok((to, subject))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/transcript/email",
    tag = "inbox",
    security(("agent_token" = [])),
    request_body = TranscriptEmailRequest,
    description = "Emails the transcript of a closed conversation to 1-10 addresses (internal notes are never part \
        of it). Queued in the email outbox: the answer comes before the email leaves. Conversations started by a bot \
        have no transcript. Needs the app's SMTP settings (PUT /v1/admin/email).",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 202, description = "Queued", body = TranscriptEmailQueued),
        (status = 400, description = "invalid_body, invalid_field (an address, too many, the subject)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "forbidden (still open, started by a bot, or no SMTP settings)", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn send(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TranscriptEmailRequest>,
) -> Result<(StatusCode, Json<TranscriptEmailQueued>), ApiError> {
    let (to, subject) = checked(req).map_err(ApiError::invalid_field)?;
    let app_id = auth.agent.app_id.clone();
    let agent_id = auth.agent.id;
    let now = state.now_ms();
    let recipients = to.clone();
    let email_id = state
        .db_try(move |s| {
            app_conversation(s, &app_id, &id)?;
            let refused = |why: String| ApiError::new(ErrorCode::Forbidden, why);
            match send_transcript(s, &id, recipients, subject, now)? {
                Ok(email_id) => {
                    tracing::info!(conversation = %id, agent = %agent_id, email_id, "transcript email queued");
                    Ok(email_id)
                }
                Err(ManualRefusal::Open) => {
                    Err(refused(format!("conversation `{id}` is open: close it to send its transcript")))
                }
                Err(ManualRefusal::BotStarted) => Err(refused(format!(
                    "conversation `{id}` was started by a bot: bot conversations have no transcript"
                ))),
                Err(ManualRefusal::NotConfigured) => Err(refused(
                    "this app sends no email: an admin sets its SMTP settings with PUT /v1/admin/email".into(),
                )),
            }
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(TranscriptEmailQueued { email_id, state: EmailState::Pending, to })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(to: &[&str], subject: Option<&str>) -> TranscriptEmailRequest {
        TranscriptEmailRequest { to: to.iter().map(|s| (*s).to_owned()).collect(), subject: subject.map(Into::into) }
    }

    #[test]
    fn addresses_are_checked_deduplicated_and_capped() {
        let (to, subject) = checked(req(&[" a@x.io", "A@X.io", "b@y.io"], Some(" Hi "))).unwrap();
        assert_eq!((to, subject.as_deref()), (vec!["a@x.io".to_owned(), "b@y.io".to_owned()], Some("Hi")));
        assert!(checked(req(&[], None)).unwrap_err().starts_with("to:"));
        assert!(checked(req(&["a@x.io", "nope"], None)).unwrap_err().starts_with("to[1]"));
        assert!(checked(req(&["a@x.io\r\nBcc: c@z.io"], None)).unwrap_err().starts_with("to[0]"));
        let many: Vec<String> = (0..11).map(|i| format!("u{i}@x.io")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(checked(req(&many, None)).unwrap_err().contains("at most 10"));
        assert!(checked(req(&["a@x.io"], Some("a\nb"))).unwrap_err().starts_with("subject"));
    }
}
