//! Transcripts of closed conversations, as JSON and as plain text: who wrote what, when. Agent names follow the
//! chatflow's header alias (`use_branding_as_agent_alias`) exactly like the visitor saw them. Conversations started
//! by a bot have no transcript (as in the product), even after a handoff.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{AuthorKind, Chatflow, ConversationStatus, ErrorBody, ErrorCode, Message};
use serde::{Deserialize, Serialize};

use super::app_conversation;
use super::views::{anonymous_name, channel_label};
use crate::auth::AgentAuth;
use crate::error::ApiError;
use crate::http::ApiPath;
use crate::state::AppState;
use crate::store::inbox::InboxEntry;
use crate::store::{AgentRecord, Paging, StoreError};

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix-ms instant (UTC, proleptic Gregorian).
pub fn fmt_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TranscriptEntry {
    pub seq: u64,
    /// Unix ms.
    pub at: i64,
    /// `at` as `YYYY-MM-DDTHH:MM:SSZ`.
    pub at_utc: String,
    pub author_kind: AuthorKind,
    /// The name the visitor saw (the chatflow's alias for agents when branding is used as agent alias).
    pub author_name: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transcript {
    pub conversation_id: String,
    pub chatflow_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatflow_name: Option<String>,
    pub channel_label: String,
    pub contact_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    pub opened_at: i64,
    pub closed_at: i64,
    pub messages: Vec<TranscriptEntry>,
}

pub(crate) fn author_name(m: &Message, contact: &str, agents: &[AgentRecord], flow: Option<&Chatflow>) -> String {
    let stored = m.author.display_name.clone().filter(|n| !n.trim().is_empty());
    match m.author.kind {
        AuthorKind::Visitor => contact.to_owned(),
        AuthorKind::Agent => match flow.map(|f| &f.header) {
            Some(h) if h.use_branding_as_agent_alias => h.display_name.clone(),
            _ => m
                .author
                .id
                .as_deref()
                .and_then(|id| agents.iter().find(|a| a.id == id))
                .map(|a| a.display_name.clone())
                .or(stored)
                .unwrap_or_else(|| "Agent".to_owned()),
        },
        AuthorKind::Bot => stored
            .or_else(|| flow.and_then(|f| f.bot.as_ref()).and_then(|b| b.display_name.clone()))
            .or_else(|| flow.map(|f| f.header.display_name.clone()))
            .unwrap_or_else(|| "Bot".to_owned()),
        AuthorKind::System => "System".to_owned(),
    }
}

/// Builds the transcript of a closed, agent-started conversation of the app.
async fn build(state: &AppState, app_id: String, id: String) -> Result<Transcript, ApiError> {
    state
        .db_try(move |s| {
            app_conversation(s, &app_id, &id)?;
            let entry: InboxEntry = s
                .inbox_entry(&id)?
                .ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))?;
            if entry.state.bot_started {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    format!("conversation `{id}` was started by a bot: bot conversations have no transcript"),
                ));
            }
            let closed_at = match (entry.conversation.status, entry.state.closed_at) {
                (ConversationStatus::Closed, Some(at)) => at,
                (ConversationStatus::Closed, None) => entry.conversation.updated_at,
                (ConversationStatus::Open, _) => {
                    return Err(ApiError::new(
                        ErrorCode::Forbidden,
                        format!("conversation `{id}` is open: only closed conversations have a transcript"),
                    ))
                }
            };
            let agents = s.agents(&app_id)?;
            let flow = s.chatflow(&app_id, entry.conversation.chatflow_id)?;
            let contact = entry.contact.name.clone().or_else(|| entry.contact.email.clone());
            let contact_name = contact.unwrap_or_else(|| anonymous_name(&entry.conversation.visitor_id));
            let mut messages = Vec::new();
            let mut after = 0;
            loop {
                let page = s.messages(&id, Paging::After(after), MAX_PAGE_SIZE)?;
                for m in &page.messages {
                    after = m.seq;
                    messages.push(TranscriptEntry {
                        seq: m.seq,
                        at: m.created_at,
                        at_utc: fmt_utc(m.created_at),
                        author_kind: m.author.kind,
                        author_name: author_name(m, &contact_name, &agents, flow.as_ref()),
                        body: body_with_files(m),
                    });
                }
                if !page.has_more {
                    break;
                }
            }
            Ok(Transcript {
                conversation_id: entry.conversation.id.clone(),
                chatflow_id: entry.conversation.chatflow_id,
                chatflow_name: flow.map(|f| f.name),
                channel_label: channel_label(entry.conversation.channel).to_owned(),
                contact_name,
                contact_email: entry.contact.email,
                opened_at: entry.conversation.created_at,
                closed_at,
                messages,
            })
        })
        .await
}

