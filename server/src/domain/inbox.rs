//! Who handles a conversation: assignment, an agent taking a bot conversation over, the bot's handoff, and the rule
//! that keeps a running bot conversation open.

use chatflow_protocol::{ConversationStatus, Message};

use super::conversation;
use super::conversations::close_in;
use crate::routing;
use crate::store::inbox::{HandledBy, InboxState};
use crate::store::tx::{in_tx, ConversationChange, Tx, UnitOfWork};
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// Result of [`mark_handoff`].
#[derive(Debug, Clone)]
pub struct Handoff {
    pub conversation: ConversationRecord,
    pub state: InboxState,
    /// False when the conversation was already handled by agents (nothing changed, do not route again).
    pub changed: bool,
}

/// Result of [`close_checked`].
#[derive(Debug, Clone)]
pub enum CloseOutcome {
    /// Closed now (`changed`), or already closed. `survey`: the satisfaction survey appended by this close.
    Closed { conversation: ConversationRecord, changed: bool, survey: Option<Box<Message>> },
    /// A bot conversation whose visitor never reached the handoff, active too recently: it may close from
    /// `closable_at` (Unix ms).
    BotStillActive { closable_at: i64 },
}

/// Result of [`assign`] and [`take_over`].
#[derive(Debug, Clone)]
pub struct Assignment {
    pub conversation: ConversationRecord,
    /// The assignee changed.
    pub changed: bool,
    /// The conversation was a bot conversation and is now handled by agents.
    pub taken_over: bool,
}

fn with_state(tx: &mut dyn Tx, id: &str) -> StoreResult<(ConversationRecord, InboxState)> {
    let conv = conversation(tx, id)?;
    let state =
        tx.inbox_state(id)?.ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))?;
    Ok((conv, state))
}

fn require_agent(tx: &mut dyn Tx, app_id: &str, agent_id: &str) -> StoreResult<()> {
    if tx.agent_exists(app_id, agent_id)? {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!("agent_id: no agent `{agent_id}` in this app")))
    }
}

/// The bot handed the conversation to the team: handled by agents from now on, `handoff_at = now`. A no-op
/// (`changed == false`) when agents already handle it. Does not route: `crate::inbox::hand_off` does.
pub fn mark_handoff<S: UnitOfWork + ?Sized>(store: &S, conversation_id: &str, now: i64) -> StoreResult<Handoff> {
    in_tx(store, |tx| mark_handoff_in(tx, conversation_id, now))
}

fn mark_handoff_in(tx: &mut dyn Tx, conversation_id: &str, now: i64) -> StoreResult<Handoff> {
    let (conversation, state) = with_state(tx, conversation_id)?;
    if state.handled_by != HandledBy::Bot {
        return Ok(Handoff { conversation, state, changed: false });
    }
    let change =
        ConversationChange { handled_by: Some(HandledBy::Agents), handoff_at: Some(now), ..Default::default() };
    tx.update_conversation(conversation_id, &change)?;
    let (conversation, state) = with_state(tx, conversation_id)?;
    Ok(Handoff { conversation, state, changed: true })
}

/// The bot's handoff, in one unit of work: mark it ([`mark_handoff`]), route the conversation with its chatflow's rules
/// (`crate::routing`) and assign it. Returns the conversation when it was assigned now; `None` when agents already
/// handled it, it already had an assignee, its chatflow is gone, or routing picked nobody (a blocked sender, nobody
/// available with `available_agents_only`).
pub fn hand_off<S: UnitOfWork + ?Sized>(
    store: &S,
    conversation_id: &str,
    now: i64,
) -> StoreResult<Option<ConversationRecord>> {
    in_tx(store, |tx| {
        let handoff = mark_handoff_in(tx, conversation_id, now)?;
        let conv = handoff.conversation;
        if !handoff.changed || conv.assignee_agent_id.is_some() {
            return Ok(None);
        }
        let Some(chatflow) = tx.chatflow(&conv.app_id, conv.chatflow_id)? else {
            // The chatflow was deleted meanwhile: nothing to route by; the team finds it in the unassigned view.
            return Ok(None);
        };
        let Some(agent) = routing::route(tx, &conv.app_id, &chatflow, &conv.visitor_id, Some(&conv.id))? else {
            return Ok(None);
        };
        let assignment = assign_in(tx, &conv.id, Some(&agent), true, now)?;
        Ok(assignment.changed.then_some(assignment.conversation))
    })
}

/// Sets (or clears) the assignee. Assigning a bot conversation takes it over. With `only_if_unassigned`, an assigned
/// conversation is left alone (routing racing with a manual assignment).
pub fn assign<S: UnitOfWork + ?Sized>(
    store: &S,
    conversation_id: &str,
    agent_id: Option<&str>,
    only_if_unassigned: bool,
    now: i64,
) -> StoreResult<Assignment> {
    in_tx(store, |tx| assign_in(tx, conversation_id, agent_id, only_if_unassigned, now))
}

