//! The Chatflow SDK core (skeleton; the capabilities land per issue).
pub use chatflow_protocol as protocol;
