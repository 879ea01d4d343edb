//! Who receives a new conversation (a live chat when it opens, a bot conversation when the bot hands off), and which
//! agents count for `team_status` availability.
//!
//! Rules (the chatflow's `routing`):
//! - `unassigned`: nobody; the team picks it from the unassigned view.
//! - `specific`: round-robin (a persistent cursor per chatflow) over the listed agents and the members of the listed
//!   teams. **Away agents receive no new conversations** while someone of that pool is available (away mode: they stay
//!   reachable in the conversations they already have). When nobody of the pool is available,
//!   `available_agents_only` leaves the conversation unassigned; without it, the round-robin runs over the whole pool
//!   so that someone owns it when they come back.
//! - `contact_owner`: the contact's owner (the assignee of the visitor's latest earlier conversation that is still
//!   linked to the contact), else the fallback agent; an available one first (owner, then fallback). When neither is
//!   available: unassigned with `available_agents_only`, else the owner (or the fallback).
//!
//! A blocked sender's conversations are never routed (they land in the filtered view).

use chatflow_protocol::{Chatflow, ChatflowKind, Routing, RoutingTarget};

use crate::store::tx::Tx;
use crate::store::{AgentRecord, StoreResult, TeamMember};

/// Does a conversation of this chatflow start with a bot (no routing until the handoff)?
pub fn starts_with_bot(kind: ChatflowKind) -> bool {
    matches!(kind, ChatflowKind::Bot | ChatflowKind::AiAgent)
}

/// Agents a chatflow's routing may pick, ascending id, before any presence filter. `None` means "anyone of the app"
/// (unassigned or contact-owner routing: the owner can be any agent).
fn routed_ids(routing: &Routing, members: &[TeamMember]) -> Option<Vec<String>> {
    match &routing.target {
        RoutingTarget::Specific { agent_ids, team_ids } => {
            let mut ids: Vec<String> = agent_ids
                .iter()
                .cloned()
                .chain(members.iter().filter(|m| team_ids.contains(&m.team_id)).map(|m| m.agent_id.clone()))
                .collect();
            ids.sort();
            ids.dedup();
            Some(ids)
        }
        RoutingTarget::Unassigned | RoutingTarget::ContactOwner { .. } => None,
    }
}

/// Is anyone the chatflow routes to available? (`team_status` availability.) `None` when no agent is known.
pub fn team_available(routing: &Routing, agents: &[AgentRecord], members: &[TeamMember]) -> Option<bool> {
    let routed: Vec<&AgentRecord> = match routed_ids(routing, members) {
        Some(ids) => agents.iter().filter(|a| ids.contains(&a.id)).collect(),
        None => agents.iter().collect(),
    };
    (!routed.is_empty()).then(|| routed.iter().any(|a| a.available))
}

/// Picks the assignee of a new conversation (rules in the module documentation). `owner` is the contact's owner,
/// `cursor` the chatflow's round-robin position.
pub fn pick_assignee(
    routing: &Routing,
    agents: &[AgentRecord],
    members: &[TeamMember],
    owner: Option<&str>,
    cursor: u64,
) -> Option<String> {
    let find = |id: &str| agents.iter().find(|a| a.id == id);
    match &routing.target {
        RoutingTarget::Unassigned => None,
        RoutingTarget::ContactOwner { fallback_agent_id } => {
            let owner = owner.and_then(find);
            let fallback = fallback_agent_id.as_deref().and_then(find);
            let available = owner.filter(|a| a.available).or(fallback.filter(|a| a.available));
            match available {
                Some(a) => Some(a.id.clone()),
                None if routing.available_agents_only => None,
                None => owner.or(fallback).map(|a| a.id.clone()),
            }
        }
        RoutingTarget::Specific { .. } => {
            let ids = routed_ids(routing, members).unwrap_or_default();
            let pool: Vec<&AgentRecord> = agents.iter().filter(|a| ids.contains(&a.id)).collect();
            let available: Vec<&AgentRecord> = pool.iter().copied().filter(|a| a.available).collect();
            let candidates = match (available.is_empty(), routing.available_agents_only) {
                (false, _) => available,
                (true, true) => return None,
                (true, false) => pool,
            };
            if candidates.is_empty() {
                return None;
            }
            Some(candidates[(cursor % candidates.len() as u64) as usize].id.clone())
        }
    }
}

