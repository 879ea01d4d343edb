//! Attachments' rules: what an upload may declare, when its bytes are accepted, which uploads a message may carry,
//! when an incomplete upload expires, and who may download a file.

use std::collections::HashSet;

use chatflow_protocol::attachment::{
    declared_type_matches, is_sha256_hex, is_valid_file_name, sniff, Attachment, UploadRequest, ALLOWED_MIME_TYPES,
    MAX_ATTACHMENTS_PER_MESSAGE, MAX_FILE_NAME_CHARS,
};
use chatflow_protocol::limits::is_valid_client_id;
use chatflow_protocol::ErrorCode;

use crate::store::attachments::{AttachmentRecord, Owner, UploadRecord};
use crate::store::tx::Tx;
use crate::store::{StoreError, StoreResult};

/// An incomplete upload is discarded this long after its last byte (or its declaration).
pub const UPLOAD_EXPIRY_MS: i64 = 24 * 60 * 60 * 1000;

/// A refusal with its protocol code (the handler turns it into the HTTP answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal { code, message: message.into() }
    }
}

/// The declared type without parameters, lowercase.
pub fn base_type(mime: &str) -> String {
    mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Checks a declaration against the protocol and the app's size limit, before any byte moves.
pub fn check_declaration(req: &UploadRequest, max_bytes: u64) -> Result<(), Refusal> {
    if !is_valid_client_id(&req.upload_id) {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "upload_id must be 1..=64 characters of [A-Za-z0-9_-] (a UUID fits)",
        ));
    }
    if !is_valid_file_name(&req.file_name) {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            format!(
                "file_name must be 1..={MAX_FILE_NAME_CHARS} characters without path separators, control characters \
                 or surrounding spaces, and not `.` or `..`"
            ),
        ));
    }
    if !is_sha256_hex(&req.sha256) {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            "sha256 must be the file's SHA-256 as 64 lowercase hex characters",
        ));
    }
    if req.size == 0 {
        return Err(Refusal::new(ErrorCode::InvalidField, "size must be at least 1: empty files are not attachments"));
    }
    if req.size > max_bytes {
        return Err(Refusal::new(
            ErrorCode::FileTooLarge,
            format!("the file has {} bytes; this app accepts files up to {max_bytes} bytes", req.size),
        ));
    }
    let base = base_type(&req.mime_type);
    if base != "application/octet-stream" && !ALLOWED_MIME_TYPES.contains(&base.as_str()) {
        return Err(Refusal::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "type `{}` is not accepted; accepted types: {}",
                shown(&req.mime_type),
                ALLOWED_MIME_TYPES.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The declared type, shortened for an error message.
fn shown(s: &str) -> String {
    s.chars().take(100).filter(|c| !c.is_control()).collect()
}

/// Is `req` the same declaration as the stored upload (an idempotent repeat)?
pub fn same_declaration(stored: &UploadRecord, req: &UploadRequest) -> bool {
    stored.file_name == req.file_name
        && stored.mime_type == req.mime_type
        && stored.size == req.size
        && stored.sha256 == req.sha256
}

/// Judges complete bytes: their hash against the declared one, then their type (sniffed from `head`, the first
/// bytes) against the allow-list and the declared type. Returns the sniffed type.
pub fn check_bytes(upload: &UploadRecord, actual_sha256: &str, head: &[u8]) -> Result<&'static str, Refusal> {
    if actual_sha256 != upload.sha256 {
        return Err(Refusal::new(
            ErrorCode::ChecksumMismatch,
            format!(
                "the {} bytes received hash to {actual_sha256}, not the declared {}; the upload is discarded: declare \
                 it again and send every byte",
                upload.size, upload.sha256
            ),
        ));
    }
    let Some(sniffed) = sniff(head) else {
        return Err(Refusal::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "the bytes are not of an accepted type ({}); the upload is discarded",
                ALLOWED_MIME_TYPES.join(", ")
            ),
        ));
    };
    if !declared_type_matches(&upload.mime_type, sniffed) {
        return Err(Refusal::new(
            ErrorCode::ContentMismatch,
            format!(
                "the file was declared `{}` but its bytes are `{sniffed}`; the upload is discarded",
                shown(&upload.mime_type)
            ),
        ));
    }
    Ok(sniffed)
}

