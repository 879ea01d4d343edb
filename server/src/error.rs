//! `ApiError`: every refusal the server answers, turned into the protocol's `ErrorBody` with the status its code
//! implies. Handlers return `Result<_, ApiError>`; nothing else reaches the client.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatflow_protocol::{ErrorBody, ErrorCode};

use crate::store::StoreError;

/// A refusal with a machine code and a precise, human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds the client must wait (`rate_limited`): the `Retry-After` header and the body's `retry_after_secs`.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_secs: None }
    }

    /// `rate_limited`, to be retried after `seconds` (at least 1).
    pub fn rate_limited(message: impl Into<String>, seconds: u64) -> Self {
        Self { code: ErrorCode::RateLimited, message: message.into(), retry_after_secs: Some(seconds.max(1)) }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }

    pub fn invalid_field(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, message)
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidBody, message)
    }

    /// A server-side failure. The cause is logged; the client only learns that it may retry.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::Internal, "the server failed to handle the request; retry later")
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { retry_after_secs: self.retry_after_secs, ..ErrorBody::new(self.code, self.message.clone()) }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(what) => ApiError::new(ErrorCode::IdempotencyConflict, what),
            StoreError::Taken(what) => ApiError::new(ErrorCode::Conflict, what),
            StoreError::ConsentRequired(what) => ApiError::new(ErrorCode::ConsentRequired, what),
            StoreError::Invalid(what) => ApiError::invalid_field(what),
            StoreError::NotReady(what) => ApiError::new(ErrorCode::UploadNotReady, what),
            other @ (StoreError::Unavailable(_)
            | StoreError::Backend(_)
            | StoreError::Corrupt(_)
            | StoreError::SchemaTooNew { .. }) => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_protocol_code() {
        for code in ErrorCode::ALL {
            assert_eq!(ApiError::new(code, "x").status().as_u16(), code.http_status());
        }
    }

    #[test]
    fn store_errors_keep_their_meaning() {
        assert_eq!(ApiError::from(StoreError::NotFound("c".into())).code, ErrorCode::NotFound);
        assert_eq!(ApiError::from(StoreError::Conflict("c".into())).code, ErrorCode::IdempotencyConflict);
        assert_eq!(ApiError::from(StoreError::ConsentRequired("c".into())).code, ErrorCode::ConsentRequired);
        assert_eq!(ApiError::from(StoreError::Corrupt("c".into())).code, ErrorCode::Internal);
    }
}
