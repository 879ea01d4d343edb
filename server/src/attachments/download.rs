//! Downloads: `GET /v1/attachments/{id}` (a visitor: files of its own conversations, and its own uploads not yet
//! sent) and `GET /v1/agent/attachments/{id}` (an agent: its app's files), streamed from the blob store, with
//! `Range: bytes=N-` for resumed downloads, and their `/thumbnail`.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chatflow_protocol::attachment::is_inline_image;
use chatflow_protocol::{ErrorBody, ErrorCode};

use crate::auth::{AgentAuth, VisitorAuth};
use crate::blobs::BlobError;
use crate::domain::attachments::{may_read, Reader};
use crate::error::ApiError;
use crate::http::ApiPath;
use crate::state::AppState;
use crate::store::attachments::AttachmentRecord;

/// Files never change under their id: a client may cache them for a day.
const CACHE: &str = "private, max-age=86400";

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("attachment `{}` does not exist", id.chars().take(64).collect::<String>()))
}

async fn readable(state: &AppState, id: &str, reader: ReaderOf) -> Result<AttachmentRecord, ApiError> {
    let id_owned = id.to_owned();
    let found = state
        .db(move |s| {
            let Some(a) = s.attachment(&id_owned)? else { return Ok(None) };
            let conv_visitor = match &a.conversation_id {
                Some(c) => s.conversation(c)?.map(|c| c.visitor_id),
                None => None,
            };
            Ok(Some((a, conv_visitor)))
        })
        .await?;
    let Some((a, conv_visitor)) = found else { return Err(not_found(id)) };
    let allowed = match &reader {
        ReaderOf::Visitor(v) => may_read(
            &a,
            &Reader::Visitor {
                visitor_id: v,
                conversation_visitor_id: a.conversation_id.as_ref().map(|_| conv_visitor.as_deref().unwrap_or("")),
            },
        ),
        ReaderOf::Agent(app) => may_read(&a, &Reader::Agent { app_id: app }),
    };
    if allowed {
        Ok(a)
    } else {
        Err(not_found(id))
    }
}

enum ReaderOf {
    Visitor(String),
    Agent(String),
}

/// `Range: bytes=N-` → `Some(N)`; no header → `None`. Other forms are refused (only resumption is served).
fn range_start(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(raw) = headers.get(RANGE) else { return Ok(None) };
    let text = raw.to_str().unwrap_or("");
    text.strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::invalid_field("only `Range: bytes=N-` (resume from byte N) is served"))
}

