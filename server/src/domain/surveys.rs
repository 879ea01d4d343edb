//! The satisfaction survey: the prompt appended when a conversation of a chatflow with `csat_survey` on closes (in
//! the closing unit of work, so a survey is never lost nor sent without its close), the visitor's answer (one per
//! survey, idempotent by client id), and the summary agents read.

use chatflow_protocol::{Author, AuthorKind, Channel, Message, MessageSurvey, SurveyAnswer, SurveyPrompt};

use super::messages::{append_in, Appended, NewMessage};
use crate::store::survey::{StoredAnswer, SurveyCounts, SurveyRecord};
use crate::store::tx::{in_tx, Tx, UnitOfWork};
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// Appends the survey prompt to a conversation that has just closed, when its chatflow asks for one. Mobile chats
/// only (the other channels have no chat to show it in). No second prompt when nothing happened since the last one
/// (closed, reopened and closed again without a message): the visitor would see the same question twice in a row.
pub fn on_closed(tx: &mut dyn Tx, conv: &ConversationRecord, now: i64) -> StoreResult<Option<Message>> {
    if conv.channel != Channel::MobileChat {
        return Ok(None);
    }
    let Some(flow) = tx.chatflow(&conv.app_id, conv.chatflow_id)?.filter(|f| f.csat_survey) else {
        return Ok(None);
    };
    if tx.latest_survey(&conv.id)?.is_some_and(|s| s.seq == conv.last_seq) {
        return Ok(None);
    }
    let prompt = SurveyPrompt::for_language(&flow.language);
    let new = NewMessage {
        conversation_id: conv.id.clone(),
        client_message_id: None,
        author: Author { kind: AuthorKind::System, id: None, display_name: None, avatar_url: None },
        body: prompt.body(),
        quick_reply_id: None,
        quick_replies: Vec::new(),
        now,
        owner_visitor_id: None,
        reopen: false,
        require_consent_hash: None,
        assign_if_unassigned: None,
        survey: Some(MessageSurvey::Prompt(prompt.clone())),
    };
    let appended = append_in(tx, &new)?;
    tx.insert_survey(&SurveyRecord {
        conversation_id: conv.id.clone(),
        seq: appended.message.seq,
        app_id: conv.app_id.clone(),
        chatflow_id: conv.chatflow_id,
        agent_id: conv.assignee_agent_id.clone(),
        prompt,
        sent_at: now,
        answer: None,
    })?;
    Ok(Some(appended.message))
}

/// Stores the visitor's answer as a message of the conversation (`new` is the visitor's message: author, client id,
/// owner, consent gate; its body is replaced by the answer's rendering). A replayed client id returns the stored
/// answer; a second answer to the same survey is `Taken`; an answer never reopens the conversation.
pub fn answer<S: UnitOfWork + ?Sized>(store: &S, new: &NewMessage, answer: &SurveyAnswer) -> StoreResult<Appended> {
    in_tx(store, |tx| answer_in(tx, new, answer))
}

/// [`answer`] inside the caller's unit of work.
pub fn answer_in(tx: &mut dyn Tx, new: &NewMessage, answer: &SurveyAnswer) -> StoreResult<Appended> {
    let conv = tx
        .conversation_for_update(&new.conversation_id)?
        .filter(|c| new.owner_visitor_id.as_ref().is_none_or(|owner| *owner == c.visitor_id))
        .ok_or_else(|| StoreError::NotFound(format!("conversation `{}` does not exist", new.conversation_id)))?;
    let survey = tx.survey(&conv.id, answer.survey_seq)?.ok_or_else(|| {
        StoreError::Invalid(format!(
            "survey_answer.survey_seq: message {} of conversation `{}` is not a survey",
            answer.survey_seq, conv.id
        ))
    })?;
    survey.prompt.check(answer).map_err(StoreError::Invalid)?;
    let mut answer = answer.clone();
    answer.comment = answer.comment.map(|c| c.trim().to_owned());
    let stored = NewMessage {
        body: answer.body(survey.prompt.scale_max),
        survey: Some(MessageSurvey::Answer(answer.clone())),
        reopen: false,
        quick_reply_id: None,
        quick_replies: Vec::new(),
        assign_if_unassigned: None,
        ..new.clone()
    };
    // A replay (or a reused id with other content) is decided by the append, before the one-answer rule.
    let replay = match &stored.client_message_id {
        Some(id) => tx.message_by_client_id(&conv.id, id)?.is_some(),
        None => false,
    };
    if let (Some(prev), false) = (&survey.answer, replay) {
        return Err(StoreError::Taken(format!(
            "the survey at seq {} was already answered (message {}); a survey takes one answer",
            survey.seq, prev.answer_seq
        )));
    }
    let appended = append_in(tx, &stored)?;
    if appended.created {
        let done = StoredAnswer {
            rating: answer.rating,
            comment: answer.comment,
            answer_seq: appended.message.seq,
            answered_at: stored.now,
        };
        tx.set_survey_answer(&conv.id, survey.seq, &done)?;
    }
    Ok(appended)
}

/// What the summary shows: surveys sent, answers, average rating, answers per rating of the scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub sent: u64,
    pub answered: u64,
    /// `None` without answers.
    pub average: Option<f64>,
    /// One `(rating, answers)` per rating of the scale, ascending, zeros included.
    pub distribution: Vec<(u8, u64)>,
}

/// Turns raw counts into the summary over the `min..=max` scale.
pub fn summarize(counts: &SurveyCounts, min: u8, max: u8) -> Summary {
    let answered: u64 = counts.ratings.iter().map(|(_, n)| n).sum();
    let total: u64 = counts.ratings.iter().map(|(r, n)| u64::from(*r) * n).sum();
    let average = (answered > 0).then(|| (total as f64 / answered as f64 * 100.0).round() / 100.0);
    let distribution =
        (min..=max).map(|r| (r, counts.ratings.iter().find(|(x, _)| *x == r).map_or(0, |(_, n)| *n))).collect();
    Summary { sent: counts.sent, answered, average, distribution }
}
