//! The attachment half of [`ChatClient`]: send files, download received ones. Forwarding only.

use chatflow_core::attachments::{FileSource, OutgoingFile};

use crate::client::ChatClient;
use crate::error::ChatflowError;
use crate::types::attachments::{AttachmentLimits, OutgoingFileRef};
use crate::types::messaging::ChatMessage;

type Result<T, E = ChatflowError> = std::result::Result<T, E>;

#[uniffi::export(name = "NativeChatClient")]
impl ChatClient {
    /// Sends the file at `path` (copied before this returns) with an optional caption, through the send queue.
    /// Refused at once: too large, a type the server does not accept, a `mime_type` the bytes contradict.
    pub fn send_file(
        &self,
        conversation_id: String,
        path: String,
        file_name: String,
        mime_type: Option<String>,
        caption: Option<String>,
    ) -> Result<ChatMessage> {
        Ok(self.core.send_attachment(
            &conversation_id,
            FileSource::Path(path.into()),
            &file_name,
            mime_type,
            caption,
        )?)
    }

    /// Like `sendFile`, from bytes in memory.
    pub fn send_file_bytes(
        &self,
        conversation_id: String,
        bytes: Vec<u8>,
        file_name: String,
        mime_type: Option<String>,
        caption: Option<String>,
    ) -> Result<ChatMessage> {
        Ok(self.core.send_attachment(&conversation_id, FileSource::Bytes(bytes), &file_name, mime_type, caption)?)
    }

    /// Several files in one message, in this order.
    pub fn send_files(
        &self,
        conversation_id: String,
        files: Vec<OutgoingFileRef>,
        caption: Option<String>,
    ) -> Result<ChatMessage> {
        let files = files
            .into_iter()
            .map(|f| OutgoingFile {
                source: FileSource::Path(f.path.into()),
                file_name: f.file_name,
                mime_type: f.mime_type,
            })
            .collect();
        Ok(self.core.send_attachments(&conversation_id, files, caption)?)
    }

    /// What the server accepts (from the last chatflow list; defaults before the first fetch).
    pub fn attachment_limits(&self) -> Result<AttachmentLimits> {
        Ok(self.core.attachment_limits()?)
    }

    /// A local path to the attachment's bytes (downloaded on demand, verified, cached).
    pub async fn download_attachment(&self, attachment_id: String) -> Result<String> {
        Ok(self.core.download_attachment(&attachment_id).await?.to_string_lossy().into_owned())
    }

    /// A local path to an image attachment's thumbnail.
    pub async fn attachment_thumbnail(&self, attachment_id: String) -> Result<String> {
        Ok(self.core.attachment_thumbnail(&attachment_id).await?.to_string_lossy().into_owned())
    }
}
