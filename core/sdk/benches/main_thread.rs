//! Main-thread stalls during a catch-up: how long each synchronous `ChatClient` call (the ones the Kotlin and Swift
//! facades make on the UI thread) takes while the SDK writes a long history into the store, against the same calls
//! with no catch-up running.
//!
//! Scenario: a visitor whose conversation holds `MAIN_THREAD_BENCH_MESSAGES` (default 20,000) team messages the device
//! has not seen (posted through the agent API). Each round opens the visitor's store as it was before those messages
//! (a copy of a template), with the chat screen open (a conversation observer, the list observer and an event
//! subscription), and calls `resume()`: the SDK connects and catches up (`after_seq` pages of 500, each written in
//! a few short transactions: docs/decisions.md #18). Meanwhile this thread — the "main thread" — calls every synchronous method in turn with 1 ms
//! between calls, timing each: `send`, `messages_on_device`, `conversations`, `unread_counts`, `mark_read`,
//! `pending_sends`, `set_typing`, `observe_conversation` and `observe_conversations` (set up, then dropped),
//! `resolve`. When the catch-up is done and the client is online and idle, the same loop runs for as many cycles
//! again: the floor.
//!
//! Prints per method p50 / p99 / max during the catch-up and at the floor, and their ratios; a call over the budget
//! (p99 > 4 ms or max > 16 ms, one frame at 60 Hz) is flagged. On Linux a second table leaves out the time the main
//! thread waited for a free core (`/proc/thread-self/schedstat`): on a 2-core machine that also runs the server, the
//! catch-up's CPU work delays every thread, lock or no lock; what remains is the call's own work and its waits.
//!
//! `cargo bench -p chatflow-core --bench main_thread`; `MAIN_THREAD_BENCH_ROUNDS` (default 5, after one warm-up
//! round), `MAIN_THREAD_BENCH_MESSAGES`. `CHATFLOW_SERVER_BIN` picks the server binary (else the harness builds the
//! debug one; the figures in docs/decisions.md #18 used `target/debug/chatflow-server`).
//! Not a test: nothing asserts a time.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatflow_core::client::ChatClient;
use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::protocol::MessagePage;
use chatflow_core::state::{ConversationListUpdate, ConversationUpdate};
use chatflow_core::transport::{Fetched, HttpClient};

/// The synchronous calls, in the order one cycle makes them.
const METHODS: [&str; 10] = [
    "send",
    "messages_on_device(50)",
    "conversations",
    "unread_counts",
    "mark_read",
    "pending_sends",
    "set_typing",
    "observe_conversation",
    "observe_conversations",
    "resolve",
];

/// What a UI thread does between two calls (layout, drawing): the loop must not hog a core the SDK needs.
const GAP: Duration = Duration::from_millis(1);
/// Messages a chat screen shows at first.
const SCREEN_PAGE: i32 = 50;
/// Floor cycles at least, however fast the catch-up was.
const MIN_FLOOR_CYCLES: usize = 50;
/// The budget: a call above it makes the UI miss frames.
const BUDGET_P99: Duration = Duration::from_millis(4);
const BUDGET_MAX: Duration = Duration::from_millis(16);

/// How long the calling thread has waited, runnable, for a free core (Linux `schedstat` `run_delay`). On the 2-core
/// dev machine the server and the SDK's workers keep the cores busy during a catch-up: that wait is the machine's,
/// not a lock's.
struct RunQueue(Option<std::fs::File>);

impl RunQueue {
    /// For the calling thread (the file stays bound to it).
    fn of_this_thread() -> RunQueue {
        RunQueue(std::fs::File::open("/proc/thread-self/schedstat").ok())
    }

    fn waited(&mut self) -> Option<Duration> {
        use std::io::{Read, Seek};
        let file = self.0.as_mut()?;
        file.seek(std::io::SeekFrom::Start(0)).ok()?;
        let mut line = String::new();
        file.read_to_string(&mut line).ok()?;
        line.split_whitespace().nth(1)?.parse().ok().map(Duration::from_nanos)
    }
}

/// Times of every call, per method: wall, and wall minus the wait for a core (the call's own work plus any time it
/// was blocked: on a lock, on I/O).
struct Samples {
    wall: Vec<Vec<Duration>>,
    on_core_or_blocked: Vec<Vec<Duration>>,
    run_queue: RunQueue,
}

impl Samples {
    fn new() -> Samples {
        Samples {
            wall: vec![Vec::new(); METHODS.len()],
            on_core_or_blocked: vec![Vec::new(); METHODS.len()],
            run_queue: RunQueue::of_this_thread(),
        }
    }

