//! Memory and throughput of a 25 MB upload and download (a benchmark, not a timed test: `#[ignore]`, run with
//! `cargo nextest run -p chatflow-server attachments_memory --run-ignored only --no-capture`).
//!
//! Figures: the server process's peak RSS growth (`VmHWM` in `/proc/<pid>/status`) across the upload and the
//! download, and the upload's throughput against a floor that does the same necessary work: the same bytes over
//! loopback HTTP to a minimal axum route inside this test that streams them into a file and fsyncs it.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::put;
use chatflow_server::blobs::sha256_hex;
use futures_util::StreamExt;
use reqwest::StatusCode;
use std::io::Write;

use super::attachments_util::{declare, patch, pdf, send_files};
use crate::support::{TestServer, FLOW_SUPPORT};

const SIZE: usize = 25 * 1000 * 1000;

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The floor: a route that streams the body into a file and fsyncs it.
async fn floor_server(dir: std::path::PathBuf) -> String {
    let app = axum::Router::new().route(
        "/put",
        put(move |body: Body| {
            let dir = dir.clone();
            async move {
                // Plain blocking writes: the least work that lands the bytes on disk.
                let mut file = std::fs::File::create(dir.join("floor.bin")).unwrap();
                let mut stream = body.into_data_stream();
                while let Some(chunk) = stream.next().await {
                    file.write_all(&chunk.unwrap()).unwrap();
                }
                file.sync_data().unwrap();
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
#[ignore = "benchmark: run on demand, reports figures"]
async fn upload_and_download_of_25_mb_keep_the_server_memory_bounded() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(crate::support::ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let file = pdf(SIZE, 9);
    let dir = tempfile::tempdir().unwrap();
    let floor = floor_server(dir.path().to_owned()).await;
    // Warm both paths once with a small body so neither pays first-use costs in the measurement.
    api.http.put(format!("{floor}/put")).body(vec![0u8; 1000]).send().await.unwrap();
    let before = vm_hwm_kib(server.pid());

    let mut server_times = Vec::new();
    let mut floor_times = Vec::new();
    for round in 0..3 {
        let id = format!("mem-{round}");
        let mut f = file.clone();
        f[100] = round as u8; // a distinct file each round (content-addressed store)
        assert_eq!(declare(&api, &token, false, &id, "big.pdf", "application/pdf", &f).await.status, 201);
        let t = Instant::now();
        let r = patch(&api, &token, false, &id, 0, &f).await;
        server_times.push(t.elapsed());
        assert_eq!(r.body["complete"], true, "{:?}", r.body);
        let t = Instant::now();
        let resp = api.http.put(format!("{floor}/put")).body(f.clone()).send().await.unwrap();
        floor_times.push(t.elapsed());
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(send_files(&api, &token, &conv, "m", "", &["mem-0"]).await.status, 201);
    let page = api.messages(&token, &conv, "").await;
    let att =
        page.body["messages"].as_array().unwrap().last().unwrap()["attachments"][0]["id"].as_str().unwrap().to_owned();
    let t = Instant::now();
    let resp = api.http.get(format!("{}/v1/attachments/{att}", api.base)).bearer_auth(&token).send().await.unwrap();
    let mut resp = resp;
    let mut hasher_input = 0usize;
    let mut sha = sha2::Sha256::default();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        hasher_input += chunk.len();
        sha2::Digest::update(&mut sha, &chunk);
    }
    let download = t.elapsed();
    assert_eq!(hasher_input, SIZE);
    let mut f0 = file.clone();
    f0[100] = 0;
    assert_eq!(chatflow_server::blobs::hex(&sha2::Digest::finalize(sha)), sha256_hex(&f0));
    let after = vm_hwm_kib(server.pid());

    let best = |v: &[Duration]| v.iter().min().copied().unwrap();
    let (s, fl) = (best(&server_times), best(&floor_times));
    let mbps = |d: Duration| SIZE as f64 / 1e6 / d.as_secs_f64();
    println!(
        "attachments 25 MB: server peak RSS {} KiB -> {} KiB (growth {} KiB); upload best {:.0} ms ({:.0} MB/s), \
         floor (stream to file + fsync) {:.0} ms ({:.0} MB/s): ratio {:.2} of the floor; download {:.0} ms ({:.0} MB/s)",
        before,
        after,
        after.saturating_sub(before),
        s.as_secs_f64() * 1e3,
        mbps(s),
        fl.as_secs_f64() * 1e3,
        mbps(fl),
        fl.as_secs_f64() / s.as_secs_f64(),
        download.as_secs_f64() * 1e3,
        mbps(download),
    );
    // Bounded: far below the file's size (the body never sits in memory whole).
    assert!(after - before < 12 * 1024, "peak RSS grew by {} KiB for a 25 MB file", after - before);
}
