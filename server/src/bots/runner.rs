//! Runs bot sessions: the bridge between the engine and the server (store, realtime hub, clock, inbox).
//!
//! Each trigger (a conversation opened, a visitor message, a restart with unfinished work) runs on its own task,
//! under a per-conversation lock, so the bot handles one event of a conversation at a time and in order. A step:
//!
//! 1. loads the conversation, chatflow, session, inbox state and visitor properties;
//! 2. steps the engine (start; restart when the visitor was idle past the session timeout in an unfinished flow;
//!    else answer the waiting question). Once the team handles the conversation (handoff, take-over, an agent's
//!    reply) or the flow is over, the bot stays silent;
//! 3. saves the session (with the decided messages in `pending`) and the property writes in one transaction;
//! 4. stores the pending messages one at a time through `domain::messages::append` (next `seq`, idempotent client
//!    id) and publishes each on the hub, waiting the chatflow's `message_delay_ms` between two (with a bot typing
//!    indicator);
//! 5. at a handoff, marks the conversation as handled by the team and routes it.
//!
//! A stop between 3 and 5 loses nothing: `resume` (at start-up) finishes the pending messages and the handoff.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use chatflow_protocol::{Author, AuthorKind, BotSettings, Chatflow, ChatflowKind, Message, ServerFrame, TypingAuthor};
use tokio::sync::OwnedMutexGuard;

use super::engine::{self, BotSession, Defaults, Outcome, Step};
use crate::domain::messages::NewMessage;
use crate::error::ApiError;
use crate::messages::publish_appended;
use crate::routing::team_available;
use crate::state::AppState;
use crate::store::inbox::HandledBy;
use crate::store::{ConversationRecord, StoreError};

/// Per-conversation locks, shared by every server of the process (conversation ids are globally unique UUIDs). An
/// entry lives while a task holds or waits for it.
static LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

struct ConversationLock {
    id: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for ConversationLock {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
        if locks.get(&self.id).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(&self.id);
        }
    }
}

async fn lock(id: &str) -> ConversationLock {
    let mutex = {
        let mut locks = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(id.to_owned()).or_default())
    };
    ConversationLock { id: id.to_owned(), guard: Some(mutex.lock_owned().await) }
}

/// What woke the bot up.
#[derive(Debug, Clone)]
enum Trigger {
    Opened,
    Visitor {
        seq: u64,
        body: String,
        quick_reply_id: Option<String>,
        at: i64,
    },
    /// Finish work a stop interrupted (pending messages, a handoff).
    Resume,
}

/// What a visitor message is to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Nothing to say: the team handles the conversation, the flow is over, or the visitor wrote it before the
    /// bot's latest message (so it cannot answer the question that message asked).
    Ignore,
    /// The first message of a run: the bot greets and asks its first question.
    Start,
    /// The answer to the waiting question.
    Answer,
}

/// How the bot reads visitor message `seq`. `last_bot_seq` is the bot's latest stored message in the conversation.
/// The opening and the first visitor message race (two triggers): when the greeting won, the first message was
/// written before the question existed and must not be taken as its answer ("Sorry, I didn't catch that").
fn reading_of(seq: u64, runs: u32, silent: bool, expired: bool, last_bot_seq: Option<u64>) -> Reading {
    if silent {
        Reading::Ignore
    } else if runs == 0 || expired {
        Reading::Start
    } else if last_bot_seq.is_some_and(|bot| bot > seq) {
        Reading::Ignore
    } else {
        Reading::Answer
    }
}

/// A conversation was opened on a chatflow: if it is a bot chatflow, the bot greets and asks its first question.
pub fn conversation_opened(state: &AppState, conversation_id: &str) {
    spawn(state, conversation_id, Trigger::Opened);
}

/// A visitor message was stored (not a replay) on a bot chatflow's conversation.
pub fn visitor_message(state: &AppState, message: &Message) {
    let trigger = Trigger::Visitor {
        seq: message.seq,
        body: message.body.clone(),
        quick_reply_id: message.quick_reply_id.clone(),
        at: message.created_at,
    };
    spawn(state, &message.conversation_id, trigger);
}

