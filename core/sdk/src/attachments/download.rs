//! Received files, downloaded on demand into a size-bounded cache (`<data>/attachments/cache`), least recently used
//! out first. A download streams to `<file>.part` while hashing; a cut one resumes with `Range: bytes=N-`; a full
//! file is kept only if its SHA-256 and size match the message's metadata. Thumbnails are cached the same way (they
//! have no checksum of their own: the server made them).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::sha256::Sha256;
use reqwest::Method;
use rusqlite::{params, Connection};

use super::local::{hex, root, CHUNK};
use super::model::MessageAttachment;
use crate::client::{now_ms, ClientInner};
use crate::error::{Error, Result};
use crate::sync::sender::with_session;
use crate::transport::HttpClient;

/// Default bound of the download cache (`Config::attachment_cache_bytes`).
pub const DEFAULT_CACHE_BYTES: u64 = 100 * 1024 * 1024;

pub(crate) fn cache_dir(data_dir: &Path) -> PathBuf {
    root(data_dir).join("cache")
}

/// The metadata of a received (or sent) attachment, from the stored messages.
pub(crate) fn find(conn: &Connection, attachment_id: &str) -> Result<Option<MessageAttachment>> {
    crate::sync::tables::messages::attachment(conn, attachment_id)
}

/// Attachment ids are the server's, opaque: only ids safe as a file name are accepted.
fn check_id(attachment_id: &str) -> Result<()> {
    let ok = (1..=128).contains(&attachment_id.len())
        && attachment_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput { field: "attachment_id", message: "an id from a message's attachments".into() })
    }
}

impl ClientInner {
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.store().path().parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// A local path to the attachment's bytes: this device's own copy of a file it sent, the cached download, or a
    /// fresh (or resumed) download.
    pub(crate) async fn download_attachment(self: &Arc<Self>, attachment_id: &str, thumbnail: bool) -> Result<PathBuf> {
        check_id(attachment_id)?;
        let meta = self
            .store()
            .read(|c| find(c, attachment_id))?
            .ok_or_else(|| Error::NotFound { what: format!("attachment {attachment_id} in the stored messages") })?;
        if !thumbnail {
            if let Some(p) = meta.local_path.as_ref().map(PathBuf::from).filter(|p| p.is_file()) {
                return Ok(p);
            }
        } else if meta.image.is_none() {
            return Err(Error::NotFound { what: format!("thumbnail of {attachment_id} (not an image)") });
        }
        let name = if thumbnail { format!("{attachment_id}.thumb") } else { attachment_id.to_owned() };
        let dir = cache_dir(&self.data_dir());
        let target = dir.join(&name);
        if target.is_file() {
            self.store().write(|tx| touch(tx, &name, None))?;
            return Ok(target);
        }
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, &e))?;
        let path = format!("/v1/attachments/{attachment_id}{}", if thumbnail { "/thumbnail" } else { "" });
        let expected = (!thumbnail).then_some(&meta);
        fetch(self, &path, &dir.join(format!("{name}.part")), &target, expected).await?;
        let size = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
        self.store().write(|tx| touch(tx, &name, Some(size)))?;
        self.evict(&dir, &name)?;
        Ok(target)
    }

    /// Drops least recently used files until the cache fits its bound (`keep` stays: it was just asked for).
    pub(crate) fn evict(&self, dir: &Path, keep: &str) -> Result<()> {
        let limit = self.config().attachment_cache_bytes.map_or(DEFAULT_CACHE_BYTES, i64::unsigned_abs);
        let victims = self.store().write(|tx| {
            let mut rows: Vec<(String, u64)> = {
                let mut stmt = tx.prepare("SELECT file, size FROM attachment_cache ORDER BY last_used DESC")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut total: u64 = rows.iter().map(|r| r.1).sum();
            let mut victims = Vec::new();
            while total > limit {
                let Some((file, size)) = rows.pop() else { break };
                if file == keep {
                    continue;
                }
                total -= size;
                tx.execute("DELETE FROM attachment_cache WHERE file = ?1", [&file])?;
                victims.push(file);
            }
            Ok(victims)
        })?;
        for file in victims {
            let _ = std::fs::remove_file(dir.join(file));
        }
        Ok(())
    }
}

