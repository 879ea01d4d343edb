//! The S3-compatible blob store against moto (an S3 service on loopback): the shared conformance suite, multipart
//! uploads of large files, a wrong configuration refused up front, and the real server storing files in a bucket.

use std::sync::Arc;

use chatflow_server::blobs::s3::{S3BlobStore, S3Config, PART_SIZE};
use chatflow_server::blobs::{sha256_hex, BlobStore};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::support::blob_conformance;
use crate::support::moto::{Moto, ACCESS_KEY, REGION, SECRET_KEY};
use crate::support::{TestServer, ACME, FLOW_SUPPORT};

fn config(moto: &Moto, bucket: &str) -> S3Config {
    S3Config { endpoint: Some(moto.endpoint.clone()), bucket: bucket.into(), region: REGION.into(), allow_http: true }
}

async fn store(moto: &Moto) -> S3BlobStore {
    let bucket = moto.create_bucket().await;
    S3BlobStore::new(&config(moto, &bucket), ACCESS_KEY, SECRET_KEY).expect("S3 store")
}

#[tokio::test]
async fn s3_store_passes_the_conformance_suite() {
    let Some(moto) = Moto::start_or_skip("s3_store_passes_the_conformance_suite") else { return };
    let store = store(&moto).await;
    store.check().await.expect("the bucket exists");
    blob_conformance::run(Arc::new(store)).await;
}

#[tokio::test]
async fn s3_store_sends_a_large_file_in_parts_and_reads_it_back_from_an_offset() {
    let Some(moto) = Moto::start_or_skip("s3_store_sends_a_large_file_in_parts") else { return };
    let store = store(&moto).await;
    // Two and a half parts: a multipart upload with a short last part.
    let len = PART_SIZE * 2 + PART_SIZE / 2;
    let bytes: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 13)) as u8).collect();
    let key = sha256_hex(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("large.part");
    std::fs::write(&src, &bytes).unwrap();
    store.put_file(&key, &src).await.expect("multipart put_file");
    assert!(!src.exists(), "put_file removes its source");
    assert_eq!(store.size(&key).await.unwrap(), Some(len as u64));

    let start = PART_SIZE as u64 + 12_345; // inside the second part
    let mut read = store.open(&key, start).await.unwrap();
    assert_eq!(read.size, len as u64);
    let mut got = Vec::new();
    while let Some(chunk) = read.stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(got == bytes[start as usize..], "the bytes from the offset, across the parts' boundary");
}

#[tokio::test]
async fn s3_store_reports_a_missing_bucket_and_refuses_an_incomplete_configuration() {
    let Some(moto) = Moto::start_or_skip("s3_store_reports_a_missing_bucket") else { return };
    let missing = S3BlobStore::new(&config(&moto, "no-such-bucket"), ACCESS_KEY, SECRET_KEY).unwrap();
    let err = missing.check().await.expect_err("a missing bucket fails the start-up check");
    assert!(err.to_string().contains("no-such-bucket"), "the error names the bucket: {err}");
    assert!(!err.to_string().contains(SECRET_KEY), "never the secret: {err}");

    let no_bucket = S3BlobStore::new(&config(&moto, ""), ACCESS_KEY, SECRET_KEY).expect_err("empty bucket");
    assert!(no_bucket.to_string().contains("--s3-bucket"), "{no_bucket}");
    // Plain HTTP only when asked for.
    let https_only = S3Config { allow_http: false, ..config(&moto, "b") };
    let refused = match S3BlobStore::new(&https_only, ACCESS_KEY, SECRET_KEY) {
        Err(_) => true,
        Ok(store) => store.check().await.is_err(),
    };
    assert!(refused, "an http:// endpoint without --s3-allow-http is refused");
}

/// The real server with `--blob-store s3`: a visitor uploads a PDF in two PATCHes, sends it in a message, and downloads
/// it byte-identical (whole, then resumed from an offset); the file is the bucket's object `blobs/<sha256>`.
#[tokio::test]
async fn server_with_s3_blob_store_round_trips_an_attachment() {
    let Some(moto) = Moto::start_or_skip("server_with_s3_blob_store_round_trips_an_attachment") else { return };
    let bucket = moto.create_bucket().await;
    // The server reads its S3 credentials from the environment only (each test runs in its own process).
    std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    let server = TestServer::start_with(&[
        "--blob-store",
        "s3",
        "--s3-endpoint",
        &moto.endpoint,
        "--s3-bucket",
        &bucket,
        "--s3-region",
        REGION,
        "--s3-allow-http",
    ]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conversation = api.open(&token, FLOW_SUPPORT).await;

    let mut file = b"%PDF-1.7\n".to_vec();
    file.extend((0..300_000u32).map(|i| (i % 251) as u8));
    let sha256 = sha256_hex(&file);
    let declared = json!({"upload_id": "receipt-1", "file_name": "reçu mars.pdf", "mime_type": "application/pdf",
                          "size": file.len(), "sha256": sha256});
    let r = api.call("POST", "/v1/uploads", Some(&token), Some(declared)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    let http = reqwest::Client::new();
    let patch = |offset: usize, bytes: Vec<u8>| {
        http.patch(format!("{}/v1/uploads/receipt-1", server.base))
            .bearer_auth(&token)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(bytes)
            .send()
    };
    let half = file.len() / 2;
    let r = patch(0, file[..half].to_vec()).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = patch(half, file[half..].to_vec()).await.unwrap();
    assert_eq!(r.status(), 200);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["complete"], true, "{status}");

    let put = format!("/v1/conversations/{conversation}/messages/m-1");
    let r = api.call("PUT", &put, Some(&token), Some(json!({"body": "", "attachments": ["receipt-1"]}))).await;
    assert!(r.status == 200 || r.status == 201, "{:?}", r.body);
    let attachment = &r.body["attachments"][0];
    assert_eq!(attachment["sha256"], sha256.as_str());
    let id = attachment["id"].as_str().expect("attachment id");

    let url = format!("{}/v1/attachments/{id}", server.base);
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap() == file, "the download is byte-identical");
    let r = http.get(&url).bearer_auth(&token).header("Range", "bytes=1000-").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert!(r.bytes().await.unwrap() == file[1000..], "a resumed download has the rest");

    // The bytes live in the bucket. moto checks no signature, but an anonymous read meets the object's private ACL:
    // any credentials will do.
    let object = http
        .get(format!("{}/{bucket}/blobs/{sha256}", moto.endpoint))
        .header("Authorization", moto_credentials())
        .send()
        .await
        .unwrap();
    assert_eq!(object.status(), 200);
    assert!(object.bytes().await.unwrap() == file, "the bucket holds the file under its SHA-256");
}

/// An `Authorization` header moto takes as a signed request (it does not verify the signature).
fn moto_credentials() -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/{REGION}/s3/aws4_request, SignedHeaders=host, Signature=00"
    )
}
