//! `PATCH /v1/uploads/{upload_id}` (and the agent twin): appends streamed bytes to the upload's partial file.
//!
//! The body is never held whole: chunks are gathered up to [`FLUSH_BYTES`], written and hashed on the blocking pool,
//! and the file is fsynced before the new offset is recorded and answered. A body cut mid-way keeps what arrived: the
//! bytes are fsynced and the offset recorded, so `GET` shows where to go on. The SHA-256 runs over the bytes as they
//! are written; its state at the confirmed offset is kept in memory between `PATCH`es (`inflight`), and after a
//! restart the partial file is hashed again once.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatflow_protocol::attachment::{UploadStatus, UPLOAD_CONTENT_TYPE, UPLOAD_OFFSET_HEADER};
use chatflow_protocol::{ErrorBody, ErrorCode};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::inflight::InFlight;
use super::uploads::{live_upload, status_of};
use super::Uploader;
use crate::auth::{AgentAuth, VisitorAuth};
use crate::blobs::hex;
use crate::domain::attachments::{attachment_of, check_bytes, expires_at};
use crate::error::ApiError;
use crate::http::ApiPath;
use crate::state::AppState;
use crate::store::attachments::{AttachmentRecord, UploadRecord};

/// Bytes gathered before a write: bounds the memory an upload holds.
const FLUSH_BYTES: usize = 1024 * 1024;
/// Bytes the type is judged on.
const SNIFF_BYTES: usize = 8 * 1024;

/// The partial file of an upload: named by a hash of its owner and id (never by client text).
pub fn partial_path(state: &AppState, upload: &UploadRecord) -> PathBuf {
    let (kind, id) = upload.owner.parts();
    let name = crate::blobs::sha256_hex(format!("{kind}\n{id}\n{}", upload.upload_id).as_bytes());
    state.partial_dir.join(format!("{name}.part"))
}

fn with_offset(mut response: Response, offset: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&offset.to_string()) {
        response.headers_mut().insert(UPLOAD_OFFSET_HEADER, v);
    }
    response
}

fn mismatch(sent: u64, offset: u64) -> Response {
    let err = ApiError::new(
        ErrorCode::UploadOffsetMismatch,
        format!("this PATCH starts at {sent} but the server holds {offset} bytes: continue from {offset}"),
    );
    with_offset(err.into_response(), offset)
}

fn requested_offset(headers: &HeaderMap) -> Result<u64, ApiError> {
    if let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE) {
        let base = ct.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if base != UPLOAD_CONTENT_TYPE {
            return Err(ApiError::invalid_body(format!(
                "an upload body must be `Content-Type: {UPLOAD_CONTENT_TYPE}`"
            )));
        }
    } else {
        return Err(ApiError::invalid_body(format!("an upload body must be `Content-Type: {UPLOAD_CONTENT_TYPE}`")));
    }
    let raw = headers.get(UPLOAD_OFFSET_HEADER).ok_or_else(|| {
        ApiError::invalid_field("the `Upload-Offset` header is required: the byte offset this body starts at")
    })?;
    raw.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()).ok_or_else(|| {
        ApiError::invalid_field("`Upload-Offset` must be a non-negative integer (the byte offset this body starts at)")
    })
}

/// What the streaming loop ended with.
enum Outcome {
    /// The body ended.
    Done,
    /// The body went past the declared size.
    TooLong,
    /// The connection failed mid-body.
    Cut,
}

struct Writer {
    file: File,
    hasher: Sha256,
    written: u64,
}

/// Writes `buf` and hashes it, on the blocking pool.
async fn flush(w: Writer, buf: Vec<u8>) -> Result<(Writer, Vec<u8>), ApiError> {
    let task = tokio::task::spawn_blocking(move || {
        let mut w = w;
        let mut buf = buf;
        w.file.write_all(&buf)?;
        w.hasher.update(&buf);
        w.written += buf.len() as u64;
        buf.clear();
        Ok::<_, std::io::Error>((w, buf))
    });
    match task.await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(ApiError::internal(format!("writing an upload: {e}"))),
        Err(e) => Err(ApiError::internal(format!("upload task failed: {e}"))),
    }
}

/// Runs on a task of its own: when the client drops the connection, hyper drops the handler, but the bytes that
/// arrived must still be synced and their offset recorded.
async fn append(state: AppState, who: Uploader, upload_id: String, headers: HeaderMap, body: Body) -> Response {
    match tokio::spawn(append_inner(state, who, upload_id, headers, body)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(format!("upload task failed: {e}")).into_response(),
    }
}

