//! Attachments: files and images a message carries, and the resumable upload that brings their bytes first.
//!
//! An attachment travels in two steps so a cut connection never costs the whole file and a message is never sent
//! half-done:
//! 1. **Upload** (`/v1/uploads`, agents `/v1/agent/uploads`): the client declares the file under an id it generated
//!    ([`UploadRequest`]), then appends bytes with `PATCH …/{upload_id}` carrying the `Upload-Offset` it starts at. The
//!    server confirms each chunk's end offset ([`UploadStatus`]); after a cut, `GET …/{upload_id}` tells where to go
//!    on. When the last byte arrives the server checks the SHA-256 and the bytes' type, and the upload is *complete*.
//! 2. **Message**: `SendMessageRequest::attachments` lists complete upload ids; the stored message carries
//!    [`Attachment`]s. An upload belongs to its uploader and is used by at most one message.
//!
//! The type is decided by the bytes ([`sniff`]), never by the declared MIME type alone: a declared type that the bytes
//! contradict is refused (`content_mismatch`), so a script renamed `photo.png` cannot become an "image".

use serde::{Deserialize, Serialize};

/// Largest file by default, in bytes (an app may set a lower or higher limit up to [`MAX_ATTACHMENT_BYTES_CEILING`]).
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;
/// Highest per-app file size limit the server accepts.
pub const MAX_ATTACHMENT_BYTES_CEILING: u64 = 100 * 1024 * 1024;
/// Most attachments one message carries.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;
/// Longest file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// Largest image (width × height) the server decodes for a thumbnail: a bigger one is refused as a likely
/// decompression bomb.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;
/// The longer side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 320;
/// Header carrying the byte offset a `PATCH` starts at (request) and the confirmed offset (answer).
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// Content type of a `PATCH` body.
pub const UPLOAD_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// Types the server accepts, each recognised by its magic number. Anything else is `unsupported_media_type`.
pub const ALLOWED_MIME_TYPES: [&str; 8] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "text/plain",
    "video/mp4",
];

/// Images the clients may show inline (thumbnail, preview); every other type downloads as an attachment.
pub fn is_inline_image(mime_type: &str) -> bool {
    matches!(mime_type, "image/jpeg" | "image/png" | "image/gif" | "image/webp")
}

/// The type the leading bytes of a file show, among [`ALLOWED_MIME_TYPES`]. `text/plain` is UTF-8 without NUL
/// bytes in the sample (a partial last character at the sample's end is allowed). Needs the first 16 bytes at most
/// for binary types; pass up to a few kilobytes so text is judged on a fair sample.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("image/gif");
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Some("application/zip");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Some("video/mp4");
    }
    if !head.is_empty() && !head.contains(&0) && utf8_prefix(head) {
        return Some("text/plain");
    }
    None
}

/// Valid UTF-8, allowing a character cut at the end of the sample.
fn utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    }
}

/// Does a declared type agree with what the bytes show? Parameters (`; charset=…`) and case are ignored; a declared
/// `application/octet-stream` defers to the bytes.
pub fn declared_type_matches(declared: &str, sniffed: &str) -> bool {
    let base = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    base == sniffed || base == "application/octet-stream"
}

