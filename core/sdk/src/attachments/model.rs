//! What the app sees of a message's files, and what the send queue keeps to upload them.

use serde::{Deserialize, Serialize};

use chatflow_protocol::attachment::{self as wire, Attachment};

/// One file of a message, as stored with it (`messages.attachments`, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttachment {
    /// The server's id (download it with `download_attachment`); `None` while an outgoing file is not sent yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub file_name: String,
    /// The type the bytes showed (sniffed on this device for an outgoing file, by the server otherwise).
    pub mime_type: String,
    pub size: i64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Images only, once the server decoded it: dimensions and thumbnail size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    /// The SDK's own copy of a file this device sent (kept until logout), `None` for received files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_path: Option<String>,
}

impl MessageAttachment {
    /// The server's metadata, with the local copy of an outgoing file when this device has one.
    pub fn from_server(a: &Attachment, local_path: Option<String>) -> MessageAttachment {
        MessageAttachment {
            id: Some(a.id.clone()),
            file_name: a.file_name.clone(),
            mime_type: a.mime_type.clone(),
            size: i64::try_from(a.size).unwrap_or(i64::MAX),
            sha256: a.sha256.clone(),
            image: a.image.map(Into::into),
            local_path,
        }
    }
}

/// An image's dimensions and its thumbnail's (the thumbnail's longer side is at most 320).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub width: i32,
    pub height: i32,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
}

impl From<wire::ImageInfo> for ImageInfo {
    fn from(i: wire::ImageInfo) -> Self {
        let side = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        ImageInfo {
            width: side(i.width),
            height: side(i.height),
            thumbnail_width: side(i.thumbnail_width),
            thumbnail_height: side(i.thumbnail_height),
        }
    }
}

/// What the app's server accepts: the SDK refuses a file above these limits before any byte moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentLimits {
    /// Largest file, in bytes.
    pub max_bytes: i64,
    /// Most files per message.
    pub max_per_message: i32,
    /// Accepted types, judged by the bytes.
    pub mime_types: Vec<String>,
}

impl From<wire::AttachmentLimits> for AttachmentLimits {
    fn from(l: wire::AttachmentLimits) -> Self {
        AttachmentLimits {
            max_bytes: i64::try_from(l.max_bytes).unwrap_or(i64::MAX),
            max_per_message: i32::try_from(l.max_per_message).unwrap_or(i32::MAX),
            mime_types: l.mime_types,
        }
    }
}

/// An outgoing file waiting in the outbox entry of its message: declared under `upload_id` (idempotent), its bytes
/// read from `path` (the SDK's copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpload {
    pub upload_id: String,
    pub path: String,
    pub file_name: String,
    pub mime_type: String,
    pub size: u64,
    pub sha256: String,
    /// Declared again once after a `checksum_mismatch` (the copy changed under us); a second mismatch wedges.
    #[serde(default)]
    pub redeclared: bool,
}

/// Where an app's file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A file the SDK copies (streamed) before `send_attachment` returns.
    Path(std::path::PathBuf),
    /// Bytes in memory (a photo just taken).
    Bytes(Vec<u8>),
}

/// One file of [`crate::ChatClient::send_attachments`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFile {
    pub source: FileSource,
    pub file_name: String,
    /// Declared type; `None` lets the bytes decide. A declared type the bytes contradict is refused.
    pub mime_type: Option<String>,
}
