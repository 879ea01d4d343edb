//! Visitor messages: the idempotent send (shared by REST `PUT` and the realtime `send` frame), paging, read marks
//! and typing.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::limits::{
    is_valid_client_id, DEFAULT_PAGE_SIZE, MAX_CLIENT_ID_CHARS, MAX_MESSAGE_CHARS, MAX_PAGE_SIZE,
};
use chatflow_protocol::{
    AgentRef, Author, AuthorKind, ErrorBody, ErrorCode, Message, MessagePage, ReadReceipt, Reader, SendMessageRequest,
    ServerFrame, TypingRequest, TYPING_EXPIRES_MS,
};
use serde::Deserialize;

use crate::auth::VisitorAuth;
use crate::consent;
use crate::domain;
use crate::domain::messages::{Appended, NewMessage};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::limits::Action;
use crate::realtime::Hub;
use crate::state::AppState;
use crate::store::attachments::Owner;
use crate::store::{ConversationRecord, Paging, ReaderKind, Store, StoreError, VisitorRecord};

/// The conversation if it belongs to the visitor. Another visitor's conversation is `not_found`, like one that does
/// not exist: a visitor cannot even learn that it exists.
pub fn own_conversation(s: &dyn Store, visitor_id: &str, id: &str) -> Result<ConversationRecord, StoreError> {
    s.conversation(id)?
        .filter(|c| c.visitor_id == visitor_id)
        .ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))
}

pub fn validate_client_id(field: &str, id: &str) -> Result<(), ApiError> {
    if is_valid_client_id(id) {
        return Ok(());
    }
    let shown: String = id.chars().take(MAX_CLIENT_ID_CHARS + 1).collect();
    Err(ApiError::invalid_field(format!(
        "{field} must be 1..={MAX_CLIENT_ID_CHARS} characters of [A-Za-z0-9_-] (a UUID fits), got `{shown}`"
    )))
}

/// Checks a message body against the protocol limits. The body itself never appears in the error (privacy).
pub fn validate_body(body: &str) -> Result<(), ApiError> {
    validate_body_with(body, false)
}

/// [`validate_body`] for a message that may carry files: with files, the body may be empty (`""`), not blank.
pub fn validate_body_with(body: &str, has_files: bool) -> Result<(), ApiError> {
    if has_files && body.is_empty() {
        return Ok(());
    }
    if body.trim().is_empty() {
        return Err(ApiError::invalid_field("body must not be empty"));
    }
    let chars = body.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(ApiError::new(
            ErrorCode::MessageTooLong,
            format!("body has {chars} characters; the limit is {MAX_MESSAGE_CHARS}"),
        ));
    }
    Ok(())
}

/// Publishes what an append changed, in order: reopened, assigned, then the message.
pub fn publish_appended(hub: &Hub, appended: &Appended, assigned_to: Option<AgentRef>) {
    if !appended.created {
        return;
    }
    let visitor_id = &appended.conversation.visitor_id;
    let conversation_id = appended.conversation.id.clone();
    if appended.reopened {
        hub.publish(visitor_id, &ServerFrame::ConversationReopened { conversation_id: conversation_id.clone() });
    }
    if appended.assigned {
        hub.publish(visitor_id, &ServerFrame::Assigned { conversation_id, agent: assigned_to });
    }
    hub.publish(visitor_id, &ServerFrame::Message { message: appended.message.clone() });
}

