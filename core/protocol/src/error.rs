//! The error body every refusal carries, with a closed set of machine-readable codes.

use serde::{Deserialize, Serialize};

/// Body of every 4xx/5xx answer: `{ "code": "...", "message": "..." }`.
///
/// `code` is for programs (closed set, stable); `message` is for the developer reading logs (English, may change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// With `rate_limited`: whole seconds to wait before trying again (the HTTP answer's `Retry-After`). Over the
    /// realtime socket, where there is no header, this is the only place it is said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_secs: None }
    }
}

/// Every reason the server may refuse a request. Adding a code is a protocol change (documented in docs/protocol.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON or does not match the expected shape.
    InvalidBody,
    /// A field has a value outside what is accepted (the message names the field).
    InvalidField,
    /// The request body is larger than the server accepts.
    PayloadTooLarge,
    /// A message body exceeds `limits::MAX_MESSAGE_CHARS`.
    MessageTooLong,
    /// More chat properties than `limits::MAX_PROPERTIES`, or a key/value too long.
    TooManyProperties,
    /// A page size above `limits::MAX_PAGE_SIZE`, or conflicting paging parameters.
    InvalidPaging,
    /// No credentials were given where they are required.
    Unauthenticated,
    /// A visitor/agent/admin token is unknown or revoked.
    InvalidToken,
    /// An identity token's `exp` is in the past: ask the app's backend for a fresh one.
    IdentityTokenExpired,
    /// An identity token's signature does not match the app's identity secret.
    IdentityTokenForged,
    /// An identity token was issued for another app (`aud`).
    IdentityTokenWrongApp,
    /// An identity token is not a well-formed HS256 JWT with the required claims.
    IdentityTokenMalformed,
    /// The credentials are valid but do not allow this action (e.g. another visitor's conversation).
    Forbidden,
    /// The app, chatflow, conversation or article does not exist (or is not visible to the caller).
    NotFound,
    /// A client id was reused with a different payload.
    IdempotencyConflict,
    /// The chatflow requires explicit consent to process data and this visitor has no accepted record.
    ConsentRequired,
    /// The chatflow is disabled.
    ChatflowDisabled,
    /// The route does not exist.
    UnknownRoute,
    /// The HTTP method is not allowed on this route.
    MethodNotAllowed,
    /// The server failed; the request may be retried.
    Internal,
    /// An agent's sign-in was refused: unknown email, wrong password or disabled agent (never says which).
    InvalidCredentials,
    /// A request authenticated by the inbox's session cookie lacks the session's `X-CSRF-Token`, or a WebSocket
    /// upgrade it authenticates comes from another origin.
    CsrfFailed,
    /// Too many requests (failed sign-ins, visitors created, messages sent, …): wait the `Retry-After` seconds
    /// (`retry_after_secs` over the realtime socket), then try again unchanged.
    RateLimited,
    /// The name or key is already used (an agent's email or id, a canned response's shortcut), or the action does
    /// not fit the thing's state (reopening an open conversation).
    Conflict,
    /// A file is larger than the app's attachment limit (`attachment::DEFAULT_MAX_ATTACHMENT_BYTES` by default).
    FileTooLarge,
    /// A file type outside `attachment::ALLOWED_MIME_TYPES` (judged by the bytes' magic number).
    UnsupportedMediaType,
    /// The bytes show another type than the one declared (a script named `photo.png`).
    ContentMismatch,
    /// The uploaded bytes do not hash to the declared SHA-256: the upload is discarded, start it again.
    ChecksumMismatch,
    /// A `PATCH` started at another offset than the server holds: `GET` the upload and go on from its `offset`.
    UploadOffsetMismatch,
    /// A message references an upload that is not complete (or already used by another message).
    UploadNotReady,
}

impl ErrorCode {
    /// The HTTP status the server answers with for this code.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidBody | InvalidField | MessageTooLong | TooManyProperties | InvalidPaging => 400,
            Unauthenticated | InvalidToken | IdentityTokenExpired | IdentityTokenForged | InvalidCredentials => 401,
            // A token the server cannot even read fails authentication like a forged one.
            IdentityTokenMalformed | IdentityTokenWrongApp => 401,
            Forbidden | ConsentRequired | ChatflowDisabled | CsrfFailed => 403,
            NotFound | UnknownRoute => 404,
            MethodNotAllowed => 405,
            IdempotencyConflict | Conflict | UploadOffsetMismatch | UploadNotReady => 409,
            PayloadTooLarge | FileTooLarge => 413,
            UnsupportedMediaType | ContentMismatch => 415,
            ChecksumMismatch => 422,
            RateLimited => 429,
            Internal => 500,
        }
    }

    /// True when retrying the same request later may succeed without any change (server-side failure).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorCode::Internal)
    }

    pub const ALL: [ErrorCode; 30] = {
        use ErrorCode::*;
        [
            InvalidBody,
            InvalidField,
            PayloadTooLarge,
            MessageTooLong,
            TooManyProperties,
            InvalidPaging,
            Unauthenticated,
            InvalidToken,
            IdentityTokenExpired,
            IdentityTokenForged,
            IdentityTokenWrongApp,
            IdentityTokenMalformed,
            Forbidden,
            NotFound,
            IdempotencyConflict,
            ConsentRequired,
            ChatflowDisabled,
            UnknownRoute,
            MethodNotAllowed,
            Internal,
            InvalidCredentials,
            CsrfFailed,
            RateLimited,
            Conflict,
            FileTooLarge,
            UnsupportedMediaType,
            ContentMismatch,
            ChecksumMismatch,
            UploadOffsetMismatch,
            UploadNotReady,
        ]
    };

    /// The wire string of this code (`"consent_required"`).
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidBody => "invalid_body",
            InvalidField => "invalid_field",
            PayloadTooLarge => "payload_too_large",
            MessageTooLong => "message_too_long",
            TooManyProperties => "too_many_properties",
            InvalidPaging => "invalid_paging",
            Unauthenticated => "unauthenticated",
            InvalidToken => "invalid_token",
            IdentityTokenExpired => "identity_token_expired",
            IdentityTokenForged => "identity_token_forged",
            IdentityTokenWrongApp => "identity_token_wrong_app",
            IdentityTokenMalformed => "identity_token_malformed",
            Forbidden => "forbidden",
            NotFound => "not_found",
            IdempotencyConflict => "idempotency_conflict",
            ConsentRequired => "consent_required",
            ChatflowDisabled => "chatflow_disabled",
            UnknownRoute => "unknown_route",
            MethodNotAllowed => "method_not_allowed",
            Internal => "internal",
            InvalidCredentials => "invalid_credentials",
            CsrfFailed => "csrf_failed",
            RateLimited => "rate_limited",
            Conflict => "conflict",
            FileTooLarge => "file_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            ContentMismatch => "content_mismatch",
            ChecksumMismatch => "checksum_mismatch",
            UploadOffsetMismatch => "upload_offset_mismatch",
            UploadNotReady => "upload_not_ready",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_to_its_wire_string_and_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            let status = code.http_status();
            assert!((400..600).contains(&status), "{code}: {status}");
        }
    }

    #[test]
    fn unknown_code_is_rejected() {
        assert!(serde_json::from_str::<ErrorCode>("\"teapot\"").is_err());
    }
}
