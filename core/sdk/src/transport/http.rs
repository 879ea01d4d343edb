//! The SDK's HTTP client: JSON in, JSON out, over reqwest + rustls (ring).
//!
//! One small generic API ([`HttpClient::get`], [`HttpClient::put`], [`HttpClient::post`], [`HttpClient::delete`], or
//! [`HttpClient::request`] for the general case) that every capability uses, so that every route gets the same
//! behaviour:
//!
//! * every request names the app (`x-chatflow-app`) and, when given, the visitor (`Authorization: Bearer …`);
//! * a non-2xx answer becomes [`Error::Server`] with the protocol [`ErrorBody`]'s code and message — or, when the body
//!   is not a protocol error (a proxy's HTML page), a code guessed from the status and the first bytes of the body;
//! * a connection failure or timeout becomes [`Error::Network`] (recoverable: queued work retries), a refused
//!   certificate [`Error::Tls`] (not recoverable);
//! * `304 Not Modified` on a conditional GET is [`Fetched::NotModified`], not an error;
//! * an empty 2xx body reads as JSON `null`, so `()` (or `Option<T>`) is a valid answer type for `204 No Content`.
//!
//! reqwest needs a tokio reactor: call these from the SDK's runtime (`ClientInner::spawn`), never from a foreign
//! executor directly.
//!
//! Secrets: tokens travel only in headers and are never logged; log lines name the method, the path and the status.

use std::sync::Arc;
use std::time::Duration;

use chatflow_protocol::{ErrorBody, ErrorCode, APP_ID_HEADER};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, ETAG, IF_NONE_MATCH, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Time to establish a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole request, answer included. Our bodies are small (64 KiB at most), so 30 s means "stuck".
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of a non-protocol error body is quoted in the error message.
const MAX_QUOTED_BODY: usize = 200;

/// The answer to a conditional GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched<T> {
    /// 2xx: the body and the validator to send next time.
    Fresh { body: T, etag: Option<String> },
    /// 304: what the caller holds is still current.
    NotModified,
}

/// Cheap to clone (reqwest's client is an `Arc` inside): clone it into tasks rather than sharing a reference.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// `server_url` without a trailing slash; paths start with `/`.
    base: String,
    app_id: String,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("base", &self.base).field("app_id", &self.app_id).finish()
    }
}

impl HttpClient {
    /// Builds the client on the client's TLS configuration ([`super::tls::client_config`]). Costs a few milliseconds
    /// (the platform's trust store): the SDK builds it lazily, not in `open`.
    pub fn new(server_url: &str, app_id: &str, tls: Arc<rustls::ClientConfig>) -> Result<HttpClient> {
        let mut headers = HeaderMap::new();
        let app = HeaderValue::from_str(app_id).map_err(|_| Error::Config {
            message: format!("app_id `{app_id}` cannot be sent in an HTTP header; use letters, digits, `_`, `-`, `.`"),
        })?;
        headers.insert(APP_ID_HEADER, app);
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(Arc::unwrap_or_clone(tls))
            .default_headers(headers)
            .user_agent(concat!("chatflow-core/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Network { message: format!("cannot set up the HTTP client: {e}") })?;
        Ok(HttpClient { client, base: server_url.trim_end_matches('/').to_owned(), app_id: app_id.to_owned() })
    }

    /// A client on its own TLS configuration built from `config` (its server, app, extra roots and pins): for tools
    /// outside a [`crate::client::ChatClient`], which builds one configuration for REST and realtime.
    pub fn for_config(config: &crate::config::Config) -> Result<HttpClient> {
        HttpClient::new(&config.server_url, &config.app_id, super::tls::client_config(config)?)
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// `GET path`; with `if_none_match`, a 304 answer is [`Fetched::NotModified`].
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<Fetched<T>> {
        self.request::<(), T>(Method::GET, path, bearer, None, if_none_match).await
    }

    /// `PUT` or `POST path` with a JSON body; a refusal also carries the server's `Retry-After`, for callers that
    /// pace their retries by it (the send queue: messages, and the declarations of their files).
    pub async fn paced<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: &B,
    ) -> std::result::Result<T, Paced> {
        let fetched = self.request_paced(method, path, bearer, Some(body), None).await?;
        fresh(fetched, path).map_err(Paced::from)
    }

    /// `PUT path` with a JSON body.
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &B,
    ) -> Result<T> {
        fresh(self.request(Method::PUT, path, bearer, Some(body), None).await?, path)
    }

    /// `POST path` with a JSON body, or no body at all when `body` is `None` (write `None::<&()>`).
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: Option<&B>,
    ) -> Result<T> {
        fresh(self.request(Method::POST, path, bearer, body, None).await?, path)
    }

