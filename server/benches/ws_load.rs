//! WebSocket load tool: N visitors, each with its own conversation, send `send` frames at a fixed rate over the real
//! server (in-process, loopback, temp SQLite) and measure send→ack and send→delivery (`message` frame) latency and
//! sustained messages/s. The same N and rate then run against a bare tokio-tungstenite echo server (the floor), and
//! the tool prints both and their ratios. Not a test: nothing is asserted.
//!
//! `cargo bench -p chatflow-server --bench ws_load -- [--n 100,1000] [--secs 10] [--rate 2]`
//! (env: WS_LOAD_N, WS_LOAD_SECS, WS_LOAD_RATE; rate is messages per second per client). With
//! `WS_LOAD_POSTGRES=postgres://user@host:port` (a cluster, e.g. from `scripts/pg.sh start DIR`) each size also runs
//! on PostgreSQL, on a database created for the run and dropped after it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatflow_protocol::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

struct Opts {
    sizes: Vec<usize>,
    secs: u64,
    rate: f64,
}

fn opts() -> Opts {
    let mut o = Opts {
        sizes: std::env::var("WS_LOAD_N").ok().map(|v| parse_sizes(&v)).unwrap_or_else(|| vec![100, 1000]),
        secs: std::env::var("WS_LOAD_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(10),
        rate: std::env::var("WS_LOAD_RATE").ok().and_then(|v| v.parse().ok()).unwrap_or(2.0),
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--n" => o.sizes = parse_sizes(&value),
            "--secs" => o.secs = value.parse().unwrap_or(o.secs),
            "--rate" => o.rate = value.parse().unwrap_or(o.rate),
            _ => {
                i += 1; // cargo bench passes `--bench`; ignore what we do not know.
                continue;
            }
        }
        i += 2;
    }
    o
}