/// Routes a conversation of `visitor_id` on `chatflow` now, inside the unit of work that assigns it: reads presence,
/// teams, the contact owner and (for `specific` routing) advances the round-robin cursor. `conversation_id` (when it
/// already exists) is left out of the contact-owner lookup.
pub fn route(
    s: &mut dyn Tx,
    app_id: &str,
    chatflow: &Chatflow,
    visitor_id: &str,
    conversation_id: Option<&str>,
) -> StoreResult<Option<String>> {
    if matches!(chatflow.routing.target, RoutingTarget::Unassigned) || s.is_blocked(app_id, visitor_id)? {
        return Ok(None);
    }
    let agents = s.agents(app_id)?;
    let members = s.team_members(app_id)?;
    let (owner, cursor) = match chatflow.routing.target {
        RoutingTarget::ContactOwner { .. } => (s.contact_owner(visitor_id, conversation_id)?, 0),
        RoutingTarget::Specific { .. } => (None, s.next_routing_cursor(chatflow.id)?),
        RoutingTarget::Unassigned => (None, 0),
    };
    Ok(pick_assignee(&chatflow.routing, &agents, &members, owner.as_deref(), cursor))
}

/// The team member who gets a conversation assigned to a team: round-robin over the available members (ascending
/// id); `cursor` is read (and advanced) only when someone is available. `None`: nobody available.
pub fn pick_team_member(
    available: &[String],
    cursor: impl FnOnce() -> StoreResult<u64>,
) -> StoreResult<Option<String>> {
    if available.is_empty() {
        return Ok(None);
    }
    let at = cursor()? % available.len() as u64;
    Ok(available.get(at as usize).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_members_take_turns_and_nobody_available_means_unassigned() {
        let members = vec!["a".to_owned(), "b".to_owned()];
        let picks: Vec<Option<String>> = (0..3).map(|c| pick_team_member(&members, || Ok(c)).unwrap()).collect();
        assert_eq!(picks, [Some("a".into()), Some("b".into()), Some("a".into())]);
        let untouched = pick_team_member(&[], || panic!("the cursor must not move when nobody is available"));
        assert_eq!(untouched.unwrap(), None);
    }

    fn agent(id: &str, available: bool) -> AgentRecord {
        AgentRecord { id: id.into(), app_id: "a".into(), display_name: id.into(), avatar_url: None, available }
    }

    fn specific(agents: &[&str], teams: &[&str], only_available: bool) -> Routing {
        Routing {
            target: RoutingTarget::Specific {
                agent_ids: agents.iter().map(|s| s.to_string()).collect(),
                team_ids: teams.iter().map(|s| s.to_string()).collect(),
            },
            available_agents_only: only_available,
        }
    }

    fn owner_routing(fallback: Option<&str>, only: bool) -> Routing {
        Routing {
            target: RoutingTarget::ContactOwner { fallback_agent_id: fallback.map(str::to_owned) },
            available_agents_only: only,
        }
    }

    #[test]
    fn round_robin_skips_away_agents_while_someone_is_available() {
        let agents = [agent("a1", true), agent("a2", false), agent("a3", true), agent("x", true)];
        let members = [TeamMember { team_id: "t".into(), agent_id: "a3".into() }];
        for only in [false, true] {
            let r = specific(&["a1", "a2"], &["t"], only);
            let picks: Vec<_> = (0..4).map(|c| pick_assignee(&r, &agents, &members, None, c).unwrap()).collect();
            assert_eq!(picks, ["a1", "a3", "a1", "a3"], "available_agents_only = {only}");
        }
        // Nobody available: unassigned when only available agents may be chosen, else the whole pool.
        assert_eq!(pick_assignee(&specific(&["a2"], &[], true), &agents, &members, None, 0), None);
        assert_eq!(pick_assignee(&specific(&["a2"], &[], false), &agents, &members, None, 0).as_deref(), Some("a2"));
        assert_eq!(pick_assignee(&specific(&["ghost"], &[], false), &agents, &members, None, 0), None);
    }

    #[test]
    fn contact_owner_then_fallback_available_first() {
        let agents = [agent("away", false), agent("on", true), agent("on2", true)];
        let pick = |fallback, only, owner| pick_assignee(&owner_routing(fallback, only), &agents, &[], owner, 0);
        assert_eq!(pick(Some("on"), false, Some("on2")).as_deref(), Some("on2"), "the available owner");
        assert_eq!(pick(Some("on"), true, Some("away")).as_deref(), Some("on"), "away owner: the fallback");
        assert_eq!(pick(Some("away"), false, Some("away")).as_deref(), Some("away"), "nobody available: the owner");
        assert_eq!(pick(Some("away"), true, Some("away")), None);
        assert_eq!(pick(Some("away"), false, None).as_deref(), Some("away"));
        assert_eq!(pick(None, false, None), None);
        assert_eq!(pick(Some("ghost"), false, Some("ghost")), None);
    }

    #[test]
    fn team_presence() {
        let agents = [agent("a1", false), agent("a2", true)];
        assert_eq!(team_available(&specific(&["a1"], &[], false), &agents, &[]), Some(false));
        assert_eq!(team_available(&specific(&["a1", "a2"], &[], false), &agents, &[]), Some(true));
        assert_eq!(team_available(&specific(&["nobody"], &[], false), &agents, &[]), None);
        assert_eq!(team_available(&owner_routing(None, false), &agents, &[]), Some(true));
    }
}