/// At start-up: finishes what a stop interrupted (messages decided but not stored, handoffs not marked).
pub fn resume(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        match state.db(|s| s.bot_sessions_with_work()).await {
            Ok(ids) => {
                for id in ids {
                    spawn(&state, &id, Trigger::Resume);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list unfinished bot sessions"),
        }
    });
}

fn spawn(state: &AppState, conversation_id: &str, trigger: Trigger) {
    let (state, id) = (state.clone(), conversation_id.to_owned());
    tokio::spawn(async move {
        if let Err(e) = handle(&state, &id, trigger).await {
            tracing::warn!(conversation = %id, error = %e, "bot step failed");
        }
    });
}

/// The bot as message author: the bot's own name and avatar, else the chat header's.
fn author(flow: &Chatflow, bot: &BotSettings) -> Author {
    Author {
        kind: AuthorKind::Bot,
        id: None,
        display_name: Some(bot.display_name.clone().unwrap_or_else(|| flow.header.display_name.clone())),
        avatar_url: bot.avatar_url.clone().or_else(|| flow.header.avatar_url.clone()),
    }
}

async fn handle(state: &AppState, id: &str, trigger: Trigger) -> Result<(), ApiError> {
    let _lock = lock(id).await;
    let cid = id.to_owned();
    let loaded = state
        .db(move |s| {
            let Some(conv) = s.conversation(&cid)? else { return Ok(None) };
            let flow = s.chatflow(&conv.app_id, conv.chatflow_id)?;
            let session = s.bot_session(&cid)?;
            let team_handles = s.inbox_state(&cid)?.is_some_and(|i| i.handled_by == HandledBy::Agents);
            let props = s.visitor_properties(&conv.visitor_id)?;
            let last_bot_seq = s.last_bot_message_seq(&cid)?;
            Ok(Some((conv, flow, session, team_handles, props, last_bot_seq)))
        })
        .await?;
    let Some((conv, Some(flow), session, team_handles, mut props, last_bot_seq)) = loaded else { return Ok(()) };
    if flow.kind == ChatflowKind::AiAgent {
        let resume = matches!(trigger, Trigger::Resume);
        return crate::ai_agent::runner::handle(state, &conv, &flow, session, team_handles, resume).await;
    }
    let Some(bot) = flow.bot.clone().filter(|_| flow.kind == ChatflowKind::Bot) else { return Ok(()) };
    let mut session = match session {
        Some(s) => s,
        None if matches!(trigger, Trigger::Resume) => return Ok(()),
        None => BotSession::new(id, conv.created_at),
    };
    // Work a stop interrupted comes first.
    let author = author(&flow, &bot);
    deliver(state, &conv, &author, bot.message_delay_ms, &mut session).await?;
    let defaults = Defaults { error_reply: super::texts(&flow.language).error_reply };
    let silent = team_handles || session.outcome.is_some();
    let resume = matches!(trigger, Trigger::Resume);
    let step = match trigger {
        Trigger::Resume => Step::default(),
        Trigger::Opened if session.runs > 0 || silent => Step::default(),
        Trigger::Opened => engine::start(&bot, &flow.welcome_message, &defaults, &mut session, &mut props),
        Trigger::Visitor { seq, .. } if seq <= session.handled_seq => Step::default(),
        Trigger::Visitor { seq, body, quick_reply_id, at } => {
            let expired = session.expired(at, bot.session_timeout_minutes);
            let reading = reading_of(seq, session.runs, silent, expired, last_bot_seq);
            session.handled_seq = seq;
            session.last_activity_at = session.last_activity_at.max(at);
            match reading {
                Reading::Ignore => Step::default(),
                Reading::Start => {
                    if expired {
                        tracing::debug!(conversation = %id, "bot session timed out; starting again");
                    }
                    engine::start(&bot, &flow.welcome_message, &defaults, &mut session, &mut props)
                }
                Reading::Answer => {
                    engine::answer(&bot, &defaults, &mut session, &mut props, &body, quick_reply_id.as_deref())
                }
            }
        }
    };
    if let Some(node_text) = &step.handoff {
        let text = handoff_text(state, &conv.app_id, &flow, node_text.as_deref()).await?;
        session.queue(&text, &[]);
    }
    if !resume {
        save(state, &conv, &session, step.properties).await?;
    }
    deliver(state, &conv, &author, bot.message_delay_ms, &mut session).await?;
    finish_handoff(state, &conv, &mut session).await
}

