//! Records and enums crossing the FFI, grouped like the core's capabilities.

pub mod attachments;
pub mod chatflow;
pub mod kb;
pub mod messaging;
pub mod session;
pub mod state;
