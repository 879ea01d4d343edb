//! Explicit size limits. The server refuses anything above them with a 4xx and a code; the SDK checks them before a
//! message enters the send queue so an app learns at once, not after a retry loop.

/// Largest request body the server reads, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest message body, in Unicode scalar values (characters).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Most chat properties one visitor may carry.
pub const MAX_PROPERTIES: usize = 50;
/// Longest property key, in characters.
pub const MAX_PROPERTY_KEY_CHARS: usize = 64;
/// Longest property value, in characters.
pub const MAX_PROPERTY_VALUE_CHARS: usize = 1_000;
/// Default and largest page of messages / articles.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;
/// Longest client-generated id (message or consent record).
pub const MAX_CLIENT_ID_CHARS: usize = 64;
/// Longest push token.
pub const MAX_PUSH_TOKEN_CHARS: usize = 4_096;
/// Longest WebSocket frame the server reads, in bytes.
pub const MAX_WS_FRAME_BYTES: usize = 64 * 1024;

/// Is `id` acceptable as a client-generated id: 1..=64 chars of `[A-Za-z0-9_-]` (UUIDs fit)?
pub fn is_valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        assert!(is_valid_client_id("018f4e0e-8a8b-7c3d-9e2f-0123456789ab"));
        assert!(is_valid_client_id("a"));
        assert!(!is_valid_client_id(""));
        assert!(!is_valid_client_id("has space"));
        assert!(!is_valid_client_id("../etc"));
        assert!(!is_valid_client_id(&"x".repeat(65)));
    }
}
