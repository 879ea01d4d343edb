use std::convert::Infallible;

use super::*;
use crate::ai_agent::words::{EN, FR};

fn hit(id: i64, title: &str, url: &str) -> SearchHit {
    SearchHit {
        article_id: id,
        title: title.into(),
        snippet: format!("How to {title}."),
        highlights: Vec::new(),
        url: url.into(),
        score: 1.0,
    }
}

/// A search that answers `hits` (each article's body holding every word of the query) and records the query.
fn found(
    hits: Vec<SearchHit>,
    seen: &mut Option<String>,
) -> impl FnOnce(&FtsQuery) -> Result<Vec<Found>, Infallible> + '_ {
    move |q| {
        *seen = Some(q.all_terms());
        let body = q.terms().map(|(t, _)| t).collect::<Vec<_>>().join(" ");
        Ok(hits.into_iter().map(|hit| Found { hit, body: body.clone() }).collect())
    }
}

fn never(_: &FtsQuery) -> Result<Vec<Found>, Infallible> {
    panic!("no search expected")
}

fn bodies(s: &BotSession) -> Vec<&str> {
    s.pending.iter().map(|p| p.body.as_str()).collect()
}

fn greeted() -> BotSession {
    let mut s = BotSession::new("c1", 0);
    greet(&mut s, &EN, "");
    s.pending.clear();
    s
}

fn ask(s: &mut BotSession, body: &str, hits: Vec<SearchHit>) -> (Step, Option<String>) {
    let mut seen = None;
    let step = reply(s, &EN, body, None, found(hits, &mut seen)).unwrap();
    (step, seen)
}

#[test]
fn greets_with_the_welcome_or_the_default_and_a_person_button() {
    let mut s = BotSession::new("c1", 0);
    greet(&mut s, &FR, "  ");
    assert_eq!(bodies(&s), [FR.welcome]);
    assert_eq!(s.pending[0].quick_replies, [QuickReply { id: "person".into(), label: FR.person_label.into() }]);
    let mut s = BotSession::new("c1", 0);
    greet(&mut s, &EN, "Hello from Trailmate");
    assert_eq!((bodies(&s), s.runs), (vec!["Hello from Trailmate"], 1));
}

#[test]
fn a_question_gets_the_articles_then_the_verdict_buttons() {
    let mut s = greeted();
    let hits = vec![hit(3, "Reset your password", "https://h/3"), hit(4, "Change your password", "https://h/4")];
    let (step, seen) = ask(&mut s, "How do I reset my password?", hits);
    assert_eq!(seen.as_deref(), Some("\"reset\" \"password\"*"), "stop words dropped before the search");
    assert!(!step.handoff);
    let b = bodies(&s);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0], "Here is what I found:\n\nReset your password\nHow to Reset your password.\nhttps://h/3\n\nSee also:\n• Change your password — https://h/4");
    assert_eq!(b[1], EN.solved);
    let ids: Vec<&str> = s.pending[1].quick_replies.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["yes-3", "no-3", "person"], "the question is bot message 3 (welcome, answer, question)");
    assert_eq!(s.current_node.as_deref(), Some("feedback-3"));
}

#[test]
fn yes_closes_the_question_and_a_replayed_yes_does_nothing() {
    let mut s = greeted();
    ask(&mut s, "offline maps", vec![hit(11, "Download offline maps", "https://h/11")]);
    s.pending.clear();
    let step = reply(&mut s, &EN, "Yes, thanks", Some("yes-3"), never).unwrap();
    assert_eq!((bodies(&s), step.handoff, s.current_node.clone()), (vec![EN.glad], false, None));
    s.pending.clear();
    // A double tap, then the "no" of the same answer: both stale.
    reply(&mut s, &EN, "Yes, thanks", Some("yes-3"), never).unwrap();
    reply(&mut s, &EN, "No", Some("no-3"), never).unwrap();
    assert!(s.pending.is_empty() && s.outcome.is_none());
}

#[test]
fn a_verdict_button_of_an_older_answer_is_stale() {
    let mut s = greeted();
    ask(&mut s, "offline maps", vec![hit(11, "Download offline maps", "https://h/11")]);
    ask(&mut s, "refund", vec![hit(9, "Request a refund", "https://h/9")]);
    assert_eq!(s.current_node.as_deref(), Some("feedback-5"));
    s.pending.clear();
    assert_eq!(read(&s, "No", Some("no-3")), Intent::Stale);
    assert_eq!(read(&s, "No", Some("no-5")), Intent::No);
    // An id the agent never offered reads as text.
    assert_eq!(read(&s, "No", Some("no-x")), Intent::No);
}

#[test]
fn no_hands_off_after_an_apology() {
    let mut s = greeted();
    ask(&mut s, "offline maps", vec![hit(11, "Download offline maps", "https://h/11")]);
    s.pending.clear();
    let step = reply(&mut s, &EN, "no it didn't", None, never).unwrap();
    assert!(step.handoff && s.handoff_due);
    assert_eq!(s.outcome, Some(Outcome::HandedOff));
    assert_eq!(bodies(&s), [EN.not_solved]);
    s.pending.clear();
    // Silent from now on, whatever comes.
    reply(&mut s, &EN, "hello?", Some("person"), never).unwrap();
    reply(&mut s, &EN, "offline maps", None, never).unwrap();
    assert!(s.pending.is_empty());
}

