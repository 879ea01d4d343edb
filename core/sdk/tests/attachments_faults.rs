//! Attachments under faults, with the real server on loopback:
//! - a 10 MB upload through the fault proxy, every connection cut mid-stream after 1–4 MB, resumes from the offset
//!   the server confirmed and arrives byte-identical, with at most 1.5× the file's bytes on the wire;
//! - the process sending a 10 MB file is killed with SIGKILL mid-upload; reopened, the SDK finishes the upload from
//!   where the server stood (not from zero) and the message reaches the server exactly once.
//!
//! The child process is this test executable run again with `CHATFLOW_UPLOAD_CHILD` set (see `child_process`).

mod support;
mod sync_common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use chatflow_core::attachments::FileSource;
use chatflow_core::client::ChatClient;
use sha2::{Digest, Sha256};
use support::fault_proxy::{FaultProxy, Faults};
use support::{TestServer, FLOW_SUPPORT_EN};
use sync_common::*;

const CHILD_ENV: &str = "CHATFLOW_UPLOAD_CHILD";
const TEN_MB: usize = 10 * 1024 * 1024;

/// A 10 MiB PDF whose bytes are not all alike (a resumed upload that skipped or repeated a range would not match).
fn ten_mb_pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    bytes.extend((bytes.len()..TEN_MB).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    bytes
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn upstream(server: &TestServer) -> SocketAddr {
    format!("127.0.0.1:{}", server.port).parse().unwrap()
}

/// The bytes the server holds for `attachment_id`, fetched with the visitor's token.
async fn server_bytes(server: &TestServer, token: &str, attachment_id: &str) -> Vec<u8> {
    let url = format!("{}/v1/attachments/{attachment_id}", server.url);
    let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_mb_upload_cut_again_and_again_resumes_and_arrives_byte_identical() {
    let server = TestServer::start();
    // Every connection is cut once 1–4 MB have crossed it, in the middle of whatever is passing.
    let faults = Faults {
        seed: 17,
        cut_probability: 1.0,
        cut_after_bytes: (1_000_000, 4_000_000),
        delay_probability: 0.0,
        ..Faults::default()
    };
    let proxy = FaultProxy::start(upstream(&server), faults).await;
    let mut config = server.config();
    config.server_url = proxy.url();
    let dir = support::storage();
    let client = ChatClient::open(config, dir.path()).unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let before = proxy.stats.bytes.load(Ordering::Relaxed);

    let file = ten_mb_pdf();
    let echo = client.send_attachment(&conv.id, FileSource::Bytes(file.clone()), "manual.pdf", None, None).unwrap();
    for _ in 0..(90 * 50) {
        if outbox_len(&client) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wire = proxy.stats.bytes.load(Ordering::Relaxed) - before;
    let cuts = proxy.stats.cuts.load(Ordering::Relaxed);
    assert_eq!(outbox_len(&client), 0, "the file was not delivered under faults: {}", proxy.summary());
    println!(
        "10 MiB upload under cuts: {cuts} connections cut, {wire} bytes on the wire = {:.2}× the file ({})",
        wire as f64 / file.len() as f64,
        proxy.summary()
    );
    assert!(cuts >= 2, "the upload must have been cut: {}", proxy.summary());
    assert!((wire as f64) <= 1.5 * file.len() as f64, "{wire} bytes on the wire for {} (> 1.5×)", file.len());

    let token = support::visitor_token(&client);
    let on_server = server_messages(&server.http(), &token, &conv.id).await;
    let sent: Vec<_> =
        visitor_only(&on_server).into_iter().filter(|m| m.client_message_id == echo.client_message_id).collect();
    assert_eq!(sent.len(), 1, "exactly once");
    let attachment = &sent[0].attachments[0];
    assert_eq!(attachment.sha256, sha(&file));
    assert!(server_bytes(&server, &token, &attachment.id).await == file, "byte-identical on the server");
}

/// The child side. Without `CHATFLOW_UPLOAD_CHILD` it does nothing (it runs as an ordinary, empty test).
#[test]
fn child_process() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let client = ChatClient::open(support::config_for(&var("CHILD_URL")), var("CHILD_DIR")).expect("child open");
    let echo = client
        .send_attachment(&var("CHILD_CONVERSATION"), FileSource::Bytes(ten_mb_pdf()), "manual.pdf", None, None)
        .expect("child send");
    // Printed only once `send_attachment` returned: the app has been told the file is queued.
    let mut out = std::io::stdout().lock();
    writeln!(out, "QUEUED {}", echo.client_message_id.unwrap()).unwrap();
    out.flush().unwrap();
    // Upload in the background until the parent kills us.
    std::thread::sleep(Duration::from_secs(120));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_upload_finishes_it_after_restart_and_sends_the_message_once() {
    let server = TestServer::start();
    let dir = support::storage();
    let conv = {
        let client = support::open(&server, dir.path());
        client.open_conversation(FLOW_SUPPORT_EN).await.unwrap()
    };
    // A slow link for the child (every 16 KB chunk held up to 30 ms): the upload takes seconds, time to kill it.
    let slow = Faults {
        seed: 3,
        cut_probability: 0.0,
        delay_probability: 1.0,
        max_delay: Duration::from_millis(30),
        ..Faults::default()
    };
    let slow_link = FaultProxy::start(upstream(&server), slow).await;
    let mut child = Command::new(std::env::current_exe().expect("test executable"))
        .args(["--exact", "child_process", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("CHILD_URL", slow_link.url())
        .env("CHILD_DIR", dir.path())
        .env("CHILD_CONVERSATION", &conv.id)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child process");
    let stdout = child.stdout.take().unwrap();
    let queued = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).find_map(|l| l.split("QUEUED ").nth(1).map(str::to_owned))
    })
    .await
    .unwrap()
    .expect("the child queued the file");
    let passed = || slow_link.stats.bytes.load(Ordering::Relaxed);
    wait_for("3 MB of the upload to pass", 60, || (passed() > 3_000_000).then_some(())).await;
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    assert!(passed() < TEN_MB as u64, "killed mid-upload ({} bytes had passed)", passed());
    // What the dead process had written into its socket still reaches the server (as on a phone): let it drain.
    let mut last = passed();
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if passed() == last {
            break;
        }
        last = passed();
    }
    let at_kill = passed();

    // Reopened on the same data, through a link that only counts: the rest of the file, not all of it.
    let counting = FaultProxy::start(
        upstream(&server),
        Faults { cut_probability: 0.0, delay_probability: 0.0, ..Faults::default() },
    )
    .await;
    counting.heal();
    let mut config = server.config();
    config.server_url = counting.url();
    let client = ChatClient::open(config, dir.path()).unwrap();
    client.resume().unwrap();
    wait_for("the file to be delivered after the restart", 90, || (outbox_len(&client) == 0).then_some(())).await;
    let after_restart = counting.stats.bytes.load(Ordering::Relaxed);
    println!(
        "killed mid-upload; {at_kill} bytes had reached the server's side, the restarted SDK sent {after_restart} more \
         (file {TEN_MB})"
    );
    assert!(after_restart < TEN_MB as u64, "the upload resumed instead of starting over ({after_restart} bytes)");

    let file = ten_mb_pdf();
    let token = support::visitor_token(&client);
    let on_server = server_messages(&server.http(), &token, &conv.id).await;
    let sent: Vec<_> = visitor_only(&on_server)
        .into_iter()
        .filter(|m| m.client_message_id.as_deref() == Some(queued.trim()))
        .collect();
    assert_eq!(sent.len(), 1, "the message reached the server exactly once");
    assert_eq!(sent[0].attachments[0].sha256, sha(&file));
    assert!(server_bytes(&server, &token, &sent[0].attachments[0].id).await == file, "byte-identical");
}
