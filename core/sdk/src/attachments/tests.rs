//! Attachments without a server: the local echo and its confirmation, the download cache's bound, logout's wipe.

use std::sync::Arc;

use chatflow_protocol::attachment::Attachment;
use chatflow_protocol::{Author, AuthorKind, Message};

use super::*;
use crate::client::ChatClient;
use crate::config::Config;
use crate::sync::tables::messages;

fn client(dir: &std::path::Path, cache_bytes: u64) -> Arc<ChatClient> {
    let config = Config::from_json_str(&format!(
        r#"{{"server_url":"http://127.0.0.1:9","app_id":"a","environment":"development","default_tag":"t",
            "attachment_cache_bytes":{cache_bytes}}}"#
    ))
    .unwrap();
    ChatClient::open(config, dir).unwrap()
}

fn pending(path: &str) -> PendingUpload {
    PendingUpload {
        upload_id: "u1".into(),
        path: path.into(),
        file_name: "r.pdf".into(),
        mime_type: "application/pdf".into(),
        size: 9,
        sha256: "ab".repeat(32),
        redeclared: false,
    }
}

#[test]
fn a_confirmed_file_keeps_the_local_copy_and_gains_its_server_id() {
    let dir = tempfile::tempdir().unwrap();
    let c = client(dir.path(), 1000);
    let store = c.store();
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO conversations (id, chatflow_id, status, created_at) VALUES ('c1', 1, 'open', 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    let echo = c
        .inner
        .messaging()
        .parts()
        .1
        .enqueue_with_files("c1", "m1", "", None, None, Some("v"), None, vec![pending("/copy/r.pdf")], 5)
        .unwrap();
    assert_eq!(echo.body, "", "a file needs no caption");
    assert_eq!(echo.attachments[0].local_path.as_deref(), Some("/copy/r.pdf"));
    assert_eq!(echo.attachments[0].id, None);
    let server = Attachment {
        id: "att_1".into(),
        file_name: "r.pdf".into(),
        mime_type: "application/pdf".into(),
        size: 9,
        sha256: "ab".repeat(32),
        image: None,
    };
    let m = Message {
        conversation_id: "c1".into(),
        seq: 1,
        client_message_id: Some("m1".into()),
        author: Author { kind: AuthorKind::Visitor, id: Some("v".into()), display_name: None, avatar_url: None },
        body: String::new(),
        quick_replies: Vec::new(),
        quick_reply_id: None,
        created_at: 7,
        survey: None,
        attachments: vec![server],
    };
    let changed = store.write(|tx| messages::apply_server_messages(tx, std::slice::from_ref(&m))).unwrap();
    assert_eq!(changed[0].attachments[0].id.as_deref(), Some("att_1"));
    let stored = store.read(|conn| messages::by_client_id(conn, "m1")).unwrap().unwrap();
    assert_eq!(stored.attachments, changed[0].attachments);
    assert_eq!(stored.attachments[0].local_path.as_deref(), Some("/copy/r.pdf"));
    assert_eq!(store.read(|conn| download::find(conn, "att_1")).unwrap().unwrap().file_name, "r.pdf");
    // A text without files still needs a body.
    let err = c.inner.messaging().parts().1.enqueue_with_files("c1", "m2", " ", None, None, None, None, Vec::new(), 8);
    assert!(err.is_err());
}

#[test]
fn the_download_cache_drops_the_least_recently_used_files_first() {
    let dir = tempfile::tempdir().unwrap();
    let c = client(dir.path(), 100);
    let cache = download::cache_dir(dir.path());
    std::fs::create_dir_all(&cache).unwrap();
    c.store()
        .write(|tx| {
            for (i, name) in ["old", "mid", "new"].iter().enumerate() {
                std::fs::write(cache.join(name), [0u8; 40]).unwrap();
                tx.execute(
                    "INSERT INTO attachment_cache (file, size, last_used) VALUES (?1, 40, ?2)",
                    rusqlite::params![name, i as i64],
                )?;
            }
            Ok(())
        })
        .unwrap();
    // "old" was just asked for again: it stays, "mid" is now the least recently used.
    c.inner.evict(&cache, "old").unwrap();
    assert!(cache.join("old").exists() && cache.join("new").exists());
    assert!(!cache.join("mid").exists(), "120 bytes > 100: one file goes");
    let rows: i64 =
        c.store().read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM attachment_cache", [], |r| r.get(0))?)).unwrap();
    assert_eq!(rows, 2);
}

#[test]
fn logout_wipes_outgoing_copies_and_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let c = client(dir.path(), 100);
    let out = local::outgoing_dir(dir.path(), "m1").join("0");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("a.txt"), b"hi").unwrap();
    std::fs::create_dir_all(download::cache_dir(dir.path())).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(c.logout()).unwrap();
    assert!(!local::root(dir.path()).exists());
}
