//! Bot sessions in SQLite, and the visitor properties the bot reads and merges into.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{seq_from_sql, seq_to_sql, SqliteStore};
use crate::bots::engine::{BotSession, PendingMessage};
use crate::store::bots::BotStore;
use crate::store::columns::{outcome_str, parse_outcome};
use crate::store::{StoreError, StoreResult};

const COLS: &str =
    "conversation_id, current_node, answers, last_answer, outcome, last_activity_at, handled_seq, runs, \
                    emitted, pending, handoff_due";

/// Raw row; JSON and enum columns are parsed afterwards (row mapping cannot return our error type).
struct Raw {
    session: BotSession,
    answers: String,
    outcome: Option<String>,
    pending: String,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    let mut session = BotSession::new(&r.get::<_, String>(0)?, r.get(5)?);
    session.current_node = r.get(1)?;
    session.last_answer = r.get(3)?;
    session.handled_seq = seq_from_sql(r.get(6)?);
    session.runs = r.get(7)?;
    session.emitted = seq_from_sql(r.get(8)?);
    session.handoff_due = r.get(10)?;
    Ok(Raw { session, answers: r.get(2)?, outcome: r.get(4)?, pending: r.get(9)? })
}

fn finish(raw: Raw) -> StoreResult<BotSession> {
    let corrupt = |what: &str, e: serde_json::Error| {
        StoreError::Corrupt(format!("bot session {} {what}: {e}", raw.session.conversation_id))
    };
    let answers: BTreeMap<String, String> = serde_json::from_str(&raw.answers).map_err(|e| corrupt("answers", e))?;
    let pending: Vec<PendingMessage> = serde_json::from_str(&raw.pending).map_err(|e| corrupt("pending", e))?;
    let outcome = parse_outcome(raw.outcome.as_deref())?;
    Ok(BotSession { answers, pending, outcome, ..raw.session })
}

pub(super) fn properties_in(conn: &Connection, visitor_id: &str) -> StoreResult<BTreeMap<String, String>> {
    let json: Option<String> = conn
        .prepare_cached("SELECT properties FROM visitors WHERE id = ?1")?
        .query_row([visitor_id], |r| r.get(0))
        .optional()?;
    let json = json.ok_or_else(|| StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")))?;
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("properties of visitor {visitor_id}: {e}")))
}

fn json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Inserts or replaces the conversation's bot session.
pub(super) fn upsert_session_in(conn: &Connection, s: &BotSession, now: i64) -> StoreResult<()> {
    let (answers, pending) = (json(&s.answers)?, json(&s.pending)?);
    conn.prepare_cached(&format!(
        "INSERT INTO bot_sessions ({COLS}, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (conversation_id) DO UPDATE SET current_node = excluded.current_node,
             answers = excluded.answers, last_answer = excluded.last_answer, outcome = excluded.outcome,
             last_activity_at = excluded.last_activity_at, handled_seq = excluded.handled_seq,
             runs = excluded.runs, emitted = excluded.emitted, pending = excluded.pending,
             handoff_due = excluded.handoff_due, updated_at = excluded.updated_at"
    ))?
    .execute(params![
        s.conversation_id,
        s.current_node,
        answers,
        s.last_answer,
        outcome_str(s.outcome),
        s.last_activity_at,
        seq_to_sql(s.handled_seq),
        s.runs,
        seq_to_sql(s.emitted),
        pending,
        s.handoff_due,
        now
    ])?;
    Ok(())
}

pub(super) fn set_properties_in(
    conn: &Connection,
    visitor_id: &str,
    properties: &BTreeMap<String, String>,
) -> StoreResult<()> {
    let n = conn
        .prepare_cached("UPDATE visitors SET properties = ?2 WHERE id = ?1")?
        .execute(params![visitor_id, json(properties)?])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")));
    }
    Ok(())
}

impl BotStore for SqliteStore {
    fn bot_session(&self, conversation_id: &str) -> StoreResult<Option<BotSession>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {COLS} FROM bot_sessions WHERE conversation_id = ?1"))?
                .query_row([conversation_id], raw)
                .optional()?
                .map(finish)
                .transpose()
        })
    }

    fn bot_sessions_with_work(&self) -> StoreResult<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT conversation_id FROM bot_sessions WHERE pending <> '[]' OR handoff_due ORDER BY updated_at",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    fn visitor_properties(&self, visitor_id: &str) -> StoreResult<BTreeMap<String, String>> {
        self.read(|c| properties_in(c, visitor_id))
    }

    fn last_bot_message_seq(&self, conversation_id: &str) -> StoreResult<Option<u64>> {
        self.read(|c| {
            let seq: Option<i64> = c
                .prepare_cached("SELECT MAX(seq) FROM messages WHERE conversation_id = ?1 AND author_kind = 'bot'")?
                .query_row([conversation_id], |r| r.get(0))?;
            Ok(seq.map(seq_from_sql))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::test_support::store;
    use crate::store::{NewConversation, VisitorStore};

    #[test]
    fn sessions_round_trip_and_properties_merge() {
        let (_dir, s) = store();
        s.create_visitor("app1", "v1", "tokhash", 1).unwrap();
        s.set_properties("v1", r#"{"plan":"free"}"#).unwrap();
        let new = NewConversation {
            id: "c1".into(),
            app_id: "app1".into(),
            chatflow_id: 1,
            visitor_id: "v1".into(),
            assignee_agent_id: None,
            now: 1,
        };
        crate::domain::conversations::create(&s, &new).unwrap();
        assert_eq!(s.bot_session("c1").unwrap(), None);
        let mut session = BotSession::new("c1", 5);
        session.current_node = Some("ask".into());
        session.answers.insert("q".into(), "é".into());
        session.outcome = Some(crate::bots::engine::Outcome::HandedOff);
        session.handoff_due = true;
        session.handled_seq = 3;
        session.pending.push(PendingMessage {
            client_message_id: "bot:c1:1".into(),
            body: "b".into(),
            quick_replies: vec![],
        });
        let props = [("email".to_owned(), "a@b.co".to_owned()), ("plan".to_owned(), "pro".to_owned())];
        crate::domain::bots::save_session(&s, &session, "v1", &props, 9).unwrap();
        assert_eq!(s.bot_session("c1").unwrap().as_ref(), Some(&session));
        assert_eq!(s.bot_sessions_with_work().unwrap(), ["c1"]);
        let got = s.visitor_properties("v1").unwrap();
        assert_eq!(got.get("plan").map(String::as_str), Some("pro"));
        assert_eq!(got.get("email").map(String::as_str), Some("a@b.co"));
        session.pending.clear();
        session.handoff_due = false;
        crate::domain::bots::save_session(&s, &session, "v1", &[], 10).unwrap();
        assert!(s.bot_sessions_with_work().unwrap().is_empty());
    }
}
