//! Help desk: ticket creation per chatflow or channel (the chatflow's rule wins), the subject from the first visitor
//! message, listing (filters, paging), reading and updating tickets, creating one by hand; refusals and isolation.

use serde_json::json;

use super::inbox_util::*;
use crate::support::*;

async fn put_rule(api: &Api, path: &str, body: serde_json::Value) -> Reply {
    api.call("PUT", &format!("/v1/admin/{path}/help-desk"), Some(ACME_ADMIN), Some(body)).await
}

async fn get_rule(api: &Api, path: &str) -> Reply {
    api.get(&format!("/v1/admin/{path}/help-desk"), Some(ACME_ADMIN)).await
}

async fn q(api: &Api, query: &str) -> Reply {
    api.get(&format!("/v1/agent/tickets{query}"), Some(ALICE)).await
}

fn ticket_ids(r: &Reply) -> Vec<i64> {
    r.body["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn help_desk_rules_create_tickets_that_agents_list_and_update() {
    let server = TestServer::start();
    let api = server.api();
    assert_eq!(
        get_rule(&api, "chatflows/2").await.body,
        json!({"create_tickets": false, "pipeline": "support", "source": "default"})
    );
    let r = put_rule(&api, "chatflows/2", json!({"create_tickets": true, "pipeline": "billing"})).await;
    assert_eq!(r.body, json!({"create_tickets": true, "pipeline": "billing", "source": "chatflow"}));
    let r = put_rule(&api, "channels/mobile_chat", json!({"create_tickets": true})).await;
    assert_eq!(r.body, json!({"create_tickets": true, "pipeline": "support", "source": "channel"}));
    assert_eq!(get_rule(&api, "chatflows/1").await.body["source"], "channel");

    let (_, token) = api.visitor(ACME).await;
    let billing = api.open(&token, FLOW_OVERFLOW).await;
    let support = api.open(&token, FLOW_SUPPORT).await;
    // A chatflow's own `false` wins over the channel.
    let r = put_rule(&api, "chatflows/5", json!({"create_tickets": false})).await;
    assert_eq!(r.body["source"], "chatflow");
    let (_, token2) = api.visitor(ACME).await;
    let none = api.open(&token2, FLOW_LEGIT).await;
    let r = api.get("/v1/agent/tickets", Some(ALICE)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let tickets = r.body["tickets"].as_array().unwrap().clone();
    assert_eq!(tickets.len(), 2, "chatflow 5 opted out: {tickets:?}");
    let by_conv = |c: &str| tickets.iter().find(|t| t["conversation_id"] == c).cloned().unwrap();
    let t_billing = by_conv(&billing);
    assert_eq!((t_billing["pipeline"].as_str(), t_billing["status"].as_str()), (Some("billing"), Some("new")));
    assert!(t_billing.get("subject").is_none(), "no visitor message yet");
    assert_eq!(by_conv(&support)["pipeline"], "support");
    assert_eq!(by_conv(&support)["assignee_agent_id"], "ag_alice");
    assert!(row(&api, ALICE, &none).await.get("ticket_id").is_none());
    // The first visitor message names the ticket; the inbox row shows it.
    assert_eq!(api.send(&token, &billing, "s1", "Where is my refund?\nOrder 42").await.status, 201);
    assert_eq!(api.send(&token, &billing, "s2", "Hello?").await.status, 201);
    let id = t_billing["id"].as_i64().unwrap();
    let t = api.get(&format!("/v1/agent/tickets/{id}"), Some(BOB)).await;
    assert_eq!(t.body["subject"], "Where is my refund?");
    let r = row(&api, BOB, &billing).await;
    assert_eq!((r["ticket_id"].as_i64(), r["title"].as_str()), (Some(id), Some("Where is my refund?")));
    assert_eq!(r["preview"], "Hello?");

    // Update.
    let path = format!("/v1/agent/tickets/{id}");
    let r = api.call("PATCH", &path, Some(BOB), Some(json!({"status": "waiting_on_us"}))).await;
    assert_eq!((r.status.as_u16(), r.body["status"].as_str()), (200, Some("waiting_on_us")), "{:?}", r.body);
    let r = api
        .call("PATCH", &path, Some(BOB), Some(json!({"subject": "Refund for order 42", "pipeline": "refunds"})))
        .await;
    assert_eq!(
        (r.body["subject"].as_str(), r.body["pipeline"].as_str()),
        (Some("Refund for order 42"), Some("refunds"))
    );
    assert_eq!(r.body["status"], "waiting_on_us");
    // Filters and paging, newest first.
    assert_eq!(ticket_ids(&q(&api, "?status=waiting_on_us").await), [id]);
    assert_eq!(ticket_ids(&q(&api, "?pipeline=refunds").await), [id]);
    let all = ticket_ids(&q(&api, "").await);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "{all:?}");
    let p1 = q(&api, "?limit=1").await;
    assert_eq!(ticket_ids(&p1), all[..1]);
    let cursor = p1.body["next_cursor"].as_str().unwrap().to_owned();
    let p2 = q(&api, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(ticket_ids(&p2), all[1..]);
    assert!(p2.body.get("next_cursor").is_none());

    // By hand, for a conversation without one.
    let (_, token3) = api.visitor(ACME).await;
    put_rule(&api, "channels/mobile_chat", json!({"create_tickets": false, "pipeline": "manual"})).await;
    let later = api.open(&token3, FLOW_SUPPORT).await;
    assert!(row(&api, ALICE, &later).await.get("ticket_id").is_none());
    let r = act(&api, ALICE, "POST", &later, "/ticket", None).await;
    assert_eq!((r.status.as_u16(), r.body["pipeline"].as_str()), (201, Some("manual")), "{:?}", r.body);
    let again = act(&api, ALICE, "POST", &later, "/ticket", None).await;
    assert_eq!((again.status.as_u16(), &again.body["id"]), (200, &r.body["id"]));
    // Deleting the conversation deletes its ticket.
    assert_eq!(act(&api, ALICE, "DELETE", &billing, "", None).await.status, 204);
    assert_eq!(api.get(&path, Some(ALICE)).await.code(), "not_found");
}

#[tokio::test]
async fn ticket_and_help_desk_refusals() {
    let server = TestServer::start();
    let api = server.api();
    put_rule(&api, "chatflows/1", json!({"create_tickets": true})).await;
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let id = row(&api, ALICE, &conv).await["ticket_id"].as_i64().unwrap();
    let path = format!("/v1/agent/tickets/{id}");
    let before = server.table_counts();
    for (body, code) in [
        (json!({}), "invalid_field"),
        (json!({"status": "done"}), "invalid_body"),
        (json!({"pipeline": "bad pipe"}), "invalid_field"),
        (json!({"subject": "  "}), "invalid_field"),
        (json!({"subject": "x".repeat(201)}), "invalid_field"),
        // Unknown fields and `null` are refused as the document says (`additionalProperties: false`, not nullable).
        (json!({"owner": "ag_bob"}), "invalid_body"),
        (json!({"status": null}), "invalid_body"),
        (json!({"subject": null, "status": "open"}), "invalid_body"),
    ] {
        let r = api.call("PATCH", &path, Some(ALICE), Some(body.clone())).await;
        assert_eq!(r.code(), code, "{body}: {:?}", r.body);
    }
    for (path, body, code) in [
        ("chatflows/999", json!({"create_tickets": true}), "not_found"),
        ("chatflows/101", json!({"create_tickets": true}), "not_found"),
        ("channels/fax", json!({"create_tickets": true}), "not_found"),
        ("chatflows/1", json!({"create_tickets": "yes"}), "invalid_body"),
        ("chatflows/1", json!({"create_tickets": true, "pipeline": ""}), "invalid_field"),
        ("channels/email", json!({"pipeline": "x"}), "invalid_body"),
    ] {
        let r = put_rule(&api, path, body.clone()).await;
        assert_eq!(r.code(), code, "{path} {body}: {:?}", r.body);
    }
    assert_eq!(server.table_counts(), before);
    // Isolation and bad ids.
    assert_eq!(api.get(&path, Some(GINA)).await.code(), "not_found");
    assert!(ticket_ids(&api.get("/v1/agent/tickets", Some(GINA)).await).is_empty());
    assert_eq!(api.get("/v1/agent/tickets/abc", Some(ALICE)).await.code(), "not_found");
    assert_eq!(api.get("/v1/agent/tickets?status=done", Some(ALICE)).await.code(), "invalid_field");
    assert_eq!(api.get("/v1/agent/tickets?cursor=x", Some(ALICE)).await.code(), "invalid_paging");
    assert_eq!(api.get("/v1/agent/tickets?limit=0", Some(ALICE)).await.code(), "invalid_paging");
    assert_eq!(api.get("/v1/agent/tickets", Some(ACME_ADMIN)).await.code(), "invalid_token");
    assert_eq!(api.get("/v1/admin/chatflows/1/help-desk", Some(ALICE)).await.code(), "invalid_token");
    assert_eq!(act(&api, GINA, "POST", &conv, "/ticket", None).await.code(), "not_found");
}
