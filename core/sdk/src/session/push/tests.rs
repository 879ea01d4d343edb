use std::path::PathBuf;

use super::*;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn ours(c: &str, f: Option<i64>, s: Option<i64>) -> PushTarget {
    PushTarget::Conversation { conversation_id: c.into(), chatflow_id: f, seq: s }
}

#[test]
fn string_maps() {
    let cases = [
        (map(&[]), PushTarget::NotOurs),
        (map(&[("title", "Sale!"), ("cf_conversation_id", "c1")]), PushTarget::NotOurs),
        (map(&[("cf_source", "other"), ("cf_conversation_id", "c1")]), PushTarget::NotOurs),
        (map(&[("cf_source", "chatflow")]), PushTarget::NotOurs),
        (map(&[("cf_source", "chatflow"), ("cf_conversation_id", "  ")]), PushTarget::NotOurs),
        (map(&[("cf_source", "chatflow"), ("cf_conversation_id", "c1")]), ours("c1", None, None)),
        (map(&[("cf_source", " chatflow "), ("cf_conversation_id", " c1 ")]), ours("c1", None, None)),
        (
            map(&[("cf_source", "chatflow"), ("cf_conversation_id", "c1"), ("cf_chatflow_id", "7"), ("cf_seq", "12")]),
            ours("c1", Some(7), Some(12)),
        ),
        (
            map(&[("cf_source", "chatflow"), ("cf_conversation_id", "c1"), ("cf_chatflow_id", "x"), ("cf_seq", "-1")]),
            ours("c1", None, None),
        ),
    ];
    for (payload, expected) in cases {
        assert_eq!(parse_push(&payload), expected, "{payload:?}");
    }
}

#[test]
fn json_objects() {
    let cases = [
        // Not a JSON object at all.
        ("", PushTarget::NotOurs),
        ("not json", PushTarget::NotOurs),
        ("[1, 2]", PushTarget::NotOurs),
        ("\"cf_source\"", PushTarget::NotOurs),
        ("null", PushTarget::NotOurs),
        (r#"{"cf_source": "chatflow", "cf_conversation_id": "c1""#, PushTarget::NotOurs),
        // Our keys with values of every JSON type.
        (
            r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_chatflow_id": 7, "cf_seq": 12}"#,
            ours("c1", Some(7), Some(12)),
        ),
        (r#"{"cf_source": "chatflow", "cf_conversation_id": 42}"#, ours("42", None, None)),
        (r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_chatflow_id": -3}"#, ours("c1", None, None)),
        (r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_seq": -1}"#, ours("c1", None, None)),
        (r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_seq": 1.5}"#, ours("c1", None, None)),
        (
            r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_seq": 18446744073709551615}"#,
            ours("c1", None, None),
        ),
        (
            r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_chatflow_id": 18446744073709551615}"#,
            ours("c1", None, None),
        ),
        (
            r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_seq": true, "cf_chatflow_id": null}"#,
            ours("c1", None, None),
        ),
        (r#"{"cf_source": "chatflow", "cf_conversation_id": ["c1"]}"#, PushTarget::NotOurs),
        (r#"{"cf_source": "chatflow", "cf_conversation_id": null}"#, PushTarget::NotOurs),
        (r#"{"cf_source": 1, "cf_conversation_id": "c1"}"#, PushTarget::NotOurs),
        (r#"{"cf_source": ["chatflow"], "cf_conversation_id": "c1"}"#, PushTarget::NotOurs),
        // Our keys are read at the top level only, as APNs delivers custom keys.
        (r#"{"aps": {"cf_source": "chatflow", "cf_conversation_id": "c1"}}"#, PushTarget::NotOurs),
        (r#"{"data": {"cf_source": "chatflow", "cf_conversation_id": "c1"}}"#, PushTarget::NotOurs),
    ];
    for (payload, expected) in cases {
        assert_eq!(parse_push_json(payload), expected, "{payload}");
    }
}

#[test]
fn deep_or_huge_json_is_not_ours_without_a_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(parse_push_json(&deep), PushTarget::NotOurs);
    let deep_object = format!(
        r#"{{"cf_source": "chatflow", "cf_conversation_id": "c1", "x": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(parse_push_json(&deep_object), PushTarget::NotOurs);
    let long_id = "c".repeat(1 << 20);
    let big = format!(r#"{{"cf_source": "chatflow", "cf_conversation_id": "{long_id}"}}"#);
    assert_eq!(parse_push_json(&big), ours(&long_id, None, None));
}

/// tests/bindings/fixtures/push: real-shaped APNs and FCM payloads, with the outcomes the Kotlin and Swift tests
/// expect too.
#[test]
fn shared_fixtures() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/bindings/fixtures/push");
    let expected = std::fs::read_to_string(dir.join("expected.properties")).unwrap();
    let mut checked = 0;
    for line in expected.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (file, outcome) = line.split_once('=').unwrap();
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let actual =
            if file.ends_with(".properties") { parse_push(&properties(&text)) } else { parse_push_json(&text) };
        assert_eq!(actual, expected_target(outcome), "{file}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} fixtures listed");
}

/// `conversation ID CHATFLOW_ID SEQ` (`-`: absent) or `not-ours`.
fn expected_target(outcome: &str) -> PushTarget {
    let words: Vec<&str> = outcome.split_whitespace().collect();
    match words.as_slice() {
        ["not-ours"] => PushTarget::NotOurs,
        ["conversation", id, flow, seq] => ours(id, flow.parse().ok(), seq.parse().ok()),
        _ => panic!("bad expectation `{outcome}`"),
    }
}

/// A `key=value` file, as java.util.Properties reads the simple ones in the fixtures.
fn properties(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim_start().to_owned()))
        .collect()
}
