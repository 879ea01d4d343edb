//! Uploading a queued message's files before the message (run by the sender of its lane, `sync::sender`).
//!
//! Per file: `POST /v1/uploads` (idempotent by the upload id stored in the outbox entry: after a cut or a restart
//! it answers the server's offset), then one `PATCH` streaming the rest of the SDK's copy from that offset. A
//! connection cut mid-body keeps what the server received: the next try starts from its confirmed offset, so a file
//! crosses the network about once however often the link drops. `upload_offset_mismatch` → `GET` the status and go
//! on from there. `checksum_mismatch` (the copy changed) → hashed and declared again under a new id, once.

use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatflow_protocol::attachment::{UploadRequest, UploadStatus, UPLOAD_CONTENT_TYPE, UPLOAD_OFFSET_HEADER};
use chatflow_protocol::ErrorCode;
use reqwest::Method;

use super::local::{hash_file, CHUNK};
use super::model::PendingUpload;
use crate::client::{now_ms, ClientInner};
use crate::error::{Error, Result};
use crate::events::ChatEvent;
use crate::sync::sender::{with_session, with_session_paced};
use crate::sync::state::SyncState;
use crate::transport::http::Paced;
use crate::transport::HttpClient;

/// Progress events at most this often per message (each crosses the FFI).
const PROGRESS_EVERY_MS: i64 = 100;
/// Immediate resumes after a cut within one attempt, before the send queue's backoff takes over.
const RESUMES_PER_ATTEMPT: u32 = 3;

/// Counts a message's uploaded bytes and emits throttled [`ChatEvent::UploadProgress`].
struct Progress {
    state: Arc<SyncState>,
    conversation_id: String,
    client_message_id: String,
    total: u64,
    done: AtomicU64,
    last_emit: AtomicI64,
}

impl Progress {
    fn set(&self, bytes: u64) {
        self.done.store(bytes, Ordering::Relaxed);
        let now = now_ms();
        let last = self.last_emit.load(Ordering::Relaxed);
        if bytes == self.total || now - last >= PROGRESS_EVERY_MS {
            self.last_emit.store(now, Ordering::Relaxed);
            self.state.emit(ChatEvent::UploadProgress {
                conversation_id: self.conversation_id.clone(),
                client_message_id: self.client_message_id.clone(),
                bytes_sent: crate::model::long(bytes),
                total: crate::model::long(self.total),
            });
        }
    }
}

/// Uploads every file of a message; returns the upload ids to send with it. A refusal carries the server's
/// `Retry-After` when it gave one (too many files declared: the send queue waits that long).
pub(crate) async fn upload_all(
    inner: &Arc<ClientInner>,
    state: &Arc<SyncState>,
    conversation_id: &str,
    client_message_id: &str,
    uploads: &[PendingUpload],
) -> std::result::Result<Vec<String>, Paced> {
    let progress = Arc::new(Progress {
        state: state.clone(),
        conversation_id: conversation_id.to_owned(),
        client_message_id: client_message_id.to_owned(),
        total: uploads.iter().map(|u| u.size).sum(),
        done: AtomicU64::new(0),
        last_emit: AtomicI64::new(0),
    });
    let mut ids = Vec::with_capacity(uploads.len());
    let mut before: u64 = 0;
    for (index, original) in uploads.iter().enumerate() {
        let mut upload = original.clone();
        let status = loop {
            match upload_one(inner, &upload, &progress, before).await {
                Err(Paced { error: Error::Server { code: ErrorCode::ChecksumMismatch, .. }, .. })
                    if !upload.redeclared =>
                {
                    // The server discarded the bytes: the copy changed (or a disk error). Hash it again, once.
                    let path = std::path::PathBuf::from(&upload.path);
                    let (sha256, size) = hash_file(&path).map_err(|e| Error::Storage {
                        message: format!("cannot read the copy of `{}`: {e}", upload.file_name),
                    })?;
                    upload = PendingUpload {
                        upload_id: uuid::Uuid::now_v7().simple().to_string(),
                        sha256,
                        size,
                        redeclared: true,
                        ..upload
                    };
                    state.replace_upload(client_message_id, index, &upload)?;
                    tracing::info!("an upload failed its checksum; declared again");
                }
                other => break other?,
            }
        };
        if !status.complete {
            return Err(Error::Protocol { message: "the upload ended without being complete".into() }.into());
        }
        before += upload.size;
        progress.set(before);
        ids.push(upload.upload_id);
    }
    Ok(ids)
}

