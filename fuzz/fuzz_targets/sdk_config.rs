//! The SDK config file (`Config::from_json_str`): never a panic; an accepted config validates again and round-trips
//! through JSON (what `chatflow config` writes is read back the same).
#![no_main]

use chatflow_core::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::from_json_str(text) else { return };
    config.validate().expect("an accepted config validates");
    let json = serde_json::to_string(&config).expect("a config encodes");
    let again = Config::from_json_str(&json).unwrap_or_else(|e| panic!("{json} is refused: {e}"));
    assert_eq!(config, again);
});