async fn append_inner(
    state: AppState,
    who: Uploader,
    upload_id: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let start = requested_offset(&headers)?;
    let upload = live_upload(&state, &who, &upload_id).await?;
    if upload.attachment_id.is_some() {
        if start == upload.size {
            let status = status_of(&state, &upload).await?;
            return Ok(with_offset(Json(status).into_response(), upload.size));
        }
        return Ok(mismatch(start, upload.size));
    }
    if start != upload.received {
        return Ok(mismatch(start, upload.received));
    }
    let room = upload.size - upload.received;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > room) {
        return Err(past_size(&upload));
    }
    let Some((lease, hasher)) = InFlight::acquire(&state.uploads_in_flight, &who.owner, &upload_id, start) else {
        return Ok(mismatch(start, upload.received));
    };
    let path = partial_path(&state, &upload);
    let writer = open_partial(path.clone(), start, hasher).await?;
    let (writer, outcome) = stream_into(writer, body, room).await?;
    // Durable before it is confirmed, whatever the body's fate.
    let writer = sync(writer).await?;
    let received = start + writer.written;
    let now = state.now_ms();
    let (owner, id) = (who.owner.clone(), upload_id.clone());
    state.db(move |s| s.set_upload_received(&owner, &id, received, expires_at(now))).await?;
    let mut upload = upload;
    upload.received = received;
    upload.expires_at = expires_at(now);
    match outcome {
        Outcome::Cut => {
            lease.release(received, writer.hasher);
            return Err(ApiError::invalid_body(format!(
                "the body was cut after {received} bytes; continue from there"
            )));
        }
        Outcome::TooLong => {
            lease.release(received, writer.hasher);
            return Err(past_size(&upload));
        }
        Outcome::Done if received < upload.size => {
            lease.release(received, writer.hasher);
            let status = status_of(&state, &upload).await?;
            return Ok(with_offset(Json(status).into_response(), received));
        }
        Outcome::Done => {}
    }
    drop(writer.file);
    let sha = hex(&writer.hasher.finalize());
    let finished = finish(&state, &upload, &path, &sha).await;
    drop(lease);
    state.uploads_in_flight.forget(&who.owner, &upload_id);
    let status = finished?;
    Ok(with_offset(Json(status).into_response(), upload.size))
}

fn past_size(upload: &UploadRecord) -> ApiError {
    ApiError::new(
        ErrorCode::FileTooLarge,
        format!("the body goes past the declared size of {} bytes (the server holds {})", upload.size, upload.received),
    )
}

/// Opens the partial file at `start` (dropping any unconfirmed tail) with the hash of its first `start` bytes.
async fn open_partial(path: PathBuf, start: u64, hasher: Option<Sha256>) -> Result<Writer, ApiError> {
    let task = tokio::task::spawn_blocking(move || {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
        // Bytes past the confirmed offset were never confirmed (a crash between write and record): drop them.
        file.set_len(start)?;
        let hasher = match hasher {
            Some(h) => h,
            None => {
                let mut h = Sha256::new();
                let mut buf = vec![0u8; 256 * 1024];
                let mut left = start;
                let mut reader = File::open(&path)?;
                while left > 0 {
                    let want = left.min(buf.len() as u64) as usize;
                    let n = reader.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "partial file too short"));
                    }
                    h.update(&buf[..n]);
                    left -= n as u64;
                }
                h
            }
        };
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(start))?;
        Ok::<_, std::io::Error>(Writer { file, hasher, written: 0 })
    });
    match task.await {
        Ok(Ok(w)) => Ok(w),
        Ok(Err(e)) => Err(ApiError::internal(format!("opening an upload's partial file: {e}"))),
        Err(e) => Err(ApiError::internal(format!("upload task failed: {e}"))),
    }
}

async fn stream_into(mut writer: Writer, body: Body, room: u64) -> Result<(Writer, Outcome), ApiError> {
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_BYTES);
    let mut taken: u64 = 0;
    let outcome = loop {
        match stream.next().await {
            None => break Outcome::Done,
            Some(Err(_)) => break Outcome::Cut,
            Some(Ok(chunk)) => {
                if taken + chunk.len() as u64 > room {
                    break Outcome::TooLong;
                }
                taken += chunk.len() as u64;
                buf.extend_from_slice(&chunk);
                if buf.len() >= FLUSH_BYTES {
                    (writer, buf) = flush(writer, buf).await?;
                }
            }
        }
    };
    if !buf.is_empty() {
        (writer, _) = flush(writer, buf).await?;
    }
    Ok((writer, outcome))
}

async fn sync(w: Writer) -> Result<Writer, ApiError> {
    match tokio::task::spawn_blocking(move || w.file.sync_data().map(|()| w)).await {
        Ok(Ok(w)) => Ok(w),
        Ok(Err(e)) => Err(ApiError::internal(format!("syncing an upload: {e}"))),
        Err(e) => Err(ApiError::internal(format!("upload task failed: {e}"))),
    }
}