/// `filename*=UTF-8''…` with every byte outside the RFC 5987 attr-char set percent-encoded.
fn content_disposition(kind: &str, name: &str) -> String {
    let mut out = format!("{kind}; filename*=UTF-8''");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn serve_blob(
    state: &AppState,
    key: &str,
    mime: &str,
    file_name: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let start = range_start(headers)?;
    let read = match state.blobs.open(key, start.unwrap_or(0)).await {
        Ok(r) => r,
        Err(BlobError::OutOfRange { size, .. }) => {
            let mut r =
                ApiError::new(ErrorCode::InvalidField, format!("the range starts past the file's {size} bytes"))
                    .into_response();
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(CONTENT_RANGE, v);
            }
            return Ok(r);
        }
        Err(BlobError::NotFound(_)) => {
            return Err(ApiError::internal("an attachment's bytes are missing from storage"))
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let from = start.unwrap_or(0);
    let mut response = Response::new(Body::from_stream(read.stream));
    let h = response.headers_mut();
    let put = |h: &mut HeaderMap, name, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    put(h, CONTENT_TYPE, mime.to_owned());
    put(h, CONTENT_LENGTH, (read.size - from).to_string());
    put(h, ETAG, format!("\"{key}\""));
    put(h, CACHE_CONTROL, CACHE.to_owned());
    put(h, ACCEPT_RANGES, "bytes".to_owned());
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(name) = file_name {
        let kind = if is_inline_image(mime) { "inline" } else { "attachment" };
        put(h, CONTENT_DISPOSITION, content_disposition(kind, name));
    }
    if start.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let end = read.size.saturating_sub(1);
        put(response.headers_mut(), CONTENT_RANGE, format!("bytes {from}-{end}/{}", read.size));
    }
    Ok(response)
}

async fn file(state: AppState, id: String, reader: ReaderOf, headers: HeaderMap) -> Result<Response, ApiError> {
    let a = readable(&state, &id, reader).await?;
    let att = &a.attachment;
    serve_blob(&state, &att.sha256, &att.mime_type, Some(&att.file_name), &headers).await
}

async fn thumbnail(state: AppState, id: String, reader: ReaderOf, headers: HeaderMap) -> Result<Response, ApiError> {
    let a = readable(&state, &id, reader).await?;
    let Some(key) = &a.thumbnail_key else {
        return Err(ApiError::not_found(format!(
            "attachment `{id}` has no thumbnail (not an image the server decodes)"
        )));
    };
    let mime = super::thumbs::thumbnail_mime(&a.attachment.mime_type);
    serve_blob(&state, key, mime, None, &headers).await
}

#[utoipa::path(
    get,
    path = "/v1/attachments/{attachment_id}",
    tag = "attachments",
    security(("visitor_token" = [])),
    description = "The file's bytes: a file of one of the visitor's conversations, or the visitor's own upload. \
        `Range: bytes=N-` resumes from byte N (206).",
    params(
        ("attachment_id" = String, Path, description = "The attachment's id"),
        ("Range" = Option<String>, Header, description = "`bytes=N-` to resume"),
    ),
    responses(
        (status = 200, description = "The bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The bytes from N", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "invalid_field (a Range other than `bytes=N-`)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown, or not the visitor's)", body = ErrorBody),
        (status = 416, description = "the range starts past the end", body = ErrorBody),
    )
)]
pub async fn visitor_file(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    file(state, id, ReaderOf::Visitor(auth.visitor.id), headers).await
}

#[utoipa::path(
    get,
    path = "/v1/attachments/{attachment_id}/thumbnail",
    tag = "attachments",
    security(("visitor_token" = [])),
    description = "An image's thumbnail (JPEG or PNG).",
    params(("attachment_id" = String, Path, description = "The attachment's id")),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/jpeg", body = Vec<u8>),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown, not the visitor's, or no thumbnail)", body = ErrorBody),
    )
)]
pub async fn visitor_thumbnail(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    thumbnail(state, id, ReaderOf::Visitor(auth.visitor.id), headers).await
}

#[utoipa::path(
    get,
    path = "/v1/agent/attachments/{attachment_id}",
    tag = "attachments",
    security(("agent_token" = []), ("agent_session" = [])),
    description = "The file's bytes, for an agent of the file's app. `Range: bytes=N-` resumes from byte N (206).",
    params(
        ("attachment_id" = String, Path, description = "The attachment's id"),
        ("Range" = Option<String>, Header, description = "`bytes=N-` to resume"),
    ),
    responses(
        (status = 200, description = "The bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The bytes from N", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "invalid_field (a Range other than `bytes=N-`)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown, or another app's)", body = ErrorBody),
        (status = 416, description = "the range starts past the end", body = ErrorBody),
    )
)]
pub async fn agent_file(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    file(state, id, ReaderOf::Agent(auth.agent.app_id), headers).await
}

#[utoipa::path(
    get,
    path = "/v1/agent/attachments/{attachment_id}/thumbnail",
    tag = "attachments",
    security(("agent_token" = []), ("agent_session" = [])),
    description = "An image's thumbnail (JPEG or PNG), for an agent of the file's app.",
    params(("attachment_id" = String, Path, description = "The attachment's id")),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/jpeg", body = Vec<u8>),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown, another app's, or no thumbnail)", body = ErrorBody),
    )
)]
pub async fn agent_thumbnail(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    thumbnail(state, id, ReaderOf::Agent(auth.agent.app_id), headers).await
}
