//! End-to-end tests against the real `chatflow-server` binary (one test binary, many cases: one link on 2 cores).

mod cases;
mod support;
