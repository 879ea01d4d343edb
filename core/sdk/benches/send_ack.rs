//! Send latency: `send()` → server ack → confirmed message committed in the local store (seen as the
//! `MessagesChanged` event, emitted after the commit), p50/p99, against two floors measured in the same run:
//!
//! - **echo**: a bare tokio-tungstenite client and echo server on loopback (a frame of the same size there and back);
//! - **server**: a bare tokio-tungstenite client sending the same `send` frame to the same real chatflow-server and
//!   waiting for its `ack` (the server's own work — validation, SQLite commit — without the SDK).
//!
//! The SDK adds: the local echo commit (WAL, synchronous = NORMAL: no fsync) before the frame leaves, the queue
//! bookkeeping, the confirmation commit after the ack, and event fan-out.
//!
//! Also printed: how long `send()` itself takes to return (the local echo committed), part of the SDK series.
//!
//! `cargo bench -p chatflow-core --bench send_ack`; `SEND_BENCH_N` (default 1000) samples per series.
//! Not a test: nothing asserts a time.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use chatflow_core::events::{ChatEvent, ConnectionState, EventListener};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as Ws;

struct Confirmations(Mutex<mpsc::Sender<String>>);

impl EventListener for Confirmations {
    fn on_event(&self, event: ChatEvent) {
        if let ChatEvent::MessagesChanged { messages, .. } = event {
            for m in messages {
                if let (Some(_), Some(cid)) = (m.seq, m.client_message_id) {
                    let _ = self.0.lock().unwrap().send(cid);
                }
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let (p50, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
    println!("  {name:<28} p50 {:>8.1} µs   p99 {:>8.1} µs", p50.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6);
    (p50, p99)
}

async fn echo_floor(n: usize, frame_len: usize) -> Vec<Duration> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_text() && ws.send(msg).await.is_err() {
                break;
            }
        }
    });
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(format!("ws://{addr}"), None, true).await.unwrap();
    let payload = "x".repeat(frame_len);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        ws.send(Ws::text(payload.clone())).await.unwrap();
        let _ = ws.next().await.unwrap().unwrap();
        out.push(t.elapsed());
    }
    out
}

async fn server_floor(url: &str, token: &str, conversation_id: &str, n: usize) -> Vec<Duration> {
    let ws_url = format!("{}/v1/realtime", url.replace("http://", "ws://"));
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    req.headers_mut().insert(chatflow_core::protocol::APP_ID_HEADER, support::APP.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true).await.unwrap();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let cid = uuid::Uuid::now_v7().to_string();
        let frame = serde_json::json!({
            "type": "send", "conversation_id": conversation_id, "client_message_id": cid,
            "body": format!("bench message {i}"),
        });
        let t = Instant::now();
        ws.send(Ws::text(frame.to_string())).await.unwrap();
        loop {
            let msg = ws.next().await.unwrap().unwrap();
            if let Ws::Text(text) = msg {
                let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                if v["type"] == "ack" && v["client_message_id"] == cid.as_str() {
                    break;
                }
                assert_ne!(v["type"], "nack", "the server refused a benchmark send: {v}");
            }
        }
        out.push(t.elapsed());
    }
    out
}

fn main() {
    let n: usize = std::env::var("SEND_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let warmup = 50;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // The abuse limits (docs/decisions.md #15) would pace a thousand sends on one socket: lifted for the benchmark.
    let server = support::TestServer::start_with(&[
        "--limit-sends-per-visitor",
        "100000/1s",
        "--limit-sends-per-app",
        "100000/1s",
        "--limit-ws-frames-per-socket",
        "100000/1s",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let client = support::open(&server, dir.path());
    let conv = rt.block_on(client.open_conversation(support::FLOW_SUPPORT_EN)).unwrap();
    let token = support::visitor_token(&client);
    client.pause();

    // A `send` frame of this conversation is about this long.
    let frame_len = serde_json::json!({
        "type": "send", "conversation_id": conv.id, "client_message_id": uuid::Uuid::now_v7().to_string(),
        "body": "bench message 1000",
    })
    .to_string()
    .len();
    let echo = rt.block_on(echo_floor(n + warmup, frame_len)).split_off(warmup);
    let bare = rt.block_on(server_floor(&server.url, &token, &conv.id, n + warmup)).split_off(warmup);

    let (tx, rx) = mpsc::channel();
    let _sub = client.subscribe(Arc::new(Confirmations(Mutex::new(tx)))).unwrap();
    client.resume().unwrap();
    for _ in 0..3000 {
        if client.connection_state() == ConnectionState::Online {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(client.connection_state(), ConnectionState::Online, "the client did not connect");
    let mut sdk = Vec::with_capacity(n);
    let mut returned = Vec::with_capacity(n);
    for i in 0..(n + warmup) {
        let t = Instant::now();
        let echo = client.send(&conv.id, &format!("bench message {i}")).unwrap();
        if i >= warmup {
            returned.push(t.elapsed());
        }
        let cid = echo.client_message_id.unwrap();
        loop {
            let got = rx.recv_timeout(Duration::from_secs(30)).expect("no confirmation within 30 s");
            if got == cid {
                break;
            }
        }
        if i >= warmup {
            sdk.push(t.elapsed());
        }
    }

    println!("send_ack: {n} sequential sends (after {warmup} warm-up), loopback, frame ≈ {frame_len} bytes");
    let (e50, e99) = report("floor: bare ws echo", echo);
    let (b50, b99) = report("floor: bare ws → server ack", bare);
    let (s50, s99) = report("sdk: send → ack → committed", sdk);
    report("  of which send() returned", returned);
    let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("  ratio vs echo floor:   p50 {:.2}x  p99 {:.2}x", r(s50, e50), r(s99, e99));
    println!("  ratio vs server floor: p50 {:.2}x  p99 {:.2}x", r(s50, b50), r(s99, b99));
}