    fn timed<T>(&mut self, method: usize, call: impl FnOnce() -> T) -> T {
        let queued_before = self.run_queue.waited();
        let t = Instant::now();
        let out = call();
        let wall = t.elapsed();
        self.wall[method].push(wall);
        if let (Some(before), Some(after)) = (queued_before, self.run_queue.waited()) {
            self.on_core_or_blocked[method].push(wall.saturating_sub(after.saturating_sub(before)));
        }
        std::thread::sleep(GAP);
        out
    }

    fn extend(&mut self, other: Samples) {
        for (all, round) in self.wall.iter_mut().zip(other.wall) {
            all.extend(round);
        }
        for (all, round) in self.on_core_or_blocked.iter_mut().zip(other.on_core_or_blocked) {
            all.extend(round);
        }
    }
}

/// One turn of the main thread: every synchronous call once.
fn cycle(client: &ChatClient, conversation_id: &str, n: usize, samples: &mut Samples) {
    let id = conversation_id;
    samples.timed(0, || client.send(id, &format!("main thread message {n}")).unwrap());
    samples.timed(1, || client.messages_on_device(id, None, SCREEN_PAGE).unwrap());
    samples.timed(2, || client.conversations().unwrap());
    samples.timed(3, || client.unread_counts().unwrap());
    samples.timed(4, || client.mark_read(id, None).unwrap());
    samples.timed(5, || client.pending_sends().unwrap());
    samples.timed(6, || client.set_typing(id, n.is_multiple_of(2)).unwrap());
    // Set up, then dropped (which stops it) outside the timed call.
    let observer = samples
        .timed(7, || client.observe_conversation(id, SCREEN_PAGE, Arc::new(|_: ConversationUpdate| {})).unwrap());
    drop(observer);
    let list = samples.timed(8, || client.observe_conversations(Arc::new(|_: ConversationListUpdate| {})).unwrap());
    drop(list);
    samples.timed(9, || client.resolve(None, vec!["en".into()]).unwrap());
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// What one round measured.
struct Round {
    catch_up: Samples,
    floor: Samples,
    catch_up_time: Duration,
    cycles: usize,
}

fn round(rt: &tokio::runtime::Runtime, server: &support::TestServer, template: &Path, conv: &str, last: u64) -> Round {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(template, dir.path());
    let client = support::open(server, dir.path());
    client.pause();
    // Build the HTTP client (TLS roots) before timing: one cheap request.
    rt.block_on(client.refresh_conversations()).unwrap();
    let caught_up = Arc::new(AtomicBool::new(false));
    let flag = caught_up.clone();
    let conv_owned = conv.to_owned();
    let _events = client
        .subscribe(Arc::new(move |e: ChatEvent| {
            if let ChatEvent::CaughtUp { conversation_id, synced_seq, .. } = e {
                if conversation_id == conv_owned && synced_seq >= last as i64 {
                    flag.store(true, Ordering::SeqCst);
                }
            }
        }))
        .unwrap();
    // The chat screen is open while the history arrives.
    let _screen = client.observe_conversation(conv, SCREEN_PAGE, Arc::new(|_: ConversationUpdate| {})).unwrap();
    let _list = client.observe_conversations(Arc::new(|_: ConversationListUpdate| {})).unwrap();

    let mut catch_up = Samples::new();
    let started = Instant::now();
    client.resume().unwrap();
    let mut cycles = 0;
    while !caught_up.load(Ordering::SeqCst) {
        assert!(started.elapsed() < Duration::from_secs(600), "the catch-up did not finish");
        cycle(&client, conv, cycles, &mut catch_up);
        cycles += 1;
    }
    let catch_up_time = started.elapsed();

    // The floor: online, the catch-up and what the loop queued behind it settled.
    let settle = Instant::now();
    while client.connection_state() != ConnectionState::Online || !client.pending_sends().unwrap().is_empty() {
        assert!(settle.elapsed() < Duration::from_secs(120), "the client did not settle");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut floor = Samples::new();
    for n in 0..cycles.max(MIN_FLOOR_CYCLES) {
        cycle(&client, conv, cycles + n, &mut floor);
    }
    client.pause();
    Round { catch_up, floor, catch_up_time, cycles }
}

/// Posts `n` team messages of everyday lengths to the conversation, 50 in flight.
async fn post_history(http: &HttpClient, conversation_id: &str, n: usize) {
    const WORDS: &[&str] = &["your", "order", "was", "shipped", "today", "and", "should", "arrive", "within", "days"];
    for chunk in 0..n.div_ceil(50) {
        let posts = (chunk * 50..((chunk + 1) * 50).min(n)).map(|i| {
            let http = http.clone();
            let path = format!("/v1/agent/conversations/{conversation_id}/messages");
            // 4 to 40 words: 20 to 250 characters.
            let body: Vec<&str> = (0..4 + (i * 7) % 37).map(|w| WORDS[(i + w) % WORDS.len()]).collect();
            async move {
                let body = serde_json::json!({ "body": format!("{i}: {}", body.join(" ")) });
                let _: serde_json::Value = http.post(&path, Some(support::AGENT), Some(&body)).await.unwrap();
            }
        });
        futures_util::future::join_all(posts).await;
    }
}

async fn last_seq(http: &HttpClient, token: &str, conversation_id: &str) -> u64 {
    let path = format!("/v1/conversations/{conversation_id}/messages?limit=1");
    match http.get::<MessagePage>(&path, Some(token), None).await.unwrap() {
        Fetched::Fresh { body, .. } => body.last_seq,
        Fetched::NotModified => unreachable!("a plain GET"),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50, p99, max.
fn stats(samples: &[Duration]) -> [Duration; 3] {
    let mut v = samples.to_vec();
    v.sort();
    [percentile(&v, 0.5), percentile(&v, 0.99), v[v.len() - 1]]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A table of p50 / p99 / max per method, during the catch-up and at the floor.
fn report(catch_up: &[Vec<Duration>], floor: &[Vec<Duration>]) {
    println!(
        "  {:<24} {:>6} | {:>25} | {:>25} | {:>19}",
        "method (ms)", "calls", "catch-up p50  p99   max", "floor p50  p99   max", "ratio p50 p99 max"
    );
    let mut over = Vec::new();
    for (i, name) in METHODS.iter().enumerate() {
        let (c, f) = (stats(&catch_up[i]), stats(&floor[i]));
        let ratio = |k: usize| c[k].as_secs_f64() / f[k].as_secs_f64().max(1e-9);
        println!(
            "  {name:<24} {:>6} | {:>7.3} {:>8.3} {:>8.2} | {:>7.3} {:>8.3} {:>8.2} | {:>5.1} {:>5.1} {:>6.1}",
            catch_up[i].len(),
            ms(c[0]),
            ms(c[1]),
            ms(c[2]),
            ms(f[0]),
            ms(f[1]),
            ms(f[2]),
            ratio(0),
            ratio(1),
            ratio(2),
        );
        if c[1] > BUDGET_P99 || c[2] > BUDGET_MAX {
            over.push(*name);
        }
    }
    if over.is_empty() {
        println!("  every call within budget during the catch-up (p99 ≤ 4 ms, max ≤ 16 ms)");
    } else {
        println!("  OVER BUDGET during the catch-up (p99 > 4 ms or max > 16 ms): {}", over.join(", "));
    }
}

fn main() {
    let rounds: usize = std::env::var("MAIN_THREAD_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let messages: usize =
        std::env::var("MAIN_THREAD_BENCH_MESSAGES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // The loop sends, marks read and types far faster than a person: the abuse limits (docs/decisions.md #15) lifted.
    let server = support::TestServer::start_with(&[
        "--limit-sends-per-visitor",
        "100000/1s",
        "--limit-sends-per-app",
        "100000/1s",
        "--limit-ws-frames-per-socket",
        "100000/1s",
        "--limit-reads-per-visitor",
        "100000/1s",
        "--limit-typing-per-visitor",
        "100000/1s",
        "--limit-agent-writes-per-agent",
        "1000000/1s",
    ]);
    let template = tempfile::tempdir().unwrap();
    let (conversation_id, token) = {
        let client = support::open(&server, template.path());
        rt.block_on(client.refresh_chatflows()).unwrap();
        let conv = rt.block_on(client.open_conversation(support::FLOW_SUPPORT_EN)).unwrap();
        client.pause();
        (conv.id, support::visitor_token(&client))
    };
    let http = server.http();
    let seeding = Instant::now();
    rt.block_on(post_history(&http, &conversation_id, messages));
    let last = rt.block_on(last_seq(&http, &token, &conversation_id));
    println!(
        "main_thread: {messages} team messages missed (last seq {last}, posted in {:.1} s); server {}",
        seeding.elapsed().as_secs_f64(),
        chatflow_test_server::server_bin().display()
    );

    round(&rt, &server, template.path(), &conversation_id, last);
    let (mut catch_up, mut floor) = (Samples::new(), Samples::new());
    for r in 0..rounds {
        let measured = round(&rt, &server, template.path(), &conversation_id, last);
        println!(
            "  round {}: catch-up {:.0} ms, {} cycles during it",
            r + 1,
            ms(measured.catch_up_time),
            measured.cycles
        );
        catch_up.extend(measured.catch_up);
        floor.extend(measured.floor);
    }
    println!("main thread calls during a catch-up of {last} messages vs idle, {rounds} rounds, 1 ms between calls:");
    report(&catch_up.wall, &floor.wall);
    if catch_up.on_core_or_blocked.iter().all(|v| !v.is_empty()) {
        println!("the same calls minus the time the main thread waited for a free core (schedstat run_delay):");
        report(&catch_up.on_core_or_blocked, &floor.on_core_or_blocked);
    }
}
