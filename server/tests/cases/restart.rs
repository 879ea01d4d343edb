//! A restart on the same database keeps everything: visitors and tokens, conversations, messages and their seqs,
//! consent, admin edits (the seed does not overwrite them).

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn restart_on_the_same_database_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chatflow.db");
    let server = TestServer::start_on(&db, &[]);
    let api = server.api();
    let (visitor_id, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    for i in 1..=3 {
        assert_eq!(api.send(&token, &conv, &format!("m{i}"), &format!("before restart {i}")).await.status, 201);
    }
    assert_eq!(api.agent_reply(ALICE, &conv, "agent before").await.status, 201);
    let edited = json!({
        "name": "Support (edited)", "kind": "live_chat", "priority": 42, "mobile_tags": ["support"],
        "header": {"display_name": "Acme"}, "email_capture": {"mode": "never"}, "routing": {"mode": "unassigned"},
        "availability": {"mode": "always", "when_away": "away_message"}, "knowledge_base": {"enabled": false},
        "consent": {"process_data": {"mode": "off"}}
    });
    let r = api.call("PUT", &format!("/v1/admin/chatflows/{FLOW_SUPPORT}"), Some(ACME_ADMIN), Some(edited)).await;
    assert_eq!(r.status, 200);
    let list_before = api.get(&format!("/v1/apps/{ACME}/chatflows"), None).await;
    let page_before = api.messages(&token, &conv, "").await;
    let counts_before = server.table_counts();
    server.stop();

    let server = TestServer::start_on(&db, &[]);
    let api = server.api();
    assert_eq!(server.table_counts(), counts_before);
    let page = api.messages(&token, &conv, "").await;
    assert_eq!(page.status, 200, "the visitor token survives the restart");
    assert_eq!(page.body, page_before.body);
    let list = api.get(&format!("/v1/apps/{ACME}/chatflows"), None).await;
    assert_eq!(list.headers["etag"], list_before.headers["etag"], "admin edits survive the re-applied seed");
    assert_eq!(list.body["chatflows"][0]["priority"], 42);
    // Sequence numbers continue where they stopped; idempotency survives too.
    assert_eq!(api.send(&token, &conv, "m1", "before restart 1").await.status, 200);
    let next = api.send(&token, &conv, "m5", "after restart").await;
    assert_eq!(next.body["seq"], 5);
    let c = api.get(&format!("/v1/conversations/{conv}"), Some(&token)).await;
    assert_eq!(c.body["visitor_id"], visitor_id.as_str());
}

/// The signal mask survives `exec`: a launcher that blocked SIGTERM (some process APIs and test runners do) must not
/// leave a server that `kill` cannot stop. It unblocks the stop signals at start and shuts down cleanly.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_even_when_its_launcher_blocked_it() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatflow-server"));
    cmd.args(database::server_args(&dir.path().join("server.db"))).args(["--bind", "127.0.0.1:0", "--seed"]);
    cmd.arg(seed_path());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn chatflow-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on "), "{line:?}");

    // SAFETY: a plain kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("SIGTERM did not stop the server within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "clean shutdown expected, got {status}");
}

/// docs/deploy.md's backup of a running SQLite server: `VACUUM INTO` a copy while it serves, then a server started on
/// the copy has everything that was committed before the backup.
#[tokio::test]
async fn a_backup_taken_while_the_server_runs_starts_a_server_with_everything() {
    if database::postgres_base().is_some() {
        return; // The PostgreSQL store's backups are pg_dump's (docs/deploy.md).
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chatflow.db");
    let server = TestServer::start_on(&db, &[]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.send(&token, &conv, "m1", "in the backup").await.status, 201);
    assert_eq!(api.agent_reply(ALICE, &conv, "so is this reply").await.status, 201);
    let page_before = api.messages(&token, &conv, "").await;
    let copy = dir.path().join("backup.db");
    let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.execute("VACUUM INTO ?1", [copy.to_str().unwrap()]).unwrap();
    drop(conn);
    // The live server goes on meanwhile.
    assert_eq!(api.send(&token, &conv, "m2", "after the backup").await.status, 201);

    let restored = TestServer::start_on(&copy, &[]);
    let page = restored.api().messages(&token, &conv, "").await;
    assert_eq!(page.status, 200, "the visitor's token is in the backup");
    assert_eq!(page.body, page_before.body, "exactly what was committed before the backup");
}