/// Declares one file and sends what the server lacks. Returns its final status.
async fn upload_one(
    inner: &Arc<ClientInner>,
    upload: &PendingUpload,
    progress: &Arc<Progress>,
    before: u64,
) -> std::result::Result<UploadStatus, Paced> {
    let declaration = UploadRequest {
        upload_id: upload.upload_id.clone(),
        file_name: upload.file_name.clone(),
        mime_type: upload.mime_type.clone(),
        size: upload.size,
        sha256: upload.sha256.clone(),
    };
    // Declarations are rate-limited per visitor: a refusal's `Retry-After` paces the next try.
    let mut status: UploadStatus = with_session_paced(inner, |http, token| {
        let declaration = &declaration;
        async move { http.paced(Method::POST, "/v1/uploads", Some(&token), declaration).await }
    })
    .await?;
    let path = format!("/v1/uploads/{}", upload.upload_id);
    let mut resumes = 0;
    while !status.complete {
        progress.set(before + status.offset);
        match patch(inner, upload, status.offset, &path, progress, before).await {
            Ok(s) => status = s,
            Err(Error::Server { code: ErrorCode::UploadOffsetMismatch, .. }) => status = get(inner, &path).await?,
            Err(e) if e.is_recoverable() && resumes < RESUMES_PER_ATTEMPT => {
                // Cut mid-body: the server kept what arrived; go on from its offset.
                resumes += 1;
                tracing::debug!(error = %e, "upload interrupted; resuming from the server's offset");
                status = get(inner, &path).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(status)
}

async fn get(inner: &Arc<ClientInner>, path: &str) -> Result<UploadStatus> {
    with_session(inner, |http, token| async move {
        match http.get::<UploadStatus>(path, Some(&token), None).await? {
            crate::transport::Fetched::Fresh { body, .. } => Ok(body),
            crate::transport::Fetched::NotModified => Err(Error::Protocol { message: format!("{path}: 304") }),
        }
    })
    .await
}

/// One `PATCH` with the bytes from `offset` to the end, streamed from the copy.
async fn patch(
    inner: &Arc<ClientInner>,
    upload: &PendingUpload,
    offset: u64,
    path: &str,
    progress: &Arc<Progress>,
    before: u64,
) -> Result<UploadStatus> {
    let remaining = upload.size.saturating_sub(offset);
    // Generous: a slow link (16 KiB/s) still finishes; a stalled one is cut and resumed later.
    let timeout = Duration::from_secs(30 + remaining / (16 * 1024));
    with_session(inner, |http: HttpClient, token: String| async move {
        let body = file_body(&upload.path, offset, upload.size, progress.clone(), before)?;
        let headers = [
            (UPLOAD_OFFSET_HEADER, offset.to_string()),
            ("content-type", UPLOAD_CONTENT_TYPE.to_owned()),
            ("content-length", remaining.to_string()),
        ];
        let response = http.send_raw(Method::PATCH, path, Some(&token), &headers, Some(body), timeout).await?;
        HttpClient::json_of(response, path).await
    })
    .await
}

/// The copy from `offset` to `size`, read a chunk at a time as the connection takes it.
fn file_body(path: &str, offset: u64, size: u64, progress: Arc<Progress>, before: u64) -> Result<reqwest::Body> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::Storage {
        message: format!("the copy of an outgoing file is gone ({e}); delete the message"),
    })?;
    file.seek(SeekFrom::Start(offset)).map_err(|e| Error::Storage { message: format!("cannot read the copy: {e}") })?;
    let state = (file, offset);
    let stream = futures_util::stream::unfold(state, move |(mut file, pos)| {
        let progress = progress.clone();
        async move {
            if pos >= size {
                return None;
            }
            // A local file read (page cache, ≤ 256 KiB): short enough to do inline on the runtime.
            let want = CHUNK.min((size - pos) as usize);
            let mut buf = vec![0u8; want];
            let read = match file.read(&mut buf) {
                Ok(0) => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the copy got shorter")),
                Ok(n) => Ok(n),
                Err(e) => Err(e),
            };
            match read {
                Ok(n) => {
                    buf.truncate(n);
                    let pos = pos + n as u64;
                    progress.set(before + pos);
                    Some((Ok::<Vec<u8>, std::io::Error>(buf), (file, pos)))
                }
                Err(e) => Some((Err(e), (file, size))),
            }
        }
    });
    Ok(reqwest::Body::wrap_stream(stream))
}
