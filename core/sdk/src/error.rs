//! The SDK's internal error. Rich on purpose (many variants, `#[from]`); the FFI maps it onto a few public kinds.
//! Every message says what was wrong and what to do about it.

use chatflow_protocol::ErrorCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The app's config file or config values are wrong. The message names the field, the value and what is expected.
    #[error("{message}")]
    Config { message: String },

    /// An argument the app passed is not acceptable (e.g. an empty message, an invalid email).
    #[error("invalid {field}: {message}")]
    InvalidInput { field: &'static str, message: String },

    /// The local database failed (disk full, corrupt file, newer schema).
    #[error("local storage: {message}")]
    Storage { message: String },

    #[error("local storage: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// The server could not be reached or the connection broke. Recoverable: queued work is retried.
    #[error("network: {message}")]
    Network { message: String },

    /// The server's certificate was refused (unknown CA, wrong host, expired, pin mismatch) or TLS could not be set
    /// up. Not recoverable: retrying the same connection gives the same answer; the message says what to fix.
    #[error("TLS: {message}")]
    Tls { message: String },

    /// The server refused the request (4xx) or failed (5xx) with a protocol error code.
    #[error("server refused ({status} {code}): {message}")]
    Server { status: u16, code: ErrorCode, message: String },

    /// The server answered something that is not the protocol (wrong JSON shape, unexpected status).
    #[error("unexpected server answer: {message}")]
    Protocol { message: String },

    /// Something the app referred to does not exist locally or on the server.
    #[error("{what} not found")]
    NotFound { what: String },

    /// The chatflow requires explicit consent to process data before the first message.
    #[error("chatflow {chatflow_id} requires the visitor's explicit consent before sending: show the consent text and call accept_consent()")]
    ConsentRequired { chatflow_id: i64 },

    /// The visitor declined consent to process data on this chatflow: chatting is blocked (KB search still works).
    #[error("the visitor declined consent on chatflow {chatflow_id}; chatting is disabled until they accept")]
    ConsentDeclined { chatflow_id: i64 },

    /// The client was closed (or the user logged out while the call was running).
    #[error("the chat client is closed")]
    Closed,

    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// A failure inside the SDK itself (a background task panicked or stopped, a lock was poisoned by an earlier
    /// panic, an app callback panicked). The call did not take effect; it is a bug to report.
    #[error("internal: {message}")]
    Internal { message: String },
}

impl Error {
    /// A lock was poisoned by a panic on another thread; the state it guarded may be inconsistent.
    pub(crate) fn poisoned() -> Error {
        Error::internal("a lock was poisoned by an earlier failure; reopen the client")
    }

    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::Internal { message: message.into() }
    }

    /// True for failures where trying again later may succeed unchanged (network, 5xx).
    pub fn is_recoverable(&self) -> bool {
        match self {
            Error::Network { .. } => true,
            Error::Server { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}
