//! The default blob store: one directory, keys sharded as `ab/cd/<sha256>` so no directory grows huge.
//!
//! Writes are crash-safe: bytes go to a temporary file in `tmp/`, are fsynced, renamed into place, and the shard
//! directory is fsynced so the rename itself survives a power cut. A blob is therefore either whole or absent.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};

use super::{check_key, BlobError, BlobRead, BlobStore};

/// Bytes per chunk of a streamed read: large enough to keep syscalls few, small enough to bound memory.
const READ_CHUNK: usize = 256 * 1024;

/// A blob store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root: root.to_owned() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, BlobError> {
        check_key(key)?;
        Ok(self.root.join(&key[..2]).join(&key[2..4]).join(key))
    }

    /// A fresh temporary path inside the store (same file system as the blobs, so a rename moves it in).
    fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!("{}.part", uuid::Uuid::new_v4().simple()))
    }

    /// Moves the fsynced file `tmp` to `dest` and makes the rename durable.
    fn commit(tmp: &Path, dest: &Path) -> Result<(), BlobError> {
        let shard = dest.parent().ok_or_else(|| BlobError::Backend("blob path without a parent".into()))?;
        fs::create_dir_all(shard)?;
        fs::rename(tmp, dest)?;
        sync_dir(shard)?;
        // The shard directories may be new: their own entries must be durable too.
        if let Some(top) = shard.parent() {
            sync_dir(top)?;
        }
        Ok(())
    }

    fn put_file_blocking(&self, key: &str, src: &Path) -> Result<(), BlobError> {
        let dest = self.path_of(key)?;
        if dest.exists() {
            fs::remove_file(src)?;
            return Ok(());
        }
        File::open(src)?.sync_all()?;
        let tmp = self.temp_path();
        match fs::rename(src, &tmp) {
            // Same file system: the file itself moves in, no copy.
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
                fs::copy(src, &tmp)?;
                File::open(&tmp)?.sync_all()?;
                fs::remove_file(src)?;
            }
            Err(e) => return Err(e.into()),
        }
        Self::commit(&tmp, &dest)
    }

    fn put_bytes_blocking(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let dest = self.path_of(key)?;
        if dest.exists() {
            return Ok(());
        }
        let tmp = self.temp_path();
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        Self::commit(&tmp, &dest)
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn not_found(key: &str, e: std::io::Error) -> BlobError {
    if e.kind() == std::io::ErrorKind::NotFound {
        BlobError::NotFound(key.to_owned())
    } else {
        BlobError::Io(e)
    }
}

impl BlobStore for LocalBlobStore {
    fn put_file<'a>(&'a self, key: &'a str, src: &'a Path) -> BoxFuture<'a, Result<(), BlobError>> {
        let (this, key, src) = (self.clone(), key.to_owned(), src.to_owned());
        Box::pin(blocking(move || this.put_file_blocking(&key, &src)))
    }

    fn put_bytes<'a>(&'a self, key: &'a str, bytes: Bytes) -> BoxFuture<'a, Result<(), BlobError>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || this.put_bytes_blocking(&key, &bytes)))
    }

    fn open<'a>(&'a self, key: &'a str, start: u64) -> BoxFuture<'a, Result<BlobRead, BlobError>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(async move {
            let path = this.path_of(&key)?;
            let k = key.clone();
            let (file, size) = blocking(move || {
                let mut file = File::open(&path).map_err(|e| not_found(&k, e))?;
                let size = file.metadata()?.len();
                if start > size {
                    return Err(BlobError::OutOfRange { key: k, offset: start, size });
                }
                file.seek(SeekFrom::Start(start))?;
                Ok((file, size))
            })
            .await?;
            Ok(BlobRead { size, stream: read_stream(file).boxed() })
        })
    }

    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || match fs::metadata(this.path_of(&key)?) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || match fs::remove_file(this.path_of(&key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }))
    }
}

/// Reads `file` from its current position to the end, one chunk per blocking task.
fn read_stream(file: File) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; READ_CHUNK];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((file, buf))) => Some((Ok(Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(BlobError::Backend(format!("blob task failed: {e}"))),
    }
}
