//! The blob store conformance suite: every backend (`LocalBlobStore`, an S3-compatible one) runs `run` unchanged.
//!
//! It checks the contract of `chatflow_server::blobs::BlobStore`: content addressing with idempotent puts, streamed
//! reads from an offset, sizes, deletes, key validation, and that a put removes its source file.

use std::sync::Arc;

use chatflow_server::blobs::{sha256_hex, BlobError, BlobStore};
use futures_util::StreamExt;

/// Runs every check against `store`. Uses its own random contents, so a shared bucket or directory is fine.
pub async fn run(store: Arc<dyn BlobStore>) {
    put_bytes_then_read_back(store.as_ref()).await;
    put_file_moves_the_file_in_and_is_idempotent(store.as_ref()).await;
    reads_start_at_an_offset(store.as_ref()).await;
    missing_blobs(store.as_ref()).await;
    keys_must_be_sha256(store.as_ref()).await;
    delete_removes_and_is_idempotent(store.as_ref()).await;
    large_blobs_stream_in_chunks(store.as_ref()).await;
}

/// Random-ish bytes unique to this run (a uuid in them), `len` long.
fn content(len: usize) -> Vec<u8> {
    let seed = uuid::Uuid::new_v4();
    let mut out = Vec::with_capacity(len);
    let mut i: u32 = 0;
    while out.len() < len {
        out.extend_from_slice(seed.as_bytes());
        out.extend_from_slice(&i.to_le_bytes());
        i = i.wrapping_add(1);
    }
    out.truncate(len);
    out
}

async fn read_all(store: &dyn BlobStore, key: &str, start: u64) -> (u64, Vec<u8>) {
    let mut read = store.open(key, start).await.unwrap_or_else(|e| panic!("open {key} at {start}: {e}"));
    let mut out = Vec::new();
    while let Some(chunk) = read.stream.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    (read.size, out)
}

async fn put_bytes_then_read_back(store: &dyn BlobStore) {
    let bytes = content(1000);
    let key = sha256_hex(&bytes);
    assert_eq!(store.size(&key).await.unwrap(), None, "fresh content is absent");
    store.put_bytes(&key, bytes.clone().into()).await.expect("put_bytes");
    assert_eq!(store.size(&key).await.unwrap(), Some(1000));
    assert_eq!(read_all(store, &key, 0).await, (1000, bytes.clone()));
    // Idempotent: the same content again is fine and changes nothing.
    store.put_bytes(&key, bytes.clone().into()).await.expect("put_bytes again");
    assert_eq!(read_all(store, &key, 0).await.1, bytes);
}

async fn put_file_moves_the_file_in_and_is_idempotent(store: &dyn BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(70_000);
    let key = sha256_hex(&bytes);
    let src = dir.path().join("upload.part");
    std::fs::write(&src, &bytes).unwrap();
    store.put_file(&key, &src).await.expect("put_file");
    assert!(!src.exists(), "put_file removes its source");
    assert_eq!(read_all(store, &key, 0).await, (70_000, bytes.clone()));
    // The same content from another file: accepted, source removed, blob unchanged.
    std::fs::write(&src, &bytes).unwrap();
    store.put_file(&key, &src).await.expect("put_file again");
    assert!(!src.exists());
    assert_eq!(read_all(store, &key, 0).await.1, bytes);
    // A missing source is an error, not an empty blob.
    let other = content(10);
    let missing = dir.path().join("nope");
    assert!(store.put_file(&sha256_hex(&other), &missing).await.is_err());
    assert_eq!(store.size(&sha256_hex(&other)).await.unwrap(), None);
}

async fn reads_start_at_an_offset(store: &dyn BlobStore) {
    let bytes = content(5000);
    let key = sha256_hex(&bytes);
    store.put_bytes(&key, bytes.clone().into()).await.unwrap();
    assert_eq!(read_all(store, &key, 1234).await, (5000, bytes[1234..].to_vec()));
    assert_eq!(read_all(store, &key, 4999).await.1, bytes[4999..].to_vec());
    assert_eq!(read_all(store, &key, 5000).await, (5000, Vec::new()), "start at the end: empty");
    match store.open(&key, 5001).await {
        Err(BlobError::OutOfRange { offset: 5001, size: 5000, .. }) => {}
        Err(e) => panic!("past the end: {e}"),
        Ok(_) => panic!("past the end must fail"),
    }
}

async fn missing_blobs(store: &dyn BlobStore) {
    let key = sha256_hex(&content(33));
    assert_eq!(store.size(&key).await.unwrap(), None);
    match store.open(&key, 0).await {
        Err(BlobError::NotFound(k)) => assert_eq!(k, key),
        Err(e) => panic!("missing blob: {e}"),
        Ok(_) => panic!("missing blob opened"),
    }
}

async fn keys_must_be_sha256(store: &dyn BlobStore) {
    for bad in ["", "../../etc/passwd", &"A".repeat(64), &"a".repeat(63), &format!("{}/", "a".repeat(63))] {
        assert!(matches!(store.size(bad).await, Err(BlobError::InvalidKey(_))), "{bad:?}");
        assert!(matches!(store.open(bad, 0).await, Err(BlobError::InvalidKey(_))), "{bad:?}");
        assert!(matches!(store.put_bytes(bad, vec![1u8].into()).await, Err(BlobError::InvalidKey(_))), "{bad:?}");
        assert!(matches!(store.delete(bad).await, Err(BlobError::InvalidKey(_))), "{bad:?}");
    }
}

async fn delete_removes_and_is_idempotent(store: &dyn BlobStore) {
    let bytes = content(64);
    let key = sha256_hex(&bytes);
    store.put_bytes(&key, bytes.into()).await.unwrap();
    store.delete(&key).await.expect("delete");
    assert_eq!(store.size(&key).await.unwrap(), None);
    assert!(matches!(store.open(&key, 0).await, Err(BlobError::NotFound(_))));
    store.delete(&key).await.expect("deleting a missing blob succeeds");
}

async fn large_blobs_stream_in_chunks(store: &dyn BlobStore) {
    let bytes = content(3 * 1024 * 1024 + 17);
    let key = sha256_hex(&bytes);
    store.put_bytes(&key, bytes.clone().into()).await.unwrap();
    let mut read = store.open(&key, 0).await.unwrap();
    let (mut chunks, mut got) = (0, Vec::new());
    while let Some(chunk) = read.stream.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.len() <= 8 * 1024 * 1024, "a chunk of {} bytes: reads must stream", chunk.len());
        got.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks > 1, "3 MiB arrived in one chunk: reads must stream");
    assert_eq!(sha256_hex(&got), key);
}
