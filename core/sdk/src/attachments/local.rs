//! The SDK's copies of outgoing files: streamed into `<data>/attachments/outgoing/<client_message_id>/<n>/<name>`
//! while hashing (SHA-256), counting and sniffing, then checked against the app's limits — all before
//! `send_attachment` returns, so a refused file never enters the queue and the app may delete its own file at once.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::sha256::Sha256;

use chatflow_protocol::attachment::{self, AttachmentLimits};

use super::model::{FileSource, OutgoingFile, PendingUpload};
use crate::error::{Error, Result};

/// Bytes read per step (copy, upload, download): bounded memory whatever the file's size.
pub(crate) const CHUNK: usize = 256 * 1024;
/// Bytes the type is judged on (`attachment::sniff`).
const SNIFF_BYTES: usize = 4096;

/// `<data>/attachments`, where every file of this module lives (wiped by logout).
pub(crate) fn root(data_dir: &Path) -> PathBuf {
    data_dir.join("attachments")
}

pub(crate) fn outgoing_dir(data_dir: &Path, client_message_id: &str) -> PathBuf {
    root(data_dir).join("outgoing").join(client_message_id)
}

fn refused(code: &str, message: String) -> Error {
    Error::InvalidInput { field: "file", message: format!("{message} ({code})") }
}

/// Copies, hashes and checks the files of one message. On any refusal the copies made so far are removed.
pub(crate) fn prepare(
    data_dir: &Path,
    client_message_id: &str,
    files: &[OutgoingFile],
    limits: &AttachmentLimits,
) -> Result<Vec<PendingUpload>> {
    if files.is_empty() {
        return Err(Error::InvalidInput { field: "files", message: "no file given".into() });
    }
    if files.len() > limits.max_per_message as usize {
        let message = format!("{} files; a message carries at most {}", files.len(), limits.max_per_message);
        return Err(refused("invalid_field", message));
    }
    let dir = outgoing_dir(data_dir, client_message_id);
    let mut out = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        match copy_one(&dir.join(i.to_string()), file, limits) {
            Ok(u) => out.push(u),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        }
    }
    Ok(out)
}

fn copy_one(dir: &Path, file: &OutgoingFile, limits: &AttachmentLimits) -> Result<PendingUpload> {
    if !attachment::is_valid_file_name(&file.file_name) {
        let message = format!(
            "file name `{}` must be 1 to {} characters without `/`, `\\`, control characters or surrounding spaces",
            file.file_name.escape_debug(),
            attachment::MAX_FILE_NAME_CHARS
        );
        return Err(Error::InvalidInput { field: "file_name", message });
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
    let dest = dir.join(&file.file_name);
    let mut input: Box<dyn Read> = match &file.source {
        FileSource::Path(p) => Box::new(std::fs::File::open(p).map_err(|e| Error::InvalidInput {
            field: "file",
            message: format!("cannot read {}: {e}", p.display()),
        })?),
        FileSource::Bytes(b) => Box::new(std::io::Cursor::new(b.as_slice())),
    };
    let mut output = std::fs::File::create(&dest).map_err(|e| io_error("create", &dest, &e))?;
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::InvalidInput { field: "file", message: format!("reading the file failed: {e}") })
            }
        };
        size += n as u64;
        if size > limits.max_bytes {
            let message = format!("`{}` is larger than the app's limit of {} bytes", file.file_name, limits.max_bytes);
            return Err(refused("file_too_large", message));
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(|e| io_error("write", &dest, &e))?;
    }
    if size == 0 {
        return Err(Error::InvalidInput { field: "file", message: format!("`{}` is empty", file.file_name) });
    }
    let sniffed = attachment::sniff(&head).filter(|m| limits.mime_types.iter().any(|a| a == m));
    let Some(sniffed) = sniffed else {
        let message = format!(
            "the bytes of `{}` are not one of the accepted types ({})",
            file.file_name,
            limits.mime_types.join(", ")
        );
        return Err(refused("unsupported_media_type", message));
    };
    if let Some(declared) = &file.mime_type {
        if !attachment::declared_type_matches(declared, sniffed) {
            let message = format!("`{}` was declared {declared} but its bytes are {sniffed}", file.file_name);
            return Err(refused("content_mismatch", message));
        }
    }
    Ok(PendingUpload {
        upload_id: uuid::Uuid::now_v7().simple().to_string(),
        path: dest.to_string_lossy().into_owned(),
        file_name: file.file_name.clone(),
        mime_type: sniffed.to_owned(),
        size,
        sha256: hex(&hasher.finalize()),
        redeclared: false,
    })
}

/// SHA-256 and size of a file, read in chunks.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex(&hasher.finalize()), size))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes the copies of a deleted message's files (best effort: a leftover is wiped by logout).
pub(crate) fn remove_copies(uploads: &[PendingUpload]) {
    for u in uploads {
        // `<outgoing>/<client_message_id>/<n>/<name>`: the message's whole folder goes.
        if let Some(message_dir) = Path::new(&u.path).parent().and_then(Path::parent) {
            let _ = std::fs::remove_dir_all(message_dir);
        }
    }
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Storage { message: format!("cannot {what} {}: {e}", path.display()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8], name: &str, mime: Option<&str>) -> OutgoingFile {
        OutgoingFile {
            source: FileSource::Bytes(bytes.to_vec()),
            file_name: name.into(),
            mime_type: mime.map(str::to_owned),
        }
    }

    #[test]
    fn a_file_is_copied_hashed_and_typed_by_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = b"%PDF-1.7\nhello".to_vec();
        let up = prepare(dir.path(), "m1", &[file(&pdf, "a.pdf", None)], &AttachmentLimits::default()).unwrap();
        assert_eq!(up.len(), 1);
        assert_eq!((up[0].mime_type.as_str(), up[0].size), ("application/pdf", pdf.len() as u64));
        assert_eq!(std::fs::read(&up[0].path).unwrap(), pdf);
        assert_eq!(up[0].sha256, hash_file(Path::new(&up[0].path)).unwrap().0);
        assert_eq!(up[0].sha256.len(), 64);
    }

    #[test]
    fn refusals_leave_no_copy_and_name_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let small = AttachmentLimits { max_bytes: 10, ..AttachmentLimits::default() };
        let cases: Vec<(Vec<OutgoingFile>, &AttachmentLimits, &str)> = vec![
            (vec![file(b"%PDF-1.7 more than ten", "a.pdf", None)], &small, "file_too_large"),
            (vec![file(b"\x7fELF\x02\x01\x01\0", "a.png", None)], &small, "unsupported_media_type"),
            (vec![file(b"echo hi", "photo.png", Some("image/png"))], &small, "content_mismatch"),
        ];
        for (files, limits, code) in cases {
            let err = prepare(dir.path(), "m2", &files, limits).unwrap_err().to_string();
            assert!(err.contains(code), "{err}");
            assert!(!outgoing_dir(dir.path(), "m2").exists(), "{code}: the copy is removed");
        }
        let many: Vec<_> = (0..11).map(|i| file(b"hi", &format!("{i}.txt"), None)).collect();
        let err = prepare(dir.path(), "m3", &many, &AttachmentLimits::default()).unwrap_err().to_string();
        assert!(err.contains("at most 10"), "{err}");
        let err = prepare(dir.path(), "m4", &[file(b"hi", "../x.txt", None)], &small).unwrap_err().to_string();
        assert!(err.contains("file name"), "{err}");
    }
}
