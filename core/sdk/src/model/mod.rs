//! The records the app sees of its conversations and messages. They are the SDK's own rather than the wire's:
//! numbers are signed (`i64` for sequence numbers, bytes and times; `i32` for counts, ratings and sizes) so that
//! Kotlin sees `Long`/`Int` and Swift `Int64`/`Int32`, never unsigned types. The protocol crate keeps its unsigned
//! wire types; conversions live here.

pub mod conversation;
pub mod survey;

pub use conversation::{ChatConversation, ChatMessage, HistoryPage, MessageState};
pub use survey::{MessageSurvey, SurveyAnswer, SurveyPrompt};

/// A count as the app sees it (`i32`), saturating: no count the SDK reports comes near 2^31.
pub(crate) fn count<T: TryInto<i32>>(n: T) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// A sequence number or a size in bytes as the app sees it (`i64`), saturating.
pub(crate) fn long<T: TryInto<i64>>(n: T) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// A page size an app asked for, within `1..=max` (0 or negative asks for the smallest page).
pub(crate) fn page_size(limit: i32, max: u32) -> u32 {
    u32::try_from(limit).unwrap_or(0).clamp(1, max)
}

/// A sequence number an app gave: a negative one is before every message, like 0.
pub(crate) fn seq_arg(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}
