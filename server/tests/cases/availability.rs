//! Availability through the real server on a pinned clock (`--fake-clock`): business hours in Europe/Paris at fixed
//! instants, across both DST changes of 2026 (29 March, 25 October), team presence of routed agents, and what the SDK
//! reads to decide what to show while away. Expected instants were computed independently (Python `zoneinfo`).

use serde_json::{json, Value};

use crate::support::*;

/// Sets the server clock.
pub async fn set_clock(api: &Api, now_ms: i64) {
    let r = api.call("PUT", "/v1/admin/clock", Some(ACME_ADMIN), Some(json!({"now_ms": now_ms}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// `(available, next_change_at)` of one chatflow now.
async fn status_of(api: &Api, flow: i64) -> (bool, Option<i64>) {
    let r = api.get(&format!("/v1/apps/{ACME}/chatflows/status"), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let s = r.body["statuses"].as_array().unwrap().iter().find(|s| s["chatflow_id"] == flow).cloned().unwrap();
    (s["available"].as_bool().unwrap(), s["next_change_at"].as_i64())
}

async fn computed_at(api: &Api) -> i64 {
    api.get(&format!("/v1/apps/{ACME}/chatflows/status"), None).await.body["computed_at"].as_i64().unwrap()
}

/// A chatflow open on Sundays 01:00–04:00 Paris time: the night both DST changes happen.
fn sunday_night() -> Value {
    json!({
        "name": "Sunday night", "kind": "live_chat", "mobile_tags": ["night"],
        "header": {"display_name": "Night desk"}, "email_capture": {"mode": "never"},
        "routing": {"mode": "unassigned"},
        "availability": {"mode": "business_hours", "time_zone": "Europe/Paris",
            "business_hours": [{"day": "sunday", "start": "01:00", "end": "04:00"}],
            "when_away": "away_message", "away_message": "Back next Sunday night."},
        "knowledge_base": {"enabled": false}, "consent": {"process_data": {"mode": "off"}}
    })
}

#[tokio::test]
async fn business_hours_at_fixed_instants_across_both_dst_changes() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    // Office hours (seed): Monday–Friday 09:00–17:00 Paris.
    let cases: &[(i64, bool, Option<i64>, &str)] = &[
        (1_774_598_399_000, false, Some(1_774_598_400_000), "Fri 27 Mar 08:59:59 CET: opens at 08:00Z"),
        (1_774_598_400_000, true, Some(1_774_627_200_000), "Fri 27 Mar 09:00 CET: closes at 16:00Z"),
        (1_774_627_199_000, true, Some(1_774_627_200_000), "Fri 27 Mar 16:59:59 CET"),
        // Closed over the weekend of the spring change: Monday 09:00 is CEST, 07:00Z, not 08:00Z.
        (1_774_627_200_000, false, Some(1_774_854_000_000), "Fri 27 Mar 17:00 CET: next Mon 09:00 CEST"),
        (1_774_854_000_000, true, Some(1_774_854_000_000 + 8 * 3_600_000), "Mon 30 Mar 09:00 CEST"),
        // Autumn: Friday 17:00 CEST (15:00Z) → Monday 09:00 CET (08:00Z).
        (1_792_767_600_000, false, Some(1_793_001_600_000), "Fri 23 Oct 17:00 CEST: next Mon 09:00 CET"),
    ];
    for &(now, available, next, what) in cases {
        set_clock(&api, now).await;
        assert_eq!(computed_at(&api).await, now, "{what}: the status is computed on the server clock");
        assert_eq!(status_of(&api, FLOW_HOURS).await, (available, next), "{what}");
    }

    // On the nights of the changes themselves (a schedule inside the changing hours).
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(sunday_night())).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let night = r.body["id"].as_i64().unwrap();
    let cases: &[(i64, bool, Option<i64>, &str)] = &[
        // 29 March: 01:00 CET = 00:00Z; 02:00–03:00 does not exist; 04:00 CEST = 02:00Z (open two real hours).
        (1_774_742_399_000, false, Some(1_774_742_400_000), "Sun 29 Mar 00:59:59 CET"),
        (1_774_744_200_000, true, Some(1_774_749_600_000), "Sun 29 Mar 01:30 CET"),
        (1_774_747_800_000, true, Some(1_774_749_600_000), "Sun 29 Mar 03:30 CEST"),
        (1_774_749_600_000, false, Some(1_775_343_600_000), "Sun 29 Mar 04:00 CEST: next Sun 01:00 CEST"),
        // 25 October: 01:00 CEST = 23:00Z the day before; 02:00–03:00 happens twice; 04:00 CET = 03:00Z.
        (1_792_882_799_000, false, Some(1_792_882_800_000), "Sun 25 Oct 00:59:59 CEST"),
        (1_792_888_200_000, true, Some(1_792_897_200_000), "Sun 25 Oct 02:30 CEST (first pass)"),
        (1_792_895_400_000, true, Some(1_792_897_200_000), "Sun 25 Oct 03:30 CET (after the change)"),
        (1_792_897_200_000, false, Some(1_793_491_200_000), "Sun 25 Oct 04:00 CET: next Sun 01:00 CET"),
    ];
    for &(now, available, next, what) in cases {
        set_clock(&api, now).await;
        assert_eq!(status_of(&api, night).await, (available, next), "{what}");
    }
}

#[tokio::test]
async fn team_status_follows_the_presence_of_routed_agents() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, 1_774_627_200_000).await;
    // `Team presence` routes to Bob only, who is away; Alice being available does not count.
    assert_eq!(status_of(&api, FLOW_TEAM).await, (false, None));
    let presence = |token: &'static str, available: bool| {
        let api = api.clone();
        async move {
            let r = api.call("PUT", "/v1/agent/presence", Some(token), Some(json!({"available": available}))).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
    };
    presence(BOB, true).await;
    assert_eq!(status_of(&api, FLOW_TEAM).await, (true, None));
    presence(BOB, false).await;
    presence(ALICE, true).await;
    assert_eq!(status_of(&api, FLOW_TEAM).await, (false, None));
    // `always` ignores presence; business hours ignore it too (the schedule decides).
    assert_eq!(status_of(&api, FLOW_SUPPORT).await, (true, None));
}

#[tokio::test]
async fn what_to_show_while_away_is_in_the_chatflow_and_the_next_change_in_the_status() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, 1_774_627_200_000).await;
    let list = api.get(&format!("/v1/apps/{ACME}/chatflows"), None).await.body;
    let flow = |id: i64| list["chatflows"].as_array().unwrap().iter().find(|f| f["id"] == id).cloned().unwrap();
    assert_eq!(flow(FLOW_HOURS)["availability"]["when_away"], "hide_launcher");
    assert_eq!(flow(FLOW_TEAM)["availability"]["when_away"], "typical_response_time");
    assert_eq!(flow(FLOW_TEAM)["availability"]["typical_response_time"], "few_hours");
    assert_eq!(flow(FLOW_SUPPORT)["availability"]["away_message"], "We are away right now.");
    // Away now, with the instant it opens again: the SDK can refresh then instead of polling.
    assert_eq!(status_of(&api, FLOW_HOURS).await, (false, Some(1_774_854_000_000)));
}