/// The last byte arrived: check the checksum and the type, store the blob (and an image's thumbnail), record the
/// attachment. A refused upload is discarded.
async fn finish(
    state: &AppState,
    upload: &UploadRecord,
    path: &std::path::Path,
    sha: &str,
) -> Result<UploadStatus, ApiError> {
    let p = path.to_owned();
    let head = tokio::task::spawn_blocking(move || {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        File::open(&p)?.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
        Ok::<_, std::io::Error>(head)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("reading an upload: {e}")))?;
    let sniffed = match check_bytes(upload, sha, &head) {
        Ok(t) => t,
        Err(refusal) => {
            super::sweeper::discard(state, upload).await?;
            return Err(refusal.into());
        }
    };
    let id = format!("att_{}", uuid::Uuid::new_v4().simple());
    let mut attachment = attachment_of(upload, id, sniffed);
    let (image, thumbnail_key) = match super::thumbs::make(state, path, sniffed).await {
        Ok(Some((info, key))) => (Some(info), key),
        Ok(None) => (None, None),
        Err(refusal) => {
            super::sweeper::discard(state, upload).await?;
            return Err(refusal.into());
        }
    };
    attachment.image = image;
    state.blobs.put_file(&upload.sha256, path).await.map_err(|e| ApiError::internal(format!("storing a file: {e}")))?;
    let record = AttachmentRecord {
        app_id: upload.app_id.clone(),
        owner: upload.owner.clone(),
        upload_id: upload.upload_id.clone(),
        attachment: attachment.clone(),
        thumbnail_key,
        conversation_id: None,
        message_seq: None,
        created_at: state.now_ms(),
    };
    state.db(move |s| s.complete_upload(&record)).await?;
    Ok(UploadStatus {
        upload_id: upload.upload_id.clone(),
        offset: upload.size,
        size: upload.size,
        complete: true,
        attachment: Some(attachment),
        expires_at: upload.expires_at,
    })
}

#[utoipa::path(
    patch,
    path = "/v1/uploads/{upload_id}",
    tag = "attachments",
    security(("visitor_token" = [])),
    description = "Appends bytes to an upload, from `Upload-Offset` (which must equal the server's offset). The body \
        may be any length up to the bytes left; a cut body keeps what arrived (GET tells the offset). When the last \
        byte arrives the checksum and the type are checked and the answer is `complete` with the `attachment`.",
    params(
        ("upload_id" = String, Path, description = "The client's upload id"),
        ("Upload-Offset" = u64, Header, description = "The byte offset this body starts at"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream", description = "The bytes from `Upload-Offset` on"),
    responses(
        (status = 200, description = "Bytes stored (durably); `Upload-Offset` header = the new offset", body = UploadStatus),
        (status = 400, description = "invalid_body (content type, cut body), invalid_field (Upload-Offset)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown, another uploader's, or expired)", body = ErrorBody),
        (status = 409, description = "upload_offset_mismatch (header `Upload-Offset` = the server's offset)", body = ErrorBody),
        (status = 413, description = "file_too_large (bytes past the declared size)", body = ErrorBody),
        (status = 415, description = "unsupported_media_type, content_mismatch (the upload is discarded)", body = ErrorBody),
        (status = 422, description = "checksum_mismatch (the upload is discarded)", body = ErrorBody),
    )
)]
pub async fn visitor_append(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(upload_id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    append(state, (&auth).into(), upload_id, headers, body).await
}

#[utoipa::path(
    patch,
    path = "/v1/agent/uploads/{upload_id}",
    tag = "attachments",
    security(("agent_token" = []), ("agent_session" = [])),
    description = "Appends bytes to an agent's upload (as `PATCH /v1/uploads/{upload_id}`).",
    params(
        ("upload_id" = String, Path, description = "The client's upload id"),
        ("Upload-Offset" = u64, Header, description = "The byte offset this body starts at"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream", description = "The bytes from `Upload-Offset` on"),
    responses(
        (status = 200, description = "Bytes stored (durably); `Upload-Offset` header = the new offset", body = UploadStatus),
        (status = 400, description = "invalid_body (content type, cut body), invalid_field (Upload-Offset)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "csrf_failed", body = ErrorBody),
        (status = 404, description = "not_found (unknown, another uploader's, or expired)", body = ErrorBody),
        (status = 409, description = "upload_offset_mismatch (header `Upload-Offset` = the server's offset)", body = ErrorBody),
        (status = 413, description = "file_too_large (bytes past the declared size)", body = ErrorBody),
        (status = 415, description = "unsupported_media_type, content_mismatch (the upload is discarded)", body = ErrorBody),
        (status = 422, description = "checksum_mismatch (the upload is discarded)", body = ErrorBody),
    )
)]
pub async fn agent_append(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(upload_id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    append(state, (&auth).into(), upload_id, headers, body).await
}