fn assign_in(
    tx: &mut dyn Tx,
    conversation_id: &str,
    agent_id: Option<&str>,
    only_if_unassigned: bool,
    now: i64,
) -> StoreResult<Assignment> {
    let (conv, state) = with_state(tx, conversation_id)?;
    if only_if_unassigned && conv.assignee_agent_id.is_some() {
        return Ok(Assignment { conversation: conv, changed: false, taken_over: false });
    }
    let mut change = ConversationChange { assignee_agent_id: Some(agent_id.map(str::to_owned)), ..Default::default() };
    let mut taken_over = false;
    if let Some(agent) = agent_id {
        require_agent(tx, &conv.app_id, agent)?;
        taken_over = state.handled_by == HandledBy::Bot;
        change.handled_by = Some(HandledBy::Agents);
        if taken_over {
            change.taken_over_at = Some(now);
        }
    }
    tx.update_conversation(conversation_id, &change)?;
    let changed = conv.assignee_agent_id.as_deref() != agent_id;
    Ok(Assignment { conversation: super::reread(tx, conversation_id)?, changed, taken_over })
}

/// The agent takes a bot conversation over (assigned to them, handled by agents). `NotFound` if missing; a
/// conversation agents already handle is left as it is (`taken_over == false`).
pub fn take_over<S: UnitOfWork + ?Sized>(
    store: &S,
    conversation_id: &str,
    agent_id: &str,
    now: i64,
) -> StoreResult<Assignment> {
    in_tx(store, |tx| {
        let (conv, state) = with_state(tx, conversation_id)?;
        if state.handled_by != HandledBy::Bot {
            return Ok(Assignment { conversation: conv, changed: false, taken_over: false });
        }
        require_agent(tx, &conv.app_id, agent_id)?;
        let change = ConversationChange {
            handled_by: Some(HandledBy::Agents),
            taken_over_at: Some(now),
            assignee_agent_id: Some(Some(agent_id.to_owned())),
            ..Default::default()
        };
        tx.update_conversation(conversation_id, &change)?;
        let changed = conv.assignee_agent_id.as_deref() != Some(agent_id);
        Ok(Assignment { conversation: super::reread(tx, conversation_id)?, changed, taken_over: true })
    })
}

/// When a bot conversation (never handed off) may close: `bot_idle_ms` after the visitor's last message, or after the
/// opening. `None`: no wait (agents handle it).
pub fn bot_closable_at(conv: &ConversationRecord, state: &InboxState, bot_idle_ms: i64) -> Option<i64> {
    if state.handled_by != HandledBy::Bot {
        return None;
    }
    let last_active = state.last_visitor_message_at.unwrap_or(conv.created_at).max(conv.created_at);
    Some(last_active.saturating_add(bot_idle_ms))
}

/// Closes, refusing a bot conversation (never handed off) whose visitor was active less than `bot_idle_ms` ago.
pub fn close_checked<S: UnitOfWork + ?Sized>(
    store: &S,
    conversation_id: &str,
    now: i64,
    bot_idle_ms: i64,
) -> StoreResult<CloseOutcome> {
    in_tx(store, |tx| {
        let (conv, state) = with_state(tx, conversation_id)?;
        if conv.status == ConversationStatus::Closed {
            return Ok(CloseOutcome::Closed { conversation: conv, changed: false, survey: None });
        }
        if let Some(closable_at) = bot_closable_at(&conv, &state, bot_idle_ms).filter(|at| now < *at) {
            return Ok(CloseOutcome::BotStillActive { closable_at });
        }
        let (conversation, survey) = close_in(tx, conversation_id, now)?;
        Ok(CloseOutcome::Closed { conversation, changed: true, survey: survey.map(Box::new) })
    })
}

/// Result of [`reopen`].
#[derive(Debug, Clone)]
pub enum ReopenOutcome {
    Reopened(ConversationRecord),
    /// The conversation is open: nothing to reopen.
    NotClosed,
}

/// A closed conversation back to open (`closed_at` cleared); the visitor's messages and the assignee are kept.
pub fn reopen<S: UnitOfWork + ?Sized>(store: &S, conversation_id: &str, now: i64) -> StoreResult<ReopenOutcome> {
    in_tx(store, |tx| {
        let conv = conversation(tx, conversation_id)?;
        if conv.status != ConversationStatus::Closed {
            return Ok(ReopenOutcome::NotClosed);
        }
        let change = ConversationChange {
            status: Some(ConversationStatus::Open),
            updated_at: Some(now),
            closed_at: Some(None),
            ..Default::default()
        };
        tx.update_conversation(conversation_id, &change)?;
        Ok(ReopenOutcome::Reopened(super::reread(tx, conversation_id)?))
    })
}

/// Assigns the conversation to a team: an available member by the team's round-robin (ascending agent id, a cursor
/// per team), or nobody when no member is available — then it waits unassigned, recorded as the team's. Like a manual
/// assignment, a bot conversation is taken over when a member gets it. `Invalid` for a team without members.
pub fn assign_team<S: UnitOfWork + ?Sized>(
    store: &S,
    conversation_id: &str,
    team_id: &str,
    now: i64,
) -> StoreResult<Assignment> {
    in_tx(store, |tx| {
        let conv = conversation(tx, conversation_id)?;
        let members: Vec<String> =
            tx.team_members(&conv.app_id)?.into_iter().filter(|m| m.team_id == team_id).map(|m| m.agent_id).collect();
        if members.is_empty() {
            return Err(StoreError::Invalid(format!("team_id: no team `{team_id}` with members in this app")));
        }
        let available: Vec<String> = tx
            .agents(&conv.app_id)?
            .into_iter()
            .filter(|a| a.available && members.contains(&a.id))
            .map(|a| a.id)
            .collect();
        let pick = routing::pick_team_member(&available, || tx.next_team_cursor(&conv.app_id, team_id))?;
        tx.set_conversation_team(conversation_id, Some(team_id))?;
        assign_in(tx, conversation_id, pick.as_deref(), false, now)
    })
}
