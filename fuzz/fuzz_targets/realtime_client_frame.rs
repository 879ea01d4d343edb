//! A text frame the server reads from a client's WebSocket (`ClientFrame`): never a panic, and what decodes
//! round-trips.
#![no_main]

use chatflow_fuzz::round_trip;
use chatflow_protocol::ClientFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = round_trip::<ClientFrame>(data);
});
