//! Which chatflow the app shows for a mobile tag: a pure function of the chatflow list, the last known team status,
//! the visitor's languages and the clock. Works offline from the cached list.
//!
//! Rules, in order:
//! 1. candidates = enabled chatflows whose `mobile_tags` contain the tag (trimmed, ASCII case ignored);
//! 2. language: for each preferred language in order (BCP 47, `_` read as `-`), keep the candidates whose language is
//!    exactly it; failing that, those sharing its primary subtag (`fr-CA` matches `fr` and `fr-FR`); the first
//!    preference that matches anything decides. When no preference matches, every candidate stays (a French visitor
//!    still gets the English chat rather than none);
//! 3. drop the candidates hidden now (availability "hide the launcher when away" while the team is away);
//! 4. highest priority wins; equal priorities → lowest id (deterministic);
//! 5. nothing left → `NotFound` (no candidate at all) or `AllHidden` (with the earliest known time one reappears).
//!
//! Language comes before hiding on purpose: a French visitor whose French team is away sees no launcher rather than
//! an English chat they did not ask for.
//!
//! Team presence (`team_status` mode) comes from the status route. A status older than [`STATUS_MAX_AGE_MS`] — or
//! none — counts as unknown, and unknown never hides a launcher (no hiding without evidence). Business hours are
//! computed on the device from the schedule, so they stay right offline.

use std::cmp::Reverse;
use std::collections::HashMap;

use chatflow_protocol::{normalize_tag, AvailabilityNow, AwayBehavior, Chatflow};

/// A cached team status older than this is ignored (treated as unknown).
pub const STATUS_MAX_AGE_MS: i64 = 15 * 60 * 1000;

/// Last known team presence of one chatflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamStatus {
    pub available: bool,
    pub next_change_at: Option<i64>,
    /// Device clock when fetched (Unix ms).
    pub fetched_at: i64,
}

/// The outcome of resolution, before it is turned into a UI record.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    Found {
        chatflow: Box<Chatflow>,
        availability: AvailabilityNow,
    },
    /// No enabled chatflow carries the tag.
    NotFound {
        tag: String,
    },
    /// Candidates exist but all hide their launcher now; `next_change_at` is the earliest known reappearance.
    AllHidden {
        tag: String,
        next_change_at: Option<i64>,
    },
}

/// Why one chatflow was kept or dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The winner.
    Chosen,
    /// Carries the tag but is disabled.
    Disabled,
    /// Another language group matched the visitor's preferences better.
    OtherLanguage { matched_language: String },
    /// Hidden now (launcher hidden while away); reappears at `next_change_at` if known.
    Hidden { next_change_at: Option<i64> },
    /// Survived, but the winner has a higher priority.
    LowerPriority { winner_id: i64, winner_priority: i32 },
    /// Same priority as the winner, which has the lower id.
    TieLostToLowerId { winner_id: i64 },
}

/// One chatflow that carries the tag, and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub chatflow_id: i64,
    pub name: String,
    pub enabled: bool,
    pub priority: i32,
    pub language: String,
    pub verdict: Verdict,
}

/// Everything `explain` reports: developers debug their setup with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The tag as matched (trimmed, lowercased).
    pub tag: String,
    /// The preferences used, normalized.
    pub languages: Vec<String>,
    /// The language (or primary subtag) that selected the group; `None` when no preference matched.
    pub matched_language: Option<String>,
    /// Every chatflow carrying the tag (enabled or not), in id order.
    pub candidates: Vec<Candidate>,
    /// Tags of the enabled chatflows, to spot a typo in the app's config.
    pub known_tags: Vec<String>,
    /// Problems met on the way (an unreadable schedule counts as available).
    pub warnings: Vec<String>,
    pub outcome: Resolution,
}

/// Resolves `tag` (see the module rules).
pub fn resolve(
    flows: &[Chatflow],
    statuses: &HashMap<i64, TeamStatus>,
    tag: &str,
    languages: &[String],
    now_ms: i64,
) -> Resolution {
    explain(flows, statuses, tag, languages, now_ms).outcome
}

/// `en_US` → `en-US`; blanks dropped. Comparisons ignore ASCII case.
fn normalize_languages(languages: &[String]) -> Vec<String> {
    languages.iter().map(|l| l.trim().replace('_', "-")).filter(|l| !l.is_empty() && l != "*").collect()
}

fn primary(lang: &str) -> String {
    lang.split('-').next().unwrap_or_default().to_ascii_lowercase()
}

