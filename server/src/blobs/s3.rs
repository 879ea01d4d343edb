//! The S3-compatible blob store (`--blob-store s3`): each blob is one object, `blobs/<sha256>`, in one bucket.
//!
//! Any service that speaks the S3 API works (AWS S3, MinIO, Ceph, R2, …): `--s3-endpoint` names it, path-style
//! requests. Credentials come only from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` and are never logged.
//!
//! Memory stays bounded whatever the file's size: a file up to one part is sent in one PUT; a larger one is read in
//! chunks and sent as a multipart upload with at most [`PARALLEL_PARTS`] parts in flight. Reads stream the object's
//! body (an HTTP `Range` for a start offset). An S3 PUT is durable once answered, so a blob is whole or absent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::AsyncReadExt;

use super::{check_key, BlobError, BlobRead, BlobStore};

/// Bytes per part of a multipart upload (S3's minimum for every part but the last is 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once: memory held by one upload is at most about `PART_SIZE * (PARALLEL_PARTS + 1)`.
pub const PARALLEL_PARTS: usize = 2;
/// Bytes read from the source file at a time.
const READ_CHUNK: usize = 256 * 1024;

/// Where the bucket is (server flags `--s3-*`). Credentials are not here: they are read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The service's base URL (`--s3-endpoint`), e.g. `https://minio.example.com:9000`; `None`: AWS S3 itself.
    pub endpoint: Option<String>,
    /// The bucket (`--s3-bucket`); it must exist.
    pub bucket: String,
    /// The bucket's region (`--s3-region`), part of every request's signature.
    pub region: String,
    /// Allows a plain `http://` endpoint (`--s3-allow-http`): for a service on loopback or a private network only.
    pub allow_http: bool,
}

/// A blob store in an S3-compatible bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    bucket: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: its configuration holds the credentials.
        f.debug_struct("S3BlobStore").field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// The store for `config`, with credentials from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Makes no
    /// request: a wrong endpoint or bucket shows in [`S3BlobStore::check`] or the first operation.
    pub fn from_env(config: &S3Config) -> Result<Self, BlobError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| BlobError::Backend(format!("--blob-store s3 needs the environment variable {name}")))
        };
        Self::new(config, &var("AWS_ACCESS_KEY_ID")?, &var("AWS_SECRET_ACCESS_KEY")?)
    }

    /// The store for `config` with explicit credentials.
    pub fn new(config: &S3Config, access_key_id: &str, secret_access_key: &str) -> Result<Self, BlobError> {
        if config.bucket.is_empty() {
            return Err(BlobError::Backend("--s3-bucket must name the bucket".into()));
        }
        // reqwest is built without a default TLS provider: install the one the server uses (a no-op if one is set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret_access_key)
            .with_allow_http(config.allow_http)
            .with_virtual_hosted_style_request(false)
            // Transient failures are retried, but a dead service surfaces within a request's patience, not minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| BlobError::Backend(format!("S3 configuration: {e}")))?;
        Ok(Self { store: Arc::new(store), bucket: config.bucket.clone() })
    }

    /// One request to the bucket (a listing of one page under `blobs/`): fails when the service, bucket or
    /// credentials are wrong. A HEAD cannot do it: S3 answers a bare 404 both for a missing object and a missing
    /// bucket. The server calls it at start so that a misconfiguration stops it at once.
    pub async fn check(&self) -> Result<(), BlobError> {
        // Only the first page is fetched: the stream asks for the next one when read further.
        match self.store.list(Some(&ObjectPath::from("blobs"))).next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(BlobError::Backend(format!("S3 bucket `{}` is not usable: {e}", self.bucket))),
        }
    }

    fn location(key: &str) -> Result<ObjectPath, BlobError> {
        check_key(key)?;
        Ok(ObjectPath::from(format!("blobs/{key}")))
    }

    async fn exists(&self, location: &ObjectPath) -> Result<Option<u64>, BlobError> {
        match self.store.head(location).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn put_file_inner(&self, key: &str, src: &Path) -> Result<(), BlobError> {
        let location = Self::location(key)?;
        let mut file = tokio::fs::File::open(src).await?;
        let len = file.metadata().await?.len();
        if self.exists(&location).await?.is_none() {
            if len <= PART_SIZE as u64 {
                let mut bytes = Vec::with_capacity(len as usize);
                file.read_to_end(&mut bytes).await?;
                self.store.put(&location, PutPayload::from(bytes)).await.map_err(backend)?;
            } else {
                self.put_multipart(&location, &mut file).await?;
            }
        }
        tokio::fs::remove_file(src).await?;
        Ok(())
    }

    async fn put_multipart(&self, location: &ObjectPath, file: &mut tokio::fs::File) -> Result<(), BlobError> {
        let upload = self.store.put_multipart(location).await.map_err(backend)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; READ_CHUNK];
        let sent: Result<(), BlobError> = async {
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                // Back-pressure: wait for a part to finish before buffering more than PARALLEL_PARTS of them.
                writer.wait_for_capacity(PARALLEL_PARTS).await.map_err(backend)?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        match sent {
            Ok(()) => writer.finish().await.map(|_| ()).map_err(backend),
            Err(e) => {
                // Leave no orphaned parts behind (they are billed until aborted).
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "could not abort an S3 multipart upload");
                }
                Err(e)
            }
        }
    }

    async fn open_inner(&self, key: &str, start: u64) -> Result<BlobRead, BlobError> {
        let location = Self::location(key)?;
        let size = self.exists(&location).await?.ok_or_else(|| BlobError::NotFound(key.to_owned()))?;
        if start > size {
            return Err(BlobError::OutOfRange { key: key.to_owned(), offset: start, size });
        }
        if start == size {
            // S3 refuses a range that starts at the end (416): nothing to ask for.
            return Ok(BlobRead { size, stream: stream::empty().boxed() });
        }
        let options = GetOptions { range: (start > 0).then_some(GetRange::Offset(start)), ..GetOptions::default() };
        let got = self.store.get_opts(&location, options).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_owned()),
            e => backend(e),
        })?;
        let stream = got.into_stream().map_err(std::io::Error::other).boxed();
        Ok(BlobRead { size, stream })
    }
}

/// A backend error as the server reports it (the message names the request, never the credentials).
fn backend(e: object_store::Error) -> BlobError {
    BlobError::Backend(format!("S3: {e}"))
}

impl BlobStore for S3BlobStore {
    fn put_file<'a>(&'a self, key: &'a str, src: &'a Path) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(self.put_file_inner(key, src))
    }

    fn put_bytes<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            let location = Self::location(key)?;
            // Same key, same bytes: writing again is harmless, so no existence check first.
            self.store.put(&location, PutPayload::from(bytes)).await.map(|_| ()).map_err(backend)
        })
    }

    fn open<'a>(&'a self, key: &'a str, start: u64) -> BoxFuture<'a, Result<BlobRead, BlobError>> {
        Box::pin(self.open_inner(key, start))
    }

    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        Box::pin(async move { self.exists(&Self::location(key)?).await })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            match self.store.delete(&Self::location(key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(backend(e)),
            }
        })
    }
}