/// The attachment a complete upload becomes.
pub fn attachment_of(upload: &UploadRecord, id: String, sniffed: &str) -> Attachment {
    Attachment {
        id,
        file_name: upload.file_name.clone(),
        mime_type: sniffed.to_owned(),
        size: upload.size,
        sha256: upload.sha256.clone(),
        image: None,
    }
}

/// When an upload whose last byte arrived at `last_activity` expires.
pub fn expires_at(last_activity: i64) -> i64 {
    last_activity.saturating_add(UPLOAD_EXPIRY_MS)
}

/// The attachments a message carries, from the sender's upload ids, in order: at most
/// [`MAX_ATTACHMENTS_PER_MESSAGE`], no id twice, each the sender's upload (`Invalid` otherwise) and complete
/// (`NotReady` otherwise). Whether another message carries one is checked by [`claim_in`], after the idempotent
/// replay (which carries its own files) had its chance.
pub fn resolve_in(tx: &mut dyn Tx, owner: &Owner, upload_ids: &[String]) -> StoreResult<Vec<AttachmentRecord>> {
    if upload_ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(StoreError::Invalid(format!(
            "a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments, got {}",
            upload_ids.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(upload_ids.len());
    for upload_id in upload_ids {
        if !seen.insert(upload_id.as_str()) {
            return Err(StoreError::Invalid(format!("attachments lists upload `{}` twice", shown(upload_id))));
        }
        let Some((upload, attachment)) = tx.upload_with_attachment(owner, upload_id)? else {
            return Err(StoreError::Invalid(format!(
                "attachments: no upload `{}` of yours; declare it with POST …/uploads and send its bytes first",
                shown(upload_id)
            )));
        };
        let Some(attachment) = attachment else {
            return Err(StoreError::NotReady(format!(
                "upload `{}` has {} of {} bytes: finish it (PATCH …/uploads/{{id}}) before sending the message",
                upload.upload_id, upload.received, upload.size
            )));
        };
        out.push(attachment);
    }
    Ok(out)
}

/// Checks that none of `attachments` is carried by a message yet (a new message), and claims them for the message
/// at `(conversation_id, seq)`.
pub fn claim_in(tx: &mut dyn Tx, attachments: &[AttachmentRecord], conversation_id: &str, seq: u64) -> StoreResult<()> {
    for a in attachments {
        if a.conversation_id.is_some() {
            return Err(StoreError::NotReady(format!(
                "upload `{}` is already attached to another message; upload the file again to send it twice",
                a.upload_id
            )));
        }
    }
    for a in attachments {
        tx.claim_attachment(&a.attachment.id, conversation_id, seq)?;
    }
    Ok(())
}

/// Who asks for a file.
#[derive(Debug, Clone)]
pub enum Reader<'a> {
    /// A visitor, with the ids of its conversations' owner check done by the caller: the visitor's id.
    Visitor { visitor_id: &'a str, conversation_visitor_id: Option<&'a str> },
    /// An agent of `app_id`.
    Agent { app_id: &'a str },
}

/// May this reader download the attachment? A visitor: files of its own conversations, and its own uploads not yet
/// sent. An agent: files of its app. Anything else is answered as if the file did not exist.
pub fn may_read(a: &AttachmentRecord, reader: &Reader<'_>) -> bool {
    match reader {
        Reader::Visitor { visitor_id, conversation_visitor_id } => match conversation_visitor_id {
            Some(owner) => owner == visitor_id,
            None => a.conversation_id.is_none() && a.owner == Owner::Visitor((*visitor_id).to_owned()),
        },
        Reader::Agent { app_id } => a.app_id == *app_id,
    }
}
