//! Flood isolation: one visitor sending over its realtime socket as fast as it can does not raise another visitor's
//! send→ack p99 by more than 2× on the same server.
//!
//! The quiet visitor sends one message at a time (the next 25 ms after the ack) and times send→ack. Its
//! figure without the flood is measured in the same test, on the same server and socket, in rounds that alternate
//! with the flooded rounds, so that the machine's own load (other tests, builds) weighs on both sides alike. The
//! limits are set so that the quiet visitor (about 35 sends a second) stays under them and the flooder is throttled:
//! 60 sends per second per visitor, 120 frames per second per socket (the flooder offers thousands).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatflow_protocol::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

const ROUNDS: usize = 4;
const SAMPLES_PER_ROUND: usize = 150;
const PACE: Duration = Duration::from_millis(25);

/// What the flooder's socket saw.
#[derive(Default)]
struct FloodCounts {
    offered: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
}

/// Floods `conversation` with `send` frames as fast as the socket takes them (reading every answer) until `stop`;
/// returns how long it flooded.
async fn flood(
    ws_url: &str,
    token: &str,
    conversation: String,
    stop: Arc<AtomicBool>,
    counts: Arc<FloodCounts>,
) -> Duration {
    let started = Instant::now();
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("flooder connects");
    let (mut sink, mut stream) = ws.split();
    let reader_counts = Arc::clone(&counts);
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            if let WsMessage::Text(text) = msg {
                // Counting by prefix keeps the flooder's own CPU low: it shares the machine with the server.
                if text.as_str().starts_with("{\"type\":\"ack\"") {
                    reader_counts.acked.fetch_add(1, Ordering::Relaxed);
                } else if text.as_str().starts_with("{\"type\":\"nack\"") {
                    reader_counts.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    let writer = tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            n += 1;
            let frame = format!(
                "{{\"type\":\"send\",\"conversation_id\":\"{conversation}\",\"client_message_id\":\"flood-{n}\",\"body\":\"spam {n}\"}}"
            );
            if sink.send(WsMessage::text(frame)).await.is_err() {
                break;
            }
            counts.offered.fetch_add(1, Ordering::Relaxed);
        }
    });
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // No closing handshake: it would wait behind every frame still queued for the server, and so would a pending
    // send. Dropping the socket with answers unread resets it, and the server stops at once.
    writer.abort();
    reader.abort();
    let _ = (writer.await, reader.await);
    started.elapsed()
}

/// Sends `n` messages one at a time and returns each send→ack time.
async fn quiet_round(ws: &mut Ws, conversation: &str, round: usize, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("quiet-{round}-{i}");
        let started = Instant::now();
        ws.send(&ClientFrame::Send {
            conversation_id: conversation.into(),
            client_message_id: id.clone(),
            body: format!("quiet {i}"),
            quick_reply_id: None,
            survey_answer: None,
            attachments: vec![],
        })
        .await;
        loop {
            match ws.recv().await {
                ServerFrame::Ack { client_message_id, .. } if client_message_id == id => break,
                ServerFrame::Nack { error, .. } => panic!("the quiet visitor was refused: {error:?}"),
                _ => continue,
            }
        }
        times.push(started.elapsed());
        tokio::time::sleep(PACE).await;
    }
    times
}

fn p99(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[(times.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_visitor_does_not_slow_another_visitors_sends() {
    // The app's budget is out of the way: the isolation measured here is between two visitors of one app.
    let server = TestServer::start_with(&[
        "--limit-sends-per-visitor",
        "60/1s",
        "--limit-ws-frames-per-socket",
        "120/1s",
        "--limit-sends-per-app",
        "100000/1s",
    ]);
    let api = server.api();
    let (_, quiet_token) = api.visitor(ACME).await;
    let quiet_conv = api.open(&quiet_token, FLOW_OVERFLOW).await;
    let (_, flood_token) = api.visitor(ACME).await;
    let flood_conv = api.open(&flood_token, FLOW_OVERFLOW).await;
    let mut ws = Ws::connect(&server, &quiet_token).await;
    assert!(matches!(ws.recv().await, ServerFrame::Hello { .. }));
    // Warm-up: the first sends pay for connections and caches on both sides.
    quiet_round(&mut ws, &quiet_conv, 99, 20).await;

    let (mut alone, mut flooded) = (Vec::new(), Vec::new());
    let counts = Arc::new(FloodCounts::default());
    let mut flood_time = Duration::ZERO;
    for round in 0..ROUNDS {
        alone.extend(quiet_round(&mut ws, &quiet_conv, 2 * round, SAMPLES_PER_ROUND).await);
        let stop = Arc::new(AtomicBool::new(false));
        let flooder = {
            let (stop, counts) = (Arc::clone(&stop), Arc::clone(&counts));
            let (url, token, conv) = (server.ws_url(), flood_token.clone(), flood_conv.clone());
            tokio::spawn(async move { flood(&url, &token, conv, stop, counts).await })
        };
        // Let the flood build up before measuring under it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        flooded.extend(quiet_round(&mut ws, &quiet_conv, 2 * round + 1, SAMPLES_PER_ROUND).await);
        stop.store(true, Ordering::Relaxed);
        flood_time += flooder.await.unwrap();
    }
    let (alone_p99, flooded_p99) = (p99(alone), p99(flooded));
    let ratio = flooded_p99.as_secs_f64() / alone_p99.as_secs_f64();
    let (offered, acked, refused) = (
        counts.offered.load(Ordering::Relaxed),
        counts.acked.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
    );
    println!(
        "flood: quiet p99 alone {alone_p99:?}, with the flood {flooded_p99:?}, ratio {ratio:.2}; flooder offered \
         {offered} frames in {flood_time:?}, {acked} acked, {refused} refused"
    );
    // The flooder was throttled: acks within its budget (a burst of 60 per round, the bucket refilling while the
    // quiet visitor is alone, then 60 a second), and it offered far more than that.
    let budget = (60 * ROUNDS) as f64 + 60.0 * flood_time.as_secs_f64() * 1.1;
    assert!((acked as f64) <= budget, "{acked} acks exceed the send budget {budget:.0}");
    assert!(
        refused > 0 && offered > 10 * acked,
        "the flooder offered far more than its budget: {offered} offered, {acked} acked"
    );
    assert!(ratio <= 2.0, "the flood raised the quiet visitor's p99 {ratio:.2}× ({alone_p99:?} → {flooded_p99:?})");
}
