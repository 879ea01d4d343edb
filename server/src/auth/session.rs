//! The web inbox's browser session: the `cf_agent_session` cookie, its CSRF token, and the origin check of
//! WebSocket upgrades it authenticates.
//!
//! - The cookie holds a random token (244 bits); the database keeps only its SHA-256. `HttpOnly` (no script reads
//!   it), `SameSite=Strict` (no cross-site request carries it), `Path=/`, and `Secure` when the request came over
//!   https: the server itself speaks plain HTTP, so that is known only behind a TLS proxy the operator trusts
//!   (`--trust-proxy`: then `X-Forwarded-Proto: https` marks the request as https).
//! - CSRF: every request authenticated by the cookie that is not GET/HEAD must carry `X-CSRF-Token` equal to the
//!   session's token (compared in constant time), else 403 `csrf_failed`. Bearer tokens need no such header: a
//!   browser never adds them by itself.
//! - A WebSocket upgrade authenticated by the cookie must come with an `Origin` whose host is the request's `Host`
//!   (cross-site WebSocket hijacking: SameSite does not cover every browser), else 403 `csrf_failed`. The check runs
//!   in the `AgentAuth` extractor, so every agent WebSocket route gets it.

use axum::http::header::{COOKIE, HOST, ORIGIN, UPGRADE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use chatflow_protocol::ErrorCode;
use uuid::Uuid;

use crate::domain::agents::{session_live, SESSION_MAX_MS, SESSION_TOUCH_MS};
use crate::error::ApiError;
use crate::state::{AppState, Settings};
use crate::store::AgentRecord;

pub const COOKIE_NAME: &str = "cf_agent_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Longest cookie value looked up.
const MAX_COOKIE_TOKEN_BYTES: usize = 256;

/// A new session token (the cookie's value).
pub fn new_session_token() -> String {
    format!("cfs_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// A new CSRF token.
pub fn new_csrf_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// Equality whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session cookie's value, when the request has one.
pub fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Did the request reach us over https? Only a trusted proxy can say so.
pub fn is_https(parts: &Parts, settings: &Settings) -> bool {
    settings.trust_proxy
        && parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    let max_age = SESSION_MAX_MS / 1000;
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("cf_agent_session=; Path=/; Max-Age=0"))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("cf_agent_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure")
    } else {
        HeaderValue::from_static("cf_agent_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

fn is_websocket_upgrade(parts: &Parts) -> bool {
    parts
        .headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
}

/// Is the request's `Origin` the server's own host (`Host`), whatever the scheme?
pub fn same_origin(parts: &Parts) -> bool {
    let header = |name| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let (Some(origin), Some(host)) = (header(ORIGIN), header(HOST)) else {
        return false;
    };
    let origin_host = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
    origin_host.is_some_and(|o| o.eq_ignore_ascii_case(host.trim()))
}

/// Resolves the session cookie to its agent, enforcing expiry, CSRF and the WebSocket origin rule.
pub async fn authenticate(parts: &Parts, state: &AppState, token: &str) -> Result<(AgentRecord, Session), ApiError> {
    let signed_out = || ApiError::new(ErrorCode::Unauthenticated, "no valid session: sign in again");
    if token.len() > MAX_COOKIE_TOKEN_BYTES {
        return Err(signed_out());
    }
    let token_hash = super::hash_token(token);
    let hash = token_hash.clone();
    let (session, agent) = state.db(move |s| s.session(&hash)).await?.ok_or_else(signed_out)?;
    let now = state.now_ms();
    if !session_live(now, session.created_at, session.last_seen_at) {
        let hash = token_hash.clone();
        state.db(move |s| s.delete_session(&hash)).await?;
        return Err(signed_out());
    }
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let given = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if !constant_time_eq(given, session.csrf_token.as_bytes()) {
            return Err(ApiError::new(
                ErrorCode::CsrfFailed,
                "this request needs the session's `X-CSRF-Token` header (from POST /v1/agent/login or GET /v1/agent/me)",
            ));
        }
    }
    if is_websocket_upgrade(parts) && !same_origin(parts) {
        return Err(ApiError::new(
            ErrorCode::CsrfFailed,
            "a WebSocket signed in by cookie must come from this server's own page (Origin)",
        ));
    }
    if now - session.last_seen_at >= SESSION_TOUCH_MS {
        let hash = token_hash.clone();
        state.db(move |s| s.touch_session(&hash, now)).await?;
    }
    Ok((agent, Session { token_hash, csrf_token: session.csrf_token }))
}

/// The browser session a request came with.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().uri("/v1/agent/feed");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn cookie_parsing() {
        let p = parts(&[("cookie", "a=1; cf_agent_session=cfs_abc ; b=2")]);
        assert_eq!(session_cookie(&p), Some("cfs_abc"));
        assert_eq!(session_cookie(&parts(&[("cookie", "xcf_agent_session=1")])), None);
        assert_eq!(session_cookie(&parts(&[("cookie", "cf_agent_session=")])), None);
        assert_eq!(session_cookie(&parts(&[])), None);
    }

    #[test]
    fn origin_must_be_our_host() {
        let ok = parts(&[("host", "inbox.example.com:8080"), ("origin", "https://inbox.example.com:8080")]);
        assert!(same_origin(&ok));
        assert!(!same_origin(&parts(&[("host", "inbox.example.com"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&parts(&[("host", "inbox.example.com:8080"), ("origin", "http://inbox.example.com")])));
        assert!(!same_origin(&parts(&[("host", "inbox.example.com")])), "no Origin");
        assert!(!same_origin(&parts(&[("host", "a"), ("origin", "null")])));
    }

    #[test]
    fn https_only_from_a_trusted_proxy() {
        let p = parts(&[("x-forwarded-proto", "https")]);
        assert!(!is_https(&p, &Settings::default()));
        assert!(is_https(&p, &Settings { trust_proxy: true, ..Settings::default() }));
        assert!(!is_https(
            &parts(&[("x-forwarded-proto", "http")]),
            &Settings { trust_proxy: true, ..Settings::default() }
        ));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
