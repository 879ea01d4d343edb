//! Around a conversation: the visitor sidebar, the view counts (whose route wins over a conversation id), reopening,
//! assignment to a team, and knowledge-base links for the composer.

use serde_json::json;

use super::inbox_util::*;
use crate::support::*;

#[tokio::test]
async fn the_visitor_sidebar_shows_properties_device_consents_other_conversations_and_tickets() {
    let server = TestServer::start();
    let api = server.api();
    let (visitor_id, token) = visitor_with(&api, json!({"name": "Zoé Martin", "plan": "pro"})).await;
    let device = json!({"platform": "android", "os_version": "15", "app_version": "1.2.3", "device_model": "Pixel",
        "locale": "fr-FR", "sdk_version": "0.1.0"});
    assert_eq!(api.call("PUT", "/v1/visitor/device", Some(&token), Some(device.clone())).await.status, 200);
    let record = json!({"chatflow_id": FLOW_SUPPORT, "kind": "process_data", "decision": "accepted",
        "text_hash": "ab".repeat(32), "decided_at": 1_700_000_000_000i64});
    assert_eq!(api.call("PUT", "/v1/consents/rec-1", Some(&token), Some(record)).await.status, 201);
    let first = api.open(&token, FLOW_SUPPORT).await;
    api.send(&token, &first, "m1", "first question").await;
    assert!(act(&api, ALICE, "POST", &first, "/ticket", None).await.status.is_success());
    assert_eq!(act(&api, ALICE, "POST", &first, "/close", None).await.status, 200);
    let second = api.open(&token, FLOW_SUPPORT).await;
    let r = api.get(&format!("/v1/agent/conversations/{second}/visitor"), Some(BOB)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let ctx = r.body;
    assert_eq!((ctx["visitor_id"].as_str(), ctx["identified"].as_bool()), (Some(visitor_id.as_str()), Some(false)));
    assert_eq!(ctx["name"], "Zoé Martin");
    assert_eq!(ctx["properties"], json!({"name": "Zoé Martin", "plan": "pro"}));
    assert_eq!(ctx["device"], device);
    assert_eq!(ctx["consents"][0]["record_id"], "rec-1");
    let others: Vec<&str> =
        ctx["conversations"].as_array().unwrap().iter().map(|c| c["conversation"]["id"].as_str().unwrap()).collect();
    assert_eq!(others, [first.as_str()], "the other conversations only");
    assert_eq!(ctx["tickets"][0]["conversation_id"], first.as_str());
    assert_eq!(api.get(&format!("/v1/agent/conversations/{second}/visitor"), Some(GINA)).await.status, 404);
    // A visitor whose app never reported a device: `device` is null.
    let (_, plain) = api.visitor(ACME).await;
    let conv = api.open(&plain, FLOW_SUPPORT).await;
    let ctx = api.get(&format!("/v1/agent/conversations/{conv}/visitor"), Some(ALICE)).await.body;
    assert!(ctx["device"].is_null() && ctx.as_object().unwrap().contains_key("device"));
    assert_eq!(ctx["conversations"], json!([]));
}

#[tokio::test]
async fn counts_per_view_with_unread_and_the_route_wins_over_a_conversation_id() {
    let server = TestServer::start();
    let api = server.api();
    let counts = |agent: &'static str| {
        let api = api.clone();
        async move {
            let r = api.get("/v1/agent/conversations/counts", Some(agent)).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body
        }
    };
    let zero = json!({"all": 0, "mine": 0, "unassigned": 0, "bots": 0, "filtered": 0,
        "unread": {"all": 0, "mine": 0, "unassigned": 0, "bots": 0, "filtered": 0}});
    assert_eq!(counts(ALICE).await, zero);
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    api.send(&token, &conv, "m1", "hi").await;
    let (_, token2) = api.visitor(ACME).await;
    let spam = api.open(&token2, FLOW_OVERFLOW).await;
    api.send(&token2, &spam, "m1", "buy now").await;
    assert_eq!(act(&api, ALICE, "POST", &spam, "/spam", None).await.status, 200);
    let c = counts(ALICE).await;
    assert_eq!((c["all"].as_u64(), c["mine"].as_u64(), c["filtered"].as_u64()), (Some(1), Some(1), Some(1)));
    assert_eq!((c["unread"]["all"].as_u64(), c["unread"]["mine"].as_u64()), (Some(1), Some(1)));
    assert_eq!(counts(BOB).await["mine"], 0, "`mine` is the caller's");
    assert_eq!(act(&api, ALICE, "POST", &conv, "/read", Some(json!({"seq": 1}))).await.status, 204);
    assert_eq!(counts(ALICE).await["unread"]["all"], 0);
    assert_eq!(act(&api, ALICE, "POST", &conv, "/close", None).await.status, 200);
    assert_eq!(counts(ALICE).await["all"], 0, "open conversations only");
    assert_eq!(api.get("/v1/agent/conversations/counts", Some(&token)).await.status, 401);
}

