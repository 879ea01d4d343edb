//! Checks on a chatflow before it is saved (admin API and seed). Each error names the offending field.

use std::collections::HashSet;

use chatflow_protocol::limits::MAX_MESSAGE_CHARS;
use chatflow_protocol::{normalize_tag, BotSettings, ChatflowInput, ChatflowKind, ProcessDataMode, RoutingTarget};

use crate::store::{AgentRecord, TeamMember};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 64;
pub const MAX_NOTICE_CHARS: usize = 10_000;
const MAX_URL_CHARS: usize = 2_048;

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn bounded(field: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    let n = chars(value.trim());
    if n < min || chars(value) > max {
        return Err(format!("{field} must be {min}..={max} characters, got {}", chars(value)));
    }
    Ok(())
}

/// A BCP 47-shaped language tag: `en`, `fr-CA`, `zh-Hant-TW`.
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn validate_tags(tags: &[String]) -> Result<(), String> {
    if tags.len() > MAX_TAGS {
        return Err(format!("mobile_tags has {} tags; at most {MAX_TAGS}", tags.len()));
    }
    let mut seen = HashSet::new();
    for (i, tag) in tags.iter().enumerate() {
        let t = tag.trim();
        if t.is_empty() || chars(t) > MAX_TAG_CHARS {
            return Err(format!("mobile_tags[{i}] must be 1..={MAX_TAG_CHARS} characters"));
        }
        if !t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(format!("mobile_tags[{i}] `{t}` may only hold letters, digits, `-`, `_` and `.`"));
        }
        if !seen.insert(normalize_tag(t)) {
            return Err(format!("mobile_tags[{i}] `{t}` repeats another tag (tags ignore case)"));
        }
    }
    Ok(())
}

fn validate_url(field: &str, url: &Option<String>) -> Result<(), String> {
    match url {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) || chars(u) > MAX_URL_CHARS => {
            Err(format!("{field} must be an http(s) URL of at most {MAX_URL_CHARS} characters"))
        }
        _ => Ok(()),
    }
}

/// The bot's settings and rule tree (`bots::validate`); every problem is listed.
fn validate_bot(bot: &BotSettings) -> Result<(), String> {
    let problems = crate::bots::validate_bot(bot);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(crate::bots::describe(&problems))
    }
}

