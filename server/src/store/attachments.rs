//! Attachments: uploads in progress, stored files, and which message carries each file.

use chatflow_protocol::attachment::Attachment;

use super::StoreResult;

/// Who uploaded a file: uploads and attachments belong to their uploader.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    Visitor(String),
    Agent(String),
}

impl Owner {
    /// `(kind, id)` as stored.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Owner::Visitor(id) => ("visitor", id),
            Owner::Agent(id) => ("agent", id),
        }
    }

    pub fn from_parts(kind: &str, id: String) -> Option<Self> {
        match kind {
            "visitor" => Some(Owner::Visitor(id)),
            "agent" => Some(Owner::Agent(id)),
            _ => None,
        }
    }
}

/// A declared upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub app_id: String,
    pub owner: Owner,
    pub upload_id: String,
    pub file_name: String,
    pub mime_type: String,
    pub size: u64,
    pub sha256: String,
    /// Bytes held durably in the partial file.
    pub received: u64,
    /// Set once the bytes are complete and checked.
    pub attachment_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub app_id: String,
    pub owner: Owner,
    pub upload_id: String,
    /// What messages carry (its `id` is the record's id, its `sha256` the blob key).
    pub attachment: Attachment,
    /// Blob key of the thumbnail (images the server could decode).
    pub thumbnail_key: Option<String>,
    /// The message that carries it, once sent.
    pub conversation_id: Option<String>,
    pub message_seq: Option<u64>,
    pub created_at: i64,
}

pub trait AttachmentStore {
    fn upload(&self, owner: &Owner, upload_id: &str) -> StoreResult<Option<UploadRecord>>;
    /// Inserts the upload unless one exists under `(owner, upload_id)`; returns the stored one either way.
    fn create_upload(&self, upload: &UploadRecord) -> StoreResult<super::Put<UploadRecord>>;
    /// Records that `received` bytes are durable; pushes the expiry to `expires_at`.
    fn set_upload_received(&self, owner: &Owner, upload_id: &str, received: u64, expires_at: i64) -> StoreResult<()>;
    /// Marks the upload complete and stores its attachment, in one transaction.
    fn complete_upload(&self, attachment: &AttachmentRecord) -> StoreResult<()>;
    fn delete_upload(&self, owner: &Owner, upload_id: &str) -> StoreResult<()>;
    /// Incomplete uploads whose expiry is at or before `now`, at most `limit`.
    fn expired_uploads(&self, now: i64, limit: u32) -> StoreResult<Vec<UploadRecord>>;
    fn attachment(&self, id: &str) -> StoreResult<Option<AttachmentRecord>>;
    /// The app's largest file, when the admin set one.
    fn attachment_max_bytes(&self, app_id: &str) -> StoreResult<Option<u64>>;
    fn set_attachment_max_bytes(&self, app_id: &str, max_bytes: u64, now: i64) -> StoreResult<()>;
}

/// Attaching files to a message, inside the message's unit of work.
pub trait AttachmentTx {
    /// The uploader's upload and, when complete, its attachment.
    fn upload_with_attachment(
        &mut self,
        owner: &Owner,
        upload_id: &str,
    ) -> StoreResult<Option<(UploadRecord, Option<AttachmentRecord>)>>;
    /// Records that the message at `(conversation_id, seq)` carries the attachment.
    fn claim_attachment(&mut self, attachment_id: &str, conversation_id: &str, seq: u64) -> StoreResult<()>;
}
