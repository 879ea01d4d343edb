//! Files and images of messages (remote types: see `chatflow.rs`).

use chatflow_core::attachments;

pub type ImageInfo = attachments::ImageInfo;

/// An image's dimensions and its thumbnail's.
#[uniffi::remote(Record)]
pub struct ImageInfo {
    pub width: i32,
    pub height: i32,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
}

pub type MessageAttachment = attachments::MessageAttachment;

/// One file of a message.
#[uniffi::remote(Record)]
pub struct MessageAttachment {
    /// The server's id (`downloadAttachment`); `null` while an outgoing file is not sent yet.
    pub id: Option<String>,
    pub file_name: String,
    /// The type the bytes showed.
    pub mime_type: String,
    pub size: i64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    pub image: Option<ImageInfo>,
    /// The SDK's copy of a file this device sent (until logout); `null` for received files.
    pub local_path: Option<String>,
}

pub type AttachmentLimits = attachments::AttachmentLimits;

/// What the app's server accepts (from the chatflow list).
#[uniffi::remote(Record)]
pub struct AttachmentLimits {
    pub max_bytes: i64,
    pub max_per_message: i32,
    pub mime_types: Vec<String>,
}

/// One file of `sendFiles`: a file the SDK copies before the call returns.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OutgoingFileRef {
    pub path: String,
    pub file_name: String,
    /// `null` lets the bytes decide; a type the bytes contradict is refused.
    pub mime_type: Option<String>,
}
