//! Attachments end to end: uploads (resumable, checked), messages that carry files, authorised downloads.

use chatflow_server::blobs::sha256_hex;
use reqwest::StatusCode;
use serde_json::json;

use super::attachments_util::{declare, download, patch, pdf, send_files, tiny_png, upload};
use crate::support::{TestServer, ALICE, FLOW_SUPPORT, GINA};

#[tokio::test]
async fn a_visitor_uploads_a_pdf_in_two_parts_sends_it_and_both_sides_download_it() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(crate::support::ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let file = pdf(300_000, 1);

    let r = declare(&api, &token, false, "up-1", "reçu 12.pdf", "application/pdf", &file).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!((r.body["offset"].as_u64(), r.body["complete"].as_bool()), (Some(0), Some(false)));
    let again = declare(&api, &token, false, "up-1", "reçu 12.pdf", "application/pdf", &file).await;
    assert_eq!(again.status, StatusCode::OK, "the same declaration is idempotent");
    let other = declare(&api, &token, false, "up-1", "other.pdf", "application/pdf", &file).await;
    assert_eq!((other.status, other.code()), (StatusCode::CONFLICT, "idempotency_conflict"));

    let r = patch(&api, &token, false, "up-1", 0, &file[..100_000]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["offset"], 100_000);
    assert_eq!(r.headers["upload-offset"], "100000");
    let status = api.get("/v1/uploads/up-1", Some(&token)).await;
    assert_eq!(status.body["offset"], 100_000);
    // A retried chunk from an old offset is told where the server stands.
    let stale = patch(&api, &token, false, "up-1", 0, &file[..100_000]).await;
    assert_eq!((stale.status, stale.code()), (StatusCode::CONFLICT, "upload_offset_mismatch"));
    assert_eq!(stale.headers["upload-offset"], "100000");
    let done = patch(&api, &token, false, "up-1", 100_000, &file[100_000..]).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["complete"], true);
    let att = done.body["attachment"].clone();
    assert_eq!(att["mime_type"], "application/pdf");
    assert_eq!(att["sha256"], sha256_hex(&file));
    assert_eq!(att["file_name"], "reçu 12.pdf");
    let att_id = att["id"].as_str().unwrap().to_owned();
    // PATCH at the end of a complete upload answers its status.
    let replay = patch(&api, &token, false, "up-1", 300_000, b"").await;
    assert_eq!((replay.status, replay.body["complete"].as_bool()), (StatusCode::OK, Some(true)));

    // A message with only a file: the body may be empty.
    let sent = send_files(&api, &token, &conv, "m-1", "", &["up-1"]).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    assert_eq!(sent.body["attachments"][0], att);
    let retry = send_files(&api, &token, &conv, "m-1", "", &["up-1"]).await;
    assert_eq!(retry.status, StatusCode::OK, "the retry answers the stored message");
    assert_eq!(retry.body["seq"], sent.body["seq"]);
    // The same upload cannot go into a second message.
    let twice = send_files(&api, &token, &conv, "m-2", "again", &["up-1"]).await;
    assert_eq!((twice.status, twice.code()), (StatusCode::CONFLICT, "upload_not_ready"), "{:?}", twice.body);
    let page = api.messages(&token, &conv, "").await;
    assert_eq!(page.body["messages"].as_array().unwrap().iter().filter(|m| !m["attachments"].is_null()).count(), 1);
    let agent_page = api.get(&format!("/v1/agent/conversations/{conv}/messages"), Some(ALICE)).await;
    assert!(agent_page.body.to_string().contains(&att_id), "{:?}", agent_page.body);

    // Downloads: the visitor, an agent of the app; not another visitor, not another app's agent.
    let (status, headers, bytes) = download(&api, &format!("/v1/attachments/{att_id}"), &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha256_hex(&bytes), sha256_hex(&file));
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-length"], "300000");
    assert_eq!(headers["content-disposition"], "attachment; filename*=UTF-8''re%C3%A7u%2012.pdf");
    assert_eq!(headers["etag"], format!("\"{}\"", sha256_hex(&file)).as_str());
    assert!(headers["cache-control"].to_str().unwrap().starts_with("private"));
    let (status, headers, tail) =
        download(&api, &format!("/v1/attachments/{att_id}"), &token, Some("bytes=250000-")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail, &file[250_000..]);
    assert_eq!(headers["content-range"], "bytes 250000-299999/300000");
    let (status, _, bytes) = download(&api, &format!("/v1/agent/attachments/{att_id}"), ALICE, None).await;
    assert_eq!((status, bytes.len()), (StatusCode::OK, 300_000));
    let (_, stranger) = api.visitor(crate::support::ACME).await;
    let (status, _, _) = download(&api, &format!("/v1/attachments/{att_id}"), &stranger, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another visitor");
    let (status, _, _) = download(&api, &format!("/v1/agent/attachments/{att_id}"), GINA, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an agent of another app");
    let (status, _, _) = download(&api, &format!("/v1/attachments/{att_id}/thumbnail"), &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a PDF has no thumbnail");
    // Another visitor cannot see the upload either.
    assert_eq!(api.get("/v1/uploads/up-1", Some(&stranger)).await.status, StatusCode::NOT_FOUND);

    // The transcript names the file.
    let closed = api.call("POST", &format!("/v1/agent/conversations/{conv}/close"), Some(ALICE), None).await;
    assert!(closed.status.is_success(), "{:?}", closed.body);
    let resp = api
        .http
        .get(format!("{}/v1/agent/conversations/{conv}/transcript.txt", api.base))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(text.contains("[file: reçu 12.pdf, 300000 bytes]"), "{text}");
}

#[tokio::test]
async fn an_agent_sends_an_image_the_visitor_sees_and_downloads_inline() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(crate::support::ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let png = tiny_png();
    let att = upload(&api, ALICE, true, "a-img", "screen.png", "image/png", &png).await;
    assert_eq!(att["mime_type"], "image/png");
    let path = format!("/v1/agent/conversations/{conv}/messages");
    let r = api.call("POST", &path, Some(ALICE), Some(json!({"body": "", "attachments": ["a-img"]}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let page = api.messages(&token, &conv, "").await;
    let last = page.body["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["attachments"][0]["id"], att["id"]);
    let id = att["id"].as_str().unwrap();
    let (status, headers, bytes) = download(&api, &format!("/v1/attachments/{id}"), &token, None).await;
    assert_eq!((status, bytes), (StatusCode::OK, png));
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("inline;"));
    // A visitor cannot attach the agent's upload: uploads belong to their uploader.
    let r = send_files(&api, &token, &conv, "m-x", "", &["a-img"]).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_field"), "{:?}", r.body);
}

#[tokio::test]
async fn lying_unknown_oversized_and_corrupt_files_are_refused() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(crate::support::ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;

    // A script declared as a PNG: refused when the bytes show it, and discarded.
    let script = b"#!/bin/sh\nrm -rf ~\n".to_vec();
    declare(&api, &token, false, "lie", "photo.png", "image/png", &script).await;
    let r = patch(&api, &token, false, "lie", 0, &script).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_mismatch"), "{:?}", r.body);
    assert_eq!(api.get("/v1/uploads/lie", Some(&token)).await.status, StatusCode::NOT_FOUND);
    // A type outside the allow-list: at declaration, or by the bytes when declared as octet-stream.
    let r = declare(&api, &token, false, "exe", "setup.exe", "application/x-msdownload", b"MZ\x90\0").await;
    assert_eq!((r.status, r.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let elf = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    declare(&api, &token, false, "elf", "a.out", "application/octet-stream", &elf).await;
    let r = patch(&api, &token, false, "elf", 0, &elf).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    // Too large at declaration (the default limit is 25 MiB).
    let body = json!({"upload_id": "big", "file_name": "big.pdf", "mime_type": "application/pdf",
        "size": 26 * 1024 * 1024, "sha256": sha256_hex(b"x")});
    let r = api.call("POST", "/v1/uploads", Some(&token), Some(body)).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"));
    // Bytes past the declared size.
    let small = pdf(1000, 2);
    declare(&api, &token, false, "small", "s.pdf", "application/pdf", &small).await;
    let r = patch(&api, &token, false, "small", 0, &pdf(1500, 2)).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"));
    assert_eq!(api.get("/v1/uploads/small", Some(&token)).await.body["offset"], 0);
    // A wrong checksum: discarded, to be declared again.
    let body = json!({"upload_id": "sum", "file_name": "s.pdf", "mime_type": "application/pdf",
        "size": small.len(), "sha256": sha256_hex(b"something else")});
    assert_eq!(api.call("POST", "/v1/uploads", Some(&token), Some(body)).await.status, StatusCode::CREATED);
    let r = patch(&api, &token, false, "sum", 0, &small).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "checksum_mismatch"));
    assert_eq!(api.get("/v1/uploads/sum", Some(&token)).await.status, StatusCode::NOT_FOUND);
    // Bad declarations.
    for (field, value) in [("file_name", json!("../x.pdf")), ("sha256", json!("ABC")), ("size", json!(0))] {
        let mut body = json!({"upload_id": "bad", "file_name": "x.pdf", "mime_type": "application/pdf",
            "size": 10, "sha256": sha256_hex(b"x")});
        body[field] = value;
        let r = api.call("POST", "/v1/uploads", Some(&token), Some(body)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_field"), "{field}");
    }
    // An incomplete upload cannot be sent; an unknown one is refused; a blank body without files stays refused.
    let r = send_files(&api, &token, &conv, "m-1", "", &["small"]).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "upload_not_ready"), "{:?}", r.body);
    let r = send_files(&api, &token, &conv, "m-2", "hi", &["nope"]).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_field"));
    let r = send_files(&api, &token, &conv, "m-3", "", &[]).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_field"));
    // A PATCH without its offset header.
    let r = api.raw("PATCH", "/v1/uploads/small", Some(&token), "application/offset+octet-stream", vec![1]).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_field"));
}

#[tokio::test]
async fn a_body_cut_mid_way_keeps_what_arrived_and_the_upload_resumes_byte_identical() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(crate::support::ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let file = pdf(4 * 1024 * 1024, 3);
    declare(&api, &token, false, "cut", "big.pdf", "application/pdf", &file).await;
    // A raw client announces the whole file, sends 1.5 MiB, and drops the connection.
    let addr = api.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PATCH /v1/uploads/cut HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        file.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let sent = 1536 * 1024;
    tcp.write_all(&file[..sent]).await.unwrap();
    tcp.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(tcp);
    // The server keeps what arrived (all of it, once it has read the socket to its end).
    let mut offset = 0;
    for _ in 0..100 {
        offset = api.get("/v1/uploads/cut", Some(&token)).await.body["offset"].as_u64().unwrap();
        if offset == sent as u64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(offset, sent as u64, "the bytes before the cut are kept");
    let r = patch(&api, &token, false, "cut", offset, &file[offset as usize..]).await;
    assert_eq!((r.status, r.body["complete"].as_bool()), (StatusCode::OK, Some(true)), "{:?}", r.body);
    let id = r.body["attachment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(send_files(&api, &token, &conv, "m", "", &["cut"]).await.status, StatusCode::CREATED);
    let (_, _, bytes) = download(&api, &format!("/v1/attachments/{id}"), &token, None).await;
    assert_eq!(sha256_hex(&bytes), sha256_hex(&file), "byte-identical");
}

#[tokio::test]
async fn the_admin_sets_the_apps_limit_and_the_chatflow_list_reports_it() {
    let server = TestServer::start();
    let api = server.api();
    let admin = crate::support::ACME_ADMIN;
    let r = api.get("/v1/admin/attachments", Some(admin)).await;
    assert_eq!(r.body["max_bytes"], 25 * 1024 * 1024);
    let before = api.get("/v1/apps/app_acme/chatflows", None).await;
    assert_eq!(before.body["attachment_limits"]["max_bytes"], 25 * 1024 * 1024);
    for bad in [json!(0), json!(100 * 1024 * 1024 + 1)] {
        let r = api.call("PUT", "/v1/admin/attachments", Some(admin), Some(json!({"max_bytes": bad}))).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid_field"));
    }
    let r = api.call("PUT", "/v1/admin/attachments", Some(admin), Some(json!({"max_bytes": 1000}))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let after = api.get("/v1/apps/app_acme/chatflows", None).await;
    assert_eq!(after.body["attachment_limits"]["max_bytes"], 1000);
    assert_ne!(after.headers["etag"], before.headers["etag"], "the list's ETag follows the limit");
    let (_, token) = api.visitor(crate::support::ACME).await;
    let r = declare(&api, &token, false, "f", "f.pdf", "application/pdf", &pdf(1001, 4)).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"));
    // The other app keeps the default.
    let (_, globex) = api.visitor(crate::support::GLOBEX).await;
    let r = declare(&api, &globex, false, "f", "f.pdf", "application/pdf", &pdf(1001, 4)).await;
    assert_eq!(r.status, StatusCode::CREATED);
}
