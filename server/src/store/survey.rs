//! Satisfaction surveys: one record per prompt appended on close, with the visitor's answer once given; the summary
//! agents and admins read.

use chatflow_protocol::SurveyPrompt;

use super::StoreResult;

/// A survey: the prompt at `seq` in the conversation, and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyRecord {
    pub conversation_id: String,
    /// The prompt message's seq (the survey's identity in its conversation).
    pub seq: u64,
    pub app_id: String,
    pub chatflow_id: i64,
    /// The conversation's assignee when it closed.
    pub agent_id: Option<String>,
    pub prompt: SurveyPrompt,
    pub sent_at: i64,
    pub answer: Option<StoredAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub rating: u8,
    pub comment: Option<String>,
    /// The answer message's seq.
    pub answer_seq: u64,
    pub answered_at: i64,
}

/// Which surveys a summary counts: the app's, optionally one chatflow's, one agent's, sent in `[from, to)` (Unix ms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyFilter {
    pub chatflow_id: Option<i64>,
    pub agent_id: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Raw counts of a summary: surveys sent, and answers per rating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyCounts {
    pub sent: u64,
    /// `(rating, answers)` ascending by rating, only ratings with answers.
    pub ratings: Vec<(u8, u64)>,
}

pub trait SurveyStore {
    /// Counts of the app's surveys that match `filter`.
    fn survey_counts(&self, app_id: &str, filter: &SurveyFilter) -> StoreResult<SurveyCounts>;
}
