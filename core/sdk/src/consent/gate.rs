//! The consent gate as pure logic: the state of one chatflow's consents computed from its settings and the visitor's
//! stored decisions, and what `send()` may do.

use chatflow_protocol::{ConsentDecision, ConsentKind, ConsentSettings, ProcessDataMode};

/// The version of a consent text: lowercase hex SHA-256 of its exact bytes. Any change (even a space) is a new
/// version, and the visitor is asked again. The server computes the same value to check explicit consent.
pub fn text_version(text: &str) -> String {
    let digest = crate::sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A decision as stored locally (latest per chatflow, kind and text version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDecision {
    pub kind: ConsentKind,
    pub text_hash: String,
    pub decision: ConsentDecision,
}

/// Consent to process data, for the text the chatflow shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessDataStatus {
    /// The chatflow does not ask.
    NotRequired,
    /// Explicit mode, no decision on this text version yet: show the text and "I agree"; sending is refused.
    AwaitingDecision,
    /// The visitor agreed to this text version.
    Accepted,
    /// The visitor declined this text version: chatting is blocked (knowledge-base search is not).
    Declined,
    /// Legitimate interest, nothing recorded yet for this text: show the notice; the first message records it.
    NoticeToShow,
    /// Legitimate interest, recorded with an earlier message: keep showing the notice if the UI wants to.
    Implied,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessDataState {
    pub mode: ProcessDataMode,
    pub text: String,
    pub text_version: String,
    pub status: ProcessDataStatus,
}

/// The optional opt-in to communications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunicateState {
    pub subscription_type: String,
    pub checkbox_label: String,
    /// sha256 hex of the label; a changed label asks again.
    pub label_version: String,
    /// The visitor's choice for this label version; `None`: not asked yet (unchecked).
    pub opted_in: Option<bool>,
}

/// Everything the UI needs about one chatflow's consents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    pub chatflow_id: i64,
    pub process_data: ProcessDataState,
    pub communicate: Option<CommunicateState>,
    /// `send()` would go through now (possibly recording an implied consent with the message).
    pub can_send: bool,
}

/// What the gate says about a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Allow,
    /// Allow, and record the implied (legitimate interest) consent with this message.
    AllowRecordingImplied,
    /// Explicit consent missing.
    Required,
    /// The visitor declined.
    Declined,
}

fn latest<'a>(decisions: &'a [StoredDecision], kind: ConsentKind, hash: &str) -> Option<&'a StoredDecision> {
    decisions.iter().rev().find(|d| d.kind == kind && d.text_hash == hash)
}

/// Computes the state of `chatflow_id`'s consents. `decisions` are in decision order (the last one counts).
pub fn compute(chatflow_id: i64, settings: &ConsentSettings, decisions: &[StoredDecision]) -> ConsentState {
    let pd = &settings.process_data;
    let version = text_version(&pd.text);
    let decided = latest(decisions, ConsentKind::ProcessData, &version).map(|d| d.decision);
    let status = match (pd.mode, decided) {
        (ProcessDataMode::Off, _) => ProcessDataStatus::NotRequired,
        // An explicit "no" is respected whatever the mode; so is an explicit "yes".
        (_, Some(ConsentDecision::Declined)) => ProcessDataStatus::Declined,
        (_, Some(ConsentDecision::Accepted)) => ProcessDataStatus::Accepted,
        // Implied consent is not explicit consent: an explicit chatflow asks again.
        (ProcessDataMode::Explicit, Some(ConsentDecision::Implied) | None) => ProcessDataStatus::AwaitingDecision,
        (ProcessDataMode::LegitimateInterest, Some(ConsentDecision::Implied)) => ProcessDataStatus::Implied,
        (ProcessDataMode::LegitimateInterest, None) => ProcessDataStatus::NoticeToShow,
    };
    let communicate = settings.communicate.as_ref().map(|c| {
        let label_version = text_version(&c.checkbox_label);
        let opted_in = latest(decisions, ConsentKind::Communicate, &label_version)
            .map(|d| d.decision == ConsentDecision::Accepted);
        CommunicateState {
            subscription_type: c.subscription_type.clone(),
            checkbox_label: c.checkbox_label.clone(),
            label_version,
            opted_in,
        }
    });
    let mut state = ConsentState {
        chatflow_id,
        process_data: ProcessDataState { mode: pd.mode, text: pd.text.clone(), text_version: version, status },
        communicate,
        can_send: false,
    };
    state.can_send = matches!(gate(&state), Gate::Allow | Gate::AllowRecordingImplied);
    state
}

