//! Inbox views and filters: all / mine / unassigned, status, assignee, channel, opened-at range, text search over the
//! contact and the messages, newest first with cursor paging; the row's fields; one conversation, its messages and
//! the team's agents; isolation between apps; refusals.

use serde_json::json;

use super::inbox_util::*;
use crate::support::*;

#[tokio::test]
async fn views_filters_search_and_paging() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, T0).await;
    // c1: Jane (by name), routed to Alice (Bob is away); c2: Max (email only), unassigned; c3: anonymous, closed.
    let (_, jane) = visitor_with(&api, json!({"first_name": "Jane", "last_name": "Doe"})).await;
    let c1 = api.open(&jane, FLOW_SUPPORT).await;
    assert_eq!(api.send(&jane, &c1, "m1", "My parcel is late").await.status, 201);
    set_clock(&api, T0 + MINUTE).await;
    let (_, max) = visitor_with(&api, json!({"email": "Max@Example.com"})).await;
    let c2 = api.open(&max, FLOW_OVERFLOW).await;
    assert_eq!(api.send(&max, &c2, "m1", "Invoice question: 50%_off?").await.status, 201);
    set_clock(&api, T0 + 2 * MINUTE).await;
    let (anon_id, anon) = api.visitor(ACME).await;
    let c3 = api.open(&anon, FLOW_OVERFLOW).await;
    assert_eq!(act(&api, ALICE, "POST", &c3, "/close", None).await.status, 200);

    // Views, newest first.
    assert_eq!(inbox_ids(&api, ALICE, "").await, [c3.as_str(), c2.as_str(), c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?view=all").await, [c3.as_str(), c2.as_str(), c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?view=mine").await, [c1.as_str()]);
    assert!(inbox_ids(&api, BOB, "?view=mine").await.is_empty());
    assert_eq!(inbox_ids(&api, BOB, "?view=unassigned").await, [c3.as_str(), c2.as_str()]);
    assert!(inbox_ids(&api, BOB, "?view=bots").await.is_empty());
    assert!(inbox_ids(&api, BOB, "?view=filtered").await.is_empty());
    // Filters narrow the view.
    assert_eq!(inbox_ids(&api, ALICE, "?status=closed").await, [c3.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?status=open").await, [c2.as_str(), c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?view=unassigned&status=open").await, [c2.as_str()]);
    assert_eq!(inbox_ids(&api, BOB, "?assignee=ag_alice").await, [c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?channel=mobile_chat").await, [c3.as_str(), c2.as_str(), c1.as_str()]);
    assert!(inbox_ids(&api, ALICE, "?channel=email").await.is_empty());
    assert_eq!(inbox_ids(&api, ALICE, &format!("?from={}", T0 + MINUTE)).await, [c3.as_str(), c2.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, &format!("?to={}", T0 + MINUTE)).await, [c1.as_str()]);
    let q = format!("?from={}&to={}", T0 + MINUTE, T0 + 2 * MINUTE);
    assert_eq!(inbox_ids(&api, ALICE, &q).await, [c2.as_str()]);
    // Search: contact name and email (case-insensitive), message text; LIKE wildcards are literal.
    assert_eq!(inbox_ids(&api, ALICE, "?q=jane%20doe").await, [c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?q=max%40example").await, [c2.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?q=PARCEL").await, [c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?q=50%25_").await, [c2.as_str()]);
    assert!(inbox_ids(&api, ALICE, "?q=%25").await.len() == 1, "only the message with a literal %");
    assert!(inbox_ids(&api, ALICE, "?q=nothing-like-this").await.is_empty());
    assert_eq!(inbox_ids(&api, ALICE, "?q=invoice&view=unassigned&status=open").await, [c2.as_str()]);

    // Rows: contact, subject or preview, opened-at, channel label.
    let r = inbox(&api, ALICE, "").await;
    let rows = r.body["conversations"].as_array().unwrap();
    assert_eq!(rows[2]["contact_name"], "Jane Doe");
    assert_eq!(rows[2]["title"], "My parcel is late");
    assert_eq!(rows[2]["opened_at"], T0);
    assert_eq!(rows[2]["channel_label"], "Chat");
    assert_eq!(rows[2]["chatflow_name"], "Support");
    assert_eq!(rows[2]["handled_by"], "agents");
    assert_eq!(rows[2]["conversation"]["assignee"]["id"], "ag_alice");
    assert_eq!(rows[1]["contact_name"], "Max@Example.com");
    assert_eq!(rows[1]["contact_email"], "Max@Example.com");
    let tail: String = anon_id.replace('-', "").chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    assert_eq!(rows[0]["contact_name"], format!("Visitor #{tail}"));
    assert_eq!(rows[0]["title"], "(no messages yet)");
    assert_eq!(rows[0]["closed_at"], T0 + 2 * MINUTE);
    assert_eq!(rows[0]["conversation"]["status"], "closed");
    assert!(r.body.get("next_cursor").is_none());

    // Cursor paging keeps the order and the filters.
    let p1 = inbox(&api, ALICE, "?limit=2").await;
    let cursor = p1.body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(p1.body["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(inbox_ids(&api, ALICE, &format!("?limit=2&cursor={cursor}")).await, [c1.as_str()]);
    let p2 = inbox(&api, ALICE, &format!("?limit=2&cursor={cursor}")).await;
    assert!(p2.body.get("next_cursor").is_none());
    let p = inbox(&api, ALICE, "?status=open&limit=1").await;
    let cursor = p.body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(inbox_ids(&api, ALICE, &format!("?status=open&limit=1&cursor={cursor}")).await, [c1.as_str()]);

    // One conversation, its messages, the team.
    assert_eq!(row(&api, BOB, &c1).await["contact_name"], "Jane Doe");
    let msgs = api.get(&format!("/v1/agent/conversations/{c1}/messages?after_seq=0"), Some(BOB)).await;
    assert_eq!(msgs.status, 200);
    assert_eq!(msgs.body["messages"][0]["body"], "My parcel is late");
    let team = api.get("/v1/agent/agents", Some(BOB)).await;
    assert_eq!(
        team.body,
        json!({"agents": [
            {"id": "ag_alice", "display_name": "Alice", "available": true, "team_ids": ["support"]},
            {"id": "ag_bob", "display_name": "Bob", "available": false, "team_ids": ["support"]}
        ]})
    );
}

#[tokio::test]
async fn refusals_and_isolation() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    let cases = [
        ("?veiw=mine", 400, "invalid_field"),
        ("?view=everything", 400, "invalid_field"),
        ("?status=pending", 400, "invalid_field"),
        ("?channel=fax", 400, "invalid_field"),
        ("?assignee=ag_gina", 404, "not_found"),
        ("?from=yesterday", 400, "invalid_field"),
        ("?q=%20%20", 400, "invalid_field"),
        ("?limit=0", 400, "invalid_paging"),
        ("?limit=501", 400, "invalid_paging"),
        ("?cursor=not-a-cursor", 400, "invalid_paging"),
        ("?cursor=%2B12:x", 400, "invalid_paging"),
    ];
    for (q, status, code) in cases {
        let r = inbox(&api, ALICE, q).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{q}: {:?}", r.body);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A range with no instant in it, and any well-formed position, are pages like any other (the document's rules).
    assert_eq!(inbox(&api, ALICE, "?from=10&to=10").await.body["conversations"], json!([]));
    assert_eq!(inbox(&api, ALICE, "?from=20&to=10").await.body["conversations"], json!([]));
    assert_eq!(inbox(&api, ALICE, "?cursor=-5:no-such-conversation").await.body["conversations"], json!([]));
    let long = "x".repeat(201);
    assert_eq!(inbox(&api, ALICE, &format!("?q={long}")).await.code(), "invalid_field");
    // Another app's agent sees none of it.
    assert!(inbox_ids(&api, GINA, "").await.is_empty());
    for (method, suffix) in [
        ("GET", ""),
        ("GET", "/messages"),
        ("POST", "/take-over"),
        ("POST", "/block"),
        ("POST", "/spam"),
        ("POST", "/unlink-contact"),
        ("POST", "/close"),
        ("GET", "/transcript"),
        ("DELETE", ""),
    ] {
        let r = act(&api, GINA, method, &conv, suffix, None).await;
        assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"), "{method} {suffix}");
    }
    assert_eq!(assign(&api, GINA, &conv, Some("ag_gina")).await.code(), "not_found");
    assert_eq!(inbox(&api, &token, "").await.code(), "invalid_token", "a visitor token is not an agent token");
    assert_eq!(inbox(&api, ACME_ADMIN, "").await.code(), "invalid_token");
    assert_eq!(api.get("/v1/agent/conversations", None).await.code(), "unauthenticated");
}
