//! The satisfaction survey of a message, as the app sees it (the wire's `MessageSurvey` with signed numbers).

use serde::Serialize;

use chatflow_protocol as wire;

/// The survey part of a message: the team's question, or the visitor's answer. Serialized as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageSurvey {
    /// The question (author `system`); the message's `seq` identifies the survey.
    Prompt(SurveyPrompt),
    /// The visitor's answer (author `visitor`).
    Answer(SurveyAnswer),
}

/// What the visitor is asked, in the chatflow's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurveyPrompt {
    pub question: String,
    /// The rating scale, inclusive: `scale_min..=scale_max`.
    pub scale_min: i32,
    pub scale_max: i32,
    /// Labels of the two ends of the scale.
    pub low_label: String,
    pub high_label: String,
    /// Invitation to leave an optional comment.
    pub comment_prompt: String,
    /// Longest comment accepted, in characters.
    pub comment_max_chars: i32,
}

/// A visitor's answer to the survey whose prompt has `seq == survey_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurveyAnswer {
    pub survey_seq: i64,
    /// Within the prompt's scale.
    pub rating: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl From<&wire::MessageSurvey> for MessageSurvey {
    fn from(survey: &wire::MessageSurvey) -> Self {
        match survey {
            wire::MessageSurvey::Prompt(p) => MessageSurvey::Prompt(p.into()),
            wire::MessageSurvey::Answer(a) => MessageSurvey::Answer(a.into()),
        }
    }
}

impl From<&wire::SurveyPrompt> for SurveyPrompt {
    fn from(p: &wire::SurveyPrompt) -> Self {
        SurveyPrompt {
            question: p.question.clone(),
            scale_min: p.scale_min.into(),
            scale_max: p.scale_max.into(),
            low_label: p.low_label.clone(),
            high_label: p.high_label.clone(),
            comment_prompt: p.comment_prompt.clone(),
            comment_max_chars: i32::try_from(p.comment_max_chars).unwrap_or(i32::MAX),
        }
    }
}

impl From<&wire::SurveyAnswer> for SurveyAnswer {
    fn from(a: &wire::SurveyAnswer) -> Self {
        SurveyAnswer {
            survey_seq: i64::try_from(a.survey_seq).unwrap_or(i64::MAX),
            rating: a.rating.into(),
            comment: a.comment.clone(),
        }
    }
}