/// The language group for `prefs` among `langs`: (matched language, predicate).
fn language_group(prefs: &[String], langs: &[&str]) -> Option<(String, bool)> {
    for pref in prefs {
        if langs.iter().any(|l| l.eq_ignore_ascii_case(pref)) {
            return Some((pref.clone(), true));
        }
        let p = primary(pref);
        if langs.iter().any(|l| primary(l) == p) {
            return Some((p, false));
        }
    }
    None
}

/// Explains the resolution of `tag`: every chatflow carrying it and why it was kept or dropped.
pub fn explain(
    flows: &[Chatflow],
    statuses: &HashMap<i64, TeamStatus>,
    tag: &str,
    languages: &[String],
    now_ms: i64,
) -> Explanation {
    let wanted = normalize_tag(tag);
    let prefs = normalize_languages(languages);
    let mut warnings = Vec::new();
    let mut known_tags: Vec<String> =
        flows.iter().filter(|f| f.enabled).flat_map(|f| f.mobile_tags.iter().map(|t| normalize_tag(t))).collect();
    known_tags.sort();
    known_tags.dedup();

    let mut tagged: Vec<&Chatflow> =
        flows.iter().filter(|f| f.mobile_tags.iter().any(|t| normalize_tag(t) == wanted)).collect();
    tagged.sort_by_key(|f| f.id);
    let mut verdicts: HashMap<i64, Verdict> = HashMap::new();

    // 1. Enabled only.
    let mut alive: Vec<&Chatflow> = Vec::new();
    for f in &tagged {
        if f.enabled {
            alive.push(f);
        } else {
            verdicts.insert(f.id, Verdict::Disabled);
        }
    }
    let had_candidates = !alive.is_empty();

    // 2. Best language group.
    let langs: Vec<&str> = alive.iter().map(|f| f.language.as_str()).collect();
    let group = language_group(&prefs, &langs);
    if let Some((matched, exact)) = &group {
        alive.retain(|f| {
            let keep = if *exact { f.language.eq_ignore_ascii_case(matched) } else { primary(&f.language) == *matched };
            if !keep {
                verdicts.insert(f.id, Verdict::OtherLanguage { matched_language: matched.clone() });
            }
            keep
        });
    }

    // 3. Hidden now.
    let mut survivors: Vec<(&Chatflow, AvailabilityNow)> = Vec::new();
    let mut next_reappearance: Option<i64> = None;
    for f in alive {
        let status = statuses.get(&f.id).filter(|s| now_ms.saturating_sub(s.fetched_at) <= STATUS_MAX_AGE_MS);
        let now = match f.availability.at(now_ms, status.map(|s| s.available)) {
            Ok(mut a) => {
                if a.next_change_at.is_none() {
                    a.next_change_at = status.and_then(|s| s.next_change_at);
                }
                a
            }
            Err(e) => {
                warnings.push(format!("chatflow {} has an unreadable schedule ({e}); treated as available", f.id));
                AvailabilityNow { available: true, next_change_at: None }
            }
        };
        if f.availability.when_away == AwayBehavior::HideLauncher && !now.available {
            if let Some(t) = now.next_change_at {
                next_reappearance = Some(next_reappearance.map_or(t, |n| n.min(t)));
            }
            verdicts.insert(f.id, Verdict::Hidden { next_change_at: now.next_change_at });
        } else {
            survivors.push((f, now));
        }
    }

    // 4. Highest priority, then lowest id.
    let winner = survivors.iter().min_by_key(|(f, _)| (Reverse(f.priority), f.id)).cloned();
    if let Some((w, _)) = &winner {
        for (f, _) in &survivors {
            let v = if f.id == w.id {
                Verdict::Chosen
            } else if f.priority < w.priority {
                Verdict::LowerPriority { winner_id: w.id, winner_priority: w.priority }
            } else {
                Verdict::TieLostToLowerId { winner_id: w.id }
            };
            verdicts.insert(f.id, v);
        }
    }

    // 5. Outcome.
    let outcome = match winner {
        Some((w, availability)) => Resolution::Found { chatflow: Box::new(w.clone()), availability },
        None if had_candidates => Resolution::AllHidden { tag: wanted.clone(), next_change_at: next_reappearance },
        None => Resolution::NotFound { tag: wanted.clone() },
    };
    let candidates = tagged
        .iter()
        .map(|f| Candidate {
            chatflow_id: f.id,
            name: f.name.clone(),
            enabled: f.enabled,
            priority: f.priority,
            language: f.language.clone(),
            // Every tagged chatflow got a verdict above; Disabled is the only one possible for a missing entry.
            verdict: verdicts.remove(&f.id).unwrap_or(Verdict::Disabled),
        })
        .collect();
    Explanation {
        tag: wanted,
        languages: prefs,
        matched_language: group.map(|(m, _)| m),
        candidates,
        known_tags,
        warnings,
        outcome,
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
pub(crate) mod tests;