#[test]
fn nothing_found_hands_off() {
    let mut s = greeted();
    let (step, seen) = ask(&mut s, "Can I pay with bitcoin?", Vec::new());
    assert_eq!(seen.as_deref(), Some("\"pay\" \"bitcoin\"*"));
    assert!(step.handoff);
    assert_eq!(bodies(&s), [EN.no_match]);
}

#[test]
fn an_article_sharing_one_word_of_several_is_no_answer() {
    let q = FtsQuery::parse("sell kayaks").unwrap();
    let privacy = |body: &str| Found { hit: hit(24, "Privacy", "https://h/24"), body: body.into() };
    assert!(!covers(&q, &privacy("We never sell your personal data.")));
    assert!(covers(&q, &privacy("We sell kayaks and canoes.")), "the last word is a prefix: kayaks*");
    let q = FtsQuery::parse("offline maps loading phone").unwrap();
    assert!(covers(&q, &privacy("Offline maps on a new phone")), "3 of 4");
    assert!(!covers(&q, &privacy("Maps on a new phone")), "2 of 4 is not more than half");
    let q = FtsQuery::parse("refund").unwrap();
    assert!(covers(&q, &Found { hit: hit(9, "Request a refund", "https://h/9"), body: String::new() }), "title");
    // The engine drops such hits: nothing left is "nothing found".
    let mut s = greeted();
    let step = reply(&mut s, &EN, "Do you sell kayaks?", None, |_| {
        Ok::<_, Infallible>(vec![privacy("We never sell your personal data.")])
    })
    .unwrap();
    assert!(step.handoff);
    assert_eq!(bodies(&s), [EN.no_match]);
}

#[test]
fn empty_and_stop_word_only_messages_ask_to_rephrase() {
    for body in ["", "   ", "🙂🙂", "?!", "how do I?", "Bonjour, comment je fais ?", "hi", "help", "a b c"] {
        let mut s = greeted();
        let step = reply(&mut s, &EN, body, None, never).unwrap();
        assert!(!step.handoff, "{body:?}");
        assert_eq!(bodies(&s), [EN.rephrase], "{body:?}");
        assert_eq!(s.pending[0].quick_replies[0].id, "person");
    }
}

#[test]
fn requests_for_a_person_in_english_and_french() {
    let s = greeted();
    for body in [
        "agent",
        "Human please",
        "talk to a person",
        "I want to speak with someone from your team",
        "conseiller",
        "un humain svp",
        "Je voudrais parler à une personne",
        "je veux parler à quelqu'un",
        "Parler à un conseiller",
        "OPÉRATEUR",
    ] {
        assert_eq!(read(&s, body, None), Intent::Person, "{body:?}");
    }
    for body in [
        "How do I invite a person to my family plan?",
        "personne ne peut voir mon trajet",
        "I need to add someone to my family plan",
        "Which data does the agent of the watch app collect on my phone?",
    ] {
        assert!(matches!(read(&s, body, None), Intent::Question(_)), "{body:?}");
    }
    assert_eq!(read(&s, "whatever", Some("person")), Intent::Person, "the button, whatever its label");
}

#[test]
fn typed_verdicts_count_only_while_an_answer_waits() {
    let mut s = greeted();
    assert!(matches!(read(&s, "oui merci", None), Intent::Unclear), "no answer waits: just words");
    ask(&mut s, "offline maps", vec![hit(11, "Download offline maps", "https://h/11")]);
    for (body, expected) in [
        ("yes", Intent::Yes),
        ("Oui, merci beaucoup !", Intent::Yes),
        ("ça m'a aidé, merci", Intent::Yes),
        ("no", Intent::No),
        ("Non, pas du tout", Intent::No),
        ("nope, doesn't work", Intent::No),
    ] {
        assert_eq!(read(&s, body, None), expected, "{body:?}");
    }
    // A new question while a verdict waits is a question.
    assert!(matches!(read(&s, "no, how do I export GPX?", None), Intent::Question(_)));
    let (_, seen) = ask(&mut s, "Exporter une trace GPX", vec![hit(50, "Exporter votre sortie", "https://h/50")]);
    assert_eq!(seen.as_deref(), Some("\"exporter\" \"trace\" \"gpx\"*"));
    assert_eq!(s.current_node.as_deref(), Some("feedback-5"));
}

#[test]
fn answers_stay_within_the_message_limit() {
    let long_url = format!("https://h/{}", "x".repeat(2_030));
    let title = "T".repeat(300);
    let hits: Vec<SearchHit> =
        (0..3).map(|i| SearchHit { snippet: "word ".repeat(400), ..hit(i, &title, &long_url) }).collect();
    let text = answer(&EN, &hits);
    assert!(text.chars().count() <= MAX_MESSAGE_CHARS, "{}", text.chars().count());
    assert!(text.contains(&long_url) && text.starts_with(EN.found));
    assert!(!text.contains(EN.see_also), "the related links do not fit");
    let short =
        answer(&FR, &[hit(1, "Un", "https://h/1"), hit(2, "Deux", "https://h/2"), hit(3, "Trois", "https://h/3")]);
    assert!(short.starts_with(FR.found) && short.contains("• Deux — https://h/2\n• Trois — https://h/3"), "{short}");
}

#[test]
fn words_fold_case_accents_and_split_on_apostrophes() {
    assert_eq!(words_of("Ça s'affiche PAS — l'écran"), ["ca", "s", "affiche", "pas", "l", "ecran"]);
    assert_eq!(words_of("e\u{301}le\u{300}ve"), ["eleve"]);
    assert!(words_of("🙂 ?!").is_empty());
}
