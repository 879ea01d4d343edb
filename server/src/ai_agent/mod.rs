//! The `ai_agent` chatflow kind: a knowledge-base answer agent (no external model). On each visitor question it
//! searches the chatflow's knowledge base with the SDK's rules, answers with the best articles (title, excerpt, link)
//! and asks whether that solved it (buttons: yes / no / talk to a person). It hands off to the team — routing and
//! availability decide, as for a bot's handoff — when the visitor says no, when nothing matches, or when the visitor
//! asks for a person; it is silent from then on.
//!
//! - `words.rs`: its sentences (French, English; other languages speak English) and the words it recognises.
//! - `engine.rs`: the pure rules (read a message, decide the answer), unit-tested.
//! - `runner.rs`: runs it on the bot runner's triggers, lock, session row, delivery and handoff.
//!
//! Saving an `ai_agent` chatflow without an enabled knowledge base is refused (`chatflows::validate`).

pub mod engine;
pub mod runner;
pub mod words;
