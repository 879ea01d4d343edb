//! The one public error of the SDK. The core's rich internal error maps onto a few kinds an app can act on; every
//! message says what went wrong and what to do.

pub use chatflow_core::protocol::ErrorCode;
use chatflow_core::Error as CoreError;

/// Why the server refused a request: the protocol's closed set of machine-readable codes.
#[uniffi::remote(Enum)]
pub enum ErrorCode {
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
}

/// Every failure an SDK call can report. `detail` is a sentence for the developer (never shown to end users as is).
///
/// Foreign name `NativeError` (Kotlin `NativeException`): the facades map it onto their idiomatic `ChatflowError` /
/// `ChatflowException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(name = "NativeError")]
pub enum ChatflowError {
    /// The SDK configuration is wrong (config file, server URL, app id). Fix the configuration; retrying will not help.
    #[error("{detail}")]
    Config { detail: String },

    /// An argument is not acceptable (empty or too long message, bad email, unknown tag...). Fix the call.
    #[error("{detail}")]
    InvalidInput { detail: String },

    /// The chatflow needs the visitor's consent to process data before they can chat. Show the consent text and
    /// call `acceptConsent`. `declined` is true when the visitor refused earlier (chatting stays blocked).
    #[error("{detail}")]
    ConsentRequired { chatflow_id: i64, declined: bool, detail: String },

    /// The server could not be reached or the connection broke. Recoverable: queued messages are retried
    /// automatically; a read can be retried later.
    #[error("{detail}")]
    Network { detail: String },

    /// The server's certificate was refused: its CA is not trusted by the device (nor in `extra_root_certificates`),
    /// it does not name the host, it expired, or it matches none of `pinned_spki_sha256`. Not retryable: `detail`
    /// says what to fix. Queued messages stay queued; they go out after `resume()` once the server is trusted.
    #[error("{detail}")]
    Tls { detail: String },

    /// The server refused the request. `code` is the protocol's machine-readable reason (`InvalidToken`,
    /// `IdentityTokenExpired`, ...; `null` when the answer was not the protocol at all: check `server_url`), `status`
    /// the HTTP status; `retryable` is true for 5xx/408/429.
    #[error("{detail}")]
    Server { status: u16, code: Option<ErrorCode>, retryable: bool, detail: String },

    /// The local database failed (disk full, corrupt or newer file). Free space or reopen; logout clears it.
    #[error("{detail}")]
    Storage { detail: String },

    /// The conversation, chatflow or article does not exist (or is not visible to this visitor).
    #[error("{detail}")]
    NotFound { detail: String },

    /// The client was closed, or the user logged out while the call was running. Open a new client.
    #[error("{detail}")]
    Closed { detail: String },

    /// A bug inside the SDK or an app callback that failed unexpectedly (the call did not take effect). Please report
    /// it with the logs.
    #[error("{detail}")]
    Internal { detail: String },
}

impl ChatflowError {
    /// True when the same call may succeed later without any change.
    pub fn is_retryable(&self) -> bool {
        match self {
            ChatflowError::Network { .. } => true,
            ChatflowError::Server { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

impl From<CoreError> for ChatflowError {
    fn from(err: CoreError) -> Self {
        let detail = err.to_string();
        let retryable = err.is_recoverable();
        match err {
            CoreError::Config { .. } => ChatflowError::Config { detail },
            CoreError::InvalidInput { .. } => ChatflowError::InvalidInput { detail },
            CoreError::Storage { .. } | CoreError::Sqlite(_) => ChatflowError::Storage { detail },
            CoreError::Network { .. } => ChatflowError::Network { detail },
            CoreError::Tls { .. } => ChatflowError::Tls { detail },
            CoreError::Server { status, code, .. } => {
                ChatflowError::Server { status, code: Some(code), retryable, detail }
            }
            CoreError::Protocol { .. } | CoreError::Json(_) => ChatflowError::Server {
                status: 0,
                code: None,
                retryable: false,
                detail: format!("{detail} (the server does not speak this SDK's protocol version: check server_url)"),
            },
            CoreError::NotFound { .. } => ChatflowError::NotFound { detail },
            CoreError::Internal { .. } => ChatflowError::Internal { detail },
            CoreError::ConsentRequired { chatflow_id } => {
                ChatflowError::ConsentRequired { chatflow_id, declined: false, detail }
            }
            CoreError::ConsentDeclined { chatflow_id } => {
                ChatflowError::ConsentRequired { chatflow_id, declined: true, detail }
            }
            CoreError::Closed => ChatflowError::Closed { detail },
        }
    }
}

/// A foreign callback (logger, listener, token provider) threw something it did not declare.
impl From<uniffi::UnexpectedUniFFICallbackError> for ChatflowError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ChatflowError::Internal { detail: format!("an app callback failed: {}", err.reason) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_public_kinds_and_keep_their_message() {
        type Case = (CoreError, fn(&ChatflowError) -> bool);
        let cases: Vec<Case> = vec![
            (
                CoreError::Config { message: "field `server_url` ...".into() },
                |e| matches!(e, ChatflowError::Config { detail } if detail.contains("server_url")),
            ),
            (
                CoreError::InvalidInput { field: "body", message: "empty".into() },
                |e| matches!(e, ChatflowError::InvalidInput { detail } if detail == "invalid body: empty"),
            ),
            (CoreError::Network { message: "refused".into() }, |e| matches!(e, ChatflowError::Network { .. })),
            (CoreError::Tls { message: "unknown issuer".into() }, |e| {
                matches!(e, ChatflowError::Tls { detail } if detail.contains("unknown issuer")) && !e.is_retryable()
            }),
            (CoreError::Storage { message: "disk full".into() }, |e| matches!(e, ChatflowError::Storage { .. })),
            (CoreError::NotFound { what: "conversation x".into() }, |e| matches!(e, ChatflowError::NotFound { .. })),
            (CoreError::Closed, |e| matches!(e, ChatflowError::Closed { .. })),
            (CoreError::Internal { message: "an SDK task failed: panicked".into() }, |e| {
                matches!(e, ChatflowError::Internal { detail } if detail.contains("panicked")) && !e.is_retryable()
            }),
            (CoreError::ConsentRequired { chatflow_id: 4 }, |e| {
                matches!(e, ChatflowError::ConsentRequired { chatflow_id: 4, declined: false, .. })
            }),
            (CoreError::ConsentDeclined { chatflow_id: 4 }, |e| {
                matches!(e, ChatflowError::ConsentRequired { chatflow_id: 4, declined: true, .. })
            }),
            (CoreError::Protocol { message: "bad json".into() }, |e| {
                matches!(e, ChatflowError::Server { code: None, retryable: false, .. })
            }),
        ];
        for (core, check) in cases {
            let shown = core.to_string();
            let public = ChatflowError::from(core);
            assert!(check(&public), "{shown} -> {public:?}");
            assert!(public.to_string().contains(&shown), "message kept: {shown} -> {public}");
        }
    }

    #[test]
    fn server_errors_keep_code_status_and_retryability() {
        let e = ChatflowError::from(CoreError::Server {
            status: 403,
            code: ErrorCode::ConsentRequired,
            message: "needs consent".into(),
        });
        assert!(matches!(
            &e,
            ChatflowError::Server { status: 403, code: Some(ErrorCode::ConsentRequired), retryable: false, .. }
        ));
        assert!(!e.is_retryable());
        let e =
            ChatflowError::from(CoreError::Server { status: 503, code: ErrorCode::Internal, message: "down".into() });
        assert!(e.is_retryable());
        assert!(ChatflowError::from(CoreError::Network { message: "x".into() }).is_retryable());
    }
}
