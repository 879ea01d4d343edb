//! `chatflow-ffi`: the UniFFI skin of `chatflow-core` for Kotlin and Swift.
//!
//! Proc macros only (no UDL). [`ChatClient`] wraps the core's client; records are the core's own types exposed as
//! UniFFI remote types (the compiler checks each mirrored field) or small records with `From` impls where UniFFI
//! needs another shape; one public error ([`ChatflowError`]) replaces the core's internal one; foreign traits carry
//! the callbacks (logger, event listener, identity-token provider). No logic lives here.
//!
//! Panics never cross: UniFFI catches a panic in any exported call and the foreign side receives an error value
//! (`InternalException` / `UniffiInternalError`), which the facades turn into their `Internal` error.

uniffi::setup_scaffolding!();

#[cfg(target_os = "android")]
mod android;
mod attachments;
mod callbacks;
mod client;
mod error;
mod kb;
mod logging;
mod messaging;
mod state;
pub mod types;

pub use callbacks::{ChatEventListener, IdentityTokenProvider, TaskHandle};
pub use client::{parse_push, parse_push_json, ChatClient};
pub use error::ChatflowError;
pub use kb::KbSyncProgress;
pub use logging::{clear_logger, set_logger, LogLevel, LogRecord, Logger};
pub use state::{ConversationListStateListener, ConversationObserver, ConversationStateListener};

/// The SDK's version (`0.1.0`), as sent in device metadata.
#[uniffi::export]
pub fn sdk_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Parses and validates the text of a config file (`chatflow.json`); the error names the wrong field.
#[uniffi::export]
pub fn config_from_json(json: String) -> Result<types::chatflow::ChatflowConfig, ChatflowError> {
    Ok(chatflow_core::config::Config::from_json_str(&json)?)
}

/// Reads, parses and validates a config file.
#[uniffi::export]
pub fn config_from_file(path: String) -> Result<types::chatflow::ChatflowConfig, ChatflowError> {
    Ok(chatflow_core::config::Config::from_file(path)?)
}
