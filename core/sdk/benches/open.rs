//! Cold-start benchmark: `ChatClient::open` on an existing store vs the floor, a bare `rusqlite::Connection::open`
//! of the same file plus one trivial query. Reports p50/p95 of each and the ratio of the medians.
//!
//! `cargo bench -p chatflow-core --bench open` (optimized `bench` profile). `OPEN_BENCH_ITERS` changes the sample
//! count (default 300). The budget is 10 ms for `open`; the ratio says how much the SDK adds over SQLite itself.
//! Not a test: nothing here asserts a time.

use std::path::Path;
use std::time::{Duration, Instant};

use chatflow_core::client::ChatClient;
use chatflow_core::config::Config;

fn config() -> Config {
    // A port nobody listens on: `open` must not need the server.
    Config::from_json_str(
        r#"{"server_url":"http://127.0.0.1:9","app_id":"bench-app","environment":"development",
            "default_tag":"support","language":"en"}"#,
    )
    .expect("bench config")
}

/// A store as an app has it after some use: a session, a cached chatflow list, properties, consents.
fn prepare(dir: &Path) {
    let client = ChatClient::open(config(), dir).expect("first open");
    client
        .store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO session (id, visitor_id, visitor_token, user_id, email, created_at)
                 VALUES (1, 'v-bench', 'cfv_bench_token', 'u-bench', NULL, 0)",
                [],
            )?;
            for id in 1..=20 {
                let json = format!(
                    r#"{{"id":{id},"name":"Flow {id}","kind":"live_chat","enabled":true,"priority":{id},
                    "mobile_tags":["support"],"language":"en","welcome_message":"hi",
                    "header":{{"display_name":"Team"}},"email_capture":{{"mode":"never"}},
                    "routing":{{"mode":"unassigned"}},"availability":{{"mode":"always","when_away":"away_message"}},
                    "knowledge_base":{{"enabled":false}},"consent":{{"process_data":{{"mode":"off"}}}}}}"#
                );
                tx.execute("INSERT INTO chatflows (id, json) VALUES (?1, ?2)", rusqlite::params![id, json])?;
            }
            for i in 0..20 {
                tx.execute("INSERT INTO properties (key, value) VALUES (?1, 'v')", [format!("k{i}")])?;
            }
            Ok(())
        })
        .expect("fill the store");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Times `f`; what it returns is dropped after the sample is taken (closing is not part of a cold start).
fn measure<T>(iters: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    for _ in 0..10 {
        drop(f()); // warm the page cache and the allocator
    }
    let mut samples: Vec<Duration> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            let v = f();
            let elapsed = t.elapsed();
            drop(v);
            elapsed
        })
        .collect();
    samples.sort();
    (percentile(&samples, 0.50), percentile(&samples, 0.95))
}

fn main() {
    let iters: usize = std::env::var("OPEN_BENCH_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let dir = tempfile::tempdir().expect("temp dir");
    prepare(dir.path());
    let db = dir.path().join(chatflow_core::store::DB_FILE_NAME);

    let (bare_p50, bare_p95) = measure(iters, || {
        let conn = rusqlite::Connection::open(&db).expect("bare open");
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0)).expect("query");
        std::hint::black_box(n);
        conn
    });
    let (store_p50, store_p95) = measure(iters, || chatflow_core::store::Store::open(dir.path()).expect("store open"));
    let (open_p50, open_p95) = measure(iters, || {
        let client = ChatClient::open(config(), dir.path()).expect("open");
        std::hint::black_box(client.session_info());
        client
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("open cold start ({iters} samples, existing store with a session and 20 cached chatflows)");
    println!("  bare rusqlite open + query : p50 {:.3} ms  p95 {:.3} ms", ms(bare_p50), ms(bare_p95));
    println!("  Store::open (2 connections): p50 {:.3} ms  p95 {:.3} ms", ms(store_p50), ms(store_p95));
    println!("  ChatClient::open           : p50 {:.3} ms  p95 {:.3} ms", ms(open_p50), ms(open_p95));
    println!(
        "  ratio (p50 open / p50 bare): {:.2}x   budget 10 ms: {}",
        ms(open_p50) / ms(bare_p50).max(1e-9),
        if ms(open_p95) <= 10.0 { "within" } else { "EXCEEDED" }
    );
}