/// What `send()` may do in `state`. The communicate opt-in never blocks sending.
pub fn gate(state: &ConsentState) -> Gate {
    match state.process_data.status {
        ProcessDataStatus::NotRequired | ProcessDataStatus::Accepted | ProcessDataStatus::Implied => Gate::Allow,
        ProcessDataStatus::NoticeToShow => Gate::AllowRecordingImplied,
        ProcessDataStatus::AwaitingDecision => Gate::Required,
        ProcessDataStatus::Declined => Gate::Declined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatflow_protocol::{CommunicateConsent, ProcessDataConsent};
    use ConsentDecision::*;
    use ProcessDataMode::*;
    use ProcessDataStatus as S;

    fn settings(mode: ProcessDataMode, text: &str) -> ConsentSettings {
        ConsentSettings {
            process_data: ProcessDataConsent { mode, text: text.into() },
            communicate: Some(CommunicateConsent {
                subscription_type: "product_updates".into(),
                checkbox_label: "Send me news".into(),
            }),
        }
    }

    fn pd(text: &str, decision: ConsentDecision) -> StoredDecision {
        StoredDecision { kind: ConsentKind::ProcessData, text_hash: text_version(text), decision }
    }

    #[test]
    fn text_version_is_sha256_hex_of_the_exact_text() {
        assert_eq!(text_version("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(text_version("We store data."), text_version("We store data. "));
    }

    #[test]
    fn state_and_gate_table() {
        // (mode, shown text, decisions, expected status, expected gate)
        let v1 = "We keep your messages.";
        let v2 = "We keep your messages for 30 days.";
        let cases: Vec<(ProcessDataMode, &str, Vec<StoredDecision>, ProcessDataStatus, Gate)> = vec![
            (Off, "", vec![], S::NotRequired, Gate::Allow),
            (Off, v1, vec![pd(v1, Declined)], S::NotRequired, Gate::Allow),
            (Explicit, v1, vec![], S::AwaitingDecision, Gate::Required),
            (Explicit, v1, vec![pd(v1, Accepted)], S::Accepted, Gate::Allow),
            (Explicit, v1, vec![pd(v1, Declined)], S::Declined, Gate::Declined),
            (Explicit, v1, vec![pd(v1, Declined), pd(v1, Accepted)], S::Accepted, Gate::Allow),
            (Explicit, v1, vec![pd(v1, Accepted), pd(v1, Declined)], S::Declined, Gate::Declined),
            // A changed text is a new version: asked again.
            (Explicit, v2, vec![pd(v1, Accepted)], S::AwaitingDecision, Gate::Required),
            // Implied (from legitimate interest) does not satisfy explicit.
            (Explicit, v1, vec![pd(v1, Implied)], S::AwaitingDecision, Gate::Required),
            (LegitimateInterest, v1, vec![], S::NoticeToShow, Gate::AllowRecordingImplied),
            (LegitimateInterest, v1, vec![pd(v1, Implied)], S::Implied, Gate::Allow),
            (LegitimateInterest, v1, vec![pd(v1, Accepted)], S::Accepted, Gate::Allow),
            (LegitimateInterest, v1, vec![pd(v1, Declined)], S::Declined, Gate::Declined),
            (LegitimateInterest, v2, vec![pd(v1, Implied)], S::NoticeToShow, Gate::AllowRecordingImplied),
        ];
        for (mode, text, decisions, status, expected_gate) in cases {
            let state = compute(7, &settings(mode, text), &decisions);
            assert_eq!(state.process_data.status, status, "{mode:?} {text} {decisions:?}");
            assert_eq!(gate(&state), expected_gate, "{mode:?} {text} {decisions:?}");
            assert_eq!(state.can_send, matches!(expected_gate, Gate::Allow | Gate::AllowRecordingImplied));
            assert_eq!(state.process_data.text_version, text_version(text));
        }
    }

    #[test]
    fn communicate_opt_in_follows_the_label_version_and_never_blocks() {
        let s = settings(Off, "");
        let label = text_version("Send me news");
        let opt = |d| StoredDecision { kind: ConsentKind::Communicate, text_hash: label.clone(), decision: d };
        assert_eq!(compute(1, &s, &[]).communicate.unwrap().opted_in, None);
        assert_eq!(compute(1, &s, &[opt(Accepted)]).communicate.unwrap().opted_in, Some(true));
        let state = compute(1, &s, &[opt(Accepted), opt(Declined)]);
        assert_eq!(state.communicate.unwrap().opted_in, Some(false));
        assert!(state.can_send);
        let stale =
            StoredDecision { kind: ConsentKind::Communicate, text_hash: text_version("old label"), decision: Accepted };
        assert_eq!(compute(1, &s, &[stale]).communicate.unwrap().opted_in, None);
        let mut off = s.clone();
        off.communicate = None;
        assert_eq!(compute(1, &off, &[]).communicate, None);
    }
}