#[tokio::test]
async fn reopen_only_a_closed_conversation() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let r = act(&api, ALICE, "POST", &conv, "/reopen", None).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"));
    assert_eq!(act(&api, ALICE, "POST", &conv, "/close", None).await.status, 200);
    let mut ws = ready_ws(&server, &token).await;
    let r = act(&api, ALICE, "POST", &conv, "/reopen", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let told = next_state_frame(&mut ws).await;
    assert_eq!(told, chatflow_protocol::ServerFrame::ConversationReopened { conversation_id: conv.clone() });
    assert_eq!(r.body["conversation"]["status"], "open");
    assert!(r.body.get("closed_at").is_none());
    assert_eq!(r.body["conversation"]["assignee"]["id"], "ag_alice", "the assignee is kept");
    assert_eq!(act(&api, GINA, "POST", &conv, "/reopen", None).await.status, 404);
    assert_eq!(act(&api, ALICE, "POST", &conv, "/reopen", Some(json!({"x": 1}))).await.code(), "invalid_body");
}

#[tokio::test]
async fn assigning_to_a_team_takes_turns_among_available_members_else_leaves_it_unassigned() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let team = |conv: String| {
        let api = api.clone();
        async move {
            let r = act(&api, ALICE, "POST", &conv, "/assign", Some(json!({"team_id": "support"}))).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body["conversation"]["assignee"]["id"].as_str().map(str::to_owned)
        }
    };
    // Bob is away (seed): Alice, the only available member, gets it every time.
    let mut convs = Vec::new();
    for _ in 0..4 {
        convs.push(api.open(&token, FLOW_OVERFLOW).await);
    }
    assert_eq!(team(convs[0].clone()).await.as_deref(), Some("ag_alice"));
    set_presence(&api, BOB, true).await;
    let picks = [team(convs[1].clone()).await, team(convs[2].clone()).await];
    let mut sorted: Vec<_> = picks.iter().flatten().cloned().collect();
    sorted.sort();
    assert_eq!(sorted, ["ag_alice", "ag_bob"], "round-robin among the available members");
    set_presence(&api, ALICE, false).await;
    set_presence(&api, BOB, false).await;
    assert_eq!(team(convs[3].clone()).await, None, "nobody available: unassigned");
    assert!(inbox_ids(&api, ALICE, "?view=unassigned").await.contains(&convs[3]));
    let before = server.table_counts();
    for (body, code) in [
        (json!({"team_id": "nope"}), "invalid_field"),
        (json!({"team_id": ""}), "invalid_field"),
        // The body is one of two shapes (the document's `oneOf`): both fields, or neither, is not a body.
        (json!({"team_id": "support", "agent_id": "ag_bob"}), "invalid_body"),
        (json!({"team_id": "support", "agent_id": null}), "invalid_body"),
        (json!({"team_id": "support", "extra": 1}), "invalid_body"),
        (json!({}), "invalid_body"),
    ] {
        assert_eq!(act(&api, ALICE, "POST", &convs[3], "/assign", Some(body.clone())).await.code(), code, "{body}");
    }
    let both = act(&api, ALICE, "POST", &convs[3], "/assign", Some(json!({"team_id": "a", "agent_id": "b"}))).await;
    assert!(both.body["message"].as_str().unwrap().contains("not both"), "{:?}", both.body);
    assert_eq!(server.table_counts(), before);
    let doc = api.get("/openapi.json", None).await.body;
    let shapes = &doc["components"]["schemas"]["AssignRequest"]["oneOf"];
    assert_eq!(shapes.as_array().map(Vec::len), Some(2), "{shapes}");
}

#[tokio::test]
async fn knowledge_base_links_search_the_apps_offered_bases() {
    let server = TestServer::start();
    let api = server.api();
    let r = api.get("/v1/agent/kb/search?q=invoices", Some(ALICE)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let hit = &r.body["hits"][0];
    assert_eq!((hit["kb_id"].as_i64(), hit["language"].as_str()), (Some(1), Some("en")));
    assert_eq!(hit["title"], "Where to find your invoices");
    assert!(hit["url"].as_str().unwrap().starts_with("https://") && hit["snippet"].is_string());
    let one = api.get("/v1/agent/kb/search?q=factures%20invoices&limit=1", Some(ALICE)).await;
    assert_eq!(one.body["hits"].as_array().unwrap().len(), 1);
    assert_eq!(api.get("/v1/agent/kb/search?q=", Some(ALICE)).await.body, json!({"hits": []}));
    assert_eq!(api.get("/v1/agent/kb/search?q=invoices", Some(GINA)).await.body, json!({"hits": []}), "Globex's bases");
    assert_eq!(api.get("/v1/agent/kb/search?q=x&limit=0", Some(ALICE)).await.code(), "invalid_paging");
    assert_eq!(api.get("/v1/agent/kb/search?q=x&limit=21", Some(ALICE)).await.code(), "invalid_paging");
    assert_eq!(api.get("/v1/agent/kb/search?q=x&lang=fr", Some(ALICE)).await.code(), "invalid_field");
}