/// Marks a decided handoff: handled by the team from now on; routing picks an assignee and the visitor gets an
/// `assigned` frame.
pub(crate) async fn finish_handoff(
    state: &AppState,
    conv: &ConversationRecord,
    session: &mut BotSession,
) -> Result<(), ApiError> {
    if session.handoff_due {
        let (conv_id, now) = (conv.id.clone(), state.now_ms());
        let assigned = state.db_publish(move |s, hub| crate::inbox::hand_off(s, hub, &conv_id, now)).await?;
        tracing::info!(conversation = %conv.id, assigned = assigned.is_some(), "bot handed off");
        session.handoff_due = false;
        save(state, conv, session, Vec::new()).await?;
    }
    Ok(())
}

pub(crate) async fn save(
    state: &AppState,
    conv: &ConversationRecord,
    session: &BotSession,
    properties: Vec<(String, String)>,
) -> Result<(), ApiError> {
    let (session, visitor_id, now) = (session.clone(), conv.visitor_id.clone(), state.now_ms());
    state.db(move |s| crate::domain::bots::save_session(s, &session, &visitor_id, &properties, now)).await
}

/// Is anyone there to take the handoff? The chatflow's availability (its schedule on the server clock) and the
/// presence of the agents its routing reaches.
pub(crate) async fn handoff_text(
    state: &AppState,
    app_id: &str,
    flow: &Chatflow,
    node_text: Option<&str>,
) -> Result<String, ApiError> {
    let app_id = app_id.to_owned();
    let (agents, members) = state.db(move |s| Ok((s.agents(&app_id)?, s.team_members(&app_id)?))).await?;
    let team = team_available(&flow.routing, &agents, &members);
    let scheduled = flow.availability.at(state.now_ms(), team).map(|a| a.available).unwrap_or(false);
    let available = scheduled && team != Some(false);
    Ok(super::handoff_text(available, node_text, &flow.availability, &flow.language))
}

/// Stores the pending messages in order, one transaction each, waiting `delay_ms` between two. Stops (dropping the
/// rest) if the team took the conversation over meanwhile.
pub(crate) async fn deliver(
    state: &AppState,
    conv: &ConversationRecord,
    author: &Author,
    delay_ms: u32,
    session: &mut BotSession,
) -> Result<(), ApiError> {
    let delay = Duration::from_millis(u64::from(delay_ms));
    let mut first = true;
    while let Some(next) = session.pending.first().cloned() {
        if !first && !delay.is_zero() {
            let typing = ServerFrame::Typing {
                conversation_id: conv.id.clone(),
                author: TypingAuthor { kind: AuthorKind::Bot, display_name: author.display_name.clone() },
                typing: true,
                expires_in_ms: u64::from(delay_ms) + 2_000,
            };
            state.hub.publish(&conv.visitor_id, &typing);
            tokio::time::sleep(delay).await;
        }
        first = false;
        let mut after = session.clone();
        after.pending.remove(0);
        let handed_off = session.outcome == Some(Outcome::HandedOff);
        let (conv_id, visitor_id, author, now) =
            (conv.id.clone(), conv.visitor_id.clone(), author.clone(), state.now_ms());
        let kept = state
            .db_publish(move |s, hub| {
                let taken_over =
                    !handed_off && s.inbox_state(&conv_id)?.is_some_and(|i| i.handled_by == HandledBy::Agents);
                if taken_over {
                    after.pending.clear();
                    crate::domain::bots::save_session(s, &after, &visitor_id, &[], now)?;
                    return Ok(after);
                }
                let new = NewMessage {
                    conversation_id: conv_id,
                    client_message_id: Some(next.client_message_id.clone()),
                    author,
                    body: next.body,
                    quick_reply_id: None,
                    quick_replies: next.quick_replies,
                    now,
                    owner_visitor_id: None,
                    reopen: false,
                    require_consent_hash: None,
                    assign_if_unassigned: None,
                    survey: None,
                };
                match crate::domain::messages::append(s, &new) {
                    Ok(appended) => publish_appended(hub, &appended, None),
                    // Only possible if something else used the bot's id: skip that message rather than loop.
                    Err(StoreError::Conflict(e)) => tracing::warn!(error = %e, "bot message id already used"),
                    Err(e) => return Err(e.into()),
                }
                crate::domain::bots::save_session(s, &after, &visitor_id, &[], now)?;
                Ok(after)
            })
            .await?;
        *session = kept;
    }
    Ok(())
}

