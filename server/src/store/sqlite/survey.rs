//! Satisfaction surveys on SQLite: the `surveys` rows (prompt records and answers) and the summary's counts.

use chatflow_protocol::MessageSurvey;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::tx::SqliteTx;
use super::{seq_from_sql, seq_to_sql, SqliteStore};
use crate::store::survey::{StoredAnswer, SurveyCounts, SurveyFilter, SurveyRecord, SurveyStore};
use crate::store::tx::SurveyTx;
use crate::store::{StoreError, StoreResult};

// The prompt is the survey part of the prompt message (stored once, with the message).
const COLS: &str = "s.conversation_id, s.seq, s.app_id, s.chatflow_id, s.agent_id, s.sent_at, s.rating, s.comment, \
                    s.answer_seq, s.answered_at, m.survey";
const FROM: &str = "FROM surveys s JOIN messages m ON m.conversation_id = s.conversation_id AND m.seq = s.seq";

struct Raw {
    rec: SurveyRecord,
    rating: Option<i64>,
    comment: Option<String>,
    answer_seq: Option<i64>,
    answered_at: Option<i64>,
    prompt: Option<String>,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        rec: SurveyRecord {
            conversation_id: r.get(0)?,
            seq: seq_from_sql(r.get(1)?),
            app_id: r.get(2)?,
            chatflow_id: r.get(3)?,
            agent_id: r.get(4)?,
            prompt: chatflow_protocol::SurveyPrompt::for_language("en"),
            sent_at: r.get(5)?,
            answer: None,
        },
        rating: r.get(6)?,
        comment: r.get(7)?,
        answer_seq: r.get(8)?,
        answered_at: r.get(9)?,
        prompt: r.get(10)?,
    })
}

fn finish(raw: Raw) -> StoreResult<SurveyRecord> {
    let mut rec = raw.rec;
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("survey at seq {} of `{}`: {what}", rec.seq, rec.conversation_id));
    match raw.prompt.as_deref().map(serde_json::from_str::<MessageSurvey>) {
        Some(Ok(MessageSurvey::Prompt(p))) => rec.prompt = p,
        _ => return Err(corrupt("its message carries no prompt")),
    }
    if let (Some(rating), Some(answer_seq), Some(answered_at)) = (raw.rating, raw.answer_seq, raw.answered_at) {
        let rating = u8::try_from(rating).map_err(|_| corrupt("rating out of range"))?;
        rec.answer =
            Some(StoredAnswer { rating, comment: raw.comment, answer_seq: seq_from_sql(answer_seq), answered_at });
    }
    Ok(rec)
}

fn one(conn: &Connection, sql_where: &str, args: &[&dyn rusqlite::ToSql]) -> StoreResult<Option<SurveyRecord>> {
    conn.prepare_cached(&format!("SELECT {COLS} {FROM} {sql_where}"))?
        .query_row(args, raw)
        .optional()?
        .map(finish)
        .transpose()
}

impl SurveyTx for SqliteTx<'_> {
    fn insert_survey(&mut self, s: &SurveyRecord) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO surveys (conversation_id, seq, app_id, chatflow_id, agent_id, scale_max, sent_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                s.conversation_id,
                seq_to_sql(s.seq),
                s.app_id,
                s.chatflow_id,
                s.agent_id,
                s.prompt.scale_max,
                s.sent_at
            ])?;
        Ok(())
    }

    fn survey(&mut self, conversation_id: &str, seq: u64) -> StoreResult<Option<SurveyRecord>> {
        one(self.tx, "WHERE s.conversation_id = ?1 AND s.seq = ?2", &[&conversation_id, &seq_to_sql(seq)])
    }

    fn latest_survey(&mut self, conversation_id: &str) -> StoreResult<Option<SurveyRecord>> {
        one(self.tx, "WHERE s.conversation_id = ?1 ORDER BY s.seq DESC LIMIT 1", &[&conversation_id])
    }

    fn set_survey_answer(&mut self, conversation_id: &str, seq: u64, a: &StoredAnswer) -> StoreResult<bool> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE surveys SET rating = ?3, comment = ?4, answer_seq = ?5, answered_at = ?6
                 WHERE conversation_id = ?1 AND seq = ?2 AND rating IS NULL",
            )?
            .execute(params![
                conversation_id,
                seq_to_sql(seq),
                a.rating,
                a.comment,
                seq_to_sql(a.answer_seq),
                a.answered_at
            ])?;
        Ok(n > 0)
    }
}

impl SurveyStore for SqliteStore {
    fn survey_counts(&self, app_id: &str, filter: &SurveyFilter) -> StoreResult<SurveyCounts> {
        let mut sql_where = String::from("WHERE app_id = ?");
        let mut args: Vec<Value> = vec![Value::Text(app_id.to_owned())];
        if let Some(id) = filter.chatflow_id {
            sql_where.push_str(" AND chatflow_id = ?");
            args.push(Value::Integer(id));
        }
        if let Some(agent) = &filter.agent_id {
            sql_where.push_str(" AND agent_id = ?");
            args.push(Value::Text(agent.clone()));
        }
        if let Some(from) = filter.from {
            sql_where.push_str(" AND sent_at >= ?");
            args.push(Value::Integer(from));
        }
        if let Some(to) = filter.to {
            sql_where.push_str(" AND sent_at < ?");
            args.push(Value::Integer(to));
        }
        self.read(|c| {
            let sent: i64 = c
                .prepare_cached(&format!("SELECT COUNT(*) FROM surveys {sql_where}"))?
                .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT rating, COUNT(*) FROM surveys {sql_where} AND rating IS NOT NULL GROUP BY rating ORDER BY rating"
            ))?;
            let rows = stmt.query_map(params_from_iter(args.iter()), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
            let mut ratings = Vec::new();
            for row in rows {
                let (rating, n) = row?;
                let rating = u8::try_from(rating).map_err(|_| StoreError::Corrupt(format!("survey rating {rating}")))?;
                ratings.push((rating, u64::try_from(n).unwrap_or(0)));
            }
            Ok(SurveyCounts { sent: u64::try_from(sent).unwrap_or(0), ratings })
        })
    }
}