/// Is `name` acceptable as a file name: 1..=255 characters, no path separators, no control characters, not `.`/`..`?
pub fn is_valid_file_name(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=MAX_FILE_NAME_CHARS).contains(&chars)
        && name.trim() == name
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// Is `hex` a lowercase hex SHA-256 (64 characters)?
pub fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What the app's server accepts (`ChatflowList::attachment_limits`): the SDK refuses a file above them before any
/// byte moves. Servers that predate attachments send nothing; the defaults then apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentLimits {
    /// Largest file, in bytes (the app's setting, [`DEFAULT_MAX_ATTACHMENT_BYTES`] unless changed).
    pub max_bytes: u64,
    /// Most files per message.
    pub max_per_message: u32,
    /// Accepted types, judged by the bytes.
    pub mime_types: Vec<String>,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        AttachmentLimits {
            max_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            max_per_message: MAX_ATTACHMENTS_PER_MESSAGE as u32,
            mime_types: ALLOWED_MIME_TYPES.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

/// `POST /v1/uploads` (or `/v1/agent/uploads`): declares a file before its bytes. Idempotent by `upload_id`: the same
/// declaration again answers the upload's current status; a different one under the same id is
/// `idempotency_conflict`. Refused before any byte moves: too large (`file_too_large`), a type outside
/// [`ALLOWED_MIME_TYPES`] (`unsupported_media_type`), a bad name or checksum (`invalid_field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadRequest {
    /// Client-generated, 1..=64 of `[A-Za-z0-9_-]` (a UUID fits).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$"))]
    pub upload_id: String,
    /// Shown to the other side; no path separators or control characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub file_name: String,
    /// The declared type; the bytes must agree ([`declared_type_matches`]).
    pub mime_type: String,
    /// Exact size in bytes, at least 1, at most the app's limit.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub size: u64,
    /// Lowercase hex SHA-256 of the whole file, checked when the last byte arrives.
    #[cfg_attr(feature = "openapi", schema(min_length = 64, max_length = 64, pattern = r"^[0-9a-f]*$"))]
    pub sha256: String,
}

/// Where an upload stands (answer of `POST`, `GET` and `PATCH` on an upload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadStatus {
    pub upload_id: String,
    /// Bytes the server holds durably; the next `PATCH` starts here.
    pub offset: u64,
    pub size: u64,
    /// Every byte arrived and passed the checks: `attachment` is what a message referencing it will carry.
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// Unix ms after which an incomplete upload is discarded.
    pub expires_at: i64,
}

/// A file a message carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// The server's id: `GET /v1/attachments/{id}` (visitors) or `/v1/agent/attachments/{id}` (agents).
    pub id: String,
    pub file_name: String,
    /// The type the bytes showed ([`sniff`]), not merely the declared one.
    pub mime_type: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes: a download can be verified.
    pub sha256: String,
    /// Images only: dimensions and a thumbnail, when the server could decode it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
}

/// An image's dimensions and its thumbnail (`GET …/attachments/{id}/thumbnail`, JPEG or PNG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    /// The thumbnail's dimensions (longer side at most [`THUMBNAIL_MAX_SIDE`]).
    pub thumbnail_width: u32,
    pub thumbnail_height: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_allowed_type_by_its_magic_number() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"GIF89a\x01\0"), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(b"PK\x03\x04\x14\0"), Some("application/zip"));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42"), Some("video/mp4"));
        assert_eq!(sniff("Bonjour, voilà le reçu".as_bytes()), Some("text/plain"));
        for mime in ALLOWED_MIME_TYPES {
            assert!(mime.contains('/'), "{mime}");
        }
    }

    #[test]
    fn unknown_or_binary_bytes_are_not_allowed() {
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0"), None, "a Windows executable");
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0xC3, 0x28, b'a']), None, "invalid UTF-8 in the middle");
    }

    #[test]
    fn text_may_end_in_a_cut_character() {
        let text = "déjà".as_bytes();
        assert_eq!(sniff(&text[..text.len() - 1]), Some("text/plain"));
    }

    #[test]
    fn declared_types_must_agree_with_the_bytes() {
        assert!(declared_type_matches("image/PNG", "image/png"));
        assert!(declared_type_matches("text/plain; charset=utf-8", "text/plain"));
        assert!(declared_type_matches("application/octet-stream", "application/pdf"));
        assert!(!declared_type_matches("image/png", "text/plain"), "a script named photo.png");
        assert!(!declared_type_matches("image/jpeg", "image/png"));
    }

    #[test]
    fn file_names() {
        assert!(is_valid_file_name("receipt 2026-12.pdf"));
        assert!(is_valid_file_name("écran.png"));
        assert!(!is_valid_file_name(""));
        assert!(!is_valid_file_name("../etc/passwd"));
        assert!(!is_valid_file_name("a\\b.txt"));
        assert!(!is_valid_file_name("line\nbreak.txt"));
        assert!(!is_valid_file_name(".."));
        assert!(!is_valid_file_name(" padded.txt"));
        assert!(!is_valid_file_name(&"x".repeat(256)));
    }

    #[test]
    fn checksums() {
        assert!(is_sha256_hex(&"ab".repeat(32)));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
        assert!(!is_sha256_hex("abc"));
    }
}
