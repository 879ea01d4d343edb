//! The Chatflow SDK core: everything an app's chat needs, in Rust, shared by Android and iOS.
//!
//! Pure Rust API; `bindings/ffi` exposes it through UniFFI. Capabilities live one per module.

pub mod attachments;
pub mod chatflow;
pub mod client;
pub mod config;
pub mod consent;
pub mod error;
pub mod events;
pub mod kb;
pub mod model;
pub mod session;
pub mod sha256;
pub mod state;
pub mod store;
pub mod sync;
pub mod transport;

pub use chatflow_protocol as protocol;
pub use error::{Error, Result};