    /// `DELETE path`, no body.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str, bearer: Option<&str>) -> Result<T> {
        fresh(self.request::<(), T>(Method::DELETE, path, bearer, None, None).await?, path)
    }

    /// The general case: any method, optional bearer, optional JSON body, optional `If-None-Match`.
    pub async fn request<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&B>,
        if_none_match: Option<&str>,
    ) -> Result<Fetched<T>> {
        self.request_paced(method, path, bearer, body, if_none_match).await.map_err(|p| p.error)
    }

    async fn request_paced<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&B>,
        if_none_match: Option<&str>,
    ) -> std::result::Result<Fetched<T>, Paced> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.client.request(method.clone(), &url);
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(etag) = if_none_match {
            req = req.header(IF_NONE_MATCH, etag);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let response = req.send().await.map_err(|e| network_error(&method, path, &e))?;
        let status = response.status();
        tracing::debug!(%method, path, status = status.as_u16(), "http");
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        let etag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| network_error(&method, path, &e))?;
        if !status.is_success() {
            return Err(Paced { error: server_error(status, &bytes), retry_after });
        }
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::from_slice(b"null")
        } else {
            serde_json::from_slice(&bytes)
        }
        .map_err(|e| Error::Protocol {
            message: format!("{method} {path} answered {status} with a body that does not match the protocol: {e}"),
        })?;
        Ok(Fetched::Fresh { body, etag })
    }
}

