//! Two server nodes on one PostgreSQL database behind a small TCP load balancer (first node that answers), and the
//! real SDK through it: an agent replying through node B reaches the visitor connected to node A live; node A is
//! killed; the SDK reconnects through the balancer to node B and catches up, with nothing lost and nothing twice.
//!
//! Runs when `CHATFLOW_TEST_POSTGRES` names a cluster (the test command's `postgres` stage); with
//! `CHATFLOW_REQUIRE_POSTGRES=1` and no cluster it fails instead of skipping.

mod support;
mod sync_common;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use chatflow_core::client::ChatClient;
use chatflow_core::protocol::AuthorKind;
use chatflow_core::transport::HttpClient;
use chatflow_test_server::{fresh_postgres_database, Launch, ServerProcess};
use support::{AGENT, FLOW_SUPPORT_EN, RAISED_SEND_LIMIT};
use sync_common::*;
use tokio::net::{TcpListener, TcpStream};

/// Forwards each connection to the first backend that accepts it.
async fn balancer(backends: Vec<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the balancer");
    let addr = listener.local_addr().expect("balancer address");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let backends = backends.clone();
            tokio::spawn(async move {
                for backend in &backends {
                    let connect = tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(backend)).await;
                    if let Ok(Ok(mut outbound)) = connect {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn node(dir: &Path, database_url: &str, name: &str) -> ServerProcess {
    let (db, log) = (dir.join("shared.db"), dir.join(format!("{name}.log")));
    let launch = Launch {
        db: &db,
        database_url: Some(database_url),
        seed: &support::seed_path(),
        bind: "127.0.0.1:0",
        log: Some(&log),
    };
    ServerProcess::spawn_with(&launch, RAISED_SEND_LIMIT)
}

/// Confirmed messages of the conversation as the SDK stored them: (seq, author, body).
fn stored(client: &ChatClient, conversation_id: &str) -> Vec<(i64, AuthorKind, String)> {
    stored_confirmed(client, conversation_id)
        .into_iter()
        .map(|m| (m.seq.expect("confirmed"), m.author.kind, m.body))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_dies_and_the_sdk_carries_on_through_the_other_with_nothing_lost_or_twice() {
    let Some(base) = std::env::var("CHATFLOW_TEST_POSTGRES").ok().filter(|v| !v.is_empty()) else {
        assert!(
            std::env::var("CHATFLOW_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
            "CHATFLOW_REQUIRE_POSTGRES=1 but CHATFLOW_TEST_POSTGRES is not set: the failover test cannot run"
        );
        eprintln!("skipped: two nodes need PostgreSQL (CHATFLOW_TEST_POSTGRES)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_postgres_database(&base);
    let a = node(dir.path(), &database_url, "node-a");
    let b = node(dir.path(), &database_url, "node-b");
    let node_b = HttpClient::for_config(&support::config_for(&b.url)).expect("an HTTP client for node B");
    let entry = balancer(vec![a.addr().to_owned(), b.addr().to_owned()]).await;

    let storage = support::storage();
    let client = ChatClient::open(support::config_for(&entry), storage.path()).expect("open the SDK");
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.expect("open a conversation").id;
    wait_online(&client, 30).await;

    // Connected to node A (the balancer's first choice); the team answers through node B.
    agent_reply(&node_b, AGENT, &conv, "answered on node B").await;
    wait_for("node B's reply, live on node A's socket", 10, || {
        stored(&client, &conv).iter().any(|(_, _, body)| body == "answered on node B").then_some(())
    })
    .await;
    client.send(&conv, "before the crash").expect("send");
    wait_for("the send to be acknowledged", 10, || (outbox_len(&client) == 0).then_some(())).await;

    // Node A dies. While the SDK finds its way to node B, the team writes and the visitor too.
    a.kill();
    agent_reply(&node_b, AGENT, &conv, "while you were away 1").await;
    for i in 0..3 {
        client.send(&conv, &format!("during the failover {i}")).expect("send while reconnecting");
    }
    agent_reply(&node_b, AGENT, &conv, "while you were away 2").await;
    client.resume().expect("resume");
    wait_for("the queue to drain through node B", 60, || (outbox_len(&client) == 0).then_some(())).await;
    let on_server = server_messages(&node_b, &support::visitor_token(&client), &conv).await;
    let expected: Vec<(i64, AuthorKind, String)> =
        on_server.iter().map(|m| (m.seq as i64, m.author.kind, m.body.clone())).collect();
    let caught_up = wait_for("the SDK to catch up with node B", 30, || {
        let mine = stored(&client, &conv);
        (mine == expected).then_some(mine)
    })
    .await;

    // Nothing lost: every reply and every send is there; nothing twice: each once, seqs without a gap.
    let bodies: Vec<&str> = caught_up.iter().map(|(_, _, body)| body.as_str()).collect();
    for body in ["answered on node B", "before the crash", "while you were away 1", "while you were away 2"]
        .into_iter()
        .chain(["during the failover 0", "during the failover 1", "during the failover 2"])
    {
        assert_eq!(bodies.iter().filter(|b| **b == body).count(), 1, "{body:?} once in {bodies:?}");
    }
    let seqs: Vec<i64> = caught_up.iter().map(|(seq, _, _)| *seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "gap-free seqs");
    assert_eq!(seqs.iter().collect::<HashSet<_>>().len(), seqs.len());
    let visitor_sends = caught_up.iter().filter(|(_, kind, _)| *kind == AuthorKind::Visitor).count();
    assert_eq!(visitor_sends, 4);
}
