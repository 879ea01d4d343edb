//! The answer agent's rules, pure: a session, the visitor's message and a search function in; the messages to send
//! and whether to hand off out. No I/O and no clock: the runner (`runner.rs`) loads the session, runs the search
//! against the chatflow's knowledge base and stores what was decided.
//!
//! The state is a bot session (`bots::engine::BotSession`, same table and delivery): `runs` is 1 once the agent has
//! greeted, `current_node` is `feedback-N` while it waits for the visitor's verdict on the answer whose question is
//! bot message `N`, `outcome = HandedOff` once the team has the conversation (the agent is silent from then on).

use chatflow_protocol::kb_query::{is_combining_mark, is_word_char, FtsQuery};
use chatflow_protocol::kb_snippet::fold_into;
use chatflow_protocol::limits::MAX_MESSAGE_CHARS;
use chatflow_protocol::{QuickReply, SearchHit};

use super::words::{self, Texts};
use crate::bots::engine::{BotSession, Outcome};

/// Quick-reply id of "talk to a person" (on every message of the agent that offers it).
pub const PERSON_ID: &str = "person";
/// Most articles in one answer: the best one in full, the others as links.
pub const MAX_ARTICLES: u32 = 3;

/// What a visitor message is to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// The answer being waited on helped.
    Yes,
    /// It did not.
    No,
    /// The visitor asks for someone of the team.
    Person,
    /// Words to search for.
    Question(FtsQuery),
    /// Nothing to search for: empty, emoji, or only words like "how", "the", "bonjour".
    Unclear,
    /// A button of an earlier answer whose verdict was already given (a double tap, a replay): nothing to do.
    Stale,
}

/// A search hit with its article's text (title and body), to check how much of the question it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub hit: SearchHit,
    pub body: String,
}

/// What a step decided besides the queued messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    /// The conversation goes to the team: the runner adds the handoff text and routes it.
    pub handoff: bool,
}

/// The first event of a conversation: the welcome message (the chatflow's, else the language's default), with a
/// "talk to a person" button.
pub fn greet(session: &mut BotSession, texts: &Texts, welcome: &str) {
    session.runs = 1;
    let text = if welcome.trim().is_empty() { texts.welcome } else { welcome };
    session.queue(text, &[person(texts)]);
}

/// The visitor's message, folded into words (lowercase, no accents; apostrophes and hyphens split words).
pub fn words_of(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in body.chars() {
        if is_word_char(c) || (!current.is_empty() && is_combining_mark(c)) {
            current.push(c);
        } else if !current.is_empty() {
            out.push(fold(&current));
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(fold(&current));
    }
    out
}

fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    fold_into(word, &mut out);
    out
}

/// The verdict a `yes-N` / `no-N` button carries, if it is one (`N` digits).
fn verdict_button(id: &str) -> Option<(bool, &str)> {
    let (yes, n) = match id.strip_prefix("yes-") {
        Some(n) => (true, n),
        None => (false, id.strip_prefix("no-")?),
    };
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some((yes, n))
}

fn awaiting(session: &BotSession) -> Option<&str> {
    session.current_node.as_deref().and_then(|n| n.strip_prefix("feedback-"))
}

/// Reads a visitor message: buttons first (by id), then typed words.
pub fn read(session: &BotSession, body: &str, quick_reply_id: Option<&str>) -> Intent {
    match quick_reply_id {
        Some(PERSON_ID) => return Intent::Person,
        Some(id) => {
            if let Some((yes, n)) = verdict_button(id) {
                return match awaiting(session) {
                    Some(waited) if waited == n => {
                        if yes {
                            Intent::Yes
                        } else {
                            Intent::No
                        }
                    }
                    _ => Intent::Stale,
                };
            }
            // An id the agent never offered: read the text like a typed message.
        }
        None => {}
    }
    let words = words_of(body);
    if awaiting(session).is_some() {
        if let Some(yes) = typed_verdict(&words) {
            return if yes { Intent::Yes } else { Intent::No };
        }
    }
    if asks_for_person(&words) {
        return Intent::Person;
    }
    let content: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| w.chars().nth(1).is_some() && !words::is_in(words::STOP, w))
        .collect();
    match FtsQuery::parse(&content.join(" ")) {
        Some(q) => Intent::Question(q),
        None => Intent::Unclear,
    }
}

