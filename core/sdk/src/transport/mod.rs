//! Talking to the server: [`http`] (REST, reqwest + rustls), [`realtime`] (WebSocket frames), [`tls`] (the one TLS
//! configuration both use) and [`backoff`] (retry delays).

pub mod backoff;
pub mod http;
pub mod realtime;
pub mod tls;

pub use http::{Fetched, HttpClient};
