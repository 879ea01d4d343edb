//! End to end: an expired identity token is replaced through the app's provider, and queued work waits instead of
//! being dropped.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chatflow_core::consent::ProcessDataStatus;
use chatflow_core::protocol::ErrorCode;
use chatflow_core::session::{IdentityTokenProvider, TokenProviderError};
use chatflow_core::Error;
use support::*;

/// The app's backend: signs a fresh token for the user it is asked about and counts the calls.
struct Backend {
    calls: AtomicUsize,
    refuse: bool,
}

impl IdentityTokenProvider for Backend {
    fn fresh_identity_token(&self, user_id: String) -> Result<String, TokenProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.refuse {
            return Err(TokenProviderError { message: "the user signed out of the app".into() });
        }
        Ok(identity_token(&user_id, None, 600))
    }
}

fn backend(refuse: bool) -> Arc<Backend> {
    Arc::new(Backend { calls: AtomicUsize::new(0), refuse })
}

/// Expired well beyond the server's 30 s clock leeway.
const EXPIRED: i64 = -120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_replaced_by_the_provider() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    let provider = backend(false);
    client.set_identity_token_provider(Some(provider.clone())).unwrap();

    let out = client.identify(identity_token("frank", None, EXPIRED), None).await.unwrap();
    assert!(!out.pending);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    assert_eq!(client.session_info().unwrap().user_id.as_deref(), Some("frank"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_usable_provider_the_expiry_is_reported_and_nothing_half_done_remains() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    let err = client.identify(identity_token("gina", None, EXPIRED), None).await.unwrap_err();
    assert!(matches!(&err, Error::Server { code: ErrorCode::IdentityTokenExpired, .. }), "{err:?}");
    assert!(err.to_string().contains("set_identity_token_provider"), "{err}");

    let provider = backend(true);
    client.set_identity_token_provider(Some(provider.clone())).unwrap();
    let err = client.identify(identity_token("gina", None, EXPIRED), None).await.unwrap_err();
    assert!(err.to_string().contains("signed out of the app"), "{err}");
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    let info = client.session_info().unwrap();
    assert!(!info.identify_pending && info.user_id.is_none(), "{info:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_consent_waits_for_a_fresh_token_and_is_delivered() {
    let mut server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    client.ensure_session().await.unwrap();
    let provider = backend(false);
    client.set_identity_token_provider(Some(provider.clone())).unwrap();

    // Offline: the visitor accepts consent (queued) and the app identifies with a token that is stale by the time
    // the network is back.
    server.stop();
    let state = client.accept_consent(FLOW_BILLING_EXPLICIT, None).unwrap();
    assert_eq!(state.process_data.status, ProcessDataStatus::Accepted);
    let out = client.identify(identity_token("hana", None, EXPIRED), None).await.unwrap();
    assert!(out.pending);
    assert_eq!(count(&client, "outbox"), 1);

    // A restart of the app while offline loses nothing.
    drop(client);
    let client = open(&server, dir.path());
    client.set_identity_token_provider(Some(provider.clone())).unwrap();
    assert_eq!(count(&client, "outbox"), 1);
    assert!(client.session_info().unwrap().identify_pending);

    server.restart();
    let info = client.ensure_session().await.unwrap();
    assert_eq!(info.user_id.as_deref(), Some("hana"));
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1, "the expired token was replaced once");
    assert_eq!(count(&client, "outbox"), 1, "the queued consent record is still there");

    // Delivered with the new session, the server now lets the user write on the explicit-consent chatflow.
    // (The send queue delivers it in the app; the helper does the same PUT so this test needs only the session.)
    deliver_consents(&client, &server).await;
    assert_eq!(count(&client, "outbox"), 0);
    let conv = open_conversation(&client, &server, FLOW_BILLING_EXPLICIT).await;
    put_message(&client, &server, &conv, "hello").await.expect("consent reached the server");
}
