//! The CLI's error: what went wrong (the SDK's own precise message) and a distinct exit code per kind, so scripts can
//! tell a broken config from an unreachable server from a refusal. The codes are documented in the README.

use std::fmt;
use std::process::ExitCode;

use chatflow_core::protocol::ErrorCode;
use chatflow_core::Error as SdkError;
use serde::Serialize;

/// Kinds of failure, each with its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Internal failure: local storage, a panicked task, an I/O error on the terminal. Exit 1.
    Internal,
    /// A wrong argument (empty message, invalid email, unknown quick reply). Exit 2, like clap's usage errors.
    Usage,
    /// No config, an unreadable config, or a config that does not validate. Exit 3.
    Config,
    /// The server could not be reached (or did not confirm in time). Exit 4. Queued work is kept and retried.
    Network,
    /// The server refused the request or answered outside the protocol. Exit 5.
    Refused,
    /// The chatflow needs the visitor's consent first, or the visitor declined it. Exit 6.
    Consent,
    /// The tag resolves to no chatflow (or all hide their launcher), or a conversation/article does not exist. Exit 7.
    NotFound,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Internal => 1,
            Kind::Usage => 2,
            Kind::Config => 3,
            Kind::Network => 4,
            Kind::Refused => 5,
            Kind::Consent => 6,
            Kind::NotFound => 7,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CliError {
    pub kind: Kind,
    /// The server's machine-readable error code (`consent_required`, `message_too_long`, …) when it refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> CliError {
        CliError { kind, code: None, message: message.into() }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }

    /// Adds what the CLI was doing in front of the SDK's message: "open conversation: network: …".
    pub fn context(mut self, what: &str) -> CliError {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<SdkError> for CliError {
    fn from(e: SdkError) -> CliError {
        let kind = match &e {
            // A refused certificate is fixed in the trust setup (device CAs, `extra_root_certificates`, pins).
            SdkError::Config { .. } | SdkError::Tls { .. } => Kind::Config,
            SdkError::InvalidInput { .. } => Kind::Usage,
            SdkError::Network { .. } => Kind::Network,
            // The server's own consent gate and "no such thing" answers read like their local twins.
            SdkError::Server { code: ErrorCode::ConsentRequired, .. } => Kind::Consent,
            SdkError::Server { code: ErrorCode::NotFound, .. } => Kind::NotFound,
            SdkError::Server { .. } | SdkError::Protocol { .. } => Kind::Refused,
            SdkError::NotFound { .. } => Kind::NotFound,
            SdkError::ConsentRequired { .. } | SdkError::ConsentDeclined { .. } => Kind::Consent,
            _ => Kind::Internal,
        };
        let code = match &e {
            SdkError::Server { code, .. } => {
                serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned))
            }
            _ => None,
        };
        CliError { kind, code, message: e.to_string() }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::new(Kind::Internal, format!("terminal I/O: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_errors_map_to_distinct_exit_codes() {
        let cases = [
            (SdkError::Config { message: "x".into() }, 3),
            (SdkError::Network { message: "x".into() }, 4),
            (SdkError::Tls { message: "x".into() }, 3),
            (SdkError::Server { status: 400, code: ErrorCode::MessageTooLong, message: "x".into() }, 5),
            (SdkError::Server { status: 403, code: ErrorCode::ConsentRequired, message: "x".into() }, 6),
            (SdkError::Server { status: 404, code: ErrorCode::NotFound, message: "x".into() }, 7),
            (SdkError::Protocol { message: "x".into() }, 5),
            (SdkError::ConsentRequired { chatflow_id: 4 }, 6),
            (SdkError::ConsentDeclined { chatflow_id: 4 }, 6),
            (SdkError::NotFound { what: "x".into() }, 7),
            (SdkError::InvalidInput { field: "body", message: "x".into() }, 2),
            (SdkError::Storage { message: "x".into() }, 1),
        ];
        for (e, code) in cases {
            let text = e.to_string();
            let cli = CliError::from(e);
            assert_eq!(cli.kind.exit_code(), code, "{text}");
            assert_eq!(cli.message, text, "the SDK's message is kept as is");
        }
    }

    #[test]
    fn server_refusals_keep_the_protocol_code() {
        let e = CliError::from(SdkError::Server {
            status: 403,
            code: ErrorCode::ConsentRequired,
            message: "needs consent".into(),
        });
        assert_eq!(e.code.as_deref(), Some("consent_required"));
    }
}
