//! The Chatflow SDK core: everything an app's chat needs, in Rust, shared by Android and iOS.
//!
//! Pure Rust API; `bindings/ffi` exposes it through UniFFI. Capabilities live one per module.

pub mod error;
pub mod store;

pub use chatflow_protocol as protocol;
pub use error::{Error, Result};
