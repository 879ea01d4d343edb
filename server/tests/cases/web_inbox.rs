//! The web inbox served by the server itself: every file of `web/inbox/` (embedded at build time) with its content
//! type and the page's security headers; `/inbox` redirects; unknown files are 404. The demo seed's agent signs in.

use std::path::Path;

use crate::support::*;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn assert_security_headers(path: &str, h: &reqwest::header::HeaderMap) {
    assert_eq!(h["content-security-policy"], CSP, "{path}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
}

#[tokio::test]
async fn every_file_of_the_page_is_served_with_its_type_and_the_security_headers() {
    let server = TestServer::start();
    let http = client();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/inbox");
    let mut served = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let expected = match path.extension().and_then(|e| e.to_str()) {
            Some("html") => "text/html; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("{name}: no expected type for {other:?}"),
        };
        let resp = http.get(format!("{}/inbox/{name}", server.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(resp.headers()["content-type"], expected, "{name}");
        assert_security_headers(&name, resp.headers());
        assert_eq!(resp.bytes().await.unwrap().as_ref(), std::fs::read(&path).unwrap(), "{name}: the file as is");
        served += 1;
    }
    assert!(served >= 10, "{served} files");

    let index = http.get(format!("{}/inbox/", server.base)).send().await.unwrap();
    assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
    assert_security_headers("/inbox/", index.headers());
    assert_eq!(index.bytes().await.unwrap().as_ref(), std::fs::read(dir.join("index.html")).unwrap());

    let redirect = http.get(format!("{}/inbox", server.base)).send().await.unwrap();
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    assert_eq!(redirect.headers()["location"], "/inbox/");
    assert_security_headers("/inbox", redirect.headers());

    for missing in ["/inbox/nope.js", "/inbox/..%2FCargo.toml", "/inbox/sub/app.js", "/inbox/build.rs"] {
        let resp = http.get(format!("{}{missing}", server.base)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{missing}");
        assert_security_headers(missing, resp.headers());
    }
    let head = http.head(format!("{}/inbox/app.js", server.base)).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn the_demo_agent_signs_in_to_the_demo_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/demo.json");
    let server = TestServer::start_seeded(&dir.path().join("demo.db"), &seed, &[]);
    let api = server.api();
    let r = api
        .call(
            "POST",
            "/v1/agent/login",
            None,
            Some(serde_json::json!({"email": "camille@trailmate.app",
            "password": "trailmate-inbox-demo"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["agent"]["id"], "ag_camille");
    assert_eq!(r.body["agent"]["app_id"], "app_trailmate");
    assert_eq!(r.body["agent"]["team_ids"], serde_json::json!(["support"]));
}
