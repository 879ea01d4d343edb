//! HTTP plumbing shared by every route: extractors whose rejections are our `ErrorBody` (axum's own are plain
//! text), the body guard, and the 404/405 fallbacks.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatflow_protocol::limits::MAX_BODY_BYTES;
use chatflow_protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("request bodies are limited to {MAX_BODY_BYTES} bytes"))
}

/// `Json<T>` whose rejection is an `ErrorBody` (`invalid_body`, or `payload_too_large`).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::invalid_body("expected a JSON body with `Content-Type: application/json`"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::invalid_body(r.body_text())
            }
        })?;
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                // JSON has one number type: `18230.0` is the integer 18230, as JSON Schema's `integer` says. Only a
                // body that failed as sent is rewritten, so the common path parses once.
                let retried = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|mut v| integral_floats_to_integers(&mut v).then_some(v))
                    .and_then(|v| serde_json::from_value::<T>(v).ok());
                retried.map(ApiJson).ok_or_else(|| json_rejection(JsonRejection::JsonDataError(e)))
            }
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `application/json` or any `application/*+json`, as axum's `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Turns every float with no fractional part that fits an `i64` or `u64` into that integer; true if any changed.
fn integral_floats_to_integers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // 2^63 and 2^64 are exact in f64: the half-open ranges keep the casts exact.
            let int = if f.fract() != 0.0 || !f.is_finite() {
                None
            } else if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                Some(serde_json::Number::from(f as i64))
            } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                Some(serde_json::Number::from(f as u64))
            } else {
                None
            };
            int.map(|i| *n = i).is_some()
        }
        Value::Array(items) => items.iter_mut().fold(false, |acc, x| integral_floats_to_integers(x) | acc),
        Value::Object(map) => map.values_mut().fold(false, |acc, x| integral_floats_to_integers(x) | acc),
        _ => false,
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::invalid_body("expected a JSON body with `Content-Type: application/json`")
        }
        other => ApiError::invalid_body(other.body_text()),
    }
}

/// `Path<T>` whose rejection is an `ErrorBody`: a path segment of the wrong type cannot name anything that exists.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(r @ PathRejection::FailedToDeserializePathParams(_)) => {
                Err(ApiError::not_found(format!("no such resource: {}", r.body_text())))
            }
            Err(r) => Err(ApiError::internal(r.body_text())),
        }
    }
}

/// `Query<T>` whose rejection is an `ErrorBody` with `invalid_field`.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(r @ QueryRejection::FailedToDeserializeQueryString(_)) => Err(ApiError::invalid_field(r.body_text())),
            Err(r) => Err(ApiError::invalid_field(r.body_text())),
        }
    }
}

/// For POST routes that take no body: accepts an empty body or `{}`, refuses anything else so that a client sending
/// a body to the wrong route learns it instead of having it silently ignored.
pub struct NoBody;

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::invalid_body(r.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(NoBody);
        }
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(map)) if map.is_empty() => Ok(NoBody),
            _ => Err(ApiError::invalid_body("this route takes no body (send nothing, or `{}`)")),
        }
    }
}

