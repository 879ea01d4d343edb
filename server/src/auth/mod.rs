//! Credentials: opaque bearer tokens (visitor, agent, admin) stored only as SHA-256 hashes, and HS256 identity
//! tokens (see `jwt`). Each extractor resolves a token to its owner and app; a token never works on another app
//! because every lookup afterwards is scoped by the app (or visitor) the token resolved to.

pub mod jwt;
pub mod session;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chatflow_protocol::ErrorCode;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use jwt::{sign_identity_token, verify_identity_token, IdentityError};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{AgentRecord, AppRecord, VisitorRecord};

/// Longest bearer token looked up; anything longer cannot be ours.
const MAX_BEARER_BYTES: usize = 512;

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// What the database keeps of a token.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// A new visitor token: 244 random bits (two v4 UUIDs) behind a recognizable prefix.
pub fn new_visitor_token() -> String {
    format!("cfv_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// A new agent API token (for scripts): 244 random bits.
pub fn new_agent_token() -> String {
    format!("cfg_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let missing =
        || ApiError::new(ErrorCode::Unauthenticated, "this route needs an `Authorization: Bearer <token>` header");
    let value = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    if token.len() > MAX_BEARER_BYTES {
        return Err(invalid_token());
    }
    Ok(token)
}

fn invalid_token() -> ApiError {
    ApiError::new(ErrorCode::InvalidToken, "the bearer token is unknown or revoked")
}

/// A request made with a visitor token.
#[derive(Debug, Clone)]
pub struct VisitorAuth {
    pub visitor: VisitorRecord,
    /// Hash of the presented token (identify replaces it).
    pub token_hash: String,
}

impl FromRequestParts<AppState> for VisitorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token_hash = hash_token(bearer_token(parts)?);
        let hash = token_hash.clone();
        let visitor = state.db(move |s| s.visitor_by_token(&hash)).await?.ok_or_else(invalid_token)?;
        Ok(VisitorAuth { visitor, token_hash })
    }
}

/// How an agent request was authenticated.
#[derive(Debug, Clone)]
pub enum AgentCredential {
    /// `Authorization: Bearer <agent token>` (scripts).
    Token,
    /// The web inbox's session cookie (see `session`).
    Session(session::Session),
}

/// A request made by an agent: with an agent token, or with the inbox's session cookie (CSRF and WebSocket origin
/// checked, see `session`). A disabled agent's token and sessions are refused.
#[derive(Debug, Clone)]
pub struct AgentAuth {
    pub agent: AgentRecord,
    pub credential: AgentCredential,
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(AUTHORIZATION) {
            let hash = hash_token(bearer_token(parts)?);
            let agent = state.db(move |s| s.agent_by_token(&hash)).await?.ok_or_else(invalid_token)?;
            return Ok(AgentAuth { agent, credential: AgentCredential::Token });
        }
        let Some(token) = session::session_cookie(parts) else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "this route needs an `Authorization: Bearer <agent token>` header or the inbox's session cookie \
                 (sign in with POST /v1/agent/login)",
            ));
        };
        let (agent, session) = session::authenticate(parts, state, token).await?;
        Ok(AgentAuth { agent, credential: AgentCredential::Session(session) })
    }
}

/// A request made with an app's admin token.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    pub app: AppRecord,
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let hash = hash_token(bearer_token(parts)?);
        let app = state.db(move |s| s.app_by_admin_token(&hash)).await?.ok_or_else(invalid_token)?;
        Ok(AdminAuth { app })
    }
}

/// Maps an identity-token failure to its protocol code.
impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        let code = match e {
            IdentityError::Malformed(_) => ErrorCode::IdentityTokenMalformed,
            IdentityError::Forged => ErrorCode::IdentityTokenForged,
            IdentityError::WrongApp { .. } => ErrorCode::IdentityTokenWrongApp,
            IdentityError::Expired { .. } => ErrorCode::IdentityTokenExpired,
        };
        ApiError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(auth: Option<&str>) -> Parts {
        let mut b = Request::builder().uri("/");
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(&parts(Some("Bearer abc"))).unwrap(), "abc");
        assert_eq!(bearer_token(&parts(Some("bearer  abc "))).unwrap(), "abc");
        for bad in [None, Some("Basic abc"), Some("Bearer"), Some("Bearer   "), Some("abc")] {
            assert_eq!(bearer_token(&parts(bad)).unwrap_err().code, ErrorCode::Unauthenticated, "{bad:?}");
        }
        let long = format!("Bearer {}", "x".repeat(MAX_BEARER_BYTES + 1));
        assert_eq!(bearer_token(&parts(Some(&long))).unwrap_err().code, ErrorCode::InvalidToken);
    }

    #[test]
    fn tokens_are_random_and_hashes_are_hex() {
        let (a, b) = (new_visitor_token(), new_visitor_token());
        assert_ne!(a, b);
        assert!(a.starts_with("cfv_") && a.len() == 68);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
