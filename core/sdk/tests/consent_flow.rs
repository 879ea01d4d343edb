//! End to end: explicit consent refused then accepted, a changed consent text asks again, legitimate interest and
//! the communications opt-in — checked against the real server's own consent gate.

mod support;

use chatflow_core::consent::{text_version, ProcessDataStatus};
use chatflow_core::protocol::{ErrorCode, ProcessDataMode};
use chatflow_core::Error;
use support::*;

fn is_consent_required(r: &chatflow_core::Result<serde_json::Value>) -> bool {
    matches!(r, Err(Error::Server { code: ErrorCode::ConsentRequired, status: 403, .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_consent_is_refused_then_accepted() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    client.ensure_session().await.unwrap();

    let state = client.consent_state(FLOW_BILLING_EXPLICIT).unwrap();
    assert_eq!(state.process_data.mode, ProcessDataMode::Explicit);
    assert_eq!(state.process_data.status, ProcessDataStatus::AwaitingDecision);
    assert_eq!(state.process_data.text_version, text_version("We process your billing data to answer you."));
    assert!(!state.can_send);

    // The server agrees: no message before consent.
    let conv = open_conversation(&client, &server, FLOW_BILLING_EXPLICIT).await;
    assert!(is_consent_required(&put_message(&client, &server, &conv, "hi").await));

    // Declining blocks chatting…
    let declined = client.decline_consent(FLOW_BILLING_EXPLICIT, None).unwrap();
    assert_eq!(declined.process_data.status, ProcessDataStatus::Declined);
    assert!(!declined.can_send);
    // …a decision on a text the visitor did not see is refused…
    let err = client.accept_consent(FLOW_BILLING_EXPLICIT, Some(text_version("an older text"))).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { field: "text_version", .. }), "{err:?}");
    // …and accepting the shown version opens it.
    let accepted = client.accept_consent(FLOW_BILLING_EXPLICIT, Some(state.process_data.text_version.clone())).unwrap();
    assert_eq!(accepted.process_data.status, ProcessDataStatus::Accepted);
    assert!(accepted.can_send);
    assert_eq!(count(&client, "outbox"), 2, "both decisions are queued for the server, in order");

    // The records survive a restart of the app.
    drop(client);
    let client = open(&server, dir.path());
    assert_eq!(client.consent_state(FLOW_BILLING_EXPLICIT).unwrap().process_data.status, ProcessDataStatus::Accepted);
    assert_eq!(deliver_consents(&client, &server).await, 2);
    put_message(&client, &server, &conv, "hi").await.expect("accepted consent lets the message through");
    let synced: i64 = client
        .store()
        .read(|c| Ok(c.query_row("SELECT synced FROM consents WHERE decision = 'accepted'", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(synced, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_consent_text_asks_again() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    client.ensure_session().await.unwrap();
    client.accept_consent(FLOW_BILLING_EXPLICIT, None).unwrap();
    deliver_consents(&client, &server).await;
    let conv = open_conversation(&client, &server, FLOW_BILLING_EXPLICIT).await;
    put_message(&client, &server, &conv, "first").await.unwrap();

    let new_text = "We process your billing data and keep it for 30 days.";
    server.admin_edit_chatflow(FLOW_BILLING_EXPLICIT, |f| f["consent"]["process_data"]["text"] = new_text.into()).await;
    assert!(client.refresh_chatflows().await.unwrap().changed);

    let state = client.consent_state(FLOW_BILLING_EXPLICIT).unwrap();
    assert_eq!(state.process_data.status, ProcessDataStatus::AwaitingDecision, "a new text is a new version");
    assert_eq!(state.process_data.text, new_text);
    assert!(!state.can_send);
    assert!(is_consent_required(&put_message(&client, &server, &conv, "second").await));

    client.accept_consent(FLOW_BILLING_EXPLICIT, Some(text_version(new_text))).unwrap();
    deliver_consents(&client, &server).await;
    put_message(&client, &server, &conv, "second").await.expect("accepted the new version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legitimate_interest_and_the_communications_opt_in() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    client.ensure_session().await.unwrap();

    let li = client.consent_state(FLOW_SALES_LEGIT).unwrap();
    assert_eq!(li.process_data.status, ProcessDataStatus::NoticeToShow, "the notice must be shown");
    assert!(li.can_send, "legitimate interest never blocks");
    let conv = open_conversation(&client, &server, FLOW_SALES_LEGIT).await;
    put_message(&client, &server, &conv, "hello sales").await.expect("no record needed by the server");

    let state = client.consent_state(FLOW_BILLING_EXPLICIT).unwrap();
    let opt = state.communicate.expect("billing has an opt-in");
    assert_eq!((opt.subscription_type.as_str(), opt.opted_in), ("billing_tips", None));
    let after = client.set_communication_opt_in(FLOW_BILLING_EXPLICIT, true).unwrap();
    assert_eq!(after.communicate.unwrap().opted_in, Some(true));
    assert!(!after.can_send, "the opt-in is not consent to process data");
    assert_eq!(deliver_consents(&client, &server).await, 1, "the server accepts the communicate record");

    let err = client.set_communication_opt_in(FLOW_SALES_LEGIT, true).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = client.accept_consent(FLOW_SUPPORT_EN, None).unwrap_err();
    assert!(err.to_string().contains("does not ask for consent"), "{err}");
    let err = client.consent_state(999).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_taken_while_sync_runs_reaches_the_server_without_a_resume_or_a_message() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    client.ensure_session().await.unwrap();
    client.resume().unwrap();
    assert!(eventually(|| client.connection_state() == chatflow_core::events::ConnectionState::Online).await);

    client.accept_consent(FLOW_BILLING_EXPLICIT, None).unwrap();
    client.set_communication_opt_in(FLOW_BILLING_EXPLICIT, true).unwrap();
    assert!(eventually(|| count(&client, "outbox") == 0).await, "the consent records wait in the outbox");
    let conv = open_conversation(&client, &server, FLOW_BILLING_EXPLICIT).await;
    put_message(&client, &server, &conv, "hi").await.expect("the server has the accepted consent");
}
