//! Idempotent sends, seq allocation under concurrency, paging edges, limits, reopen.

use serde_json::{json, Value};

use crate::support::*;

fn seqs(r: &Reply) -> Vec<u64> {
    r.body["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn same_client_id_twice_is_one_message() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let first = api.send(&token, &conv, "m-1", "hello").await;
    assert_eq!(first.status, 201);
    let again = api.send(&token, &conv, "m-1", "hello").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body, "the replay returns the stored message");
    let other = api.send(&token, &conv, "m-1", "different").await;
    assert_eq!(other.status, 409);
    assert_eq!(other.code(), "idempotency_conflict");
    let page = api.messages(&token, &conv, "").await;
    assert_eq!(seqs(&page), vec![1]);
}

#[tokio::test]
async fn twenty_concurrent_sends_of_one_id_store_one_message() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (api, token, conv) = (api.clone(), token.clone(), conv.clone());
            tokio::spawn(async move { api.send(&token, &conv, "same-id", "once").await })
        })
        .collect();
    let mut created = 0;
    let mut bodies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.status == 201 || r.status == 200, "{} {:?}", r.status, r.body);
        created += usize::from(r.status == 201);
        bodies.push(r.body);
    }
    assert_eq!(created, 1, "exactly one request created the message");
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every answer is the same message");
    assert_eq!(seqs(&api.messages(&token, &conv, "").await), vec![1]);
}

#[tokio::test]
async fn concurrent_senders_get_gapless_unique_seqs() {
    let server = TestServer::start_with(RAISED_SEND_LIMIT);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let mut tasks = Vec::new();
    // Two "devices" of the visitor and an agent, all writing at once.
    for client in 0..2 {
        let (api, token, conv) = (api.clone(), token.clone(), conv.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let r = api.send(&token, &conv, &format!("c{client}-{i}"), "x").await;
                assert_eq!(r.status, 201);
            }
        }));
    }
    let (api2, conv2) = (api.clone(), conv.clone());
    tasks.push(tokio::spawn(async move {
        for _ in 0..10 {
            assert_eq!(api2.agent_reply(ALICE, &conv2, "agent").await.status, 201);
        }
    }));
    for t in tasks {
        t.await.unwrap();
    }
    let page = api.messages(&token, &conv, "?after_seq=0&limit=500").await;
    assert_eq!(seqs(&page), (1..=60).collect::<Vec<_>>());
    assert_eq!(page.body["last_seq"], 60);
    assert_eq!(page.body["has_more"], false);
}