/// Bodies up to this size are read and discarded before a refusal, so that the client (still writing) gets to read
/// the answer instead of a connection reset. Larger declared bodies are refused at once and the connection closed.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads and discards up to `DRAIN_LIMIT` bytes of the request body; answers `refusal` with `Connection: close` when
/// the body could not be fully read (the connection cannot be reused then).
async fn refuse_after_drain(req: Request, declared: Option<u64>, refusal: ApiError) -> Response {
    let drained = declared.is_none_or(|n| n <= DRAIN_LIMIT as u64)
        && axum::body::to_bytes(req.into_body(), DRAIN_LIMIT).await.is_ok();
    let mut response = refusal.into_response();
    if !drained {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whether a route of `ROUTES` serves `method` on `path` (`{name}` matches one non-empty segment; HEAD is served
/// wherever GET is). The body guard runs before routing: a method the path does not serve must reach the router's
/// 405 (with `Allow`), not a body refusal.
pub fn serves(method: &Method, path: &str) -> bool {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    crate::ROUTES.iter().any(|(m, pattern)| {
        *m == method && {
            let mut given = path.split('/');
            let mut wanted = pattern.split('/');
            loop {
                match (given.next(), wanted.next()) {
                    (None, None) => break true,
                    (Some(g), Some(w)) if w.starts_with('{') && !g.is_empty() => continue,
                    (Some(g), Some(w)) if g == w => continue,
                    _ => break false,
                }
            }
        }
    })
}

/// Runs before routing: refuses a declared body above the limit at once, and any body on GET/HEAD/DELETE, which take
/// none (on the routes that serve that method; others answer 405). Chunked bodies are bounded by `DefaultBodyLimit`
/// when read.
pub async fn body_guard(req: Request, next: Next) -> Response {
    let declared =
        req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    // An upload's bytes stream to disk (`attachments::patch`), never into memory: the JSON limit is not theirs.
    let streamed = req.method() == Method::PATCH && is_upload_path(req.uri().path());
    if !streamed && declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return refuse_after_drain(req, declared, too_large()).await;
    }
    let bodyless = matches!(*req.method(), Method::GET | Method::HEAD | Method::DELETE);
    let has_body = declared.is_some_and(|n| n > 0) || req.headers().contains_key(TRANSFER_ENCODING);
    if bodyless && has_body && serves(req.method(), req.uri().path()) {
        let refusal = ApiError::invalid_body(format!("`{}` requests take no body", req.method()));
        return refuse_after_drain(req, declared, refusal).await;
    }
    next.run(req).await
}

/// `/v1/uploads/{id}` or `/v1/agent/uploads/{id}`.
fn is_upload_path(path: &str) -> bool {
    let rest = path.strip_prefix("/v1/agent/uploads/").or_else(|| path.strip_prefix("/v1/uploads/"));
    rest.is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Logs every request at debug level: method, path, status, duration. Never headers or bodies (tokens, messages).
pub async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    response
}

/// Fallback for paths that match no route.
pub async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::UnknownRoute, format!("no route for `{method} {}`; see /openapi.json", uri.path()))
}

/// Fallback for a known path with a method it does not serve.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("`{}` does not accept `{method}`", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_matches_the_route_table() {
        assert!(serves(&Method::GET, "/v1/agent/conversations/abc/messages"));
        assert!(serves(&Method::POST, "/v1/agent/conversations/abc/messages"));
        assert!(serves(&Method::HEAD, "/v1/agent/conversations/counts"));
        assert!(serves(&Method::DELETE, "/v1/admin/teams/night/members/ag_1"));
        assert!(!serves(&Method::DELETE, "/v1/agent/conversations/abc/messages"), "no DELETE there");
        assert!(!serves(&Method::GET, "/v1/agent/conversations/abc/assign"), "POST only");
        assert!(!serves(&Method::GET, "/v1/agent/conversations//messages"), "a parameter is never empty");
        assert!(!serves(&Method::GET, "/v1/agent/conversations/abc/messages/extra"));
        assert!(!serves(&Method::GET, "/nope"));
    }

    #[test]
    fn integral_floats_become_integers_and_nothing_else_changes() {
        let mut v = serde_json::json!({"a": 3.0, "b": [-2.0, 1.5, "4.0"], "c": {"d": 1e300, "e": 7}, "f": 1.8e19});
        assert!(integral_floats_to_integers(&mut v));
        let want = serde_json::json!({"a": 3, "b": [-2, 1.5, "4.0"], "c": {"d": 1e300, "e": 7}, "f": 18_000_000_000_000_000_000_u64});
        assert_eq!(v, want);
        let mut plain = serde_json::json!({"seq": 3, "x": 0.5});
        assert!(!integral_floats_to_integers(&mut plain));
    }
}
