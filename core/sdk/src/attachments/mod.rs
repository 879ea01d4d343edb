//! Attachments: files and images in messages (issue #17). Outgoing files are copied into the SDK's data directory
//! and checked against the app's limits before they are queued (`local`), uploaded by the conversation's sender just
//! before their message, in the same ordered lane as text (`upload`); received files download on demand into a
//! bounded cache (`download`). Logout wipes both.

pub(crate) mod download;
pub(crate) mod local;
mod model;
pub(crate) mod upload;

use std::path::PathBuf;

use chatflow_protocol::attachment as wire;

pub use download::DEFAULT_CACHE_BYTES;
pub use model::{AttachmentLimits, FileSource, ImageInfo, MessageAttachment, OutgoingFile, PendingUpload};

use crate::client::ChatClient;
use crate::error::Result;
use crate::model::ChatMessage;

/// Where the last fetched chatflow list's `attachment_limits` are kept.
pub(crate) const META_LIMITS: &str = "chatflows.attachment_limits";

impl ChatClient {
    /// Sends one file (with an optional caption) through the send queue, like [`ChatClient::send`]: before this
    /// returns, the file is copied into the SDK's storage (so the app may delete its own), hashed, typed by its
    /// bytes and checked against the app's limits; the local echo lists it with its `local_path`. Refused at once
    /// (nothing queued): too large (`file_too_large`), a type the server does not accept (`unsupported_media_type`),
    /// a declared `mime_type` the bytes contradict (`content_mismatch`), a bad file name.
    pub fn send_attachment(
        &self,
        conversation_id: &str,
        source: FileSource,
        file_name: &str,
        mime_type: Option<String>,
        caption: Option<String>,
    ) -> Result<ChatMessage> {
        let file = OutgoingFile { source, file_name: file_name.to_owned(), mime_type };
        self.send_attachments(conversation_id, vec![file], caption)
    }

    /// Several files in one message (at most the app's `max_per_message`), in the order given.
    pub fn send_attachments(
        &self,
        conversation_id: &str,
        files: Vec<OutgoingFile>,
        caption: Option<String>,
    ) -> Result<ChatMessage> {
        crate::sync::api::enqueue_files(&self.inner, conversation_id, &files, caption.as_deref().unwrap_or(""))
    }

    /// What the server accepts, from the last fetched chatflow list (defaults before the first fetch).
    pub fn attachment_limits(&self) -> Result<AttachmentLimits> {
        Ok(self.inner.attachment_limits()?.into())
    }

    /// A local file with the attachment's bytes: the device's own copy of a file it sent, or a download (verified
    /// against the SHA-256, resumed after a cut) kept in the bounded cache.
    pub async fn download_attachment(&self, attachment_id: &str) -> Result<PathBuf> {
        let id = attachment_id.to_owned();
        self.run(move |inner| async move { inner.download_attachment(&id, false).await }).await
    }

    /// A local file with an image attachment's thumbnail (JPEG or PNG), downloaded on demand into the same cache.
    pub async fn attachment_thumbnail(&self, attachment_id: &str) -> Result<PathBuf> {
        let id = attachment_id.to_owned();
        self.run(move |inner| async move { inner.download_attachment(&id, true).await }).await
    }
}

/// Forgets the visitor's cached downloads (logout, another user), in the caller's transaction; the files go with
/// [`crate::client::ClientInner::wipe_attachment_files`].
pub(crate) fn wipe_visitor(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    download::forget_all(tx)
}

impl crate::client::ClientInner {
    pub(crate) fn attachment_limits(&self) -> Result<wire::AttachmentLimits> {
        Ok(self.store().meta_get(META_LIMITS)?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default())
    }

    /// Removes every attachment file (outgoing copies and the download cache): logout.
    pub(crate) fn wipe_attachment_files(&self) {
        let dir = local::root(&self.data_dir());
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %e, "attachment files not removed");
            }
        }
    }
}

/// Where an outgoing file is kept (for tests and diagnostics).
pub fn outgoing_dir(data_dir: &std::path::Path, client_message_id: &str) -> PathBuf {
    local::outgoing_dir(data_dir, client_message_id)
}

#[cfg(test)]
mod tests;
