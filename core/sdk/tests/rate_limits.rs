//! The send queue against the real server's rate limits (`--limit-sends-per-visitor` and
//! `--limit-uploads-per-visitor`, set low): a `rate_limited` refusal — a `nack` over the realtime socket, a 429 over
//! REST, a 429 to a file's declaration — keeps the message queued, the next try waits at least the server's
//! `retry_after_secs` / `Retry-After`, nothing is ever wedged, and every message is delivered exactly once, in order.

mod support;
mod sync_common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatflow_core::attachments::FileSource;
use chatflow_core::client::ChatClient;
use chatflow_core::model::MessageState;
use support::{TestServer, FLOW_SUPPORT_EN};
use sync_common::*;

/// Two at once, then one every 2 s: every refusal's `Retry-After` is 1 or 2 s.
const LIMIT: &[&str] = &["--limit-sends-per-visitor", "2/4s"];
const MESSAGES: usize = 6;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `(client_id, state, attempts, next_attempt_at)` of every outbox entry.
fn outbox(client: &ChatClient) -> Vec<(String, String, i64, i64)> {
    client
        .store()
        .read(|c| {
            let mut s = c.prepare("SELECT client_id, state, attempts, next_attempt_at FROM outbox ORDER BY id")?;
            let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap()
}

/// Queues a text message.
fn text(client: &ChatClient, conversation_id: &str, body: &str) {
    client.send(conversation_id, body).unwrap();
}

/// Queues a message with one small PDF, captioned `body`.
fn file(client: &ChatClient, conversation_id: &str, body: &str) {
    let bytes = format!("%PDF-1.4\n% {body}\n").into_bytes();
    client.send_attachment(conversation_id, FileSource::Bytes(bytes), "note.pdf", None, Some(body.into())).unwrap();
}

/// Queues `MESSAGES` at once with `queue` and watches the outbox until it is empty. Returns how many refused attempts
/// it saw.
async fn send_through_the_limit(
    server: &TestServer,
    client: &ChatClient,
    conversation_id: &str,
    queue: fn(&ChatClient, &str, &str),
) -> i64 {
    let bodies: Vec<String> = (0..MESSAGES).map(|i| format!("limited {i}")).collect();
    for body in &bodies {
        queue(client, conversation_id, body);
    }
    let mut seen: std::collections::HashMap<String, i64> = Default::default();
    let mut refusals = 0;
    let mut previous_poll = now_ms();
    let deadline = now_ms() + 60_000;
    loop {
        let rows = outbox(client);
        for (id, state, attempts, next_attempt_at) in &rows {
            assert_eq!(state, "queued", "a rate-limited message is never wedged: {id}");
            let before = seen.insert(id.clone(), *attempts).unwrap_or(0);
            if *attempts > before {
                refusals += attempts - before;
                // The refusal was recorded after the previous poll: the retry is at least 1 s (the smallest
                // `Retry-After`) after that. The send queue's own first backoff would be at most 0.5 s.
                assert!(
                    *next_attempt_at >= previous_poll + 1_000,
                    "retry of {id} scheduled {} ms after the refusal, before the server's Retry-After",
                    next_attempt_at - previous_poll
                );
            }
        }
        for m in client.pending_sends().unwrap() {
            assert!(!matches!(m.state, MessageState::Wedged { .. }), "{m:?}");
        }
        if rows.is_empty() {
            break;
        }
        assert!(now_ms() < deadline, "still queued after 60 s: {rows:?}");
        previous_poll = now_ms();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let on_server = server_messages(&server.http(), &support::visitor_token(client), conversation_id).await;
    let got: Vec<&str> = visitor_only(&on_server).iter().map(|m| m.body.as_str()).collect();
    assert_eq!(got, bodies.iter().map(String::as_str).collect::<Vec<_>>(), "each once, in order");
    let local = stored_confirmed(client, conversation_id);
    assert_eq!(local.iter().filter(|m| m.body.starts_with("limited ")).count(), MESSAGES);
    refusals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_sends_over_the_socket_wait_and_are_delivered_once() {
    let server = TestServer::start_with(LIMIT);
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    let refusals = send_through_the_limit(&server, &client, &conv.id, text).await;
    // 6 messages at 2 + 1 every 2 s: the limit refused some attempts (else this test proves nothing), and the waits
    // kept the refusals few (retrying on the queue's own backoff would have hit the limit more often).
    assert!(refusals >= 1, "the server's limit never refused a send");
    assert!(refusals <= 2 * MESSAGES as i64, "{refusals} refused attempts for {MESSAGES} messages");
}

/// A loopback proxy that refuses WebSocket upgrades (403) and pipes everything else: the SDK stays offline on the
/// socket and sends over REST, as behind a proxy that refuses upgrades.
async fn no_upgrades_proxy(upstream: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                // The first request's head decides: an upgrade is refused, anything else is piped as it is.
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if String::from_utf8_lossy(&head).to_ascii_lowercase().contains("upgrade: websocket") {
                    let _ = client
                        .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                if server.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_sends_over_rest_wait_and_are_delivered_once() {
    let server = TestServer::start_with(LIMIT);
    let proxy = no_upgrades_proxy(server.url.trim_start_matches("http://").to_owned()).await;
    let dir = support::storage();
    let client = ChatClient::open(support::config_for(&proxy), dir.path()).expect("open client");
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let refusals = send_through_the_limit(&server, &client, &conv.id, text).await;
    assert!(refusals >= 1, "the server's limit never refused a send");
    assert!(refusals <= 2 * MESSAGES as i64, "{refusals} refused attempts for {MESSAGES} messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_file_declarations_wait_and_their_messages_are_delivered_once() {
    // Two declarations at once, then one every 2 s (sends are not limited here: only the files are).
    let server = TestServer::start_with(&["--limit-uploads-per-visitor", "2/4s"]);
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    let refusals = send_through_the_limit(&server, &client, &conv.id, file).await;
    assert!(refusals >= 1, "the server's limit never refused a declaration");
    assert!(refusals <= 2 * MESSAGES as i64, "{refusals} refused attempts for {MESSAGES} messages");
    let local = stored_confirmed(&client, &conv.id);
    assert!(local.iter().filter(|m| m.body.starts_with("limited ")).all(|m| m.attachments.len() == 1));
}
