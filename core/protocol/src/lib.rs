//! Wire types of the Chatflow protocol, version 1.
//!
//! Shared by the SDK (`chatflow-core`) and the reference server (`chatflow-server`) so the two can never disagree on
//! a field name. Everything here is plain data plus pure helpers (availability schedules, limits); no I/O.
//! The human-readable description lives in `docs/protocol.md`.
//!
//! Conventions: JSON, `snake_case` field names, enums as lowercase strings, timestamps as Unix milliseconds (`i64`,
//! fields ending in `_at`), ids as strings except chatflow/kb/article ids (integers assigned by the admin side).

pub mod attachment;
pub mod availability;
pub mod bot;
pub mod chatflow;
pub mod consent;
pub mod conversation;
pub mod error;
pub mod kb;
pub mod kb_query;
pub mod kb_snippet;
pub mod limits;
pub mod realtime;
pub mod survey;
pub mod visitor;

pub use attachment::{Attachment, AttachmentLimits, ImageInfo, UploadRequest, UploadStatus};
pub use availability::*;
pub use bot::*;
pub use chatflow::*;
pub use consent::*;
pub use conversation::*;
pub use error::*;
pub use kb::*;
pub use realtime::*;
pub use survey::*;
pub use visitor::*;

/// Path prefix of every versioned route.
pub const API_PREFIX: &str = "/v1";

/// Header naming the app (tenant) on routes that are not already scoped by a token.
pub const APP_ID_HEADER: &str = "x-chatflow-app";
