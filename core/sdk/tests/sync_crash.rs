//! Crashes and restarts around the send queue, with the real server and real processes:
//! - the server restarts in the middle of a burst;
//! - a second process opens the same database and delivers what the first one queued;
//! - a process is killed with SIGKILL during a send burst: every message it was told is "queued" reaches the server
//!   exactly once after reopening, in send order.
//!
//! The child processes are this test executable run again with `CHATFLOW_SYNC_CHILD` set (see `child_process`).

mod support;
mod sync_common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chatflow_core::client::ChatClient;
use chatflow_core::protocol::AuthorKind;
use support::{TestServer, FLOW_SUPPORT_EN};
use sync_common::*;

const CHILD_ENV: &str = "CHATFLOW_SYNC_CHILD";

/// Spawns this executable as a child running only `child_process` in `mode`.
fn spawn_child(mode: &str, url: &str, dir: &Path, conversation_id: &str, count: usize) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test executable"))
        .args(["--exact", "child_process", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env("CHILD_URL", url)
        .env("CHILD_DIR", dir)
        .env("CHILD_CONVERSATION", conversation_id)
        .env("CHILD_COUNT", count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child process")
}

/// The child side. Without `CHATFLOW_SYNC_CHILD` it does nothing (it runs as an ordinary, empty test).
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(CHILD_ENV) else { return };
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let client = ChatClient::open(support::config_for(&var("CHILD_URL")), var("CHILD_DIR")).expect("child open");
    let conversation = var("CHILD_CONVERSATION");
    let count: usize = var("CHILD_COUNT").parse().unwrap();
    if mode == "queue-offline" {
        client.pause();
    }
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let echo = client.send(&conversation, &format!("from the child {i}")).expect("child send");
        // Printed only once `send` returned: the app has been told the message is queued.
        writeln!(out, "QUEUED {}", echo.client_message_id.unwrap()).unwrap();
        out.flush().unwrap();
        if mode == "burst" {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    writeln!(out, "DONE").unwrap();
    out.flush().unwrap();
    if mode == "burst" {
        // Keep sending in the background until the parent kills us.
        std::thread::sleep(Duration::from_secs(120));
    }
}

/// The id on a child's "QUEUED <id>" line (the test harness may print its own text before it on the same line).
fn queued_id(line: &str) -> Option<String> {
    line.split("QUEUED ").nth(1).map(|id| id.trim().to_owned())
}

/// Visitor message ids in the order the client queued them (local row order), confirmed or not.
fn local_send_order(client: &ChatClient, conversation_id: &str) -> Vec<String> {
    client
        .store()
        .read(|c| {
            let mut s = c.prepare(
                "SELECT client_message_id FROM messages WHERE conversation_id = ?1 AND author_kind = 'visitor'
                 ORDER BY local_id",
            )?;
            let rows = s.query_map([conversation_id], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap()
}

async fn server_visitor_ids(server: &TestServer, token: &str, conversation_id: &str) -> Vec<String> {
    let all = server_messages(&server.http(), token, conversation_id).await;
    visitor_only(&all).iter().filter_map(|m| m.client_message_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_in_the_middle_of_a_burst_loses_and_duplicates_nothing() {
    let mut server = TestServer::start_with(support::RAISED_SEND_LIMIT);
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(client.send(&conv.id, &format!("burst {i}")).unwrap().client_message_id.unwrap());
    }
    wait_for("part of the burst to be delivered", 60, || (outbox_len(&client) < 150).then_some(())).await;
    server.restart();
    client.resume().unwrap();
    wait_for("the queue to drain", 120, || (outbox_len(&client) == 0).then_some(())).await;
    let token = support::visitor_token(&client);
    assert_eq!(server_visitor_ids(&server, &token, &conv.id).await, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_database_delivers_what_the_first_queued() {
    let mut server = TestServer::start();
    let dir = support::storage();
    let conv = {
        let client = support::open(&server, dir.path());
        client.open_conversation(FLOW_SUPPORT_EN).await.unwrap()
    };
    server.stop();
    let child = spawn_child("queue-offline", &server.url, dir.path(), &conv.id, 25);
    let output = child.wait_with_output().expect("child output");
    assert!(output.status.success(), "child failed");
    let printed: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().filter_map(queued_id).collect();
    assert_eq!(printed.len(), 25);

    server.restart();
    let client = support::open(&server, dir.path());
    assert_eq!(client.pending_sends().unwrap().len(), 25, "the queue survived the process");
    client.resume().unwrap();
    wait_for("the queue to drain", 60, || (outbox_len(&client) == 0).then_some(())).await;
    let token = support::visitor_token(&client);
    assert_eq!(server_visitor_ids(&server, &token, &conv.id).await, printed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_send_burst_loses_nothing_that_was_queued() {
    let server = TestServer::start_with(support::RAISED_SEND_LIMIT);
    let dir = support::storage();
    let conv = {
        let client = support::open(&server, dir.path());
        client.open_conversation(FLOW_SUPPORT_EN).await.unwrap()
    };
    let mut child = spawn_child("burst", &server.url, dir.path(), &conv.id, 400);
    let stdout = child.stdout.take().expect("child stdout");
    // Read the child's "queued" lines on a thread; kill it after a good part of the burst.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(id) = queued_id(&line) {
                if tx.send(id).is_err() {
                    break;
                }
            }
        }
    });
    let mut printed = Vec::new();
    while printed.len() < 150 {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(id) => printed.push(id),
            Err(e) => panic!("child stopped printing after {} ids: {e}", printed.len()),
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    printed.extend(rx.try_iter());
    let _ = reader.join();

    let client = support::open(&server, dir.path());
    let order = local_send_order(&client, &conv.id);
    let known: HashSet<&String> = order.iter().collect();
    for id in &printed {
        assert!(known.contains(id), "message {id} was reported queued but is not in the store after SIGKILL");
    }
    client.resume().unwrap();
    wait_for("the queue to drain", 120, || (outbox_len(&client) == 0).then_some(())).await;
    let token = support::visitor_token(&client);
    let on_server = server_visitor_ids(&server, &token, &conv.id).await;
    assert_eq!(on_server, order, "every queued message exactly once, in send order");
    let stored = stored_confirmed(&client, &conv.id);
    assert_eq!(stored.iter().filter(|m| m.author.kind == AuthorKind::Visitor).count(), order.len());
    eprintln!("SIGKILL after {} reported sends; {} were in the store; all delivered once", printed.len(), order.len());
}