fn parse_sizes(v: &str) -> Vec<usize> {
    v.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

fn fd_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[derive(Default)]
struct Samples {
    ack: Vec<Duration>,
    delivery: Vec<Duration>,
    sent: usize,
    /// First send and last answer: answered / (last - first) is the sustained rate, drain included.
    first_send: Option<Instant>,
    last_answer: Option<Instant>,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.ack.extend(other.ack);
        self.delivery.extend(other.delivery);
        self.sent += other.sent;
        self.first_send = [self.first_send, other.first_send].into_iter().flatten().min();
        self.last_answer = [self.last_answer, other.last_answer].into_iter().flatten().max();
    }

    fn span_secs(&self) -> f64 {
        match (self.first_send, self.last_answer) {
            (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
            _ => f64::NAN,
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

struct Summary {
    p50: f64,
    p99: f64,
    max: f64,
    per_sec: f64,
    sent: usize,
    got: usize,
}

/// `secs`: from the first send to the last answer.
fn summarize(mut lat: Vec<Duration>, sent: usize, secs: f64) -> Summary {
    lat.sort_unstable();
    Summary {
        p50: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        max: pct(&lat, 1.0),
        per_sec: lat.len() as f64 / secs,
        sent,
        got: lat.len(),
    }
}

fn frame(conversation: &str, id: &str) -> String {
    let f = ClientFrame::Send {
        conversation_id: conversation.into(),
        client_message_id: id.into(),
        body: "The quick brown fox jumps over the lazy dog, again and again.".into(),
        quick_reply_id: None,
        survey_answer: None,
        attachments: Vec::new(),
    };
    serde_json::to_string(&f).unwrap_or_default()
}

/// One client: sends at `period` for `secs`, then drains for up to 5 s. `echo` mode measures the echoed frame.
/// What every client of one run does.
#[derive(Clone, Copy)]
struct Plan {
    clients: usize,
    period: Duration,
    secs: u64,
    echo: bool,
}

async fn client(
    url: String,
    token: Option<String>,
    conversation: String,
    me: usize,
    plan: Plan,
    ready: Arc<Barrier>,
) -> Samples {
    let Plan { clients: n, period, secs, echo } = plan;
    let mut req = url.into_client_request().expect("request");
    if let Some(t) = token {
        req.headers_mut().insert("authorization", format!("Bearer {t}").parse().expect("header"));
    }
    let connected = tokio_tungstenite::connect_async(req).await;
    // Everyone connects first: the measurement covers steady state, not the connection storm.
    ready.wait().await;
    let (ws, _) = match connected {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("client {me}: connect failed: {e}");
            return Samples::default();
        }
    };
    let (mut sink, mut stream) = ws.split();
    // Spread the clients over one period so they do not all fire together.
    let offset = period.mul_f64(me as f64 / n as f64);
    let start = tokio::time::Instant::now() + Duration::from_millis(200) + offset;
    let mut ticker = tokio::time::interval_at(start, period);
    let stop_sending = start + Duration::from_secs(secs);
    let mut pending: HashMap<String, Instant> = HashMap::new();
    let mut delivered_pending: HashMap<String, Instant> = HashMap::new();
    let mut s = Samples::default();
    let mut k = 0u64;
    let drain_deadline = stop_sending + Duration::from_secs(5);
    loop {
        let sending = tokio::time::Instant::now() < stop_sending;
        if !sending && pending.is_empty() && (echo || delivered_pending.is_empty()) {
            break;
        }
        tokio::select! {
            _ = ticker.tick(), if sending => {
                k += 1;
                let id = format!("c{me}-{k}");
                let text = frame(&conversation, &id);
                let now = Instant::now();
                s.first_send.get_or_insert(now);
                pending.insert(id.clone(), now);
                if !echo {
                    delivered_pending.insert(id, now);
                }
                s.sent += 1;
                if sink.send(WsMessage::text(text)).await.is_err() {
                    break;
                }
            }
            msg = stream.next() => {
                let Some(Ok(WsMessage::Text(t))) = msg else {
                    if matches!(msg, Some(Ok(_))) { continue; }
                    break;
                };
                if echo {
                    if let Ok(ClientFrame::Send { client_message_id, .. }) = serde_json::from_str::<ClientFrame>(t.as_str()) {
                        if let Some(at) = pending.remove(&client_message_id) {
                            s.ack.push(at.elapsed());
                            s.last_answer = Some(Instant::now());
                        }
                    }
                    continue;
                }
                match serde_json::from_str::<ServerFrame>(t.as_str()) {
                    Ok(ServerFrame::Ack { client_message_id, .. }) => {
                        if let Some(at) = pending.remove(&client_message_id) {
                            s.ack.push(at.elapsed());
                            s.last_answer = Some(Instant::now());
                        }
                    }
                    Ok(ServerFrame::Message { message }) => {
                        if let Some(at) = message.client_message_id.and_then(|id| delivered_pending.remove(&id)) {
                            s.delivery.push(at.elapsed());
                        }
                    }
                    Ok(ServerFrame::Nack { error, .. }) => {
                        // The first few only: a refused load would otherwise flood the output.
                        static SHOWN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                        if SHOWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 5 {
                            eprintln!("client {me}: nack {}", error.code);
                        }
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(drain_deadline) => break,
        }
    }
    let _ = sink.close().await;
    s
}

async fn run_clients(url: &str, sessions: Vec<(Option<String>, String)>, rate: f64, secs: u64, echo: bool) -> Samples {
    let plan = Plan { clients: sessions.len(), period: Duration::from_secs_f64(1.0 / rate), secs, echo };
    let ready = Arc::new(Barrier::new(sessions.len()));
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, (token, conv))| tokio::spawn(client(url.to_owned(), token, conv, i, plan, Arc::clone(&ready))))
        .collect();
    let mut all = Samples::default();
    for t in tasks {
        if let Ok(s) = t.await {
            all.merge(s);
        }
    }
    all
}

fn bench_seed(path: &std::path::Path) {
    let seed = json!({"apps": [{
        "id": "bench", "identity_secret": "bench-identity-secret-0000", "admin_token": "bench-admin-token-0000",
        "chatflows": [{"id": 1, "name": "Bench", "kind": "live_chat", "mobile_tags": ["bench"],
            "header": {"display_name": "Bench"}, "email_capture": {"mode": "never"}, "routing": {"mode": "unassigned"},
            "availability": {"mode": "always", "when_away": "away_message"}, "knowledge_base": {"enabled": false},
            "consent": {"process_data": {"mode": "off"}}}]
    }]});
    std::fs::write(path, seed.to_string()).expect("write seed");
}

/// Runs `statements` one by one on the cluster's `postgres` database, on a thread of its own (the synchronous client
/// may not run inside the bench's runtime; `CREATE` and `DROP DATABASE` may not share a transaction).
fn on_cluster(base: &str, statements: &'static [&'static str]) {
    let url = format!("{base}/postgres");
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect to WS_LOAD_POSTGRES");
        for sql in statements {
            admin.batch_execute(sql).expect("administer the bench database");
        }
    })
    .join()
    .expect("cluster call");
}

/// The server's database for one run: SQLite in `dir`, or a new PostgreSQL database on the cluster at `postgres`.
fn bench_database(dir: &std::path::Path, postgres: Option<&str>) -> chatflow_server::Database {
    match postgres {
        None => chatflow_server::Database::Sqlite(dir.join("bench.db")),
        Some(base) => {
            on_cluster(
                base,
                &["DROP DATABASE IF EXISTS chatflow_ws_load WITH (FORCE)", "CREATE DATABASE chatflow_ws_load"],
            );
            chatflow_server::Database::Postgres(format!("{base}/chatflow_ws_load"))
        }
    }
}

async fn server_run(n: usize, rate: f64, secs: u64, postgres: Option<&str>) -> (Summary, Summary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = dir.path().join("seed.json");
    bench_seed(&seed);
    let config = chatflow_server::Config {
        database: bench_database(dir.path(), postgres),
        bind: "127.0.0.1:0".into(),
        seed: Some(seed),
        settings: chatflow_server::Settings {
            blob_dir: Some(dir.path().join("files")),
            ws_queue_frames: 4096,
            // All N visitors are created from one address in a few seconds: the load, not the limits, is measured.
            limits: chatflow_server::limits::LimitSettings {
                visitor_creates_per_address: chatflow_server::limits::gcra::Rate::new(
                    1_000_000,
                    Duration::from_secs(1),
                ),
                visitor_creates_per_app: chatflow_server::limits::gcra::Rate::new(1_000_000, Duration::from_secs(1)),
                // N visitors of one app send together: the app's send budget would be the bottleneck; and each visitor
                // sends at the rate asked for, above the per-visitor and per-socket limits' steady rates.
                sends_per_app: chatflow_server::limits::gcra::Rate::new(1_000_000, Duration::from_secs(1)),
                sends_per_visitor: chatflow_server::limits::gcra::Rate::new(1_000_000, Duration::from_secs(1)),
                ws_frames_per_socket: chatflow_server::limits::gcra::Rate::new(1_000_000, Duration::from_secs(1)),
                ..Default::default()
            },
            ..Default::default()
        },
    };
    let server = chatflow_server::serve(config).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let setup = Instant::now();
    let sessions: Vec<(Option<String>, String)> = futures_util::stream::iter(0..n)
        .map(|_| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let v: serde_json::Value =
                    http.post(format!("{base}/v1/apps/bench/visitors")).send().await.ok()?.json().await.ok()?;
                let token = v["visitor_token"].as_str()?.to_owned();
                let c: serde_json::Value = http
                    .post(format!("{base}/v1/conversations"))
                    .bearer_auth(&token)
                    .json(&json!({"chatflow_id": 1}))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                Some((Some(token), c["id"].as_str()?.to_owned()))
            }
        })
        .buffer_unordered(32)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    eprintln!("  server: {} visitors + conversations set up in {:.1} s", sessions.len(), setup.elapsed().as_secs_f64());
    let url = format!("ws://{}/v1/realtime", server.local_addr());
    let samples = run_clients(&url, sessions, rate, secs, false).await;
    let _ = server.shutdown().await;
    if let Some(base) = postgres {
        on_cluster(base, &["DROP DATABASE IF EXISTS chatflow_ws_load WITH (FORCE)"]);
    }
    let (sent, span) = (samples.sent, samples.span_secs());
    (summarize(samples.ack, sent, span), summarize(samples.delivery, sent, span))
}

