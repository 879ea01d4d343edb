//! Helpers of the attachment cases: declare, send bytes, attach.

use chatflow_server::blobs::sha256_hex;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{Api, Reply};

/// `/v1` for visitors, `/v1/agent` for agents.
pub fn prefix(agent: bool) -> &'static str {
    if agent {
        "/v1/agent"
    } else {
        "/v1"
    }
}

pub async fn declare(api: &Api, token: &str, agent: bool, id: &str, name: &str, mime: &str, bytes: &[u8]) -> Reply {
    let body = json!({"upload_id": id, "file_name": name, "mime_type": mime, "size": bytes.len(), "sha256": sha256_hex(bytes)});
    api.call("POST", &format!("{}/uploads", prefix(agent)), Some(token), Some(body)).await
}

pub async fn patch(api: &Api, token: &str, agent: bool, id: &str, offset: u64, bytes: &[u8]) -> Reply {
    let resp = api
        .http
        .patch(format!("{}{}/uploads/{id}", api.base, prefix(agent)))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .expect("patch");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    Reply { status, headers, body }
}

/// Declares and uploads `bytes` in one PATCH; returns the complete status's attachment.
pub async fn upload(api: &Api, token: &str, agent: bool, id: &str, name: &str, mime: &str, bytes: &[u8]) -> Value {
    let r = declare(api, token, agent, id, name, mime, bytes).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = patch(api, token, agent, id, 0, bytes).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["complete"], true, "{:?}", r.body);
    r.body["attachment"].clone()
}

pub async fn send_files(
    api: &Api,
    token: &str,
    conversation: &str,
    client_id: &str,
    body: &str,
    ids: &[&str],
) -> Reply {
    let path = format!("/v1/conversations/{conversation}/messages/{client_id}");
    api.call("PUT", &path, Some(token), Some(json!({"body": body, "attachments": ids}))).await
}

/// GET with optional extra headers; the raw bytes.
pub async fn download(
    api: &Api,
    path: &str,
    token: &str,
    range: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = api.http.get(format!("{}{path}", api.base)).bearer_auth(token);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let resp = req.send().await.expect("download");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.bytes().await.expect("bytes").to_vec())
}

/// A PDF-looking file of `len` bytes, different for each `seed`.
pub fn pdf(len: usize, seed: u8) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push((x & 0xff) as u8);
    }
    out.truncate(len);
    out
}

/// A valid 1×1 PNG.
pub fn tiny_png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
        .unwrap()
}