/// A message's text with one line per attached file (`[file: name, size]`): transcripts name the files, they do
/// not carry them.
pub fn body_with_files(m: &chatflow_protocol::Message) -> String {
    let mut out = m.body.clone();
    for a in &m.attachments {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[file: {}, {} bytes]", a.file_name, a.size));
    }
    out
}

/// The plain-text form: a header, then one line per message (continuation lines indented).
pub fn to_text(t: &Transcript) -> String {
    let mut out = format!("Transcript of conversation {}\n", t.conversation_id);
    let flow = t.chatflow_name.clone().unwrap_or_else(|| format!("chatflow {}", t.chatflow_id));
    out.push_str(&format!("Chatflow: {flow} ({})\n", t.channel_label));
    match &t.contact_email {
        Some(email) if *email != t.contact_name => out.push_str(&format!("Contact: {} <{email}>\n", t.contact_name)),
        _ => out.push_str(&format!("Contact: {}\n", t.contact_name)),
    }
    out.push_str(&format!("Opened: {}\nClosed: {}\n\n", fmt_utc(t.opened_at), fmt_utc(t.closed_at)));
    for m in &t.messages {
        let mut lines = m.body.lines();
        out.push_str(&format!("[{}] {}: {}\n", m.at_utc, m.author_name, lines.next().unwrap_or("")));
        for line in lines {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations/{id}/transcript",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Transcript of a closed conversation (who, when, what). Agents appear under the chatflow's alias \
        when its branding is used as agent alias.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The transcript", body = Transcript),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "forbidden (still open, or started by a bot)", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn json(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Transcript>, ApiError> {
    Ok(Json(build(&state, auth.agent.app_id, id).await?))
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations/{id}/transcript.txt",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "The same transcript as plain text (UTF-8): a header, then `[time] name: text` per message.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The transcript", body = String, content_type = "text/plain"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "forbidden (still open, or started by a bot)", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn text(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let t = build(&state, auth.agent.app_id, id).await?;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], to_text(&t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(fmt_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(fmt_utc(1_711_843_199_999), "2024-03-30T23:59:59Z");
        assert_eq!(fmt_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(fmt_utc(253_402_300_799_999), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn text_form_indents_continuation_lines() {
        let t = Transcript {
            conversation_id: "c1".into(),
            chatflow_id: 5,
            chatflow_name: Some("Sales".into()),
            channel_label: "Chat".into(),
            contact_name: "Ann".into(),
            contact_email: Some("ann@example.com".into()),
            opened_at: 0,
            closed_at: 60_000,
            messages: vec![TranscriptEntry {
                seq: 1,
                at: 1000,
                at_utc: fmt_utc(1000),
                author_kind: AuthorKind::Visitor,
                author_name: "Ann".into(),
                body: "hello\nthere".into(),
            }],
        };
        let text = to_text(&t);
        assert!(text.contains("Contact: Ann <ann@example.com>\n"), "{text}");
        assert!(text.ends_with("[1970-01-01T00:00:01Z] Ann: hello\n    there\n"), "{text}");
    }
}
