//! Table tests for every resolution rule and their interplay, plus a proptest of the priority rule.

use super::*;
use chatflow_protocol::{
    Availability, AvailabilityMode, ChatHeader, ChatflowKind, ConsentSettings, Day, EmailCapture, EmailCaptureMode,
    KnowledgeBaseSettings, OpeningRange, ProcessDataConsent, ProcessDataMode, Routing, RoutingTarget,
};
use proptest::prelude::*;

/// Wednesday 2026-01-14 10:00 Paris (open on weekdays 9–17).
const WED_OPEN: i64 = 1_768_381_200_000;
/// Wednesday 2026-01-14 20:00 Paris (closed; opens Thursday 09:00 Paris = 08:00Z).
const WED_CLOSED: i64 = 1_768_417_200_000;
const THU_OPENING: i64 = 1_768_464_000_000;

pub(crate) fn flow(id: i64, tags: &[&str], priority: i32, language: &str) -> Chatflow {
    Chatflow {
        id,
        name: format!("flow {id}"),
        kind: ChatflowKind::LiveChat,
        enabled: true,
        priority,
        mobile_tags: tags.iter().map(|t| t.to_string()).collect(),
        language: language.into(),
        welcome_message: format!("welcome {id}"),
        header: ChatHeader { display_name: "Team".into(), avatar_url: None, use_branding_as_agent_alias: false },
        email_capture: EmailCapture { mode: EmailCaptureMode::Never, prompt: String::new() },
        routing: Routing { target: RoutingTarget::Unassigned, available_agents_only: false },
        availability: Availability::always(),
        knowledge_base: KnowledgeBaseSettings { enabled: false, kb_id: None },
        consent: ConsentSettings {
            process_data: ProcessDataConsent { mode: ProcessDataMode::Off, text: String::new() },
            communicate: None,
        },
        bot: None,
        csat_survey: false,
        transcript_on_close: false,
        updated_at: 0,
    }
}

fn disabled(mut f: Chatflow) -> Chatflow {
    f.enabled = false;
    f
}

/// Weekdays 9–17 Paris, launcher hidden when away.
fn office_hours_hidden(mut f: Chatflow) -> Chatflow {
    let days = [Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday];
    f.availability = Availability {
        mode: AvailabilityMode::BusinessHours,
        time_zone: "Europe/Paris".into(),
        business_hours: days
            .iter()
            .map(|&day| OpeningRange { day, start: "09:00".into(), end: "17:00".into() })
            .collect(),
        when_away: AwayBehavior::HideLauncher,
        away_message: String::new(),
        typical_response_time: None,
    };
    f
}

fn team_hidden(mut f: Chatflow) -> Chatflow {
    f.availability.mode = AvailabilityMode::TeamStatus;
    f.availability.when_away = AwayBehavior::HideLauncher;
    f
}

fn away_message(mut f: Chatflow) -> Chatflow {
    f = office_hours_hidden(f);
    f.availability.when_away = AwayBehavior::AwayMessage;
    f
}