/// Raw bytes in or out, for attachments (`attachments/`): the same headers and error mapping as the JSON calls, a
/// caller-chosen timeout (files take longer than 30 s on a slow network), and the answer left for the caller to read
/// (streamed downloads) — a non-2xx answer is already an [`Error::Server`].
impl HttpClient {
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        headers: &[(&'static str, String)],
        body: Option<reqwest::Body>,
        timeout: Duration,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.client.request(method.clone(), &url).timeout(timeout);
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let response = req.send().await.map_err(|e| network_error(&method, path, &e))?;
        let status = response.status();
        tracing::debug!(%method, path, status = status.as_u16(), "http");
        if !status.is_success() {
            let bytes = response.bytes().await.map_err(|e| network_error(&method, path, &e))?;
            return Err(server_error(status, &bytes));
        }
        Ok(response)
    }

    /// Reads a JSON answer of [`Self::send_raw`].
    pub async fn json_of<T: DeserializeOwned>(response: reqwest::Response, path: &str) -> Result<T> {
        let bytes = response.bytes().await.map_err(|e| network_error(&Method::GET, path, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Protocol {
            message: format!("{path} answered with a body that does not match the protocol: {e}"),
        })
    }

    /// Hands each piece of a streamed answer to `sink`, in order; a cut connection is [`Error::Network`] (what
    /// `sink` got so far is kept by the caller: downloads resume with `Range`).
    pub async fn read_chunks(
        mut response: reqwest::Response,
        path: &str,
        mut sink: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        while let Some(chunk) = response.chunk().await.map_err(|e| network_error(&Method::GET, path, &e))? {
            sink(&chunk)?;
        }
        Ok(())
    }
}

/// A failed request and, when the server said so (`Retry-After` in seconds, as a 429 carries), how long to wait
/// before trying it again.
#[derive(Debug)]
pub struct Paced {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for Paced {
    fn from(error: Error) -> Self {
        Paced { error, retry_after: None }
    }
}

/// `Retry-After` as delay-seconds (the form our server sends; an HTTP date is ignored: the caller's backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn fresh<T>(f: Fetched<T>, path: &str) -> Result<T> {
    match f {
        Fetched::Fresh { body, .. } => Ok(body),
        Fetched::NotModified => {
            Err(Error::Protocol { message: format!("{path} answered 304 Not Modified to an unconditional request") })
        }
    }
}

fn network_error(method: &Method, path: &str, e: &reqwest::Error) -> Error {
    if let Some(tls) = super::tls::tls_error(&format!("{method} {path}"), e) {
        return tls;
    }
    // reqwest's Display omits the cause ("error sending request"); the source chain says what actually failed.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    let what = if e.is_timeout() { "timed out" } else { "failed" };
    Error::Network { message: format!("{method} {path} {what}: {detail}") }
}

/// Maps a non-2xx answer to [`Error::Server`]; a body that is not a protocol [`ErrorBody`] keeps the status and
/// quotes the start of the body so the developer sees what answered (a proxy, a load balancer…).
pub(crate) fn server_error(status: StatusCode, body: &[u8]) -> Error {
    if let Ok(ErrorBody { code, message, .. }) = serde_json::from_slice::<ErrorBody>(body) {
        return Error::Server { status: status.as_u16(), code, message };
    }
    let text = String::from_utf8_lossy(body);
    let quoted: String = text.chars().take(MAX_QUOTED_BODY).collect();
    let code = code_for_status(status);
    let message = if quoted.trim().is_empty() {
        format!("HTTP {status} without a protocol error body")
    } else {
        format!("HTTP {status} without a protocol error body: {}", quoted.trim())
    };
    Error::Server { status: status.as_u16(), code, message }
}

fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::UnknownRoute,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::IdempotencyConflict,
        413 => ErrorCode::PayloadTooLarge,
        400..=499 => ErrorCode::InvalidBody,
        _ => ErrorCode::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_tls_config_is_accepted_by_the_http_stack() {
        // reqwest refuses a preconfigured TLS config of another rustls version with an "unknown TLS backend" error.
        let client = HttpClient::for_config(&crate::config::tests::config("https://chat.example.com"));
        assert!(client.is_ok(), "{:?}", client.err());
    }

    #[test]
    fn protocol_error_bodies_keep_code_and_message() {
        let body = br#"{"code":"consent_required","message":"accept first"}"#;
        match server_error(StatusCode::FORBIDDEN, body) {
            Error::Server { status, code, message } => {
                assert_eq!((status, code, message.as_str()), (403, ErrorCode::ConsentRequired, "accept first"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_bodies_fall_back_on_the_status_and_quote_the_body() {
        let cases: [(u16, &[u8], ErrorCode, &str); 4] = [
            (502, b"<html>Bad Gateway</html>", ErrorCode::Internal, "<html>Bad Gateway</html>"),
            (404, b"", ErrorCode::UnknownRoute, "without a protocol error body"),
            (401, b"{\"error\":\"nope\"}", ErrorCode::Unauthenticated, "nope"),
            (418, b"teapot", ErrorCode::InvalidBody, "teapot"),
        ];
        for (status, body, expected, needle) in cases {
            let err = server_error(StatusCode::from_u16(status).unwrap(), body);
            let Error::Server { status: s, code, message } = &err else { panic!("{err:?}") };
            assert_eq!((*s, *code), (status, expected));
            assert!(message.contains(needle), "{message}");
            assert_eq!(err.is_recoverable(), status >= 500, "{status}");
        }
        let long = "x".repeat(1000);
        let Error::Server { message, .. } = server_error(StatusCode::BAD_GATEWAY, long.as_bytes()) else { panic!() };
        assert!(message.len() < 300, "quoted body is capped");
    }

    #[test]
    fn retry_after_reads_delay_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), None);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_recoverable_network_error() {
        // Bind then drop a listener: the port is (almost certainly) closed for the next instant.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let http = HttpClient::for_config(&crate::config::tests::config(&format!("http://127.0.0.1:{port}/"))).unwrap();
        let err = http.get::<serde_json::Value>("/v1/x", None, None).await.unwrap_err();
        assert!(matches!(err, Error::Network { .. }), "{err:?}");
        assert!(err.is_recoverable());
        assert!(err.to_string().contains("GET /v1/x"), "{err}");
    }
}