/// Stores a visitor message (or returns the stored one for a replayed id) and delivers it live.
/// Returns the message and whether it was created now.
pub async fn send_visitor_message(
    state: &AppState,
    visitor: &VisitorRecord,
    conversation_id: String,
    client_message_id: String,
    req: SendMessageRequest,
) -> Result<(Message, bool), ApiError> {
    state.limits.check_send(&visitor.app_id, &visitor.id)?;
    validate_client_id("client_message_id", &client_message_id)?;
    validate_body_with(&req.body, !req.attachments.is_empty())?;
    if let Some(q) = &req.quick_reply_id {
        validate_client_id("quick_reply_id", q)?;
    }
    let survey_answer = req.survey_answer;
    if survey_answer.is_some() && req.quick_reply_id.is_some() {
        return Err(ApiError::invalid_field("send either survey_answer or quick_reply_id, not both"));
    }
    let answers_survey = survey_answer.is_some();
    if answers_survey && !req.attachments.is_empty() {
        return Err(ApiError::invalid_field(
            "a survey answer carries no attachments; send the files in another message",
        ));
    }
    let files = req.attachments;
    // Reads outside the ordered section: only the append and its publication need to be serialized.
    let (visitor_id, id) = (visitor.id.clone(), conversation_id.clone());
    let (consent_hash, bot) = state
        .db(move |s| {
            let conv = own_conversation(s, &visitor_id, &id)?;
            let flow = s.chatflow(&conv.app_id, conv.chatflow_id)?;
            // Bots and AI agents answer visitor messages on their own task (`bots::runner`).
            let bot = flow.as_ref().is_some_and(|f| crate::routing::starts_with_bot(f.kind));
            Ok((flow.as_ref().and_then(consent::required_text_hash), bot))
        })
        .await?;
    let visitor_id = visitor.id.clone();
    let now = state.now_ms();
    let (message, created) = state
        .db_publish(move |s, hub| {
            let new = NewMessage {
                conversation_id,
                client_message_id: Some(client_message_id),
                author: Author {
                    kind: AuthorKind::Visitor,
                    id: Some(visitor_id.clone()),
                    display_name: None,
                    avatar_url: None,
                },
                body: req.body,
                quick_reply_id: req.quick_reply_id,
                quick_replies: Vec::new(),
                now,
                owner_visitor_id: Some(visitor_id),
                reopen: true,
                require_consent_hash: consent_hash,
                assign_if_unassigned: None,
                survey: None,
            };
            let appended = match &survey_answer {
                Some(answer) => domain::surveys::answer(s, &new, answer)?,
                None => {
                    let owner = Owner::Visitor(new.author.id.clone().unwrap_or_default());
                    domain::messages::append_files(s, &new, Some((&owner, &files)))?
                }
            };
            publish_appended(hub, &appended, None);
            Ok((appended.message, appended.created))
        })
        .await?;
    // A survey answer is not a question for the bot.
    if created && bot && !answers_survey {
        // The bot answers on its own task (`bots::runner`), after this message.
        crate::bots::visitor_message(state, &message);
    }
    Ok((message, created))
}

/// Raises the visitor's read mark and tells the visitor's other sockets.
pub async fn visitor_read(state: &AppState, visitor: &VisitorRecord, id: String, seq: u64) -> Result<(), ApiError> {
    state.limits.check(Action::Read, &visitor.id)?;
    let visitor_id = visitor.id.clone();
    state
        .db_publish(move |s, hub| {
            own_conversation(s, &visitor_id, &id)?;
            let conv = domain::conversations::mark_read(s, &id, ReaderKind::Visitor, seq)?;
            let frame = ServerFrame::Read { conversation_id: id, reader: Reader::Visitor, seq: conv.visitor_read_seq };
            hub.publish(&visitor_id, &frame);
            Ok(())
        })
        .await
}

/// Records that the visitor is typing; the state expires after `TYPING_EXPIRES_MS` unless renewed.
pub async fn visitor_typing(
    state: &AppState,
    visitor: &VisitorRecord,
    id: String,
    typing: bool,
) -> Result<(), ApiError> {
    state.limits.check(Action::Typing, &visitor.id)?;
    let visitor_id = visitor.id.clone();
    let conv = state.db(move |s| own_conversation(s, &visitor_id, &id)).await?;
    state.hub.set_visitor_typing(&conv.id, typing, Duration::from_millis(TYPING_EXPIRES_MS));
    crate::agent_feed::publish_typing(state, &conv.app_id, &conv.id, typing);
    Ok(())
}

/// Paging of `GET .../messages`. With both `after_seq` and `before_seq`: the window strictly between them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Catch-up: messages with a seq strictly above this, ascending.
    #[param(minimum = 0)]
    pub after_seq: Option<u64>,
    /// History: the messages just before this seq, returned ascending. With `after_seq` too: the first `limit`
    /// messages strictly between the two, ascending (`has_more` when the window holds more); an empty window
    /// (`before_seq <= after_seq + 1`) gives an empty page.
    #[param(minimum = 0)]
    pub before_seq: Option<u64>,
    /// Page size, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

pub fn paging(q: &MessagesQuery) -> Result<(Paging, u32), ApiError> {
    let bad = |m: String| ApiError::new(ErrorCode::InvalidPaging, m);
    let limit = q.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(bad(format!("limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")));
    }
    let paging = match (q.after_seq, q.before_seq) {
        (Some(a), Some(b)) => Paging::Between(a, b),
        (Some(n), None) => Paging::After(n),
        (None, Some(n)) => Paging::Before(n),
        (None, None) => Paging::Latest,
    };
    Ok((paging, limit))
}