async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                let (mut sink, mut stream) = ws.split();
                while let Some(Ok(msg)) = stream.next().await {
                    if msg.is_text() && sink.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn echo_run(n: usize, rate: f64, secs: u64) -> Summary {
    let addr = echo_server().await;
    let sessions = (0..n).map(|i| (None, format!("conversation-{i}"))).collect();
    let samples = run_clients(&format!("ws://{addr}/"), sessions, rate, secs, true).await;
    let span = samples.span_secs();
    summarize(samples.ack, samples.sent, span)
}

fn line(name: &str, s: &Summary) {
    println!(
        "  {name:<22} p50 {:>8.3} ms   p99 {:>8.3} ms   max {:>8.1} ms   {:>8.0} msg/s   ({} of {} answered)",
        s.p50, s.p99, s.max, s.per_sec, s.got, s.sent
    );
}

fn main() {
    let o = opts();
    let postgres = std::env::var("WS_LOAD_POSTGRES").ok().filter(|v| !v.is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let fds = fd_limit();
    println!(
        "ws_load: {} s per run, {} msg/s per client, {} cores, open-file limit {}",
        o.secs,
        o.rate,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        fds.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
    );
    for &n in &o.sizes {
        // Each connection costs two descriptors here (client and server side in one process).
        if let Some(limit) = fds {
            if (n as u64) * 2 + 64 > limit {
                println!("N={n}: skipped, needs ~{} open files, limit is {limit} (raise `ulimit -n`)", n * 2 + 64);
                continue;
            }
        }
        println!("N={n} clients, offered {:.0} msg/s", n as f64 * o.rate);
        let (ack, delivery) = runtime.block_on(server_run(n, o.rate, o.secs, None));
        let on_postgres = postgres.as_deref().map(|base| runtime.block_on(server_run(n, o.rate, o.secs, Some(base))));
        let floor = runtime.block_on(echo_run(n, o.rate, o.secs));
        line("server send→ack", &ack);
        line("server send→delivery", &delivery);
        if let Some((pg_ack, pg_delivery)) = &on_postgres {
            line("postgres send→ack", pg_ack);
            line("postgres send→delivery", pg_delivery);
        }
        line("echo floor", &floor);
        let ratio = |name: &str, s: &Summary| {
            println!(
                "  ratio {name}/floor: p50 {:.1}x  p99 {:.1}x  throughput {:.2}",
                s.p50 / floor.p50,
                s.p99 / floor.p99,
                s.per_sec / floor.per_sec
            );
        };
        ratio("server", &ack);
        if let Some((pg_ack, _)) = &on_postgres {
            ratio("postgres", pg_ack);
        }
    }
}
