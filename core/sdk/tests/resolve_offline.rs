//! End to end: fetch the chatflows once (ETag, then 304), then resolve offline from the cache after a restart.

mod support;

use chatflow_core::chatflow::{ResolveOutcome, Verdict};
use chatflow_core::client::ChatClient;
use chatflow_core::protocol::{ChatflowKind, EmailCaptureMode, ProcessDataMode};
use chatflow_core::Error;
use support::*;

/// Saturday 2026-01-17 12:00 UTC: the night desk (weekdays 09–17 UTC) is closed until Monday 09:00.
const SATURDAY_NOON: i64 = 1_768_651_200_000;
const MONDAY_NINE: i64 = 1_768_813_200_000;
/// Wednesday 2026-01-14 10:00 UTC: open.
const WEDNESDAY_TEN: i64 = 1_768_384_800_000;

fn found(outcome: ResolveOutcome) -> chatflow_core::chatflow::ResolvedChatflow {
    match outcome {
        ResolveOutcome::Found(r) => *r,
        other => panic!("expected a chatflow, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_offline_from_the_cache_after_one_online_fetch() {
    let mut server = TestServer::start();
    let dir = storage();
    {
        let client = open(&server, dir.path());
        // Nothing cached yet: nothing to resolve, and the cache says it was never fetched.
        let r = client.resolve(None, vec![]).unwrap();
        assert_eq!(r.outcome, ResolveOutcome::NotFound { tag: "support".into() });
        assert_eq!(r.cache.fetched_at, None);

        let first = client.refresh_chatflows().await.unwrap();
        assert!(first.changed);
        assert_eq!(first.chatflow_count, 6);
        assert!(first.statuses_refreshed);
        let second = client.refresh_chatflows().await.unwrap();
        assert!(!second.changed, "the ETag must turn the second fetch into a 304");
        assert_eq!(second.chatflow_count, 6);
    }
    server.stop();

    // A new process: open from the same storage, server down.
    let client = open(&server, dir.path());
    let err = client.refresh_chatflows().await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }) && err.is_recoverable(), "{err:?}");

    let r = client.resolve(None, vec![]).unwrap();
    assert!(r.cache.fetched_at.is_some() && r.cache.age_ms.is_some(), "{:?}", r.cache);
    let support = found(r.outcome);
    assert_eq!(support.chatflow_id, FLOW_SUPPORT_EN, "the disabled VIP flow must not win");
    assert_eq!(support.kind, ChatflowKind::LiveChat);
    assert_eq!(support.welcome_message, "Welcome to Support EN");
    assert_eq!(support.header.display_name, "Chatflow Test Team");
    assert_eq!(support.header.avatar_url.as_deref(), Some("https://example.com/team.png"));
    assert!(support.header.use_branding_as_agent_alias);
    assert!(support.availability.available);
    assert_eq!(support.consent.process_data_mode, ProcessDataMode::Off);

    // Language: a French visitor gets the French flow (tag " Support " in the seed matches "support").
    let fr = found(client.resolve(Some("SUPPORT".into()), vec!["fr-CA".into(), "en".into()]).unwrap().outcome);
    assert_eq!(fr.chatflow_id, FLOW_SUPPORT_FR);

    // Explain names every candidate and why.
    let e = client.explain(Some("support".into()), vec!["en".into()]).unwrap();
    let verdict = |id| e.candidates.iter().find(|c| c.chatflow_id == id).map(|c| c.verdict.clone()).unwrap();
    assert_eq!(verdict(FLOW_SUPPORT_EN), Verdict::Chosen);
    assert_eq!(verdict(FLOW_SUPPORT_DISABLED), Verdict::Disabled);
    assert_eq!(verdict(FLOW_SUPPORT_FR), Verdict::OtherLanguage { matched_language: "en".into() });
    assert!(e.known_tags.contains(&"billing".to_string()));

    // Business hours are evaluated on the device: hidden on Saturday, with the reopening time.
    let sat = client.resolve_at(Some("night".into()), vec![], SATURDAY_NOON).unwrap();
    assert_eq!(sat.outcome, ResolveOutcome::AllHidden { tag: "night".into(), next_change_at: Some(MONDAY_NINE) });
    let wed = found(client.resolve_at(Some("night".into()), vec![], WEDNESDAY_TEN).unwrap().outcome);
    assert_eq!(wed.chatflow_id, FLOW_NIGHT_HIDDEN);
    assert_eq!(wed.email_capture.mode, EmailCaptureMode::Always);
    assert!(wed.email_capture.ask_now_by_rule);

    // Consent requirements are part of the resolved record.
    let billing = found(client.resolve(Some("billing".into()), vec![]).unwrap().outcome);
    assert_eq!(billing.consent.process_data_mode, ProcessDataMode::Explicit);
    assert_eq!(billing.consent.process_data_text, "We process your billing data to answer you.");
    assert_eq!(billing.consent.process_data_text_version.len(), 64);
    assert_eq!(billing.consent.communicate.as_ref().map(|c| c.subscription_type.as_str()), Some("billing_tips"));

    assert_eq!(
        client.resolve(Some("nope".into()), vec![]).unwrap().outcome,
        ResolveOutcome::NotFound { tag: "nope".into() }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_change_is_fetched_again_and_disabling_the_winner_falls_back() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    assert_eq!(found(client.resolve(None, vec![]).unwrap().outcome).chatflow_id, FLOW_SUPPORT_EN);

    server.admin_edit_chatflow(FLOW_SUPPORT_EN, |f| f["enabled"] = false.into()).await;
    let r = client.refresh_chatflows().await.unwrap();
    assert!(r.changed, "an edited list has a new ETag");
    // Only the French flow is left for the tag; with no language preference it is chosen.
    assert_eq!(found(client.resolve(None, vec![]).unwrap().outcome).chatflow_id, FLOW_SUPPORT_FR);
}

#[test]
fn open_needs_no_network_and_resolves_from_an_empty_cache() {
    // A port nobody listens on: open must not notice.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = chatflow_core::config::Config::from_json_str(&format!(
        r#"{{"server_url":"http://127.0.0.1:{port}","app_id":"{APP}","environment":"development","default_tag":"support"}}"#
    ))
    .unwrap();
    let dir = storage();
    let client = ChatClient::open(config, dir.path()).unwrap();
    assert!(client.session_info().is_none(), "no visitor is created on open");
    assert_eq!(client.resolve(None, vec![]).unwrap().outcome, ResolveOutcome::NotFound { tag: "support".into() });
}