#[tokio::test]
async fn paging_edges() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let empty = api.messages(&token, &conv, "").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, json!({"messages": [], "has_more": false, "last_seq": 0}));
    assert_eq!(api.messages(&token, &conv, "?after_seq=0").await.body["messages"], json!([]));
    for i in 1..=6 {
        assert_eq!(api.send(&token, &conv, &format!("m{i}"), &format!("msg {i}")).await.status, 201);
    }
    // Exact page: all six, nothing more.
    let exact = api.messages(&token, &conv, "?after_seq=0&limit=6").await;
    assert_eq!(seqs(&exact), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(exact.body["has_more"], false);
    // Catch-up in pages of 4: first page says more, last page does not.
    let p1 = api.messages(&token, &conv, "?after_seq=0&limit=4").await;
    assert_eq!((seqs(&p1), p1.body["has_more"].clone()), (vec![1, 2, 3, 4], json!(true)));
    let p2 = api.messages(&token, &conv, "?after_seq=4&limit=4").await;
    assert_eq!((seqs(&p2), p2.body["has_more"].clone()), (vec![5, 6], json!(false)));
    // After the end: empty.
    assert!(seqs(&api.messages(&token, &conv, "?after_seq=6").await).is_empty());
    // History backwards.
    let latest = api.messages(&token, &conv, "?limit=2").await;
    assert_eq!((seqs(&latest), latest.body["has_more"].clone()), (vec![5, 6], json!(true)));
    let older = api.messages(&token, &conv, "?before_seq=5&limit=2").await;
    assert_eq!(seqs(&older), vec![3, 4]);
    let oldest = api.messages(&token, &conv, "?before_seq=3&limit=2").await;
    assert_eq!((seqs(&oldest), oldest.body["has_more"].clone()), (vec![1, 2], json!(false)));
    assert!(seqs(&api.messages(&token, &conv, "?before_seq=1").await).is_empty());
    // Both bounds: the window strictly between them, ascending, `limit` at a time.
    let window = api.messages(&token, &conv, "?after_seq=1&before_seq=6").await;
    assert_eq!((seqs(&window), window.body["has_more"].clone()), (vec![2, 3, 4, 5], json!(false)));
    let window = api.messages(&token, &conv, "?after_seq=1&before_seq=6&limit=3").await;
    assert_eq!((seqs(&window), window.body["has_more"].clone()), (vec![2, 3, 4], json!(true)));
    let rest = api.messages(&token, &conv, "?after_seq=4&before_seq=6&limit=3").await;
    assert_eq!((seqs(&rest), rest.body["has_more"].clone()), (vec![5], json!(false)));
    for empty in ["?after_seq=3&before_seq=4", "?after_seq=5&before_seq=2", "?after_seq=0&before_seq=0"] {
        let r = api.messages(&token, &conv, empty).await;
        assert_eq!((r.status.as_u16(), seqs(&r)), (200, vec![]), "{empty}");
    }
    // Refusals.
    for q in ["?limit=501", "?limit=0", "?after_seq=-1", "?limit=abc"] {
        let r = api.messages(&token, &conv, q).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_paging"), "{q}");
    }
    assert_eq!(api.messages(&token, &conv, "?limit=500").await.status, 200);
}

#[tokio::test]
async fn limits_on_messages() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let before = server.table_counts();
    let long = "é".repeat(4_001);
    let r = api.send(&token, &conv, "m1", &long).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "message_too_long"));
    assert!(!r.body["message"].as_str().unwrap().contains('é'), "the body is never echoed");
    let r = api.send(&token, &conv, "m1", "   ").await;
    assert_eq!(r.code(), "invalid_field");
    let r = api.send(&token, &conv, "bad%20id", "x").await;
    assert_eq!(r.code(), "invalid_field");
    let r = api.send(&token, &conv, &"x".repeat(65), "x").await;
    assert_eq!(r.code(), "invalid_field");
    assert_eq!(server.table_counts(), before, "refusals write nothing");
    assert_eq!(api.send(&token, &conv, "m1", &"é".repeat(4_000)).await.status, 201);
}

#[tokio::test]
async fn a_visitor_message_reopens_a_closed_conversation_and_read_marks() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    api.send(&token, &conv, "a", "hi").await;
    let closed = api.call("POST", &format!("/v1/agent/conversations/{conv}/close"), Some(ALICE), None).await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(api.send(&token, &conv, "b", "again").await.status, 201);
    let c = api.get(&format!("/v1/conversations/{conv}"), Some(&token)).await;
    assert_eq!(c.body["status"], "open");
    assert_eq!(c.body["channel"], "mobile_chat");
    assert_eq!(c.body["last_seq"], 2);
    // Read marks: the visitor's own message counts as read; the agent marks too.
    let r =
        api.call("POST", &format!("/v1/agent/conversations/{conv}/read"), Some(ALICE), Some(json!({"seq": 2}))).await;
    assert_eq!(r.status, 204);
    let r = api.call("POST", &format!("/v1/conversations/{conv}/read"), Some(&token), Some(json!({"seq": 9}))).await;
    assert_eq!(r.code(), "invalid_field");
    let c = api.get(&format!("/v1/conversations/{conv}"), Some(&token)).await;
    assert_eq!((c.body["agent_read_seq"].as_u64(), c.body["visitor_read_seq"].as_u64()), (Some(2), Some(2)));
    let t = api
        .call("POST", &format!("/v1/conversations/{conv}/typing"), Some(&token), Some(json!({"typing": true})))
        .await;
    assert_eq!(t.status, 204);
    let list = api.get("/v1/agent/conversations?status=open", Some(ALICE)).await;
    let row = list.body["conversations"].as_array().unwrap().iter().find(|r| r["conversation"]["id"] == conv).cloned();
    assert_eq!(row.unwrap()["visitor_typing"], true);
}

