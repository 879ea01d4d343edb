//! Upload throughput of a 25 MiB file on loopback, the SDK against a floor measured in the same run on the same
//! server:
//!
//! - **floor**: a bare HTTP upload of the same bytes: a reqwest client sends the file, already in memory and declared,
//!   in one `PATCH` (only the `PATCH` is timed: the network and the server's work, nothing else);
//! - **SDK**: `send_attachment` with the file's path until the upload is complete (`UploadProgress` at 100 %). The
//!   SDK also copies the file into its own storage before it returns (the app may delete its file at once, and a
//!   restart resumes from the copy): printed apart, and the throughput is given with and without it.
//!
//! Also printed: the process's peak resident memory during the SDK's upload, above what it held before (Linux
//! `VmHWM`, reset through `/proc/self/clear_refs`): the file is streamed, never held whole.
//!
//! `cargo bench -p chatflow-core --bench upload`; `UPLOAD_BENCH_RUNS` (default 5) uploads per series. For
//! representative figures give it a release server: `CHATFLOW_SERVER_BIN=target/release/chatflow-server`.
//! Not a test: nothing asserts a time.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::io::Write;
use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use chatflow_core::attachments::FileSource;
use chatflow_core::client::ChatClient;
use chatflow_core::events::{ChatEvent, EventListener};

const SIZE: usize = 25 * 1024 * 1024;

struct UploadDone(Mutex<mpsc::Sender<String>>);

impl EventListener for UploadDone {
    fn on_event(&self, event: ChatEvent) {
        if let ChatEvent::UploadProgress { client_message_id, bytes_sent, total, .. } = event {
            if bytes_sent == total {
                let _ = self.0.lock().unwrap().send(client_message_id);
            }
        }
    }
}

/// A 25 MiB PDF on disk, written in chunks (never whole in memory).
fn write_file(path: &Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(b"%PDF-1.7\n").unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut written = 9;
    while written < SIZE {
        for b in chunk.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let n = chunk.len().min(SIZE - written);
        f.write_all(&chunk[..n]).unwrap();
        written += n;
    }
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn hash_file(path: &Path) -> String {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The floor: the file's bytes, already in memory and declared, sent in one `PATCH` (timed: the PATCH only).
async fn bare_upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    bytes: &[u8],
    sha256: &str,
    run: usize,
) -> Duration {
    let id = format!("bench-floor-{run}-{}", std::process::id());
    let declaration = serde_json::json!({"upload_id": id, "file_name": "manual.pdf", "mime_type": "application/pdf",
                                         "size": SIZE, "sha256": sha256});
    let r = http.post(format!("{base}/v1/uploads")).bearer_auth(token).json(&declaration).send().await.unwrap();
    assert!(r.status().is_success(), "declare: {}", r.status());
    let body = reqwest::Body::from(bytes.to_vec());
    let started = Instant::now();
    let r = http
        .patch(format!("{base}/v1/uploads/{id}"))
        .bearer_auth(token)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let status: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status["complete"], true);
    started.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mb_per_s(d: Duration) -> f64 {
    SIZE as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let runs: usize = std::env::var("UPLOAD_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = support::TestServer::start();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("manual.pdf");
    write_file(&file);
    let dir = support::storage();
    let client = ChatClient::open(server.config(), dir.path()).unwrap();
    let (tx, rx) = mpsc::channel();
    let _sub = client.subscribe(std::sync::Arc::new(UploadDone(Mutex::new(tx)))).unwrap();
    let conversation = rt.block_on(client.open_conversation(support::FLOW_SUPPORT_EN)).unwrap();
    let token = support::visitor_token(&client);
    let http = reqwest::Client::new();
    let (bytes, sha256) = (std::fs::read(&file).unwrap(), hash_file(&file));

    println!("upload of a {SIZE}-byte file on loopback, {runs} runs per series (medians)");
    let (mut floor, mut sdk, mut copy) = (Vec::new(), Vec::new(), Vec::new());
    let mut peak_above_kb = 0;
    for run in 0..runs {
        floor.push(rt.block_on(bare_upload(&http, &server.url, &token, &bytes, &sha256, run)));

        let baseline = status_kb("VmRSS:");
        let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
        let started = Instant::now();
        let echo = client.send_attachment(&conversation.id, FileSource::Path(file.clone()), "manual.pdf", None, None);
        let echo = echo.unwrap();
        copy.push(started.elapsed());
        let id = echo.client_message_id.unwrap();
        loop {
            let done = rx.recv_timeout(Duration::from_secs(120)).expect("upload completion");
            if done == id {
                break;
            }
        }
        sdk.push(started.elapsed());
        peak_above_kb = peak_above_kb.max(status_kb("VmHWM:").saturating_sub(baseline));
        // Let the message itself go before the next run.
        rt.block_on(async {
            while !client.pending_sends().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
    let (floor, sdk, copy) = (median(floor), median(sdk), median(copy));
    let upload_only = sdk.saturating_sub(copy);
    println!(
        "  floor (one PATCH of the bytes)     {:>8.1} ms  {:>7.1} MB/s",
        floor.as_secs_f64() * 1e3,
        mb_per_s(floor)
    );
    println!("  SDK, copy + hash before returning  {:>8.1} ms", copy.as_secs_f64() * 1e3);
    println!(
        "  SDK, call to upload complete      {:>8.1} ms  {:>7.1} MB/s   = {:.2}× the floor",
        sdk.as_secs_f64() * 1e3,
        mb_per_s(sdk),
        floor.as_secs_f64() / sdk.as_secs_f64()
    );
    println!(
        "  SDK, upload after the copy        {:>8.1} ms  {:>7.1} MB/s   = {:.2}× the floor",
        upload_only.as_secs_f64() * 1e3,
        mb_per_s(upload_only),
        floor.as_secs_f64() / upload_only.as_secs_f64()
    );
    println!("  peak resident memory during an SDK upload: +{:.1} MiB above before it", peak_above_kb as f64 / 1024.0);
}