/// Forgets every cached file's row.
pub(crate) fn forget_all(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM attachment_cache", [])?;
    Ok(())
}

/// Records a use (and, after a download, the size) of a cached file.
fn touch(tx: &rusqlite::Transaction<'_>, file: &str, size: Option<u64>) -> Result<()> {
    match size {
        Some(size) => tx.execute(
            "INSERT INTO attachment_cache (file, size, last_used) VALUES (?1, ?2, ?3)
             ON CONFLICT (file) DO UPDATE SET size = ?2, last_used = ?3",
            params![file, size, now_ms()],
        )?,
        None => tx.execute("UPDATE attachment_cache SET last_used = ?2 WHERE file = ?1", params![file, now_ms()])?,
    };
    Ok(())
}

/// Downloads `path` into `part` (resuming what is there), checks it against `expected`, renames it to `target`.
async fn fetch(
    inner: &Arc<ClientInner>,
    path: &str,
    part: &Path,
    target: &Path,
    expected: Option<&MessageAttachment>,
) -> Result<()> {
    // What a cut download left: hash it so the resumed one is verified whole.
    let mut hasher = Sha256::new();
    let mut have: u64 = 0;
    if let Ok(mut f) = std::fs::File::open(part) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = f.read(&mut buf).map_err(|e| io(part, &e))?;
            if n == 0 {
                break;
            }
            have += n as u64;
            hasher.update(&buf[..n]);
        }
    }
    // Sizes come from the server as unsigned numbers: never negative.
    let size = expected.map(|m| m.size.max(0).unsigned_abs());
    if size.is_none_or(|size| have > size) {
        (hasher, have) = (Sha256::new(), 0);
    }
    if let Some(m) = expected.filter(|_| size == Some(have)) {
        // Whole already (the process stopped before the rename): a `Range` from the end would be refused.
        if hex(&hasher.clone().finalize()) == m.sha256 {
            return std::fs::rename(part, target).map_err(|e| io(target, &e));
        }
        (hasher, have) = (Sha256::new(), 0);
    }
    let timeout = Duration::from_secs(30 + size.unwrap_or(0) / (16 * 1024));
    let response = with_session(inner, |http: HttpClient, token: String| async move {
        let range = [("range", format!("bytes={have}-"))];
        let headers: &[(&'static str, String)] = if have > 0 { &range } else { &[] };
        http.send_raw(Method::GET, path, Some(&token), headers, None, timeout).await
    })
    .await?;
    let resumed = response.status().as_u16() == 206;
    if !resumed {
        (hasher, have) = (Sha256::new(), 0);
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(part)
        .map_err(|e| io(part, &e))?;
    let limit = size.unwrap_or(u64::MAX);
    let mut got = have;
    HttpClient::read_chunks(response, path, |chunk| {
        got += chunk.len() as u64;
        if got > limit {
            return Err(Error::Protocol { message: format!("{path} sent more bytes than the attachment's size") });
        }
        hasher.update(chunk);
        file.write_all(chunk).map_err(|e| io(part, &e))
    })
    .await?;
    file.flush().map_err(|e| io(part, &e))?;
    drop(file);
    if let Some(m) = expected {
        let sha = hex(&hasher.finalize());
        if Some(got) != size || sha != m.sha256 {
            let _ = std::fs::remove_file(part);
            return Err(Error::Protocol {
                message: format!("the download of `{}` does not match its checksum; try again", m.file_name),
            });
        }
    }
    std::fs::rename(part, target).map_err(|e| io(target, &e))
}

fn io(path: &Path, e: &std::io::Error) -> Error {
    Error::Storage { message: format!("{}: {e}", path.display()) }
}
