//! Knowledge base through the FFI API, on a server with the demo seed (the test seed has none): sync with progress,
//! search with highlights, article, then search offline. Same steps as the Kotlin and Swift knowledge-base tests.

mod common;

use std::sync::{Arc, Mutex};

use chatflow_ffi::types::chatflow::{ChatflowConfig, Environment, ResolveOutcome};
use chatflow_ffi::{ChatClient, ChatflowError, KbSyncProgress};
use common::{Fixtures, Server};

#[derive(Default)]
struct Progress(Mutex<Vec<(i32, i32)>>);

impl KbSyncProgress for Progress {
    fn on_progress(&self, done: i32, total: i32) -> Result<(), ChatflowError> {
        self.0.lock().unwrap().push((done, total));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_then_search_online_and_offline() {
    let fx = Fixtures::load();
    let mut server = Server::with_seed(&fx.get("kb.seed"));
    let storage = tempfile::tempdir().unwrap();
    let config = ChatflowConfig {
        server_url: server.url(),
        app_id: fx.get("kb.app_id"),
        environment: Environment::Development,
        default_tag: fx.get("kb.tag"),
        language: Some("en".into()),
        extra_root_certificates: None,
        pinned_spki_sha256: Vec::new(),
        attachment_cache_bytes: None,
    };
    let chat = ChatClient::open(config, storage.path().display().to_string()).unwrap();
    chat.refresh_chatflows().await.unwrap();
    let ResolveOutcome::Found { chatflow } = chat.resolve(None, vec![]).unwrap().outcome else {
        panic!("default tag not resolved")
    };
    assert!(chatflow.knowledge_base_enabled);
    let kb_id = chatflow.knowledge_base_id.expect("knowledge base id");

    let progress = Arc::new(Progress::default());
    let report = chat.sync_knowledge_base(kb_id, Some(progress.clone())).await.unwrap();
    assert!(report.articles > 0, "{report:?}");
    let last = *progress.0.lock().unwrap().last().expect("progress reported");
    assert_eq!(last.0, last.1);

    let online = chat.search_kb(fx.get("kb.query"), None, 20, 0).await.unwrap();
    let top = online.hits.first().expect("a hit").clone();
    assert_eq!(top.title, fx.get("kb.expected_title"));
    assert!(!top.highlights.is_empty());
    for range in &top.highlights {
        assert!(top.snippet.get(range.start as usize..range.end as usize).is_some(), "byte range on char boundaries");
    }
    assert!(!chat.article(top.article_id).unwrap().expect("article synced").body.is_empty());

    // The synced index answers without the server.
    server.stop();
    let offline = chat.search_kb(fx.get("kb.query"), None, 20, 0).await.unwrap();
    assert_eq!(offline.hits.first().map(|h| h.article_id), Some(top.article_id));
}
