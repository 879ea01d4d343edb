//! Satisfaction surveys on PostgreSQL: the `surveys` rows (prompt records and answers) and the summary's counts.

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};
use chatflow_protocol::{MessageSurvey, SurveyPrompt};

use super::tx::PgTx;
use super::{seq_from_sql, seq_to_sql, PostgresStore};
use crate::store::survey::{StoredAnswer, SurveyCounts, SurveyFilter, SurveyRecord, SurveyStore};
use crate::store::tx::SurveyTx;
use crate::store::{StoreError, StoreResult};

// The prompt is the survey part of the prompt message (stored once, with the message).
const COLS: &str = "s.conversation_id, s.seq, s.app_id, s.chatflow_id, s.agent_id, s.sent_at, s.rating, s.comment, \
                    s.answer_seq, s.answered_at, m.survey";
const FROM: &str = "FROM surveys s JOIN messages m ON m.conversation_id = s.conversation_id AND m.seq = s.seq";

fn survey_from_row(r: &Row) -> StoreResult<SurveyRecord> {
    let mut rec = SurveyRecord {
        conversation_id: r.try_get(0)?,
        seq: seq_from_sql(r.try_get(1)?),
        app_id: r.try_get(2)?,
        chatflow_id: r.try_get(3)?,
        agent_id: r.try_get(4)?,
        prompt: SurveyPrompt::for_language("en"),
        sent_at: r.try_get(5)?,
        answer: None,
    };
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("survey at seq {} of `{}`: {what}", rec.seq, rec.conversation_id));
    let prompt: Option<&str> = r.try_get(10)?;
    match prompt.map(serde_json::from_str::<MessageSurvey>) {
        Some(Ok(MessageSurvey::Prompt(p))) => rec.prompt = p,
        _ => return Err(corrupt("its message carries no prompt")),
    }
    let rating: Option<i64> = r.try_get(6)?;
    let answer_seq: Option<i64> = r.try_get(8)?;
    let answered_at: Option<i64> = r.try_get(9)?;
    if let (Some(rating), Some(answer_seq), Some(answered_at)) = (rating, answer_seq, answered_at) {
        let rating = u8::try_from(rating).map_err(|_| corrupt("rating out of range"))?;
        rec.answer =
            Some(StoredAnswer { rating, comment: r.try_get(7)?, answer_seq: seq_from_sql(answer_seq), answered_at });
    }
    Ok(rec)
}

fn one(
    conn: &mut impl GenericClient,
    sql_where: &str,
    args: &[&(dyn ToSql + Sync)],
) -> StoreResult<Option<SurveyRecord>> {
    let row = conn.query_opt(&format!("SELECT {COLS} {FROM} {sql_where}"), args)?;
    row.as_ref().map(survey_from_row).transpose()
}

impl SurveyTx for PgTx<'_, '_> {
    fn insert_survey(&mut self, s: &SurveyRecord) -> StoreResult<()> {
        self.tx.execute(
            "INSERT INTO surveys (conversation_id, seq, app_id, chatflow_id, agent_id, scale_max, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &s.conversation_id,
                &seq_to_sql(s.seq),
                &s.app_id,
                &s.chatflow_id,
                &s.agent_id,
                &i64::from(s.prompt.scale_max),
                &s.sent_at,
            ],
        )?;
        Ok(())
    }

    fn survey(&mut self, conversation_id: &str, seq: u64) -> StoreResult<Option<SurveyRecord>> {
        one(self.tx, "WHERE s.conversation_id = $1 AND s.seq = $2", &[&conversation_id, &seq_to_sql(seq)])
    }

    fn latest_survey(&mut self, conversation_id: &str) -> StoreResult<Option<SurveyRecord>> {
        one(self.tx, "WHERE s.conversation_id = $1 ORDER BY s.seq DESC LIMIT 1", &[&conversation_id])
    }

    fn set_survey_answer(&mut self, conversation_id: &str, seq: u64, a: &StoredAnswer) -> StoreResult<bool> {
        // `rating IS NULL` is checked again on the locked row: of two concurrent answers, one is recorded.
        let n = self.tx.execute(
            "UPDATE surveys SET rating = $3, comment = $4, answer_seq = $5, answered_at = $6
             WHERE conversation_id = $1 AND seq = $2 AND rating IS NULL",
            &[
                &conversation_id,
                &seq_to_sql(seq),
                &i64::from(a.rating),
                &a.comment,
                &seq_to_sql(a.answer_seq),
                &a.answered_at,
            ],
        )?;
        Ok(n > 0)
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SurveyStore for PostgresStore {
    fn survey_counts(&self, app_id: &str, filter: &SurveyFilter) -> StoreResult<SurveyCounts> {
        let mut sql_where = String::from("WHERE app_id = $1");
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&app_id];
        if let Some(id) = &filter.chatflow_id {
            args.push(id);
            sql_where.push_str(&format!(" AND chatflow_id = ${}", args.len()));
        }
        if let Some(agent) = &filter.agent_id {
            args.push(agent);
            sql_where.push_str(&format!(" AND agent_id = ${}", args.len()));
        }
        if let Some(from) = &filter.from {
            args.push(from);
            sql_where.push_str(&format!(" AND sent_at >= ${}", args.len()));
        }
        if let Some(to) = &filter.to {
            args.push(to);
            sql_where.push_str(&format!(" AND sent_at < ${}", args.len()));
        }
        // Both counts from one snapshot.
        self.read(|tx| {
            let sent: i64 = tx.query_one(&format!("SELECT COUNT(*) FROM surveys {sql_where}"), &args)?.try_get(0)?;
            let rows = tx.query(
                &format!(
                    "SELECT rating, COUNT(*) FROM surveys {sql_where} AND rating IS NOT NULL \
                     GROUP BY rating ORDER BY rating"
                ),
                &args,
            )?;
            let mut ratings = Vec::with_capacity(rows.len());
            for row in &rows {
                let (rating, n): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
                let rating =
                    u8::try_from(rating).map_err(|_| StoreError::Corrupt(format!("survey rating {rating}")))?;
                ratings.push((rating, count(n)));
            }
            Ok(SurveyCounts { sent: count(sent), ratings })
        })
    }
}
