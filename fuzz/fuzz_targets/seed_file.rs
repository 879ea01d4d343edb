//! The server's seed file: decoded like `seed::apply` does (serde), then its help-desk rules and `prepare` (every
//! check, tokens hashed). Never a panic; an accepted file gives one store seed per app.
#![no_main]

use chatflow_server::seed::{prepare, SeedFile};
use chatflow_server::tickets::prepare_seed_rules;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = serde_json::from_slice::<SeedFile>(data) else { return };
    for app in &mut file.apps {
        let _ = prepare_seed_rules(std::mem::take(&mut app.help_desk), &app.chatflows);
    }
    let apps = file.apps.len();
    if let Ok(seeds) = prepare(file) {
        assert_eq!(seeds.len(), apps);
    }
});
