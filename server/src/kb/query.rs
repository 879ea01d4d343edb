//! The safe FTS5 query builder, shared with the other side of the protocol.

pub use chatflow_protocol::kb_query::*;
