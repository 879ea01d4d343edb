//! Attachment bytes: a content-addressed blob store behind an object-safe async trait.
//!
//! A blob's key is the lowercase hex SHA-256 of its bytes, so storing the same file twice costs nothing and a key
//! never names two contents. The caller guarantees that the key is the bytes' hash (the upload path checks the
//! client's checksum before it stores anything); stores only check that the key has the shape of one, which also
//! keeps keys from ever being paths.
//!
//! Backends: [`LocalBlobStore`] (a directory, the default); an S3-compatible one can implement the same trait. Every
//! backend must pass the conformance suite in `server/tests/support/blob_conformance.rs`.

mod local;

use std::path::Path;

use axum::body::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

pub use local::LocalBlobStore;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob under that key.
    #[error("no blob {0}")]
    NotFound(String),
    /// The key is not a lowercase hex SHA-256.
    #[error("blob key must be 64 lowercase hex characters, got {0:?}")]
    InvalidKey(String),
    /// A read asked to start past the blob's end.
    #[error("offset {offset} is past the end of blob {key} ({size} bytes)")]
    OutOfRange { key: String, offset: u64, size: u64 },
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
    /// A remote backend's failure, described by the backend.
    #[error("blob backend: {0}")]
    Backend(String),
}

/// An open blob: its total size and its bytes from the requested offset on, in chunks.
pub struct BlobRead {
    /// The whole blob's size (not only what the stream yields).
    pub size: u64,
    /// The bytes from the start offset to the end.
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

/// A content-addressed store. Object-safe: the server holds it as `Arc<dyn BlobStore>`.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the complete file at `src` under `key` (its SHA-256), durably, and removes `src` (a store on the same
    /// file system may simply move it). Storing a key that exists already succeeds without changing the blob.
    fn put_file<'a>(&'a self, key: &'a str, src: &'a Path) -> BoxFuture<'a, Result<(), BlobError>>;
    /// Stores `bytes` under `key` (their SHA-256), durably; idempotent like `put_file`.
    fn put_bytes<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, Result<(), BlobError>>;
    /// Opens the blob for streaming from byte `start` (0: the whole blob; `start == size`: an empty stream).
    fn open<'a>(&'a self, key: &'a str, start: u64) -> BoxFuture<'a, Result<BlobRead, BlobError>>;
    /// The blob's size, or `None` when there is no such blob.
    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<u64>, BlobError>>;
    /// Removes the blob; removing a missing blob succeeds.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BlobError>>;
}

/// Refuses anything but a lowercase hex SHA-256 as a key.
pub fn check_key(key: &str) -> Result<(), BlobError> {
    if chatflow_protocol::attachment::is_sha256_hex(key) {
        Ok(())
    } else {
        Err(BlobError::InvalidKey(key.chars().take(80).collect()))
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Lowercase hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(digest.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The store of a state built without files (unit tests of other capabilities): every call fails.
pub struct Unconfigured;

impl BlobStore for Unconfigured {
    fn put_file<'a>(&'a self, _: &'a str, _: &'a Path) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async { Err(unconfigured()) })
    }
    fn put_bytes<'a>(&'a self, _: &'a str, _: Bytes) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async { Err(unconfigured()) })
    }
    fn open<'a>(&'a self, _: &'a str, _: u64) -> BoxFuture<'a, Result<BlobRead, BlobError>> {
        Box::pin(async { Err(unconfigured()) })
    }
    fn size<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        Box::pin(async { Err(unconfigured()) })
    }
    fn delete<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async { Err(unconfigured()) })
    }
}

fn unconfigured() -> BlobError {
    BlobError::Backend("no blob store configured".into())
}

/// The attachments' directory for a database file when `--blob-dir` is not given: `<db>.files` beside it.
pub fn default_dir(db_path: &Path) -> std::path::PathBuf {
    let mut name = db_path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "chatflow".into());
    name.push(".files");
    db_path.with_file_name(name)
}
