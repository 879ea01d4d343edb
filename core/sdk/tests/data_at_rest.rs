//! End to end: what a logged-out user leaves on the device's disk — nothing. Every file in the SDK's storage
//! directory is searched byte by byte for the user's message, email, user id and visitor token.

mod support;
mod sync_common;

use std::path::Path;

use chatflow_core::protocol::PushPlatform;
use support::*;
use sync_common::*;

const BODY: &str = "my order number is 7731-quartz-secret";
const USER: &str = "dana-7f3a91";
const EMAIL: &str = "dana.7f3a91@example.com";

/// Names of the directory's files holding `needle` anywhere in their bytes (a file deleted meanwhile holds nothing).
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::read(p).unwrap_or_default().windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
}

async fn send_and_confirm(client: &chatflow_core::client::ChatClient, body: &str) -> String {
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let echo = client.send(&conv.id, body).unwrap();
    let cid = echo.client_message_id.clone().unwrap();
    wait_for("the ack", 30, || {
        stored_confirmed(client, &conv.id).into_iter().find(|m| m.client_message_id.as_deref() == Some(&cid))
    })
    .await;
    conv.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_leaves_no_byte_of_the_user_on_disk_and_the_next_session_works() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.identify(identity_token(USER, None, 600), Some(EMAIL.into())).await.unwrap();
    send_and_confirm(&client, BODY).await;
    client.refresh_chatflows().await.unwrap();
    client.register_push_token("apns-token-at-rest".into(), PushPlatform::Apns).await.unwrap();
    let token = visitor_token(&client);
    let db = dir.path().join(chatflow_core::store::DB_FILE_NAME);
    let db_inode = inode(&db);
    assert!(!files_containing(dir.path(), BODY).is_empty(), "the test must see the message on disk first");

    client.logout().await.unwrap();

    for secret in [BODY, USER, EMAIL, token.as_str()] {
        assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new(), "{secret} is still on disk");
    }
    assert_ne!(inode(&db), db_inode, "the user's database file must be deleted, not emptied");
    let names = file_names(dir.path());
    let allowed = ["chatflow.sqlite3", "chatflow.sqlite3-shm", "chatflow.sqlite3-wal"];
    assert!(names.iter().all(|n| allowed.contains(&n.as_str())), "left in the directory: {names:?}");
    // App state is not the user's: the chatflow list and the device's push token stay.
    assert!(count(&client, "chatflows") > 0);
    assert!(client.store().meta_get("device.push_token").unwrap().is_some());

    // The SDK goes on: a new anonymous visitor sends, and a reopened client finds its message.
    let conv = send_and_confirm(&client, "a new visitor after logout").await;
    assert_ne!(visitor_token(&client), token);
    drop(client);
    let client = open(&server, dir.path());
    let bodies: Vec<String> = local_messages(&client, &conv).await.into_iter().map(|m| m.body).collect();
    assert!(bodies.iter().any(|b| b == "a new visitor after logout"), "{bodies:?}");
    assert_eq!(files_containing(dir.path(), BODY), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_clear_keeps_only_the_token_its_cleanup_needs_until_the_server_is_back() {
    let mut server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    send_and_confirm(&client, BODY).await;
    client.register_push_token("fcm-at-rest".into(), PushPlatform::Fcm).await.unwrap();
    assert!(eventually(|| client.store().meta_get("visitor.synced.push").unwrap().is_some()).await);
    let token = visitor_token(&client);

    server.stop();
    client.clear_user_data().await.unwrap();
    assert_eq!(files_containing(dir.path(), BODY), Vec::<String>::new());
    // The server must still be told to forget the visitor: its token waits in the pending cleanup, nothing else.
    assert!(!files_containing(dir.path(), &token).is_empty());

    server.restart();
    client.ensure_session().await.unwrap();
    // The background cleanup drops the token and renews the files.
    assert!(eventually(|| files_containing(dir.path(), &token).is_empty()).await, "the token stayed on disk");
    assert!(client.store().meta_get("device.pending_cleanup").unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_still_ends_the_session_when_the_files_cannot_be_renewed() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    send_and_confirm(&client, BODY).await;
    // The renewal's copy cannot be written where a directory of that name stands (as when the disk is full).
    std::fs::create_dir(dir.path().join("chatflow.sqlite3.fresh")).unwrap();

    client.logout().await.unwrap();

    assert!(client.session_info().is_none());
    assert_eq!(count(&client, "messages"), 0);
    std::fs::remove_dir(dir.path().join("chatflow.sqlite3.fresh")).unwrap();
    // The next renewal (here: the next logout) removes what the failed one could not.
    send_and_confirm(&client, "second visitor").await;
    client.logout().await.unwrap();
    assert_eq!(files_containing(dir.path(), BODY), Vec::<String>::new());
}
