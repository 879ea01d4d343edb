//! Typing indicators. Out: the visitor's "typing" is sent at most once per [`RENEW_EVERY_MS`] while it lasts (the
//! server lets it expire after `TYPING_EXPIRES_MS`), and "stopped" only when "typing" was sent. In: every indicator
//! from the team expires by itself after the server's `expires_in_ms` unless renewed, so a lost "stopped" frame never
//! leaves "Sam is typing…" on screen.
//!
//! Pure bookkeeping (times are passed in); `sync::connection` schedules the expiry timers.

use std::collections::HashMap;
use std::sync::Mutex;

use chatflow_protocol::{AuthorKind, TypingAuthor, TYPING_EXPIRES_MS};

/// Re-send "typing" this often while the visitor keeps typing (half the server's expiry).
pub const RENEW_EVERY_MS: i64 = (TYPING_EXPIRES_MS / 2) as i64;

#[derive(Debug, Default)]
pub struct Typing {
    /// Conversation → (typing sent, when).
    sent: Mutex<HashMap<String, (bool, i64)>>,
    /// (conversation, author kind) → generation and author of the indicator currently shown.
    shown: Mutex<HashMap<(String, AuthorKind), (u64, TypingAuthor)>>,
    next_generation: Mutex<u64>,
}

impl Typing {
    /// Should the visitor's `typing` be sent now? Records it when so.
    pub fn should_send(&self, conversation_id: &str, typing: bool, now_ms: i64) -> bool {
        let Ok(mut sent) = self.sent.lock() else { return false };
        let last = sent.get(conversation_id).copied();
        let send = match (typing, last) {
            (true, Some((true, at))) => now_ms - at >= RENEW_EVERY_MS || now_ms < at,
            (true, _) => true,
            (false, Some((true, at))) => now_ms - at < TYPING_EXPIRES_MS as i64,
            (false, _) => false,
        };
        if send {
            sent.insert(conversation_id.to_owned(), (typing, now_ms));
        } else if !typing {
            sent.remove(conversation_id);
        }
        send
    }

    /// An indicator arrived. Returns the generation to pass to [`Typing::expire`] after `expires_in_ms`.
    pub fn shown(&self, conversation_id: &str, author: &TypingAuthor, typing: bool) -> Option<u64> {
        let mut shown = self.shown.lock().ok()?;
        let key = (conversation_id.to_owned(), author.kind);
        if !typing {
            shown.remove(&key);
            return None;
        }
        let mut next = self.next_generation.lock().ok()?;
        *next += 1;
        shown.insert(key, (*next, author.clone()));
        Some(*next)
    }

    /// A message from `kind` arrived in `conversation_id`: its indicator ends with it, as in any messaging app (a
    /// team member's message is what their typing was about). Returns the author whose indicator was shown, for the
    /// app's "stopped".
    pub fn message_arrived(&self, conversation_id: &str, kind: AuthorKind) -> Option<TypingAuthor> {
        let mut shown = self.shown.lock().ok()?;
        shown.remove(&(conversation_id.to_owned(), kind)).map(|(_, author)| author)
    }

    /// The expiry timer of `generation` fired: true when that indicator is still the one shown (it is now cleared
    /// and the app must be told "stopped").
    pub fn expire(&self, conversation_id: &str, author: AuthorKind, generation: u64) -> bool {
        let Ok(mut shown) = self.shown.lock() else { return false };
        let key = (conversation_id.to_owned(), author);
        if shown.get(&key).is_some_and(|(g, _)| *g == generation) {
            shown.remove(&key);
            return true;
        }
        false
    }

    /// Who of the team is typing in `conversation_id` now, in a stable order (agent, bot, system).
    pub fn typing_in(&self, conversation_id: &str) -> Vec<TypingAuthor> {
        let Ok(shown) = self.shown.lock() else { return Vec::new() };
        let mut authors: Vec<TypingAuthor> =
            shown.iter().filter(|((c, _), _)| c == conversation_id).map(|(_, (_, a))| a.clone()).collect();
        authors.sort_by_key(|a| a.kind as u8);
        authors
    }

    /// Forgets everything (socket lost, session changed).
    pub fn clear(&self) {
        if let Ok(mut s) = self.sent.lock() {
            s.clear();
        }
        if let Ok(mut s) = self.shown.lock() {
            s.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_typing_is_throttled_and_stop_follows_only_a_start() {
        let t = Typing::default();
        assert!(!t.should_send("c", false, 0), "nothing to stop");
        assert!(t.should_send("c", true, 0));
        assert!(!t.should_send("c", true, 1));
        assert!(!t.should_send("c", true, RENEW_EVERY_MS - 1));
        assert!(t.should_send("c", true, RENEW_EVERY_MS), "renewed before the server lets it expire");
        assert!(t.should_send("d", true, 5), "per conversation");
        assert!(t.should_send("c", false, RENEW_EVERY_MS + 1));
        assert!(!t.should_send("c", false, RENEW_EVERY_MS + 2));
        assert!(t.should_send("c", true, RENEW_EVERY_MS + 3), "a new burst starts at once");
        // A stop long after the start is pointless: the server already expired it.
        assert!(!t.should_send("d", false, 5 + TYPING_EXPIRES_MS as i64));
    }

    fn author(kind: AuthorKind, name: &str) -> TypingAuthor {
        TypingAuthor { kind, display_name: Some(name.to_owned()) }
    }

    #[test]
    fn incoming_indicators_expire_unless_renewed() {
        let t = Typing::default();
        let sam = author(AuthorKind::Agent, "Sam");
        let bot = author(AuthorKind::Bot, "Assistant");
        let g1 = t.shown("c", &sam, true).unwrap();
        let g2 = t.shown("c", &sam, true).unwrap();
        assert!(!t.expire("c", AuthorKind::Agent, g1), "renewed: the old timer does nothing");
        assert!(t.expire("c", AuthorKind::Agent, g2));
        assert!(!t.expire("c", AuthorKind::Agent, g2), "expires once");
        let g3 = t.shown("c", &bot, true).unwrap();
        assert_eq!(t.shown("c", &bot, false), None);
        assert!(!t.expire("c", AuthorKind::Bot, g3), "stopped explicitly: nothing left to expire");
    }

    #[test]
    fn a_message_ends_its_authors_indicator_only() {
        let t = Typing::default();
        let sam = author(AuthorKind::Agent, "Sam");
        let g = t.shown("c", &sam, true).unwrap();
        t.shown("c", &author(AuthorKind::Bot, "Assistant"), true).unwrap();
        t.shown("d", &sam, true).unwrap();
        assert_eq!(t.message_arrived("c", AuthorKind::Agent), Some(sam.clone()));
        assert_eq!(t.message_arrived("c", AuthorKind::Agent), None, "already ended");
        assert!(!t.expire("c", AuthorKind::Agent, g), "its timer finds nothing to end");
        assert_eq!(t.typing_in("c"), [author(AuthorKind::Bot, "Assistant")]);
        assert_eq!(t.typing_in("d"), [sam]);
    }

    #[test]
    fn who_is_typing_is_listed_per_conversation_in_a_stable_order() {
        let t = Typing::default();
        let sam = author(AuthorKind::Agent, "Sam");
        let bot = author(AuthorKind::Bot, "Assistant");
        t.shown("c", &bot, true);
        t.shown("c", &sam, true);
        t.shown("d", &sam, true);
        assert_eq!(t.typing_in("c"), [sam.clone(), bot.clone()]);
        t.shown("c", &sam, false);
        assert_eq!(t.typing_in("c"), [bot]);
        assert_eq!(t.typing_in("e"), []);
    }
}
