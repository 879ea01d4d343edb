//! Rule-based bots: the server runs a `bot` chatflow's rule tree; the SDK only renders its messages and quick replies.
//!
//! - `validate.rs`: save-time checks (admin API and seed) returning every problem, for the editor's alerts list.
//! - `engine.rs`: the pure state machine (walk the tree, match answers, branch, set properties, hand off, end).
//! - `runner.rs`: when a conversation on a bot chatflow opens, and after each visitor message, loads the session,
//!   steps the engine, stores the bot's messages through the normal message path (consecutive `seq`, idempotent client
//!   ids, published on the realtime hub) with the chatflow's delay between them, and hands off to the team.

pub mod engine;
pub mod runner;
pub mod validate;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatflow_protocol::{AwayBehavior, ChatflowInput, ChatflowKind, ErrorCode, TypicalResponseTime};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
pub use runner::{conversation_opened, resume, visitor_message};
pub use validate::{validate_bot, validate_flow, FlowProblem, FlowProblemKind};

/// Answer of an admin create/update refused because of its bot: an `ErrorBody` (`code` = `invalid_field`, `message`
/// listing every problem) plus the same problems as a structured list for the editor's alerts. Other refusals of
/// those routes are plain `ErrorBody`s (this type without `problems`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatflowRejection {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FlowProblem>,
}

/// Error of the admin chatflow create/update routes: a plain refusal, or a bot with problems.
#[derive(Debug)]
pub enum SaveError {
    Api(ApiError),
    Bot(Vec<FlowProblem>),
}

impl From<ApiError> for SaveError {
    fn from(e: ApiError) -> Self {
        SaveError::Api(e)
    }
}

/// One line listing every problem (the `message` of the refusal).
pub fn describe(problems: &[FlowProblem]) -> String {
    let n = problems.len();
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    format!("the bot has {n} problem{}: {}", if n == 1 { "" } else { "s" }, list.join("; "))
}

impl IntoResponse for SaveError {
    fn into_response(self) -> Response {
        match self {
            SaveError::Api(e) => e.into_response(),
            SaveError::Bot(problems) => {
                let body = ChatflowRejection { code: ErrorCode::InvalidField, message: describe(&problems), problems };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
        }
    }
}

/// Checks the bot of a chatflow about to be saved (before the other checks, so that the editor gets the full list).
pub fn check_chatflow(input: &ChatflowInput) -> Result<(), SaveError> {
    match (&input.kind, &input.bot) {
        (ChatflowKind::Bot, Some(bot)) => {
            let problems = validate_bot(bot);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(SaveError::Bot(problems))
            }
        }
        _ => Ok(()),
    }
}

/// What the bot says when the flow leaves a text empty, in the chatflow's language (English unless French).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Texts {
    pub error_reply: &'static str,
    pub handoff: &'static str,
    pub away: &'static str,
    pub few_minutes: &'static str,
    pub few_hours: &'static str,
    pub a_day: &'static str,
}

const EN: Texts = Texts {
    error_reply: "Sorry, I didn't get that. Could you try again?",
    handoff: "I'm passing you to the team. Someone will answer here shortly.",
    away: "The team is away right now. Leave your message here and we'll get back to you.",
    few_minutes: "The team is away right now. They typically reply in a few minutes.",
    few_hours: "The team is away right now. They typically reply in a few hours.",
    a_day: "The team is away right now. They typically reply within a day.",
};

const FR: Texts = Texts {
    error_reply: "Désolé, je n'ai pas compris. Pouvez-vous réessayer ?",
    handoff: "Je vous mets en relation avec l'équipe. Quelqu'un va vous répondre ici.",
    away: "L'équipe est absente pour le moment. Laissez votre message ici, nous vous répondrons.",
    few_minutes: "L'équipe est absente pour le moment. Elle répond généralement en quelques minutes.",
    few_hours: "L'équipe est absente pour le moment. Elle répond généralement en quelques heures.",
    a_day: "L'équipe est absente pour le moment. Elle répond généralement sous un jour.",
};

pub fn texts(language: &str) -> &'static Texts {
    if crate::store::kb::primary_language(language) == "fr" {
        &FR
    } else {
        &EN
    }
}

/// What the visitor reads at a handoff: the node's text (or a default) when someone is available, otherwise what
/// the chatflow shows while away — its away message, or its typical response time.
pub fn handoff_text(
    available: bool,
    node_text: Option<&str>,
    availability: &chatflow_protocol::Availability,
    language: &str,
) -> String {
    let t = texts(language);
    if available {
        return node_text.filter(|s| !s.trim().is_empty()).unwrap_or(t.handoff).to_owned();
    }
    let typical = |r: Option<TypicalResponseTime>| match r {
        Some(TypicalResponseTime::FewMinutes) => t.few_minutes,
        Some(TypicalResponseTime::ADay) => t.a_day,
        Some(TypicalResponseTime::FewHours) | None => t.few_hours,
    };
    match availability.when_away {
        AwayBehavior::TypicalResponseTime => typical(availability.typical_response_time).to_owned(),
        AwayBehavior::AwayMessage | AwayBehavior::HideLauncher if !availability.away_message.trim().is_empty() => {
            availability.away_message.clone()
        }
        AwayBehavior::AwayMessage | AwayBehavior::HideLauncher => t.away.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatflow_protocol::Availability;

    #[test]
    fn handoff_texts_follow_availability_and_language() {
        let mut a = Availability::always();
        assert_eq!(handoff_text(true, Some("Hold on"), &a, "en"), "Hold on");
        assert_eq!(handoff_text(true, None, &a, "fr-CA"), FR.handoff);
        assert_eq!(handoff_text(false, Some("Hold on"), &a, "en"), EN.away);
        a.away_message = "Back at 9".into();
        assert_eq!(handoff_text(false, None, &a, "en"), "Back at 9");
        a.when_away = AwayBehavior::TypicalResponseTime;
        a.typical_response_time = Some(TypicalResponseTime::FewMinutes);
        assert_eq!(handoff_text(false, None, &a, "fr"), FR.few_minutes);
    }

    #[test]
    fn rejection_lists_every_problem() {
        let input: ChatflowInput = serde_json::from_value(serde_json::json!({
            "name": "B", "kind": "bot", "header": {"display_name": "B"}, "email_capture": {"mode": "never"},
            "routing": {"mode": "unassigned"}, "availability": {"mode": "always", "when_away": "away_message"},
            "knowledge_base": {"enabled": false}, "consent": {"process_data": {"mode": "off"}},
            "bot": {"session_timeout_minutes": 30, "flow": {"start": "a", "nodes": [
                {"id": "a", "action": "send_message", "text": "x", "next": "ghost"},
                {"id": "b", "action": "end"}]}}
        }))
        .unwrap();
        let Err(SaveError::Bot(problems)) = check_chatflow(&input) else { panic!("refused") };
        assert_eq!(problems.len(), 2);
        let message = describe(&problems);
        assert!(message.starts_with("the bot has 2 problems: "), "{message}");
        assert!(message.contains("unknown node `ghost`") && message.contains("cannot be reached"), "{message}");
    }
}
