//! How the store's enums and counters are written in database columns, the same for every backend. The strings are
//! the wire strings, so that the database reads like the API.

use chatflow_protocol::{AuthorKind, Channel, ConsentDecision, ConsentKind, ConversationStatus, PushPlatform};

use super::inbox::HandledBy;
use super::{StoreError, StoreResult};
use crate::bots::engine::Outcome;

pub(crate) fn status_str(s: ConversationStatus) -> &'static str {
    match s {
        ConversationStatus::Open => "open",
        ConversationStatus::Closed => "closed",
    }
}

pub(crate) fn parse_status(s: &str) -> StoreResult<ConversationStatus> {
    match s {
        "open" => Ok(ConversationStatus::Open),
        "closed" => Ok(ConversationStatus::Closed),
        other => Err(StoreError::Corrupt(format!("conversation status `{other}`"))),
    }
}

pub(crate) fn channel_str(c: Channel) -> &'static str {
    match c {
        Channel::MobileChat => "mobile_chat",
        Channel::Email => "email",
        Channel::Form => "form",
        Channel::Messenger => "messenger",
        Channel::Whatsapp => "whatsapp",
        Channel::Call => "call",
    }
}

pub(crate) fn parse_channel(s: &str) -> StoreResult<Channel> {
    Ok(match s {
        "mobile_chat" => Channel::MobileChat,
        "email" => Channel::Email,
        "form" => Channel::Form,
        "messenger" => Channel::Messenger,
        "whatsapp" => Channel::Whatsapp,
        "call" => Channel::Call,
        other => return Err(StoreError::Corrupt(format!("conversation channel `{other}`"))),
    })
}

pub(crate) fn author_kind_str(k: AuthorKind) -> &'static str {
    match k {
        AuthorKind::Visitor => "visitor",
        AuthorKind::Agent => "agent",
        AuthorKind::Bot => "bot",
        AuthorKind::System => "system",
    }
}

pub(crate) fn parse_author_kind(s: &str) -> StoreResult<AuthorKind> {
    Ok(match s {
        "visitor" => AuthorKind::Visitor,
        "agent" => AuthorKind::Agent,
        "bot" => AuthorKind::Bot,
        "system" => AuthorKind::System,
        other => return Err(StoreError::Corrupt(format!("message author kind `{other}`"))),
    })
}

pub(crate) fn consent_kind_str(k: ConsentKind) -> &'static str {
    match k {
        ConsentKind::ProcessData => "process_data",
        ConsentKind::Communicate => "communicate",
    }
}

pub(crate) fn parse_consent_kind(s: &str) -> StoreResult<ConsentKind> {
    match s {
        "process_data" => Ok(ConsentKind::ProcessData),
        "communicate" => Ok(ConsentKind::Communicate),
        other => Err(StoreError::Corrupt(format!("consent kind `{other}`"))),
    }
}

pub(crate) fn decision_str(d: ConsentDecision) -> &'static str {
    match d {
        ConsentDecision::Accepted => "accepted",
        ConsentDecision::Declined => "declined",
        ConsentDecision::Implied => "implied",
    }
}

pub(crate) fn parse_decision(s: &str) -> StoreResult<ConsentDecision> {
    match s {
        "accepted" => Ok(ConsentDecision::Accepted),
        "declined" => Ok(ConsentDecision::Declined),
        "implied" => Ok(ConsentDecision::Implied),
        other => Err(StoreError::Corrupt(format!("consent decision `{other}`"))),
    }
}

/// Sequence numbers and read marks are `u64` on the wire and a signed 64-bit integer in the database; values come from our own
/// counters starting at 0, so they always fit. A hostile query value above i64::MAX is clamped by callers.
pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(crate) fn seq_from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn parse_handled_by(s: &str) -> StoreResult<HandledBy> {
    match s {
        "bot" => Ok(HandledBy::Bot),
        "agents" => Ok(HandledBy::Agents),
        other => Err(StoreError::Corrupt(format!("conversation handled_by `{other}`"))),
    }
}

pub(crate) fn platform_str(p: PushPlatform) -> &'static str {
    match p {
        PushPlatform::Fcm => "fcm",
        PushPlatform::Apns => "apns",
    }
}

pub(crate) fn parse_platform(s: &str) -> StoreResult<PushPlatform> {
    match s {
        "fcm" => Ok(PushPlatform::Fcm),
        "apns" => Ok(PushPlatform::Apns),
        other => Err(StoreError::Corrupt(format!("unknown push platform `{other}`"))),
    }
}

/// A bot session's outcome (`None` while the bot still runs).
pub(crate) fn outcome_str(o: Option<Outcome>) -> Option<&'static str> {
    o.map(|o| match o {
        Outcome::Completed => "completed",
        Outcome::HandedOff => "handed_off",
    })
}

pub(crate) fn parse_outcome(s: Option<&str>) -> StoreResult<Option<Outcome>> {
    match s {
        None => Ok(None),
        Some("completed") => Ok(Some(Outcome::Completed)),
        Some("handed_off") => Ok(Some(Outcome::HandedOff)),
        Some(other) => Err(StoreError::Corrupt(format!("bot session outcome `{other}`"))),
    }
}