#[cfg(test)]
mod reading_tests {
    use super::{reading_of, Reading};

    #[test]
    fn a_message_written_before_the_bots_question_is_not_its_answer() {
        // The greeting (seq 2) and question (seq 3) were stored before the first message's (seq 1) trigger ran.
        assert_eq!(reading_of(1, 1, false, false, Some(3)), Reading::Ignore);
        // The visitor answers after the question.
        assert_eq!(reading_of(4, 1, false, false, Some(3)), Reading::Answer);
        // The first message's trigger ran first: the bot starts (greets, asks) whatever was stored before.
        assert_eq!(reading_of(1, 0, false, false, None), Reading::Start);
        assert_eq!(reading_of(1, 0, false, false, Some(7)), Reading::Start);
    }

    #[test]
    fn silence_and_timeouts_come_first() {
        assert_eq!(reading_of(9, 1, true, false, Some(3)), Reading::Ignore, "team handles it / flow over");
        assert_eq!(reading_of(9, 0, true, true, None), Reading::Ignore);
        assert_eq!(reading_of(2, 1, false, true, Some(3)), Reading::Start, "idle past the timeout: from the top");
        assert_eq!(reading_of(5, 2, false, false, None), Reading::Answer);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::sqlite::test_support::{chatflow_input, store};
    use crate::store::{ChatflowStore, NewConversation, Paging, VisitorStore};

    #[tokio::test]
    async fn resume_finishes_interrupted_deliveries_without_repeating_a_message() {
        let (_dir, s) = store();
        let mut input = chatflow_input("Bot");
        input.kind = ChatflowKind::Bot;
        input.bot = Some(
            serde_json::from_value(serde_json::json!({"session_timeout_minutes": 30, "flow": {"start": "a",
                "nodes": [{"id": "a", "action": "end"}]}}))
            .unwrap(),
        );
        let flow = s.create_chatflow("app1", &input, 1).unwrap();
        s.create_visitor("app1", "v1", "tok", 1).unwrap();
        let new = NewConversation {
            id: "c1".into(),
            app_id: "app1".into(),
            chatflow_id: flow.id,
            visitor_id: "v1".into(),
            assignee_agent_id: None,
            now: 1,
        };
        crate::domain::conversations::create(&s, &new).unwrap();
        // A stop after the first message was stored but before it left `pending`.
        let mut session = BotSession::new("c1", 1);
        session.runs = 1;
        session.queue("one", &[]);
        session.queue("two", &[]);
        crate::domain::bots::save_session(&s, &session, "v1", &[], 1).unwrap();
        let first = session.pending[0].clone();
        let stored = NewMessage {
            conversation_id: "c1".into(),
            client_message_id: Some(first.client_message_id.clone()),
            author: author(&flow, flow.bot.as_ref().unwrap()),
            body: first.body.clone(),
            quick_reply_id: None,
            quick_replies: Vec::new(),
            now: 2,
            owner_visitor_id: None,
            reopen: false,
            require_consent_hash: None,
            assign_if_unassigned: None,
            survey: None,
        };
        crate::domain::messages::append(&s, &stored).unwrap();
        let state = AppState::new(Arc::new(s), Default::default());
        resume(&state);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !state.store.bot_sessions_with_work().unwrap().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "resume never finished");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let page = state.store.messages("c1", Paging::After(0), 50).unwrap();
        let bodies: Vec<&str> = page.messages.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["one", "two"]);
        assert!(page.messages.iter().all(|m| m.author.kind == AuthorKind::Bot));
    }
}
