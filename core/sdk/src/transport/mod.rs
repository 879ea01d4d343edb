//! Talking to the server: [`http`] (REST, reqwest + rustls), [`realtime`] (WebSocket frames) and [`backoff`] (retry
//! delays).

pub mod backoff;
pub mod http;
pub mod realtime;

pub use http::{Fetched, HttpClient};
