//! Attachments end to end against the real server on loopback: files sent through the send queue (in order with
//! text), refusals before any byte moves, a file from an agent downloaded and verified, the download cache's bound,
//! logout's wipe.

mod support;
mod sync_common;

use chatflow_core::attachments::{FileSource, OutgoingFile};
use chatflow_core::events::ChatEvent;
use chatflow_core::protocol::attachment::{UploadRequest, UploadStatus, UPLOAD_CONTENT_TYPE, UPLOAD_OFFSET_HEADER};
use chatflow_core::protocol::{AgentReplyRequest, Message};
use chatflow_core::transport::HttpClient;
use sha2::{Digest, Sha256};
use support::{TestServer, AGENT, FLOW_SUPPORT_EN};
use sync_common::*;

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89]);
    b.extend_from_slice(b"\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82");
    b
}

fn pdf(len: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    b.resize(len, b'x');
    b
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn file(bytes: Vec<u8>, name: &str) -> OutgoingFile {
    OutgoingFile { source: FileSource::Bytes(bytes), file_name: name.into(), mime_type: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_files_never_enter_the_queue() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let lying = client.send_attachment(
        &conv.id,
        FileSource::Bytes(b"echo pwned".to_vec()),
        "photo.png",
        Some("image/png".into()),
        None,
    );
    assert!(lying.unwrap_err().to_string().contains("content_mismatch"));
    let exe = client.send_attachment(&conv.id, FileSource::Bytes(b"MZ\x90\0\x03\0\0\0".to_vec()), "a.exe", None, None);
    assert!(exe.unwrap_err().to_string().contains("unsupported_media_type"));
    let limit = client.attachment_limits().unwrap().max_bytes as usize;
    let big = client.send_attachment(&conv.id, FileSource::Bytes(pdf(limit + 1)), "big.pdf", None, None);
    assert!(big.unwrap_err().to_string().contains("file_too_large"));
    assert_eq!(outbox_len(&client), 0);
    assert!(client.pending_sends().unwrap().is_empty());
    let outgoing = dir.path().join("attachments/outgoing");
    assert!(!outgoing.exists() || std::fs::read_dir(&outgoing).unwrap().next().is_none(), "no copy is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_and_a_pdf_arrive_before_the_text_sent_after_them() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let (image, doc) = (png(), pdf(300_000));
    let echo = client
        .send_attachments(
            &conv.id,
            vec![file(image.clone(), "dot.png"), file(doc.clone(), "receipt.pdf")],
            Some("here".into()),
        )
        .unwrap();
    assert_eq!(echo.attachments.len(), 2);
    assert!(echo.attachments.iter().all(|a| a.local_path.is_some() && a.id.is_none()));
    let text = client.send(&conv.id, "and the text after").unwrap();
    wait_for("both delivered", 60, || {
        all_sent(&stored_confirmed(&client, &conv.id)).then_some(()).filter(|_| outbox_len(&client) == 0)
    })
    .await;
    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    let mine = visitor_only(&on_server);
    let file_at = mine.iter().position(|m| m.client_message_id == echo.client_message_id).unwrap();
    let text_at = mine.iter().position(|m| m.client_message_id == text.client_message_id).unwrap();
    assert!(file_at < text_at, "the text went after the file");
    let sent = &mine[file_at];
    assert_eq!(sent.attachments.len(), 1 + 1);
    assert_eq!(
        (sent.attachments[0].mime_type.as_str(), sent.attachments[0].sha256.clone()),
        ("image/png", sha(&image))
    );
    assert_eq!(
        (sent.attachments[1].mime_type.as_str(), sent.attachments[1].sha256.clone()),
        ("application/pdf", sha(&doc))
    );
    assert!(events.any(|e| matches!(e, ChatEvent::UploadProgress { bytes_sent, total, .. } if bytes_sent == total)));
    // The confirmed message keeps the local copies; a download of one's own file is that copy.
    let stored = stored_confirmed(&client, &conv.id);
    let confirmed = stored.iter().find(|m| m.client_message_id == echo.client_message_id).unwrap();
    let id = confirmed.attachments[1].id.clone().unwrap();
    let path = client.download_attachment(&id).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), doc);
}

/// An agent's upload and reply with a file, through the agent API.
async fn agent_sends_file(http: &HttpClient, conversation_id: &str, bytes: &[u8], name: &str) -> Message {
    let upload_id = format!("agent{}", support::now_secs());
    let declaration = UploadRequest {
        upload_id: upload_id.clone(),
        file_name: name.into(),
        mime_type: "application/pdf".into(),
        size: bytes.len() as u64,
        sha256: sha(bytes),
    };
    let _: UploadStatus = http.post("/v1/agent/uploads", Some(AGENT), Some(&declaration)).await.unwrap();
    let headers = [(UPLOAD_OFFSET_HEADER, "0".to_owned()), ("content-type", UPLOAD_CONTENT_TYPE.to_owned())];
    let path = format!("/v1/agent/uploads/{upload_id}");
    let answer = http
        .send_raw(
            reqwest::Method::PATCH,
            &path,
            Some(AGENT),
            &headers,
            Some(bytes.to_vec().into()),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    let status: UploadStatus = HttpClient::json_of(answer, &path).await.unwrap();
    assert!(status.complete);
    let reply =
        AgentReplyRequest { body: "your receipt".into(), client_message_id: None, attachments: vec![upload_id] };
    http.post(&format!("/v1/agent/conversations/{conversation_id}/messages"), Some(AGENT), Some(&reply)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_pdf_is_received_downloaded_verified_cached_and_wiped_by_logout() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    let doc = pdf(200_000);
    let sent = agent_sends_file(&server.http(), &conv.id, &doc, "receipt.pdf").await;
    let id = sent.attachments[0].id.clone();
    wait_for("the file's message", 30, || {
        stored_confirmed(&client, &conv.id)
            .into_iter()
            .find(|m| m.attachments.iter().any(|a| a.id.as_deref() == Some(id.as_str())))
    })
    .await;
    let path = client.download_attachment(&id).await.unwrap();
    assert_eq!(sha(&std::fs::read(&path).unwrap()), sha(&doc));
    assert!(path.starts_with(dir.path().join("attachments/cache")));
    // A second ask is the cached file (the server is not needed).
    assert_eq!(client.download_attachment(&id).await.unwrap(), path);
    client.logout().await.unwrap();
    assert!(!dir.path().join("attachments").exists(), "logout removes the files");
}