/// Validates `input` against the app's agents and teams. The error names the field.
pub fn validate_chatflow(input: &ChatflowInput, agents: &[AgentRecord], members: &[TeamMember]) -> Result<(), String> {
    bounded("name", &input.name, 1, MAX_NAME_CHARS)?;
    validate_tags(&input.mobile_tags)?;
    if !is_language_tag(&input.language) {
        return Err(format!("language must be a BCP 47 tag such as `en` or `fr-CA`, got `{}`", input.language));
    }
    bounded("welcome_message", &input.welcome_message, 0, MAX_MESSAGE_CHARS)?;
    bounded("header.display_name", &input.header.display_name, 1, MAX_NAME_CHARS)?;
    validate_url("header.avatar_url", &input.header.avatar_url)?;
    bounded("email_capture.prompt", &input.email_capture.prompt, 0, MAX_MESSAGE_CHARS)?;
    input.availability.validate().map_err(|e| format!("availability: {e}"))?;
    bounded("availability.away_message", &input.availability.away_message, 0, MAX_MESSAGE_CHARS)?;
    let agent_known = |id: &str| agents.iter().any(|a| a.id == id);
    match &input.routing.target {
        RoutingTarget::Specific { agent_ids, team_ids } => {
            if let Some(id) = agent_ids.iter().find(|id| !agent_known(id)) {
                return Err(format!("routing.agent_ids: unknown agent `{id}`"));
            }
            if let Some(id) = team_ids.iter().find(|t| !members.iter().any(|m| &m.team_id == *t)) {
                return Err(format!("routing.team_ids: unknown team `{id}`"));
            }
        }
        RoutingTarget::ContactOwner { fallback_agent_id: Some(id) } if !agent_known(id) => {
            return Err(format!("routing.fallback_agent_id: unknown agent `{id}`"));
        }
        _ => {}
    }
    if input.knowledge_base.enabled && input.knowledge_base.kb_id.is_none() {
        return Err("knowledge_base.kb_id is required when the knowledge base is enabled".into());
    }
    if input.kind == ChatflowKind::AiAgent && !input.knowledge_base.enabled {
        return Err("knowledge_base: an `ai_agent` chatflow answers from its knowledge base; set \
                    `knowledge_base.enabled` to true with the `kb_id` of the base to answer from"
            .into());
    }
    let notice = &input.consent.process_data;
    match notice.mode {
        ProcessDataMode::Off => bounded("consent.process_data.text", &notice.text, 0, MAX_NOTICE_CHARS)?,
        ProcessDataMode::Explicit | ProcessDataMode::LegitimateInterest => {
            bounded("consent.process_data.text", &notice.text, 1, MAX_NOTICE_CHARS)?
        }
    }
    if let Some(c) = &input.consent.communicate {
        bounded("consent.communicate.subscription_type", &c.subscription_type, 1, 100)?;
        bounded("consent.communicate.checkbox_label", &c.checkbox_label, 1, MAX_NOTICE_CHARS)?;
    }
    match (&input.kind, &input.bot) {
        (ChatflowKind::Bot, None) => return Err("bot settings are required for a `bot` chatflow".into()),
        (ChatflowKind::Bot, Some(bot)) => validate_bot(bot)?,
        (_, Some(_)) => return Err("bot settings are only allowed on a `bot` chatflow".into()),
        (_, None) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "name": "Support",
            "kind": "live_chat",
            "mobile_tags": ["support"],
            "language": "fr-CA",
            "header": {"display_name": "Team"},
            "email_capture": {"mode": "never"},
            "routing": {"mode": "specific", "agent_ids": ["a1"], "team_ids": ["t1"]},
            "availability": {"mode": "always", "when_away": "away_message"},
            "knowledge_base": {"enabled": false},
            "consent": {"process_data": {"mode": "explicit", "text": "We store your messages."}}
        })
    }

    fn check(patch: impl FnOnce(&mut serde_json::Value)) -> Result<(), String> {
        let mut v = base();
        patch(&mut v);
        let input: ChatflowInput = serde_json::from_value(v).unwrap();
        let agents = [AgentRecord {
            id: "a1".into(),
            app_id: "x".into(),
            display_name: "A".into(),
            avatar_url: None,
            available: true,
        }];
        let members = [TeamMember { team_id: "t1".into(), agent_id: "a1".into() }];
        validate_chatflow(&input, &agents, &members)
    }

    #[test]
    fn accepts_a_good_chatflow() {
        check(|_| {}).unwrap();
    }

    #[test]
    fn names_the_bad_field() {
        type Patch = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Patch, &str)> = vec![
            (Box::new(|v| v["name"] = json!("  ")), "name"),
            (Box::new(|v| v["mobile_tags"] = json!(["ok", "OK "])), "mobile_tags[1]"),
            (Box::new(|v| v["mobile_tags"] = json!(["has space"])), "mobile_tags[0]"),
            (Box::new(|v| v["language"] = json!("english")), "language"),
            (Box::new(|v| v["routing"]["agent_ids"] = json!(["ghost"])), "routing.agent_ids"),
            (Box::new(|v| v["routing"]["team_ids"] = json!(["ghost"])), "routing.team_ids"),
            (Box::new(|v| v["consent"]["process_data"]["text"] = json!("")), "consent.process_data.text"),
            (
                Box::new(|v| {
                    v["availability"] =
                        json!({"mode": "business_hours", "time_zone": "Nowhere/City", "when_away": "hide_launcher"})
                }),
                "availability",
            ),
            (Box::new(|v| v["kind"] = json!("bot")), "bot settings are required"),
            (Box::new(|v| v["knowledge_base"] = json!({"enabled": true})), "knowledge_base.kb_id"),
            (Box::new(|v| v["kind"] = json!("ai_agent")), "an `ai_agent` chatflow answers from its knowledge base"),
            (
                Box::new(|v| {
                    v["kind"] = json!("ai_agent");
                    v["knowledge_base"] = json!({"enabled": true});
                }),
                "knowledge_base.kb_id",
            ),
            (Box::new(|v| v["header"]["avatar_url"] = json!("ftp://x")), "header.avatar_url"),
        ];
        for (patch, field) in cases {
            let err = check(patch).unwrap_err();
            assert!(err.contains(field), "{err} should mention {field}");
        }
    }

    #[test]
    fn an_ai_agent_with_a_knowledge_base_is_accepted() {
        check(|v| {
            v["kind"] = json!("ai_agent");
            v["knowledge_base"] = json!({"enabled": true, "kb_id": 1});
        })
        .unwrap();
    }

    #[test]
    fn bot_flow_references_must_exist() {
        let err = check(|v| {
            v["kind"] = json!("bot");
            v["bot"] = json!({"session_timeout_minutes": 30, "flow": {"start": "a", "nodes": [
                {"id": "a", "action": "send_message", "text": "hi", "next": "b"}
            ]}});
        })
        .unwrap_err();
        assert!(err.contains("unknown node `b`"), "{err}");
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "fr", "fr-CA", "zh-Hant-TW", "ast"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "english", "fr_CA", "fr-", "fr-C"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
