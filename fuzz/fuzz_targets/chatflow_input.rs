//! A chatflow as the admin API and the seed receive it (`ChatflowInput`, including its bot and availability) and a
//! bot definition on its own (`BotSettings`): never a panic in decoding or validation, and what decodes round-trips.
#![no_main]

use chatflow_fuzz::round_trip;
use chatflow_protocol::{BotSettings, ChatflowInput};
use chatflow_server::bots::validate_bot;
use chatflow_server::chatflows::validate::validate_chatflow;
use chatflow_server::store::{AgentRecord, TeamMember};
use libfuzzer_sys::fuzz_target;

fn agents() -> Vec<AgentRecord> {
    ["ana", "ben"]
        .map(|id| AgentRecord {
            id: id.into(),
            app_id: "app1".into(),
            display_name: id.into(),
            avatar_url: None,
            available: id == "ana",
        })
        .into()
}

fuzz_target!(|data: &[u8]| {
    if let Some(input) = round_trip::<ChatflowInput>(data) {
        let members = [TeamMember { team_id: "support".into(), agent_id: "ana".into() }];
        let _ = validate_chatflow(&input, &agents(), &members);
    }
    if let Some(bot) = round_trip::<BotSettings>(data) {
        let _ = validate_bot(&bot);
    }
});
