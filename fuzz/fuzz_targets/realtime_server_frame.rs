//! A text frame the SDK reads from the server's WebSocket (`ServerFrame`): never a panic, and what decodes
//! round-trips.
#![no_main]

use chatflow_fuzz::round_trip;
use chatflow_protocol::ServerFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = round_trip::<ServerFrame>(data);
});
