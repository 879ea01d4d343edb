//! Catch-up of 10,000 messages into an empty store: the SDK (`resume()` on a client whose cursor is 0: connect,
//! conversation list, `after_seq` pages of 500, one transaction per page, events) until `CaughtUp`, vs the floor:
//! the same HTTP page fetches (reqwest, same pages, JSON parsed into the same `MessagePage`) plus bare rusqlite
//! batched inserts of the same rows into the same schema (one transaction per page, synchronous = NORMAL like the
//! SDK's store).
//!
//! `cargo bench -p chatflow-core --bench catch_up`; `CATCH_UP_BENCH_ROUNDS` (default 5). Prints the median of each
//! and the ratio. Not a test: nothing asserts a time.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use chatflow_core::events::{ChatEvent, EventListener};
use chatflow_core::protocol::MessagePage;
use chatflow_core::transport::Fetched;

const MESSAGES: usize = 10_000;

struct CaughtUp(Mutex<mpsc::Sender<i64>>);

impl EventListener for CaughtUp {
    fn on_event(&self, event: ChatEvent) {
        if let ChatEvent::CaughtUp { synced_seq, .. } = event {
            let _ = self.0.lock().unwrap().send(synced_seq);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn sdk_round(rt: &tokio::runtime::Runtime, server: &support::TestServer, template: &Path, last: u64) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(template, dir.path());
    let client = support::open(server, dir.path());
    client.pause();
    // Build the HTTP client (TLS roots) before timing, as the floor does: one cheap request (the list is tiny).
    rt.block_on(client.refresh_conversations()).unwrap();
    let (tx, rx) = mpsc::channel();
    let _sub = client.subscribe(Arc::new(CaughtUp(Mutex::new(tx)))).unwrap();
    let t = Instant::now();
    client.resume().unwrap();
    loop {
        let synced = rx.recv_timeout(Duration::from_secs(300)).expect("catch-up did not finish");
        if synced >= last as i64 {
            break;
        }
    }
    let d = t.elapsed();
    client.pause();
    d
}

async fn bare_round(server: &support::TestServer, token: &str, conversation_id: &str) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    drop(chatflow_core::store::Store::open(dir.path()).unwrap());
    let mut conn = rusqlite::Connection::open(dir.path().join(chatflow_core::store::DB_FILE_NAME)).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").unwrap();
    conn.execute(
        "INSERT INTO conversations (id, chatflow_id, status, created_at) VALUES (?1, 1, 'open', 0)",
        [conversation_id],
    )
    .unwrap();
    let http = server.http();
    let t = Instant::now();
    let mut after = 0u64;
    loop {
        let path = format!("/v1/conversations/{conversation_id}/messages?after_seq={after}&limit=500");
        let page: MessagePage = match http.get(&path, Some(token), None).await.unwrap() {
            Fetched::Fresh { body, .. } => body,
            Fetched::NotModified => unreachable!(),
        };
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO messages (conversation_id, seq, client_message_id, author_kind, author_id,
                         author_name, author_avatar, body, quick_replies, quick_reply_id, created_at, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10, 'sent')",
                )
                .unwrap();
            for m in &page.messages {
                stmt.execute(rusqlite::params![
                    m.conversation_id,
                    m.seq as i64,
                    m.client_message_id,
                    "agent",
                    m.author.id,
                    m.author.display_name,
                    m.author.avatar_url,
                    m.body,
                    m.quick_reply_id,
                    m.created_at
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
        after = page.messages.last().map_or(after, |m| m.seq);
        if !page.has_more || page.messages.is_empty() {
            break;
        }
    }
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("CATCH_UP_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = support::TestServer::start_with(support::RAISED_AGENT_WRITES);
    let template = tempfile::tempdir().unwrap();
    let (conversation_id, token) = {
        let client = support::open(&server, template.path());
        let conv = rt.block_on(client.open_conversation(support::FLOW_SUPPORT_EN)).unwrap();
        client.pause();
        (conv.id, support::visitor_token(&client))
    };
    // 10,000 messages the client has not seen (agent replies, 50 in flight at a time).
    let http = server.http();
    rt.block_on(async {
        for chunk in 0..(MESSAGES / 50) {
            let posts = (0..50).map(|i| {
                let http = http.clone();
                let id = conversation_id.clone();
                async move {
                    let body = serde_json::json!({ "body": format!("missed message {} with a typical length", chunk * 50 + i) });
                    let _: serde_json::Value =
                        http.post(&format!("/v1/agent/conversations/{id}/messages"), Some(support::AGENT), Some(&body)).await.unwrap();
                }
            });
            futures_util::future::join_all(posts).await;
        }
    });
    let last = {
        let page: MessagePage = match rt
            .block_on(http.get(&format!("/v1/conversations/{conversation_id}/messages?limit=1"), Some(&token), None))
            .unwrap()
        {
            Fetched::Fresh { body, .. } => body,
            Fetched::NotModified => unreachable!(),
        };
        page.last_seq
    };

    // Warm-up, then interleaved rounds.
    sdk_round(&rt, &server, template.path(), last);
    rt.block_on(bare_round(&server, &token, &conversation_id));
    let mut sdk = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..rounds {
        bare.push(rt.block_on(bare_round(&server, &token, &conversation_id)));
        sdk.push(sdk_round(&rt, &server, template.path(), last));
    }
    let (s, b) = (median(sdk), median(bare));
    println!("catch_up: {last} messages (pages of 500) into an empty store, median of {rounds} rounds");
    println!("  floor: reqwest pages + bare rusqlite inserts: {:>8.1} ms", b.as_secs_f64() * 1e3);
    println!("  sdk: resume() → CaughtUp:                      {:>8.1} ms", s.as_secs_f64() * 1e3);
    println!("  ratio sdk/floor: {:.2}x", s.as_secs_f64() / b.as_secs_f64());
}
