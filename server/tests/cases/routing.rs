//! Routing of new conversations: round-robin over users and teams skipping away agents (away mode), available agents
//! only, contact owner with a fallback user; an away agent stays reachable in the conversations they have.

use super::inbox_util::*;
use crate::support::*;

async fn assignee(api: &Api, token: &str, chatflow: i64) -> Option<String> {
    open_json(api, token, chatflow).await["assignee"]["id"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn round_robin_skips_away_agents_who_keep_their_open_conversations() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    // Support: the `support` team (Alice, Bob), not restricted to available agents.
    set_presence(&api, BOB, true).await;
    let mut picks = Vec::new();
    for _ in 0..4 {
        picks.push(assignee(&api, &token, FLOW_SUPPORT).await.unwrap());
    }
    picks.sort();
    assert_eq!(picks, ["ag_alice", "ag_alice", "ag_bob", "ag_bob"], "both available: round-robin");
    let bobs = inbox_ids(&api, BOB, "?view=mine").await;
    assert_eq!(bobs.len(), 2);
    // Bob goes away: no new conversations for him, but he still answers and closes his own.
    set_presence(&api, BOB, false).await;
    for _ in 0..3 {
        assert_eq!(assignee(&api, &token, FLOW_SUPPORT).await.as_deref(), Some("ag_alice"));
    }
    assert_eq!(api.agent_reply(BOB, &bobs[0], "still on it").await.status, 201);
    assert_eq!(act(&api, BOB, "POST", &bobs[1], "/close", None).await.status, 200);
    assert_eq!(inbox_ids(&api, BOB, "?view=mine").await, bobs);
    // Everyone away: without "available agents only" someone of the team still gets it.
    set_presence(&api, ALICE, false).await;
    assert!(assignee(&api, &token, FLOW_SUPPORT).await.is_some());
    // "Available agents only" (Team presence routes to Bob): unassigned while Bob is away.
    assert_eq!(assignee(&api, &token, FLOW_TEAM).await, None);
    set_presence(&api, BOB, true).await;
    assert_eq!(assignee(&api, &token, FLOW_TEAM).await.as_deref(), Some("ag_bob"));
    // Unassigned routing never assigns.
    assert_eq!(assignee(&api, &token, FLOW_OVERFLOW).await, None);
}

#[tokio::test]
async fn contact_owner_first_then_the_fallback_user() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    // Sales routes to the contact owner, else Alice. A new contact has no owner: Alice.
    let c1 = open_json(&api, &token, FLOW_LEGIT).await;
    assert_eq!(c1["assignee"]["id"], "ag_alice");
    let c1 = c1["id"].as_str().unwrap().to_owned();
    // Bob takes the contact over: he owns it from now on (while available).
    assert_eq!(assign(&api, ALICE, &c1, Some("ag_bob")).await.status, 200);
    set_presence(&api, BOB, true).await;
    let c2 = open_json(&api, &token, FLOW_LEGIT).await;
    assert_eq!(c2["assignee"]["id"], "ag_bob");
    // Unlinking the contact from Bob's conversations ends his ownership: the fallback again.
    for id in [c1.as_str(), c2["id"].as_str().unwrap()] {
        assert_eq!(act(&api, BOB, "POST", id, "/unlink-contact", None).await.status, 200);
    }
    let c3 = open_json(&api, &token, FLOW_LEGIT).await;
    assert_eq!(c3["assignee"]["id"], "ag_alice");
    // Owner away, fallback available: the fallback.
    assert_eq!(assign(&api, ALICE, c3["id"].as_str().unwrap(), Some("ag_bob")).await.status, 200);
    assert_eq!(assignee(&api, &token, FLOW_LEGIT).await.as_deref(), Some("ag_bob"));
    set_presence(&api, BOB, false).await;
    assert_eq!(assignee(&api, &token, FLOW_LEGIT).await.as_deref(), Some("ag_alice"));
    // Another visitor is not Bob's contact.
    set_presence(&api, BOB, true).await;
    let (_, stranger) = api.visitor(ACME).await;
    assert_eq!(assignee(&api, &stranger, FLOW_LEGIT).await.as_deref(), Some("ag_alice"));
}
