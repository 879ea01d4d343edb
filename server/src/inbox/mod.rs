//! The agent inbox (agent token): views and filters over the app's conversations, and the actions agents take on them
//! — assign, reply (`agent.rs`), close, block the sender, mark as spam, delete, take a bot conversation over, unlink
//! the contact — plus transcripts of closed conversations.
//!
//! # For the bot engine: handoff
//!
//! A conversation opened on a `bot` (or `ai_agent`) chatflow is a **bot conversation**: `handled_by = Bot`, no
//! assignee, shown in the `bots` view only, and not routed when it opens. When the visitor reaches the bot's handoff
//! action, call, inside the same `AppState::db_publish` closure that stores the bot's handoff message:
//!
//! ```ignore
//! let assigned: Option<AgentRef> = crate::inbox::hand_off(s, hub, &conversation_id, now)?;
//! ```
//!
//! It runs `domain::inbox::hand_off`, one unit of work: handled by agents from now on (`handoff_at = now`), routed with
//! the chatflow's routing rules (`crate::routing`: away agents get no new conversations, available agents only,
//! contact owner + fallback) and assigned; then it sends the visitor an `assigned` frame. `None` when nobody
//! was picked (it waits in the `unassigned` view) or when agents already handled it (a second call is a no-op).
//!
//! Before the bot answers a visitor message, check `s.inbox_state(&id)?`: when `handled_by == HandledBy::Agents` the
//! bot must stay silent (handoff done, an agent took it over, replied or assigned it). Read "now" from
//! `AppState::now_ms()` (the injectable clock), never from `SystemTime`.

pub mod actions;
pub mod context;
pub mod transcript;
pub mod views;

use chatflow_protocol::{AgentRef, Chatflow, ServerFrame};

use crate::conversations::agent_ref;
use crate::domain;
use crate::error::ApiError;
use crate::realtime::Hub;
use crate::store::{AgentRecord, ConversationRecord, Store, StoreError};

pub use views::{AgentConversationList, AgentConversationSummary};

/// Minutes of visitor inactivity after which a bot conversation that never reached the handoff may be closed.
pub const BOT_CLOSE_IDLE_MINUTES: i64 = 30;

/// The conversation if it belongs to the app (another app's is `not_found`, like a missing one).
pub fn app_conversation(s: &dyn Store, app_id: &str, id: &str) -> Result<ConversationRecord, StoreError> {
    s.conversation(id)?
        .filter(|c| c.app_id == app_id)
        .ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))
}

/// How the visitor sees the conversation's assignee (alias applied).
pub fn assignee_ref(s: &dyn Store, conv: &ConversationRecord) -> Result<Option<AgentRef>, StoreError> {
    let Some(agent_id) = conv.assignee_agent_id.as_deref() else {
        return Ok(None);
    };
    let agents: Vec<AgentRecord> = s.agents(&conv.app_id)?;
    let chatflow: Option<Chatflow> = s.chatflow(&conv.app_id, conv.chatflow_id)?;
    Ok(agents.iter().find(|a| a.id == agent_id).map(|a| agent_ref(a, chatflow.as_ref())))
}

/// Tells the visitor who the conversation is assigned to now (`agent` absent: unassigned).
pub fn publish_assigned(s: &dyn Store, hub: &Hub, conv: &ConversationRecord) -> Result<Option<AgentRef>, StoreError> {
    let agent = assignee_ref(s, conv)?;
    hub.publish(&conv.visitor_id, &ServerFrame::Assigned { conversation_id: conv.id.clone(), agent: agent.clone() });
    Ok(agent)
}

/// The bot handed the conversation to the team: mark it, route it, tell the visitor. See the module documentation.
/// Call it inside `AppState::db_publish` so the `assigned` frame is ordered with the messages around it.
pub fn hand_off(s: &dyn Store, hub: &Hub, conversation_id: &str, now: i64) -> Result<Option<AgentRef>, ApiError> {
    match domain::inbox::hand_off(s, conversation_id, now)? {
        Some(assigned) => Ok(publish_assigned(s, hub, &assigned)?),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use chatflow_protocol::{ChatflowKind, Routing, RoutingTarget};

    use super::*;
    use crate::store::inbox::HandledBy;
    use crate::store::sqlite::test_support::{chatflow_input, store};
    use crate::store::{AppStore, ChatflowStore, ConversationStore, InboxStore, NewConversation, VisitorStore};

    #[test]
    fn hand_off_routes_once_and_respects_available_agents_only() {
        let (_dir, s) = store();
        let mut input = chatflow_input("Bot");
        input.kind = ChatflowKind::Bot;
        input.routing = Routing {
            target: RoutingTarget::Specific { agent_ids: vec!["ag1".into()], team_ids: vec![] },
            available_agents_only: true,
        };
        let flow = s.create_chatflow("app1", &input, 1).unwrap();
        s.create_visitor("app1", "v1", "t1", 1).unwrap();
        let open = |id: &str| {
            domain::conversations::create(
                &s,
                &NewConversation {
                    id: id.into(),
                    app_id: "app1".into(),
                    chatflow_id: flow.id,
                    visitor_id: "v1".into(),
                    assignee_agent_id: None,
                    now: 10,
                },
            )
            .unwrap()
        };
        open("c1");
        let state = s.inbox_state("c1").unwrap().unwrap();
        assert_eq!((state.handled_by, state.bot_started), (HandledBy::Bot, true));
        let hub = Hub::new(16);
        assert_eq!(hand_off(&s, &hub, "c1", 50).unwrap().map(|a| a.id).as_deref(), Some("ag1"));
        let state = s.inbox_state("c1").unwrap().unwrap();
        assert_eq!((state.handled_by, state.handoff_at), (HandledBy::Agents, Some(50)));
        assert_eq!(hand_off(&s, &hub, "c1", 60).unwrap(), None, "a second handoff is a no-op");
        assert_eq!(s.inbox_state("c1").unwrap().unwrap().handoff_at, Some(50));
        // Nobody available and only available agents: handed off, waiting unassigned.
        s.set_agent_presence("ag1", false).unwrap();
        open("c2");
        assert_eq!(hand_off(&s, &hub, "c2", 70).unwrap(), None);
        assert_eq!(s.inbox_state("c2").unwrap().unwrap().handled_by, HandledBy::Agents);
        assert_eq!(s.conversation("c2").unwrap().unwrap().assignee_agent_id, None);
        // A blocked sender is handed off but never routed.
        s.set_agent_presence("ag1", true).unwrap();
        s.set_blocked("app1", "v1", true, "ag1", 80).unwrap();
        open("c3");
        assert_eq!(hand_off(&s, &hub, "c3", 90).unwrap(), None);
        assert!(
            matches!(hand_off(&s, &hub, "missing", 90), Err(e) if e.code == chatflow_protocol::ErrorCode::NotFound)
        );
    }
}
