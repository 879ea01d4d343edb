//! Agents and teams managed at runtime with the admin token: create (given or generated password, API token shown
//! once), disable/enable (at once: sessions and token), password reset (ends sessions), teams and membership, and
//! the app boundary (an agent of one app never signs into or sees another).

use serde_json::{json, Value};

use super::agent_sessions::{Browser, ALICE_EMAIL, ALICE_PASSWORD};
use crate::support::*;

async fn create(api: &Api, admin: &str, body: Value) -> Reply {
    api.call("POST", "/v1/admin/agents", Some(admin), Some(body)).await
}

#[tokio::test]
async fn an_agent_created_by_the_admin_signs_in_and_its_token_works() {
    let server = TestServer::start();
    let api = server.api();
    let r = create(
        &api,
        ACME_ADMIN,
        json!({"id": "ag_nina", "email": " Nina@Acme.test", "display_name": "Nina",
        "password": "nina-password-1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["agent"]["email"], "Nina@Acme.test");
    assert_eq!(r.body["agent"]["disabled"], false);
    assert_eq!(r.body["agent"]["has_password"], true);
    assert_eq!(r.body["agent"]["available"], false);
    assert!(r.body.get("password").is_none(), "a given password is never echoed");
    let token = r.body["api_token"].as_str().unwrap().to_owned();
    let me = api.get("/v1/agent/me", Some(&token)).await;
    assert_eq!(me.body["agent"]["id"], "ag_nina", "{:?}", me.body);

    let mut b = Browser::new(&server);
    assert_eq!(b.login("nina@acme.test", "nina-password-1", &[]).await.status, 200);
    let agents = api.get("/v1/agent/agents", Some(ALICE)).await;
    assert!(agents.body.to_string().contains("ag_nina"), "the inbox lists the new agent: {:?}", agents.body);

    // Generated password, shown once; generated id.
    let r = create(&api, ACME_ADMIN, json!({"email": "omar@acme.test", "display_name": "Omar"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let password = r.body["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 32);
    assert!(r.body["agent"]["id"].as_str().unwrap().starts_with("ag_"));
    assert_eq!(b.login("omar@acme.test", &password, &[]).await.status, 200);

    let list = api.get("/v1/admin/agents", Some(ACME_ADMIN)).await;
    let ids: Vec<&str> = list.body["agents"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"ag_alice") && ids.contains(&"ag_nina") && ids.len() == 4, "{ids:?}");
    let bob = list.body["agents"].as_array().unwrap().iter().find(|a| a["id"] == "ag_bob").unwrap();
    assert_eq!((bob["has_password"].as_bool(), bob["email"].is_null()), (Some(false), true));
}

#[tokio::test]
async fn creation_refuses_taken_emails_and_ids_and_weak_passwords() {
    let server = TestServer::start();
    let api = server.api();
    for (body, hint) in [
        (json!({"email": "ALICE@acme.test", "display_name": "Dup", "password": "long-enough-1"}), "already used"),
        (json!({"id": "ag_bob", "email": "b2@acme.test", "display_name": "Dup", "password": "long-enough-1"}), "taken"),
    ] {
        let r = create(&api, ACME_ADMIN, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"), "{body}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(hint), "{body}: {:?}", r.body);
    }
    let cases = [
        (json!({"email": "c@acme.test", "display_name": "Short", "password": "short"}), "10 to 256"),
        (json!({"email": "not-an-email", "display_name": "X", "password": "long-enough-1"}), "email"),
        (json!({"email": "d@acme.test", "display_name": " ", "password": "long-enough-1"}), "display_name"),
        (json!({"id": "bad id", "email": "e@acme.test", "display_name": "X"}), "id"),
    ];
    for (body, hint) in cases {
        let r = create(&api, ACME_ADMIN, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{body}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(hint), "{body}: {:?}", r.body);
    }
    let r = create(&api, ACME_ADMIN, json!({"email": "x@acme.test", "display_name": "X", "role": "root"})).await;
    assert_eq!(r.code(), "invalid_body", "unknown fields are refused");
    assert_eq!(create(&api, ALICE, json!({})).await.code(), "invalid_token", "agents cannot manage agents");
}

#[tokio::test]
async fn disabling_an_agent_ends_its_sessions_and_token_at_once() {
    let server = TestServer::start();
    let api = server.api();
    let mut b = Browser::signed_in(&server).await;
    let r = api.call("POST", "/v1/admin/agents/ag_alice/disable", Some(ACME_ADMIN), None).await;
    assert_eq!((r.status.as_u16(), &r.body["disabled"]), (200, &json!(true)), "{:?}", r.body);
    assert_eq!(b.send("GET", "/v1/agent/me", None, false, &[]).await.code(), "unauthenticated");
    assert_eq!(api.get("/v1/agent/me", Some(ALICE)).await.code(), "invalid_token");
    let refused = b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await;
    assert_eq!(refused.code(), "invalid_credentials", "same answer as a wrong password");
    let agents = api.get("/v1/agent/agents", Some(BOB)).await;
    assert!(!agents.body.to_string().contains("ag_alice"), "out of the assignable agents: {:?}", agents.body);

    let r = api.call("POST", "/v1/admin/agents/ag_alice/enable", Some(ACME_ADMIN), None).await;
    assert_eq!(r.body["disabled"], false);
    assert_eq!(api.get("/v1/agent/me", Some(ALICE)).await.status, 200);
    assert_eq!(b.send("GET", "/v1/agent/me", None, false, &[]).await.status, 401, "old sessions stay ended");
    assert_eq!(b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await.status, 200);
    let missing = api.call("POST", "/v1/admin/agents/ag_nobody/disable", Some(ACME_ADMIN), None).await;
    assert_eq!(missing.code(), "not_found");
}

#[tokio::test]
async fn a_password_reset_ends_browser_sessions_but_not_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chatflow.db");
    let server = TestServer::start_on(&db, &[]);
    let api = server.api();
    let mut b = Browser::signed_in(&server).await;
    let reset = |body: Value| api.call("POST", "/v1/admin/agents/ag_alice/password", Some(ACME_ADMIN), Some(body));
    assert_eq!(reset(json!({"password": "short"})).await.code(), "invalid_field");
    let r = reset(json!({"password": "alice-new-password"})).await;
    assert_eq!((r.status.as_u16(), r.body.clone()), (200, json!({})));
    assert_eq!(b.send("GET", "/v1/agent/me", None, false, &[]).await.status, 401);
    assert_eq!(b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await.code(), "invalid_credentials");
    assert_eq!(b.login(ALICE_EMAIL, "alice-new-password", &[]).await.status, 200);
    assert_eq!(api.get("/v1/agent/me", Some(ALICE)).await.status, 200, "the API token keeps working");
    let generated = reset(json!({})).await;
    let password = generated.body["password"].as_str().unwrap().to_owned();
    assert_eq!(b.login(ALICE_EMAIL, &password, &[]).await.status, 200);

    // A restart with the same seed keeps the reset password (the seed sets one only while there is none).
    server.stop();
    let again = TestServer::start_on(&db, &[]);
    let mut b = Browser::new(&again);
    assert_eq!(b.login(ALICE_EMAIL, &password, &[]).await.status, 200);
    assert_eq!(b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await.code(), "invalid_credentials");
}

#[tokio::test]
async fn teams_are_created_and_staffed_at_runtime() {
    let server = TestServer::start();
    let api = server.api();
    let teams = api.get("/v1/admin/teams", Some(ACME_ADMIN)).await;
    assert_eq!(teams.body, json!({"teams": [{"id": "support", "agent_ids": ["ag_alice", "ag_bob"]}]}));
    let r = api.call("POST", "/v1/admin/teams", Some(ACME_ADMIN), Some(json!({"id": "night"}))).await;
    assert_eq!((r.status.as_u16(), r.body.clone()), (201, json!({"id": "night", "agent_ids": []})));
    let dup = api.call("POST", "/v1/admin/teams", Some(ACME_ADMIN), Some(json!({"id": "night"}))).await;
    assert_eq!((dup.status.as_u16(), dup.code()), (409, "conflict"));
    // Chatflow routing may name the team before anyone joins it.
    let mut flow = api.get(&format!("/v1/admin/chatflows/{FLOW_TEAM}"), Some(ACME_ADMIN)).await.body;
    let flow_obj = flow.as_object_mut().unwrap();
    flow_obj.remove("id");
    flow_obj.remove("updated_at");
    flow["routing"] =
        json!({"mode": "specific", "agent_ids": [], "team_ids": ["night"], "available_agents_only": false});
    let put = api.call("PUT", &format!("/v1/admin/chatflows/{FLOW_TEAM}"), Some(ACME_ADMIN), Some(flow.clone())).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    flow["routing"]["team_ids"] = json!(["day"]);
    let put = api.call("PUT", &format!("/v1/admin/chatflows/{FLOW_TEAM}"), Some(ACME_ADMIN), Some(flow)).await;
    assert_eq!(put.code(), "invalid_field", "an unknown team");
    let member = |method: &'static str, team: &'static str, agent: &'static str| {
        let api = api.clone();
        async move { api.call(method, &format!("/v1/admin/teams/{team}/members/{agent}"), Some(ACME_ADMIN), None).await }
    };
    assert_eq!(member("PUT", "night", "ag_bob").await.status, 204);
    assert_eq!(member("PUT", "night", "ag_bob").await.status, 204, "idempotent");
    assert_eq!(member("PUT", "night", "ag_gina").await.code(), "not_found", "an agent of another app");
    assert_eq!(member("PUT", "day", "ag_bob").await.code(), "not_found", "an unknown team");
    let me = api.get("/v1/agent/me", Some(BOB)).await;
    assert_eq!(me.body["agent"]["team_ids"], json!(["night", "support"]));
    assert_eq!(member("DELETE", "support", "ag_alice").await.status, 204);
    assert_eq!(member("DELETE", "support", "ag_alice").await.code(), "not_found");
    let teams = api.get("/v1/admin/teams", Some(ACME_ADMIN)).await;
    assert_eq!(
        teams.body,
        json!({"teams": [{"id": "night", "agent_ids": ["ag_bob"]}, {"id": "support", "agent_ids": ["ag_bob"]}]})
    );
    let globex = api.get("/v1/admin/teams", Some(GLOBEX_ADMIN)).await;
    assert_eq!(globex.body, json!({"teams": []}), "teams are per app");
}

#[tokio::test]
async fn an_agent_never_signs_into_or_sees_another_app() {
    let server = TestServer::start();
    let api = server.api();
    // The same email in Globex, with another password.
    let r = create(
        &api,
        GLOBEX_ADMIN,
        json!({"id": "ag_alice_globex", "email": ALICE_EMAIL, "display_name": "Alice G",
        "password": "globex-password-1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let mut b = Browser::new(&server);
    let acme = b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await;
    assert_eq!(acme.body["agent"]["app_id"], ACME);
    let globex = b.login(ALICE_EMAIL, "globex-password-1", &[]).await;
    assert_eq!(globex.body["agent"]["app_id"], GLOBEX);
    let wrong_app = b.login_in_app(ALICE_EMAIL, ALICE_PASSWORD, GLOBEX).await;
    assert_eq!(wrong_app.code(), "invalid_credentials");

    // Signed into Globex: Acme's conversations do not exist for this session.
    let (_, visitor) = api.visitor(ACME).await;
    let conversation = api.open(&visitor, FLOW_SUPPORT).await;
    let r = b.send("GET", &format!("/v1/agent/conversations/{conversation}"), None, false, &[]).await;
    assert_eq!(r.code(), "not_found");
    let list = b.send("GET", "/v1/agent/conversations", None, false, &[]).await;
    assert!(!list.body.to_string().contains(&conversation));
    let r = api.call("POST", "/v1/admin/agents/ag_alice/disable", Some(GLOBEX_ADMIN), None).await;
    assert_eq!(r.code(), "not_found", "another app's admin cannot touch the agent");

    // The same password in both apps: the sign-in must name the app.
    let r = api
        .call(
            "POST",
            "/v1/admin/agents/ag_alice_globex/password",
            Some(GLOBEX_ADMIN),
            Some(json!({"password": ALICE_PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200);
    let both = b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await;
    assert_eq!(both.code(), "invalid_field", "{:?}", both.body);
    let named = b.login_in_app(ALICE_EMAIL, ALICE_PASSWORD, GLOBEX).await;
    assert_eq!(named.body["agent"]["id"], "ag_alice_globex");
}
