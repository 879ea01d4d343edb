//! Platform trust, extra roots and SPKI pins, end to end: the real server behind a TLS-terminating proxy whose
//! certificate is signed by a private CA made for each test. REST (`refresh_chatflows`, sends) and the realtime
//! socket go through TLS to the real server.
//!
//! `SSL_CERT_FILE` is set by one test for its own process (nextest runs each test in its own process); every test
//! makes its own CA, so a CA another test trusts never makes this one's trusted.

mod support;
mod sync_common;
#[path = "support/tls_front.rs"]
mod tls_front;

use chatflow_core::client::ChatClient;
use chatflow_core::config::Config;
use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::model::MessageState;
use chatflow_core::transport::{realtime, tls};
use chatflow_core::Error;
use support::{TestServer, FLOW_SUPPORT_EN};
use sync_common::*;
use tls_front::TlsFront;

fn config(front: &TlsFront, server: &TestServer) -> Config {
    Config { server_url: front.url.clone(), ..server.config() }
}

fn trusting(front: &TlsFront, server: &TestServer) -> Config {
    Config { extra_root_certificates: Some(front.ca_pem.clone()), ..config(front, server) }
}

/// The realtime upgrade alone, on the TLS configuration a client with `config` builds.
async fn realtime_connect(config: &Config) -> chatflow_core::Result<()> {
    let tls = tls::client_config(config)?;
    // A made-up token: the upgrade is refused with 401 *after* TLS, which proves TLS was accepted.
    match realtime::connect(&config.server_url, &config.app_id, "not-a-token", &tls).await {
        Ok(socket) => {
            socket.close().await;
            Ok(())
        }
        Err(Error::Server { status: 401, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

fn assert_untrusted(err: &Error, needles: &[&str]) {
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(!err.is_recoverable(), "a refused certificate is not retried: {err}");
    let text = err.to_string();
    for n in needles {
        assert!(text.contains(n), "`{text}` lacks `{n}`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_is_refused_with_a_precise_error_on_rest_and_realtime() {
    let server = TestServer::start();
    let front = TlsFront::start(server.port).await;
    let dir = support::storage();
    let client = ChatClient::open(config(&front, &server), dir.path()).unwrap();

    let err = client.refresh_chatflows().await.unwrap_err();
    assert_untrusted(&err, &["GET /v1/", "UnknownIssuer", "extra_root_certificates"]);
    let err = realtime_connect(&config(&front, &server)).await.unwrap_err();
    assert_untrusted(&err, &["realtime connect", "UnknownIssuer", "extra_root_certificates"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_in_the_platform_store_is_trusted() {
    let server = TestServer::start();
    let front = TlsFront::start(server.port).await;
    let dir = support::storage();
    // On Linux the platform store honours SSL_CERT_FILE (this test's process only).
    std::env::set_var("SSL_CERT_FILE", front.ca_file(dir.path()));
    let client = ChatClient::open(config(&front, &server), dir.path()).unwrap();

    client.refresh_chatflows().await.expect("REST over TLS to a CA the platform trusts");
    realtime_connect(&config(&front, &server)).await.expect("realtime over TLS to a CA the platform trusts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_root_is_trusted_for_rest_and_realtime_and_a_refusal_holds_queued_work() {
    let server = TestServer::start();
    let front = TlsFront::start(server.port).await;
    let dir = support::storage();

    // Trusted through `extra_root_certificates`: chat over TLS, realtime online, a message delivered.
    let client = ChatClient::open(trusting(&front, &server), dir.path()).unwrap();
    client.refresh_chatflows().await.expect("REST with the CA as an extra root");
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    let sent = client.send(&conv.id, "over TLS").unwrap();
    let cid = sent.client_message_id.clone().unwrap();
    wait_for("the message to be delivered", 30, || {
        stored_confirmed(&client, &conv.id).into_iter().find(|m| m.client_message_id.as_deref() == Some(&cid))
    })
    .await;
    drop(client);

    // The same device without the extra root: the socket gives up until resume(), a send stays queued untouched.
    let client = ChatClient::open(config(&front, &server), dir.path()).unwrap();
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    client.resume().unwrap();
    let connecting = |e: &ChatEvent| matches!(e, ChatEvent::ConnectionChanged { state: ConnectionState::Connecting });
    wait_for("a connection attempt", 30, || events.any(connecting).then_some(())).await;
    let state = wait_for("the attempt to end", 30, || {
        Some(client.connection_state()).filter(|s| *s != ConnectionState::Connecting)
    })
    .await;
    assert_eq!(state, ConnectionState::Offline, "a refused certificate is not retried on a timer");

    let held = client.send(&conv.id, "held").unwrap();
    let held_id = held.client_message_id.clone().unwrap();
    let requeued = |e: &ChatEvent| {
        matches!(e, ChatEvent::SendStateChanged { client_message_id, state: MessageState::Queued, .. }
            if *client_message_id == held_id)
    };
    wait_for("the refused send to be put back", 30, || events.any(requeued).then_some(())).await;
    let attempts: i64 = client
        .store()
        .read(|c| Ok(c.query_row("SELECT attempts FROM outbox WHERE client_id = ?1", [&held_id], |r| r.get(0))?))
        .unwrap();
    assert_eq!(attempts, 0, "held as it is, not counted as a failed attempt with a retry timer");
    assert_eq!(client.pending_sends().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_that_matches_is_accepted_and_one_that_does_not_is_refused() {
    let server = TestServer::start();
    let front = TlsFront::start(server.port).await;
    let served = tls::spki_sha256(&front.leaf).unwrap();
    let other = tls::spki_sha256(&TlsFront::start(server.port).await.leaf).unwrap();
    assert_ne!(served, other);

    let pinned = Config { pinned_spki_sha256: vec![other.clone(), served.clone()], ..trusting(&front, &server) };
    let dir = support::storage();
    let client = ChatClient::open(pinned.clone(), dir.path()).unwrap();
    client.refresh_chatflows().await.expect("REST with a matching pin");
    realtime_connect(&pinned).await.expect("realtime with a matching pin");

    let wrong = Config { pinned_spki_sha256: vec![other], ..trusting(&front, &server) };
    let dir = support::storage();
    let client = ChatClient::open(wrong.clone(), dir.path()).unwrap();
    let err = client.refresh_chatflows().await.unwrap_err();
    assert_untrusted(&err, &["pinned_spki_sha256", &served]);
    let err = realtime_connect(&wrong).await.unwrap_err();
    assert_untrusted(&err, &["realtime connect", "pinned_spki_sha256", &served]);
}
