//! Serves the agents' web inbox (`web/inbox/`, embedded at build time by `build.rs`) at `/inbox/`.
//!
//! Every answer carries the page's security headers: a Content-Security-Policy that allows only this server's own
//! scripts, styles, images and connections (no inline code, no framing), `nosniff` and `no-referrer`.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/inbox_files.rs"));
}

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The embedded file names (tests, docs).
pub fn file_names() -> impl Iterator<Item = &'static str> {
    embedded::FILES.iter().map(|(name, _)| *name)
}

fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        _ => return None,
    })
}

fn with_security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    h.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    resp
}

fn serve(name: &str) -> Response {
    let found = embedded::FILES.iter().find(|(n, _)| *n == name);
    let resp = match (found, content_type(name)) {
        (Some((_, bytes)), Some(ctype)) => (
            [(CONTENT_TYPE, HeaderValue::from_static(ctype)), (CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
            *bytes,
        )
            .into_response(),
        _ => ApiError::not_found(format!("the inbox has no file `{name}`")).into_response(),
    };
    with_security_headers(resp)
}

/// `GET /inbox` → `/inbox/` (relative links of the page resolve against the folder).
pub async fn redirect() -> Response {
    with_security_headers((StatusCode::PERMANENT_REDIRECT, [(LOCATION, "/inbox/")]).into_response())
}

/// `GET /inbox/`: the page.
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /inbox/{file}`: a file of the page; 404 for any other name.
pub async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_has_a_content_type() {
        let names: Vec<_> = file_names().collect();
        assert!(names.contains(&"index.html") && names.contains(&"app.js"), "{names:?}");
        for name in names {
            assert!(content_type(name).is_some(), "{name} has no content type");
        }
    }
}