#[tokio::test]
async fn conversations_routing_and_disabled_chatflows() {
    let server = TestServer::start();
    let api = server.api();
    let (visitor_id, token) = api.visitor(ACME).await;
    let r = api.call("POST", "/v1/conversations", Some(&token), Some(json!({"chatflow_id": FLOW_DISABLED}))).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "chatflow_disabled"));
    let r = api.call("POST", "/v1/conversations", Some(&token), Some(json!({"chatflow_id": FLOW_GLOBEX}))).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"), "another app's chatflow does not exist here");
    // Support routes round-robin over the `support` team (Alice, Bob); Bob is away, so Alice gets both.
    let a = api.call("POST", "/v1/conversations", Some(&token), Some(json!({"chatflow_id": FLOW_SUPPORT}))).await;
    let b = api.call("POST", "/v1/conversations", Some(&token), Some(json!({"chatflow_id": FLOW_SUPPORT}))).await;
    let assignees = vec![a.body["assignee"]["id"].clone(), b.body["assignee"]["id"].clone()];
    assert_eq!(assignees, vec![json!("ag_alice"), json!("ag_alice")]);
    assert_eq!(a.body["visitor_id"], visitor_id.as_str());
    // Legit-interest chatflow uses its branding as the agent alias.
    let s = api.call("POST", "/v1/conversations", Some(&token), Some(json!({"chatflow_id": FLOW_LEGIT}))).await;
    assert_eq!(s.body["assignee"], json!({"id": "ag_alice", "display_name": "Acme Ventes"}));
    // Bob is away and the team chatflow only routes to available agents.
    let t = api.call("POST", "/v1/conversations", Some(&token), Some(json!({"chatflow_id": FLOW_TEAM}))).await;
    assert!(t.body.get("assignee").is_none());
    let list = api.get("/v1/conversations", Some(&token)).await;
    let ids: Vec<_> = list.body["conversations"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[0], t.body["id"], "newest first");
    // An agent reply on an unassigned conversation assigns it.
    let unassigned = api.open(&token, FLOW_OVERFLOW).await;
    let reply = api.agent_reply(ALICE, &unassigned, "I'm on it").await;
    assert_eq!(reply.body["author"], json!({"kind": "agent", "id": "ag_alice", "display_name": "Alice"}));
    let c = api.get(&format!("/v1/conversations/{unassigned}"), Some(&token)).await;
    assert_eq!(c.body["assignee"]["id"], "ag_alice");
}

#[tokio::test]
async fn agent_replies_are_idempotent_with_a_client_id() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let path = format!("/v1/agent/conversations/{conv}/messages");
    let body = json!({"body": "hello", "client_message_id": "agent-1"});
    assert_eq!(api.call("POST", &path, Some(ALICE), Some(body.clone())).await.status, 201);
    assert_eq!(api.call("POST", &path, Some(ALICE), Some(body)).await.status, 200);
    let r =
        api.call("POST", &path, Some(ALICE), Some(json!({"body": "changed", "client_message_id": "agent-1"}))).await;
    assert_eq!(r.code(), "idempotency_conflict");
    assert_eq!(seqs(&api.messages(&token, &conv, "").await), vec![1]);
}

#[tokio::test]
async fn an_integral_float_is_an_integer() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.send(&token, &conv, "m1", "hello").await.status, 201);
    let read = |seq: Value| {
        let (api, token, conv) = (&api, &token, &conv);
        async move {
            api.call("POST", &format!("/v1/conversations/{conv}/read"), Some(token), Some(json!({ "seq": seq }))).await
        }
    };
    // JSON has one number type: `1.0` is the integer 1, as the document's `integer` allows.
    assert_eq!(read(json!(1.0)).await.status, 204);
    for bad in [json!(1.5), json!(-1.0), json!("1")] {
        let r = read(bad.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_body"), "{bad}: {:?}", r.body);
    }
}
