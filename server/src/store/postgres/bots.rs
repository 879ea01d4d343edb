//! Bot sessions in PostgreSQL, and the visitor properties the bot reads. (The unit of work writes them: `BotTx` in
//! `tx.rs`.)

use std::collections::BTreeMap;

use ::postgres::{GenericClient, Row};

use super::{seq_from_sql, PostgresStore};
use crate::bots::engine::{BotSession, PendingMessage};
use crate::store::bots::BotStore;
use crate::store::columns::parse_outcome;
use crate::store::{StoreError, StoreResult};

// Read back as written by `BotTx::upsert_bot_session`.
const COLS: &str = "conversation_id, current_node, answers, last_answer, outcome, last_activity_at, handled_seq, \
                    runs, emitted, pending, handoff_due";

fn session_from_row(r: &Row) -> StoreResult<BotSession> {
    let conversation_id: &str = r.try_get(0)?;
    let corrupt =
        |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("bot session {conversation_id} {what}: {e}"));
    let runs: i64 = r.try_get(7)?;
    let mut session = BotSession::new(conversation_id, r.try_get(5)?);
    session.current_node = r.try_get(1)?;
    session.answers = serde_json::from_str(r.try_get(2)?).map_err(|e| corrupt("answers", e))?;
    session.last_answer = r.try_get(3)?;
    session.outcome = parse_outcome(r.try_get(4)?)?;
    session.handled_seq = seq_from_sql(r.try_get(6)?);
    session.runs = u32::try_from(runs).map_err(|_| StoreError::Corrupt(format!("bot session runs {runs}")))?;
    session.emitted = seq_from_sql(r.try_get(8)?);
    session.pending = serde_json::from_str::<Vec<PendingMessage>>(r.try_get(9)?).map_err(|e| corrupt("pending", e))?;
    session.handoff_due = r.try_get(10)?;
    Ok(session)
}

/// The visitor's chat properties; `NotFound` when there is no such visitor.
fn properties_in(conn: &mut impl GenericClient, visitor_id: &str) -> StoreResult<BTreeMap<String, String>> {
    let row = conn.query_opt("SELECT properties FROM visitors WHERE id = $1", &[&visitor_id])?;
    let row = row.ok_or_else(|| StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")))?;
    serde_json::from_str(row.try_get(0)?)
        .map_err(|e| StoreError::Corrupt(format!("properties of visitor {visitor_id}: {e}")))
}

impl BotStore for PostgresStore {
    fn bot_session(&self, conversation_id: &str) -> StoreResult<Option<BotSession>> {
        let row = self
            .pool
            .get()?
            .query_opt(&format!("SELECT {COLS} FROM bot_sessions WHERE conversation_id = $1"), &[&conversation_id])?;
        row.as_ref().map(session_from_row).transpose()
    }

    fn bot_sessions_with_work(&self) -> StoreResult<Vec<String>> {
        let rows = self.pool.get()?.query(
            "SELECT conversation_id FROM bot_sessions WHERE pending <> '[]' OR handoff_due ORDER BY updated_at",
            &[],
        )?;
        Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
    }

    fn visitor_properties(&self, visitor_id: &str) -> StoreResult<BTreeMap<String, String>> {
        properties_in(&mut *self.pool.get()?, visitor_id)
    }

    fn last_bot_message_seq(&self, conversation_id: &str) -> StoreResult<Option<u64>> {
        let seq: Option<i64> = self
            .pool
            .get()?
            .query_one(
                "SELECT MAX(seq) FROM messages WHERE conversation_id = $1 AND author_kind = 'bot'",
                &[&conversation_id],
            )?
            .try_get(0)?;
        Ok(seq.map(seq_from_sql))
    }
}
