//! The satisfaction survey's results: how many surveys closed conversations got, how many were answered, the average
//! rating and the answers per rating, filterable by chatflow, agent (the assignee when the conversation closed) and
//! period. Agents read it with their token or session, admins with the app's admin token. The prompt and each answer
//! also show in the conversation itself (as messages), see `domain::surveys`.

use axum::extract::State;
use axum::Json;
use chatflow_protocol::limits::is_valid_client_id;
use chatflow_protocol::{ErrorBody, SURVEY_SCALE_MAX, SURVEY_SCALE_MIN};
use serde::{Deserialize, Serialize};

use crate::auth::{AdminAuth, AgentAuth};
use crate::domain::surveys::summarize;
use crate::error::ApiError;
use crate::http::ApiQuery;
use crate::state::AppState;
use crate::store::survey::SurveyFilter;

/// `GET …/surveys/summary` filters. All optional; `from`/`to` bound the instant the survey was sent (the close).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// Only this chatflow's surveys.
    pub chatflow_id: Option<i64>,
    /// Only surveys of conversations this agent was assigned when they closed.
    #[param(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub agent_id: Option<String>,
    /// Sent at or after this instant (Unix ms).
    #[param(minimum = 0)]
    pub from: Option<i64>,
    /// Sent before this instant (Unix ms); must be after `from`.
    #[param(minimum = 0)]
    pub to: Option<i64>,
}

/// The survey results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SurveySummary {
    /// Surveys sent (closed conversations of a chatflow with `csat_survey` on).
    pub sent: u64,
    /// Surveys answered.
    pub answered: u64,
    /// Mean rating of the answers, two decimals; absent without answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
    pub scale_min: u8,
    pub scale_max: u8,
    /// Answers per rating, one entry per rating of the scale, ascending (zeros included).
    pub distribution: Vec<RatingCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RatingCount {
    pub rating: u8,
    pub answers: u64,
}

fn filter(q: SummaryQuery) -> Result<SurveyFilter, ApiError> {
    if let Some(agent) = q.agent_id.as_deref().filter(|a| !is_valid_client_id(a)) {
        let shown: String = agent.chars().take(65).collect();
        return Err(ApiError::invalid_field(format!("agent_id must be 1..=64 of [A-Za-z0-9_-], got `{shown}`")));
    }
    for (name, v) in [("from", q.from), ("to", q.to)] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::invalid_field(format!("{name} must be a Unix time in ms (0 or more)")));
        }
    }
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if to <= from {
            return Err(ApiError::invalid_field(format!("to ({to}) must be after from ({from})")));
        }
    }
    Ok(SurveyFilter { chatflow_id: q.chatflow_id, agent_id: q.agent_id, from: q.from, to: q.to })
}

async fn summary(state: &AppState, app_id: String, q: SummaryQuery) -> Result<Json<SurveySummary>, ApiError> {
    let filter = filter(q)?;
    let counts = state.db(move |s| s.survey_counts(&app_id, &filter)).await?;
    let s = summarize(&counts, SURVEY_SCALE_MIN, SURVEY_SCALE_MAX);
    Ok(Json(SurveySummary {
        sent: s.sent,
        answered: s.answered,
        average: s.average,
        scale_min: SURVEY_SCALE_MIN,
        scale_max: SURVEY_SCALE_MAX,
        distribution: s.distribution.into_iter().map(|(rating, answers)| RatingCount { rating, answers }).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/agent/surveys/summary",
    tag = "surveys",
    security(("agent_token" = [])),
    params(SummaryQuery),
    description = "The satisfaction survey's results in the agent's app: surveys sent, answered, average rating and \
        answers per rating, optionally for one chatflow, one agent (the assignee when the conversation closed) and a \
        period of the close.",
    responses(
        (status = 200, description = "The results", body = SurveySummary),
        (status = 400, description = "invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn agent_summary(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Json<SurveySummary>, ApiError> {
    summary(&state, auth.agent.app_id, q).await
}

#[utoipa::path(
    get,
    path = "/v1/admin/surveys/summary",
    tag = "surveys",
    security(("admin_token" = [])),
    params(SummaryQuery),
    description = "The same results as `/v1/agent/surveys/summary`, for the app's admin token.",
    responses(
        (status = 200, description = "The results", body = SurveySummary),
        (status = 400, description = "invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn admin_summary(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Json<SurveySummary>, ApiError> {
    summary(&state, auth.app.id, q).await
}