/// "yes", "oui merci", "no it didn't", "pas du tout": a verdict when every word is a yes (or no) word or filler, and
/// at least one is a yes (or no) word. A message with both, or with other words, is not a verdict.
fn typed_verdict(words: &[String]) -> Option<bool> {
    let filler = |w: &str| words::is_in(words::FEEDBACK_FILLER, w);
    let all = |list: &[&str]| words.iter().all(|w| words::is_in(list, w) || filler(w));
    let any = |list: &[&str]| words.iter().any(|w| words::is_in(list, w));
    match (any(words::YES) && all(words::YES), any(words::NO) && all(words::NO)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Names a person of the team (a word such as "agent", "humain", "conseiller", or a pair such as "une personne"), in
/// a short message or with a verb of asking ("I want to talk to someone", "je veux parler à quelqu'un").
pub fn asks_for_person(words: &[String]) -> bool {
    let names = words.iter().any(|w| words::is_in(words::PERSON, w))
        || words.windows(2).any(|p| words::PERSON_PAIRS.contains(&(p[0].as_str(), p[1].as_str())));
    names && (words.len() <= words::SHORT_REQUEST_WORDS || words.iter().any(|w| words::is_in(words::ASK_FOR, w)))
}

fn person(texts: &Texts) -> QuickReply {
    QuickReply { id: PERSON_ID.into(), label: texts.person_label.into() }
}

fn hand_off(session: &mut BotSession) -> Step {
    session.outcome = Some(Outcome::HandedOff);
    session.handoff_due = true;
    session.current_node = None;
    Step { handoff: true }
}

/// Does the article hold more than half of the question's words (all of them for one or two words)? The search falls
/// back to "any word" when no article has them all; one shared common word ("sell" for "do you sell kayaks?") is
/// not an answer.
pub fn covers(q: &FtsQuery, found: &Found) -> bool {
    let words: Vec<String> = words_of(&found.hit.title).into_iter().chain(words_of(&found.body)).collect();
    let covered = q
        .terms()
        .filter(|(term, prefix)| {
            let term = fold(term);
            words.iter().any(|w| *w == term || (*prefix && w.starts_with(&term)))
        })
        .count();
    covered * 2 > q.len() || covered == q.len()
}

/// Handles one visitor message. `search` runs the knowledge-base search (the SDK's rules) for a question and returns
/// at most [`MAX_ARTICLES`] hits, best first. Does nothing once the conversation was handed off.
pub fn reply<E>(
    session: &mut BotSession,
    texts: &Texts,
    body: &str,
    quick_reply_id: Option<&str>,
    search: impl FnOnce(&FtsQuery) -> Result<Vec<Found>, E>,
) -> Result<Step, E> {
    if session.outcome.is_some() {
        return Ok(Step::default());
    }
    match read(session, body, quick_reply_id) {
        Intent::Stale => Ok(Step::default()),
        Intent::Yes => {
            session.current_node = None;
            session.queue(texts.glad, &[]);
            Ok(Step::default())
        }
        Intent::No => {
            session.queue(texts.not_solved, &[]);
            Ok(hand_off(session))
        }
        Intent::Person => Ok(hand_off(session)),
        Intent::Unclear => {
            session.queue(texts.rephrase, &[person(texts)]);
            Ok(Step::default())
        }
        Intent::Question(q) => {
            let hits: Vec<SearchHit> = search(&q)?.into_iter().filter(|f| covers(&q, f)).map(|f| f.hit).collect();
            if hits.is_empty() {
                session.queue(texts.no_match, &[]);
                return Ok(hand_off(session));
            }
            session.queue(&answer(texts, &hits), &[]);
            // The buttons name the question's own message number, so a verdict always answers this answer.
            let n = session.emitted + 1;
            let buttons = [
                QuickReply { id: format!("yes-{n}"), label: texts.yes_label.into() },
                QuickReply { id: format!("no-{n}"), label: texts.no_label.into() },
                person(texts),
            ];
            session.queue(texts.solved, &buttons);
            session.current_node = Some(format!("feedback-{n}"));
            Ok(Step::default())
        }
    }
}

/// The answer's text: the best article (title, excerpt, link), then the others as links, within the message limit
/// (an article that does not fit is left out).
pub fn answer(texts: &Texts, hits: &[SearchHit]) -> String {
    let Some((best, others)) = hits.split_first() else { return String::new() };
    let mut text = format!("{}\n\n{}\n", texts.found, best.title.trim());
    let excerpt = best.snippet.trim();
    if !excerpt.is_empty() {
        text.push_str(excerpt);
        text.push('\n');
    }
    text.push_str(&best.url);
    let fits = |t: &str, extra: &str| t.chars().count() + extra.chars().count() <= MAX_MESSAGE_CHARS;
    if !fits(&text, "") {
        // Only an extreme article (300-character title, 2048-character link) gets here: keep the title and link.
        text = format!("{}\n\n{}\n{}", texts.found, best.title.trim(), best.url);
    }
    let mut related = String::new();
    for hit in others.iter().take(MAX_ARTICLES as usize - 1) {
        let line = format!("\n• {} — {}", hit.title.trim(), hit.url);
        let heading = if related.is_empty() { format!("\n\n{}", texts.see_also) } else { String::new() };
        if fits(&text, &format!("{related}{heading}{line}")) {
            related.push_str(&heading);
            related.push_str(&line);
        }
    }
    text + &related
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
