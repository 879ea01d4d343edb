//! Runs the answer agent of an `ai_agent` conversation: the bridge between the engine and the server. It rides on the
//! bot runner (`bots::runner`): same triggers (opening, visitor message, restart), same per-conversation lock, same
//! session row, delivery (idempotent client ids, the hub) and handoff (`inbox::hand_off`). A step:
//!
//! 1. stores what a stop left pending; silent when the team handles the conversation or it was handed off;
//! 2. greets on the conversation's first event (the opening, or a first message that won the race);
//! 3. reads every visitor message not handled yet, in `seq` order (so two messages sent at once are both answered,
//!    in order, whichever trigger runs first), and steps the engine for each, searching the chatflow's knowledge base
//!    with the SDK's rules (`kb::ranked_search`, the chatflow's language first); stops at a handoff;
//! 4. saves the session with the decided messages, stores them, then hands off if decided (text per availability).

use chatflow_protocol::{Author, AuthorKind, Chatflow};

use super::engine::{self, Found, MAX_ARTICLES};
use super::words::texts;
use crate::bots::engine::BotSession;
use crate::bots::runner::{deliver, finish_handoff, handoff_text, save};
use crate::error::ApiError;
use crate::kb::query::FtsQuery;
use crate::kb::ranked_search;
use crate::state::AppState;
use crate::store::kb::primary_language;
use crate::store::{ConversationRecord, Paging, Store, StoreResult};

/// Visitor messages read per page while catching up.
const PAGE: u32 = 100;

/// The agent as message author: the chat header's name and avatar.
fn author(flow: &Chatflow) -> Author {
    Author {
        kind: AuthorKind::Bot,
        id: None,
        display_name: Some(flow.header.display_name.clone()),
        avatar_url: flow.header.avatar_url.clone(),
    }
}

/// One event of an `ai_agent` conversation (the caller holds the conversation's lock).
pub(crate) async fn handle(
    state: &AppState,
    conv: &ConversationRecord,
    flow: &Chatflow,
    session: Option<BotSession>,
    team_handles: bool,
    resume: bool,
) -> Result<(), ApiError> {
    let mut session = match session {
        Some(s) => s,
        None if resume => return Ok(()),
        None => BotSession::new(&conv.id, conv.created_at),
    };
    let author = author(flow);
    deliver(state, conv, &author, 0, &mut session).await?;
    if team_handles || session.outcome.is_some() {
        // Silent: the visitor's messages are for the team; they count as read by the agent.
        if !resume && conv.last_seq > session.handled_seq {
            session.handled_seq = conv.last_seq;
            save(state, conv, &session, Vec::new()).await?;
        }
    } else {
        let before = session.clone();
        let texts = texts(&flow.language);
        if session.runs == 0 {
            engine::greet(&mut session, texts, &flow.welcome_message);
        }
        let (conv_id, app_id, language) = (conv.id.clone(), conv.app_id.clone(), primary_language(&flow.language));
        let kb_id = flow.knowledge_base.kb_id.filter(|_| flow.knowledge_base.enabled);
        let (mut stepped, handoff) = state
            .db(move |s| {
                let mut handoff = false;
                'pages: loop {
                    let page = s.messages(&conv_id, Paging::After(session.handled_seq), PAGE)?;
                    for m in page.messages.iter() {
                        session.handled_seq = m.seq;
                        if m.author.kind != AuthorKind::Visitor {
                            continue;
                        }
                        session.last_activity_at = session.last_activity_at.max(m.created_at);
                        let search = |q: &FtsQuery| match kb_id {
                            Some(kb) => search(s, &app_id, kb, q, &language),
                            None => Ok(Vec::new()),
                        };
                        let step = engine::reply(&mut session, texts, &m.body, m.quick_reply_id.as_deref(), search)?;
                        if step.handoff {
                            handoff = true;
                            break 'pages;
                        }
                    }
                    if !page.has_more {
                        break;
                    }
                }
                Ok((session, handoff))
            })
            .await?;
        if handoff {
            let text = handoff_text(state, &conv.app_id, flow, None).await?;
            stepped.queue(&text, &[]);
            tracing::info!(conversation = %conv.id, "ai agent hands off");
        }
        session = stepped;
        if session != before {
            save(state, conv, &session, Vec::new()).await?;
        }
        deliver(state, conv, &author, 0, &mut session).await?;
    }
    finish_handoff(state, conv, &mut session).await
}

/// The best hits of the chatflow's base (the SDK's search rules, the chatflow's language first), each with its
/// article's body for the engine's coverage rule.
fn search(s: &dyn Store, app_id: &str, kb_id: i64, q: &FtsQuery, language: &str) -> StoreResult<Vec<Found>> {
    let hits = ranked_search(s, app_id, kb_id, q, Some(language), MAX_ARTICLES, 0)?;
    let mut found = Vec::with_capacity(hits.len());
    for hit in hits {
        let body = s.kb_article(app_id, kb_id, hit.article_id)?.map(|a| a.body).unwrap_or_default();
        found.push(Found { hit, body });
    }
    Ok(found)
}
