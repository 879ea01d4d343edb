//! The local blob store: the shared conformance suite, and its on-disk layout.

use std::sync::Arc;

use chatflow_server::blobs::{sha256_hex, BlobStore, LocalBlobStore};

use crate::support::blob_conformance;

#[tokio::test]
async fn local_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).unwrap();
    blob_conformance::run(Arc::new(store)).await;
}

#[tokio::test]
async fn local_store_shards_keys_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).unwrap();
    let bytes = b"%PDF-1.7 a receipt".to_vec();
    let key = sha256_hex(&bytes);
    store.put_bytes(&key, bytes.clone().into()).await.unwrap();
    let path = dir.path().join(&key[..2]).join(&key[2..4]).join(&key);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let src = dir.path().join("elsewhere.bin");
    std::fs::write(&src, b"another file").unwrap();
    store.put_file(&sha256_hex(b"another file"), &src).await.unwrap();
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "temp files are renamed away");
}