fn langs(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

fn away(id: i64, fetched_at: i64) -> (i64, TeamStatus) {
    (id, TeamStatus { available: false, next_change_at: None, fetched_at })
}

#[derive(Debug, PartialEq)]
enum Expect {
    Found(i64),
    NotFound,
    AllHidden(Option<i64>),
}

fn outcome(r: &Resolution) -> Expect {
    match r {
        Resolution::Found { chatflow, .. } => Expect::Found(chatflow.id),
        Resolution::NotFound { .. } => Expect::NotFound,
        Resolution::AllHidden { next_change_at, .. } => Expect::AllHidden(*next_change_at),
    }
}

/// (case, flows, statuses, tag, languages, now, expected)
type Case = (&'static str, Vec<Chatflow>, HashMap<i64, TeamStatus>, &'static str, Vec<String>, i64, Expect);

#[test]
fn resolution_table() {
    use Expect::*;
    let no_status = HashMap::new();
    let cases: Vec<Case> = vec![
        (
            "single match",
            vec![flow(1, &["support"], 0, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(1),
        ),
        ("no chatflow at all", vec![], no_status.clone(), "support", langs(&["en"]), WED_OPEN, NotFound),
        (
            "tag mismatch",
            vec![flow(1, &["sales"], 0, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            NotFound,
        ),
        (
            "tag trimmed and case-folded",
            vec![flow(1, &[" Support "], 0, "en")],
            no_status.clone(),
            "SUPPORT  ",
            langs(&[]),
            WED_OPEN,
            Found(1),
        ),
        (
            "tag is exact, not a prefix",
            vec![flow(1, &["support-vip"], 0, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            NotFound,
        ),
        (
            "one of several tags",
            vec![flow(1, &["a", "support", "b"], 0, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(1),
        ),
        (
            "disabled only → not found",
            vec![disabled(flow(1, &["support"], 9, "en"))],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            NotFound,
        ),
        (
            "disabled higher priority is skipped",
            vec![disabled(flow(1, &["support"], 9, "en")), flow(2, &["support"], 1, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(2),
        ),
        (
            "highest priority wins",
            vec![flow(1, &["support"], 1, "en"), flow(2, &["support"], 5, "en"), flow(3, &["support"], 3, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(2),
        ),
        (
            "negative priorities",
            vec![flow(1, &["support"], -5, "en"), flow(2, &["support"], -1, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(2),
        ),
        (
            "equal priority → lowest id",
            vec![flow(7, &["support"], 2, "en"), flow(3, &["support"], 2, "en"), flow(5, &["support"], 2, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(3),
        ),
        (
            "exact language beats priority",
            vec![flow(1, &["support"], 9, "en"), flow(2, &["support"], 1, "fr")],
            no_status.clone(),
            "support",
            langs(&["fr"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "first preference decides",
            vec![flow(1, &["support"], 1, "en"), flow(2, &["support"], 1, "fr")],
            no_status.clone(),
            "support",
            langs(&["de", "en", "fr"]),
            WED_OPEN,
            Found(1),
        ),
        (
            "primary subtag match",
            vec![flow(1, &["support"], 9, "en"), flow(2, &["support"], 1, "fr-FR")],
            no_status.clone(),
            "support",
            langs(&["fr-CA"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "exact region beats sibling region",
            vec![flow(1, &["support"], 9, "fr-FR"), flow(2, &["support"], 1, "fr-CA")],
            no_status.clone(),
            "support",
            langs(&["fr-CA"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "primary group keeps every region, priority decides",
            vec![flow(1, &["support"], 1, "fr-FR"), flow(2, &["support"], 4, "fr-CA"), flow(3, &["support"], 9, "en")],
            no_status.clone(),
            "support",
            langs(&["fr"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "per preference: region fallback of the 1st beats exact 2nd",
            vec![flow(1, &["support"], 1, "en"), flow(2, &["support"], 1, "fr")],
            no_status.clone(),
            "support",
            langs(&["fr-BE", "en"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "language case and underscore",
            vec![flow(1, &["support"], 1, "en"), flow(2, &["support"], 1, "pt-BR")],
            no_status.clone(),
            "support",
            langs(&["PT_br"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "no preference matches → all kept",
            vec![flow(1, &["support"], 1, "en"), flow(2, &["support"], 3, "fr")],
            no_status.clone(),
            "support",
            langs(&["ja"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "disabled chatflow does not win the language group",
            vec![disabled(flow(1, &["support"], 1, "fr")), flow(2, &["support"], 1, "en")],
            no_status.clone(),
            "support",
            langs(&["fr"]),
            WED_OPEN,
            Found(2),
        ),
        (
            "open business hours not hidden",
            vec![office_hours_hidden(flow(1, &["support"], 9, "en")), flow(2, &["support"], 1, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(1),
        ),
        (
            "closed + hide → next candidate",
            vec![office_hours_hidden(flow(1, &["support"], 9, "en")), flow(2, &["support"], 1, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_CLOSED,
            Found(2),
        ),
        (
            "closed + away message stays",
            vec![away_message(flow(1, &["support"], 9, "en")), flow(2, &["support"], 1, "en")],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_CLOSED,
            Found(1),
        ),
        (
            "all hidden reports the reopening",
            vec![office_hours_hidden(flow(1, &["support"], 9, "en"))],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_CLOSED,
            AllHidden(Some(THU_OPENING)),
        ),
        (
            "hidden language group is not replaced by another language",
            vec![office_hours_hidden(flow(1, &["support"], 1, "fr")), flow(2, &["support"], 9, "en")],
            no_status.clone(),
            "support",
            langs(&["fr"]),
            WED_CLOSED,
            AllHidden(Some(THU_OPENING)),
        ),
        (
            "team away (fresh status) hides",
            vec![team_hidden(flow(1, &["support"], 9, "en")), flow(2, &["support"], 1, "en")],
            HashMap::from([away(1, WED_OPEN - 1000)]),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(2),
        ),
        (
            "team away but status stale → unknown → shown",
            vec![team_hidden(flow(1, &["support"], 9, "en")), flow(2, &["support"], 1, "en")],
            HashMap::from([away(1, WED_OPEN - STATUS_MAX_AGE_MS - 1)]),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(1),
        ),
        (
            "team status unknown → shown",
            vec![team_hidden(flow(1, &["support"], 9, "en"))],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_OPEN,
            Found(1),
        ),
        (
            "team away, all hidden, no known reopening",
            vec![team_hidden(flow(1, &["support"], 9, "en"))],
            HashMap::from([away(1, WED_OPEN)]),
            "support",
            langs(&[]),
            WED_OPEN,
            AllHidden(None),
        ),
        (
            "hidden winner's tie goes to next id",
            vec![
                office_hours_hidden(flow(1, &["support"], 5, "en")),
                flow(4, &["support"], 5, "en"),
                flow(3, &["support"], 5, "en"),
            ],
            no_status.clone(),
            "support",
            langs(&[]),
            WED_CLOSED,
            Found(3),
        ),
    ];
    for (name, flows, statuses, tag, languages, now, expected) in cases {
        let r = resolve(&flows, &statuses, tag, &languages, now);
        assert_eq!(outcome(&r), expected, "case: {name}");
    }
}

#[test]
fn all_hidden_reports_the_earliest_reappearance() {
    let mut late = office_hours_hidden(flow(2, &["support"], 1, "en"));
    late.availability.business_hours.retain(|r| r.day == Day::Friday);
    let flows = vec![late, office_hours_hidden(flow(1, &["support"], 1, "en"))];
    let r = resolve(&flows, &HashMap::new(), "support", &[], WED_CLOSED);
    assert_eq!(outcome(&r), Expect::AllHidden(Some(THU_OPENING)));
    let Resolution::AllHidden { tag, .. } = r else { unreachable!() };
    assert_eq!(tag, "support");
}

#[test]
fn found_reports_availability_now() {
    let flows = vec![away_message(flow(1, &["support"], 1, "en"))];
    let Resolution::Found { availability, .. } = resolve(&flows, &HashMap::new(), "support", &[], WED_CLOSED) else {
        panic!("expected found")
    };
    assert!(!availability.available);
    assert_eq!(availability.next_change_at, Some(THU_OPENING));
    // Team status supplies the next change when the schedule has none.
    let mut f = flow(2, &["support"], 1, "en");
    f.availability.mode = AvailabilityMode::TeamStatus;
    let statuses =
        HashMap::from([(2, TeamStatus { available: false, next_change_at: Some(42), fetched_at: WED_OPEN })]);
    let Resolution::Found { availability, .. } = resolve(&[f], &statuses, "support", &[], WED_OPEN) else { panic!() };
    assert_eq!(availability, AvailabilityNow { available: false, next_change_at: Some(42) });
}

#[test]
fn explain_gives_every_candidate_its_reason() {
    let flows = vec![
        flow(1, &["support"], 9, "en"),                      // other language
        disabled(flow(2, &["support"], 9, "fr")),            // disabled
        office_hours_hidden(flow(3, &["support"], 8, "fr")), // hidden
        flow(4, &["support"], 5, "fr-CA"),                   // chosen (primary match)
        flow(5, &["support"], 2, "fr"),                      // lower priority
        flow(6, &["Support"], 5, "fr"),                      // tie lost to 4
        flow(7, &["sales"], 99, "fr"),                       // not a candidate
    ];
    let e = explain(&flows, &HashMap::new(), " support", &langs(&["fr-BE", "en"]), WED_CLOSED);
    assert_eq!(e.tag, "support");
    assert_eq!(e.matched_language.as_deref(), Some("fr"));
    assert_eq!(e.known_tags, vec!["sales", "support"]);
    let verdicts: Vec<(i64, Verdict)> = e.candidates.iter().map(|c| (c.chatflow_id, c.verdict.clone())).collect();
    assert_eq!(
        verdicts,
        vec![
            (1, Verdict::OtherLanguage { matched_language: "fr".into() }),
            (2, Verdict::Disabled),
            (3, Verdict::Hidden { next_change_at: Some(THU_OPENING) }),
            (4, Verdict::Chosen),
            (5, Verdict::LowerPriority { winner_id: 4, winner_priority: 5 }),
            (6, Verdict::TieLostToLowerId { winner_id: 4 }),
        ]
    );
    assert_eq!(outcome(&e.outcome), Expect::Found(4));
    assert!(e.warnings.is_empty());
}

#[test]
fn an_unreadable_schedule_counts_as_available_with_a_warning() {
    let mut f = office_hours_hidden(flow(1, &["support"], 1, "en"));
    f.availability.time_zone = "Mars/Olympus".into();
    let e = explain(&[f], &HashMap::new(), "support", &[], WED_CLOSED);
    assert_eq!(outcome(&e.outcome), Expect::Found(1));
    assert!(e.warnings[0].contains("Mars/Olympus"), "{:?}", e.warnings);
}

// ---- proptest: the winner always has the maximal priority among the survivors ----

fn arb_flow() -> impl Strategy<Value = Chatflow> {
    (
        0i64..40,
        prop::collection::vec(prop::sample::select(vec!["support", "Support ", "sales", "vip"]), 0..3),
        -3i32..4,
        prop::sample::select(vec!["en", "en-GB", "fr", "fr-CA", "de"]),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(|(id, tags, priority, lang, enabled, avail)| {
            let mut f = flow(id, &tags, priority, lang);
            f.enabled = enabled;
            match avail {
                0 => f,
                1 => team_hidden(f),
                _ => office_hours_hidden(f),
            }
        })
}

proptest! {
    #[test]
    fn winner_has_max_priority_among_survivors(
        raw in prop::collection::vec(arb_flow(), 0..12),
        prefs in prop::collection::vec(prop::sample::select(vec!["en", "fr-BE", "fr-CA", "de", "ja"]), 0..3),
        away_ids in prop::collection::vec(0i64..40, 0..6),
        now in prop::sample::select(vec![WED_OPEN, WED_CLOSED]),
    ) {
        // Unique ids, as the server assigns them.
        let mut seen = std::collections::HashSet::new();
        let flows: Vec<Chatflow> = raw.into_iter().filter(|f| seen.insert(f.id)).collect();
        let statuses: HashMap<i64, TeamStatus> = away_ids.iter().map(|&id| away(id, now)).collect();
        let prefs: Vec<String> = prefs.iter().map(|s| s.to_string()).collect();
        let e = explain(&flows, &statuses, "support", &prefs, now);
        let survivors: Vec<&Candidate> = e.candidates.iter().filter(|c| matches!(
            c.verdict, Verdict::Chosen | Verdict::LowerPriority { .. } | Verdict::TieLostToLowerId { .. }
        )).collect();
        // Independent oracle for survival: enabled, tagged, not hidden, in the matched language group.
        for c in &e.candidates {
            let f = flows.iter().find(|f| f.id == c.chatflow_id).unwrap();
            prop_assert!(f.mobile_tags.iter().any(|t| t.trim().eq_ignore_ascii_case("support")));
            if !f.enabled { prop_assert_eq!(&c.verdict, &Verdict::Disabled); }
        }
        match &e.outcome {
            Resolution::Found { chatflow, .. } => {
                let max = survivors.iter().map(|c| c.priority).max().unwrap();
                prop_assert_eq!(chatflow.priority, max);
                let lowest = survivors.iter().filter(|c| c.priority == max).map(|c| c.chatflow_id).min().unwrap();
                prop_assert_eq!(chatflow.id, lowest);
                prop_assert!(chatflow.enabled);
                let hidden = chatflow.availability.when_away == AwayBehavior::HideLauncher
                    && !chatflow.availability.at(now, statuses.get(&chatflow.id).map(|s| s.available)).unwrap().available;
                prop_assert!(!hidden);
            }
            Resolution::NotFound { .. } => {
                prop_assert!(flows.iter().all(|f| !f.enabled
                    || !f.mobile_tags.iter().any(|t| t.trim().eq_ignore_ascii_case("support"))));
            }
            Resolution::AllHidden { .. } => {
                prop_assert!(survivors.is_empty());
                let some_hidden = e.candidates.iter().any(|c| matches!(c.verdict, Verdict::Hidden { .. }));
                prop_assert!(some_hidden);
            }
        }
        // resolve() and explain() agree.
        prop_assert_eq!(resolve(&flows, &statuses, "support", &prefs, now), e.outcome.clone());
    }
}