#[utoipa::path(
    put,
    path = "/v1/conversations/{id}/messages/{client_message_id}",
    tag = "messages",
    security(("visitor_token" = [])),
    description = "Idempotent send. The same `client_message_id` with the same body returns the stored message (200); \
        with another body it is `idempotency_conflict`. On an explicit-consent chatflow the visitor needs an accepted \
        record on the current notice (`consent_required` otherwise). A message on a closed conversation reopens it.",
    params(
        ("id" = String, Path, description = "Conversation id"),
        (
            "client_message_id" = String, Path, description = "Client-generated id (UUIDv7), 1..=64 of [A-Za-z0-9_-]",
            min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$"
        ),
    ),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Stored now", body = Message),
        (status = 200, description = "Already stored with the same content", body = Message),
        (status = 400, description = "invalid_body, invalid_field, message_too_long", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "consent_required", body = ErrorBody),
        (status = 404, description = "not_found (also another visitor's conversation)", body = ErrorBody),
        (status = 409, description = "idempotency_conflict", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 429, description = "rate_limited: the visitor's message budget (`--limit-sends-per-visitor`, 20 per \
            10 s, REST and socket together) or its app's (`--limit-sends-per-app`, 300 per 10 s, all its visitors \
            together) is spent; send the same request again after `Retry-After` seconds",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn put_message(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath((id, client_message_id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<SendMessageRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let (message, created) = send_visitor_message(&state, &auth.visitor, id, client_message_id, req).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(message)))
}

#[utoipa::path(
    get,
    path = "/v1/conversations/{id}/messages",
    tag = "messages",
    security(("visitor_token" = [])),
    params(("id" = String, Path, description = "Conversation id"), MessagesQuery),
    responses(
        (status = 200, description = "A page, ascending seq", body = MessagePage),
        (status = 400, description = "invalid_paging", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let Query(q) = query.map_err(|r| ApiError::new(ErrorCode::InvalidPaging, r.body_text()))?;
    let (paging, limit) = paging(&q)?;
    let visitor_id = auth.visitor.id;
    let page = state
        .db(move |s| {
            own_conversation(s, &visitor_id, &id)?;
            s.messages(&id, paging, limit)
        })
        .await?;
    Ok(Json(page))
}

#[utoipa::path(
    post,
    path = "/v1/conversations/{id}/read",
    tag = "messages",
    security(("visitor_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = ReadReceipt,
    responses(
        (status = 204, description = "Read mark raised (never lowered)"),
        (status = 400, description = "invalid_body, invalid_field (seq beyond the last message)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 429, description = "rate_limited: the visitor's read-receipt budget (`--limit-reads-per-visitor`, 30 \
            per 10 s) is spent", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn post_read(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(receipt): ApiJson<ReadReceipt>,
) -> Result<StatusCode, ApiError> {
    visitor_read(&state, &auth.visitor, id, receipt.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/conversations/{id}/typing",
    tag = "messages",
    security(("visitor_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = TypingRequest,
    responses(
        (status = 204, description = "Recorded; expires after 6 s unless renewed"),
        (status = 400, description = "invalid_body", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 429, description = "rate_limited: the visitor's typing budget (`--limit-typing-per-visitor`, 20 per \
            10 s) is spent", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn post_typing(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TypingRequest>,
) -> Result<StatusCode, ApiError> {
    visitor_typing(&state, &auth.visitor, id, req.typing).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(after: Option<u64>, before: Option<u64>, limit: Option<u32>) -> MessagesQuery {
        MessagesQuery { after_seq: after, before_seq: before, limit }
    }

    #[test]
    fn paging_rules() {
        assert_eq!(paging(&q(None, None, None)).unwrap(), (Paging::Latest, DEFAULT_PAGE_SIZE));
        assert_eq!(paging(&q(Some(3), None, Some(500))).unwrap(), (Paging::After(3), 500));
        assert_eq!(paging(&q(None, Some(9), Some(1))).unwrap(), (Paging::Before(9), 1));
        assert_eq!(paging(&q(Some(1), Some(5), None)).unwrap(), (Paging::Between(1, 5), DEFAULT_PAGE_SIZE));
        for bad in [q(None, None, Some(0)), q(None, None, Some(MAX_PAGE_SIZE + 1))] {
            assert_eq!(paging(&bad).unwrap_err().code, ErrorCode::InvalidPaging);
        }
    }

    #[test]
    fn body_limits_count_characters_not_bytes() {
        assert!(validate_body(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert_eq!(validate_body(&"é".repeat(MAX_MESSAGE_CHARS + 1)).unwrap_err().code, ErrorCode::MessageTooLong);
        assert_eq!(validate_body("  \n").unwrap_err().code, ErrorCode::InvalidField);
    }
}
