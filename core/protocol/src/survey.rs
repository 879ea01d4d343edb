//! The satisfaction survey: the prompt the server appends when a conversation of a chatflow with `csat_survey` on is
//! closed, and the visitor's answer. Both travel as the `survey` field of a [`crate::Message`].
//!
//! Compatibility rule: `survey` is an optional field that older clients ignore (unknown fields are never an error),
//! and the message's `body` always carries a readable rendering (the question with its scale; the rating and the
//! comment), so a client that does not know surveys shows ordinary text. A new kind of survey part is a new `type`
//! value: a client that cannot read the part drops it (the message keeps its body) instead of failing the whole
//! message ([`lenient`]).

use serde::{Deserialize, Serialize};

/// Lowest rating of the scale every survey uses today.
pub const SURVEY_SCALE_MIN: u8 = 1;
/// Highest rating of the scale every survey uses today.
pub const SURVEY_SCALE_MAX: u8 = 5;
/// Longest comment, in characters.
pub const MAX_SURVEY_COMMENT_CHARS: usize = 1_000;

/// The survey part of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageSurvey {
    /// The question (author `system`); the message's `seq` identifies the survey.
    Prompt(SurveyPrompt),
    /// The visitor's answer (author `visitor`).
    Answer(SurveyAnswer),
}

/// What the visitor is asked, in the chatflow's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyPrompt {
    pub question: String,
    /// The rating scale, inclusive: `scale_min..=scale_max`.
    pub scale_min: u8,
    pub scale_max: u8,
    /// Labels of the two ends of the scale.
    pub low_label: String,
    pub high_label: String,
    /// Invitation to leave an optional comment.
    pub comment_prompt: String,
    /// Longest comment accepted, in characters.
    pub comment_max_chars: u32,
}

/// A visitor's answer to the survey whose prompt has `seq == survey_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyAnswer {
    /// `seq` of the prompt message answered.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub survey_seq: u64,
    /// Within the prompt's scale.
    pub rating: u8,
    /// Optional, at most the prompt's `comment_max_chars` characters, not only spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Reads `Message::survey`: a part this version cannot read (a future `type`) becomes `None`, never an error.
pub(crate) fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<MessageSurvey>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?;
    Ok(raw.and_then(|v| serde_json::from_value(v).ok()))
}

impl SurveyPrompt {
    /// The prompt in `language` (BCP 47; French and English texts, English for any other language).
    pub fn for_language(language: &str) -> Self {
        let french = language.trim().get(..2).is_some_and(|p| p.eq_ignore_ascii_case("fr"));
        let (question, low, high, comment) = if french {
            (
                "Comment évaluez-vous cette conversation ?",
                "Très insatisfait",
                "Très satisfait",
                "Un commentaire ? (facultatif)",
            )
        } else {
            ("How would you rate this conversation?", "Very unsatisfied", "Very satisfied", "Any comment? (optional)")
        };
        SurveyPrompt {
            question: question.into(),
            scale_min: SURVEY_SCALE_MIN,
            scale_max: SURVEY_SCALE_MAX,
            low_label: low.into(),
            high_label: high.into(),
            comment_prompt: comment.into(),
            comment_max_chars: MAX_SURVEY_COMMENT_CHARS as u32,
        }
    }

    /// The readable body of the prompt message: the question and its scale.
    pub fn body(&self) -> String {
        format!("{} ({} = {}, {} = {})", self.question, self.scale_min, self.low_label, self.scale_max, self.high_label)
    }

    /// Checks an answer against this prompt: rating within the scale, comment length. The error names the field.
    pub fn check(&self, answer: &SurveyAnswer) -> Result<(), String> {
        if !(self.scale_min..=self.scale_max).contains(&answer.rating) {
            return Err(format!(
                "survey_answer.rating must be between {} and {}, got {}",
                self.scale_min, self.scale_max, answer.rating
            ));
        }
        if let Some(comment) = &answer.comment {
            let chars = comment.chars().count();
            if comment.trim().is_empty() {
                return Err("survey_answer.comment must not be only spaces; leave it out for no comment".into());
            }
            if chars > self.comment_max_chars as usize {
                return Err(format!(
                    "survey_answer.comment has {chars} characters; the limit is {}",
                    self.comment_max_chars
                ));
            }
        }
        Ok(())
    }
}

impl SurveyAnswer {
    /// The readable body of the answer message: `★★★★☆ 4/5` and the comment on its own line.
    pub fn body(&self, scale_max: u8) -> String {
        let stars: String = (1..=scale_max).map(|i| if i <= self.rating { '★' } else { '☆' }).collect();
        match &self.comment {
            Some(c) => format!("{stars} {}/{scale_max}\n{}", self.rating, c.trim()),
            None => format!("{stars} {}/{scale_max}", self.rating),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(rating: u8, comment: Option<&str>) -> SurveyAnswer {
        SurveyAnswer { survey_seq: 3, rating, comment: comment.map(str::to_owned) }
    }

    #[test]
    fn language_picks_french_or_english() {
        assert!(SurveyPrompt::for_language("fr-CA").question.starts_with("Comment"));
        assert!(SurveyPrompt::for_language("FR").question.starts_with("Comment"));
        assert!(SurveyPrompt::for_language("en").question.starts_with("How"));
        assert!(SurveyPrompt::for_language("de").question.starts_with("How"));
        assert!(SurveyPrompt::for_language("").question.starts_with("How"));
    }

    #[test]
    fn answers_are_checked_against_the_scale_and_the_comment_limit() {
        let p = SurveyPrompt::for_language("en");
        assert!(p.check(&answer(1, None)).is_ok());
        assert!(p.check(&answer(5, Some("great"))).is_ok());
        assert!(p.check(&answer(0, None)).unwrap_err().contains("between 1 and 5, got 0"));
        assert!(p.check(&answer(6, None)).unwrap_err().contains("got 6"));
        assert!(p.check(&answer(3, Some("  "))).unwrap_err().contains("only spaces"));
        let long = "é".repeat(MAX_SURVEY_COMMENT_CHARS + 1);
        assert!(p.check(&answer(3, Some(&long))).unwrap_err().contains("1001 characters"));
        assert!(p.check(&answer(3, Some(&long[..long.len() - 2]))).is_ok());
    }

    #[test]
    fn bodies_read_as_text() {
        assert_eq!(answer(4, None).body(5), "★★★★☆ 4/5");
        assert_eq!(answer(2, Some(" slow ")).body(5), "★★☆☆☆ 2/5\nslow");
        assert!(SurveyPrompt::for_language("en").body().contains("1 = Very unsatisfied, 5 = Very satisfied"));
    }

    #[test]
    fn a_message_with_an_unknown_survey_part_still_reads() {
        let m: crate::Message = serde_json::from_value(serde_json::json!({
            "conversation_id": "c", "seq": 2, "author": {"kind": "system"}, "body": "Rate us",
            "survey": {"type": "nps_v9", "scale": 10}, "created_at": 1
        }))
        .unwrap();
        assert_eq!((m.body.as_str(), m.survey), ("Rate us", None));
    }

    #[test]
    fn wire_shape_is_tagged_by_type() {
        let v = serde_json::to_value(MessageSurvey::Answer(answer(4, None))).unwrap();
        assert_eq!(v, serde_json::json!({"type": "answer", "survey_seq": 3, "rating": 4}));
        let back: MessageSurvey = serde_json::from_value(v).unwrap();
        assert_eq!(back, MessageSurvey::Answer(answer(4, None)));
    }
}
