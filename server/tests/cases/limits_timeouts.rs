//! Slow clients: a header that never ends (`--header-timeout-secs`) and a body that trickles (`--body-timeout-secs`)
//! are cut after the configured time, set here far below the defaults (10 s, 30 s) so that the cut can only come
//! from the setting.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Longest wait for the server to act: below the defaults, far above the 1 s configured.
const CUT_WITHIN: Duration = Duration::from_secs(8);

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; `None` if it is still open after `CUT_WITHIN`.
async fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(CUT_WITHIN, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn a_header_that_stalls_is_cut() {
    let server = TestServer::start_with(&["--header-timeout-secs", "1"]);
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    // A complete request is answered as usual on the same connection.
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Half a header, then nothing.
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: te").await.unwrap();
    let answer = read_to_close(&mut stream).await.expect("the connection is closed by the header deadline");
    assert!(!answer.contains("200 OK"), "the half request was not served: {answer}");
    // A connection that sends nothing at all is cut too.
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    assert!(read_to_close(&mut silent).await.is_some());
    // The server still serves.
    assert_eq!(server.api().get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn a_trickling_body_is_refused_and_the_connection_closed() {
    let server = TestServer::start_with(&["--body-timeout-secs", "1"]);
    let (_, token) = server.api().visitor(ACME).await;
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    let head = format!(
        "POST /v1/conversations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{{\"chatflow"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut stream).await.expect("the server answers and closes");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_body") && answer.contains("was not all received within 1 s"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
}
