//! Internal notes, canned responses, team assignment and the visitor sidebar's reads in SQLite.

use chatflow_protocol::{Author, AuthorKind, ConsentRecord, DeviceInfo};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::tx::SqliteTx;
use super::visitors::consent_from_row;
use super::{parse_consent_kind, parse_decision, seq_from_sql, seq_to_sql, SqliteStore};
use crate::store::agent::{CannedRecord, CannedStore, NoteRecord, NoteStore, VisitorContextStore};
use crate::store::tx::AgentTx;
use crate::store::{StoreError, StoreResult};

const NOTE_COLS: &str =
    "id, app_id, conversation_id, client_message_id, after_seq, author_id, author_name, author_avatar, body, created_at";

fn note_from_row(r: &Row<'_>) -> rusqlite::Result<NoteRecord> {
    Ok(NoteRecord {
        id: r.get(0)?,
        app_id: r.get(1)?,
        conversation_id: r.get(2)?,
        client_message_id: r.get(3)?,
        after_seq: seq_from_sql(r.get(4)?),
        author: Author { kind: AuthorKind::Agent, id: r.get(5)?, display_name: r.get(6)?, avatar_url: r.get(7)? },
        body: r.get(8)?,
        created_at: r.get(9)?,
    })
}

fn note_where(conn: &Connection, sql_where: &str, args: impl rusqlite::Params) -> StoreResult<Vec<NoteRecord>> {
    let sql = format!("SELECT {NOTE_COLS} FROM agent_notes WHERE {sql_where} ORDER BY created_at, rowid");
    Ok(conn.prepare_cached(&sql)?.query_map(args, note_from_row)?.collect::<Result<_, _>>()?)
}

impl AgentTx for SqliteTx<'_> {
    fn note_by_client_id(&mut self, conversation_id: &str, client_id: &str) -> StoreResult<Option<NoteRecord>> {
        Ok(note_where(self.tx, "conversation_id = ?1 AND client_message_id = ?2", params![conversation_id, client_id])?
            .pop())
    }

    fn insert_note(&mut self, n: &NoteRecord) -> StoreResult<()> {
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO agent_notes ({NOTE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))?
            .execute(params![
                n.id,
                n.app_id,
                n.conversation_id,
                n.client_message_id,
                seq_to_sql(n.after_seq),
                n.author.id,
                n.author.display_name,
                n.author.avatar_url,
                n.body,
                n.created_at
            ])?;
        self.feed.note(&n.conversation_id, &n.id);
        Ok(())
    }

    fn set_conversation_team(&mut self, conversation_id: &str, team_id: Option<&str>) -> StoreResult<()> {
        let n = self
            .tx
            .prepare_cached("UPDATE conversations SET team_id = ?2 WHERE id = ?1")?
            .execute(params![conversation_id, team_id])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("conversation `{conversation_id}` does not exist")));
        }
        self.feed.conversation(conversation_id);
        Ok(())
    }

    fn next_team_cursor(&mut self, app_id: &str, team_id: &str) -> StoreResult<u64> {
        let v: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO team_routing_cursors (app_id, team_id, cursor) VALUES (?1, ?2, 1)
                 ON CONFLICT(app_id, team_id) DO UPDATE SET cursor = cursor + 1 RETURNING cursor - 1",
            )?
            .query_row(params![app_id, team_id], |r| r.get(0))?;
        Ok(seq_from_sql(v))
    }
}

impl NoteStore for SqliteStore {
    fn notes(&self, conversation_id: &str) -> StoreResult<Vec<NoteRecord>> {
        self.read(|c| note_where(c, "conversation_id = ?1", [conversation_id]))
    }

    fn note(&self, id: &str) -> StoreResult<Option<NoteRecord>> {
        self.read(|c| Ok(note_where(c, "id = ?1", [id])?.pop()))
    }
}

fn canned_from_row(r: &Row<'_>) -> rusqlite::Result<CannedRecord> {
    Ok(CannedRecord {
        id: r.get(0)?,
        app_id: r.get(1)?,
        shortcut: r.get(2)?,
        title: r.get(3)?,
        text: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

const CANNED_COLS: &str = "id, app_id, shortcut, title, text, updated_at";

/// A taken shortcut is the caller's conflict, not a backend failure.
fn shortcut_taken(e: rusqlite::Error, shortcut: &str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Taken(format!("shortcut `{shortcut}` is already used by another canned response"))
        }
        other => other.into(),
    }
}

impl CannedStore for SqliteStore {
    fn canned_responses(&self, app_id: &str) -> StoreResult<Vec<CannedRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {CANNED_COLS} FROM canned_responses WHERE app_id = ?1 ORDER BY shortcut"
            ))?
            .query_map([app_id], canned_from_row)?
            .collect::<Result<_, _>>()?)
        })
    }

    fn insert_canned(&self, k: &CannedRecord) -> StoreResult<()> {
        self.write(|tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO canned_responses ({CANNED_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))?
            .execute(params![k.id, k.app_id, k.shortcut, k.title, k.text, k.updated_at])
            .map_err(|e| shortcut_taken(e, &k.shortcut))?;
            Ok(())
        })
    }

    fn update_canned(&self, k: &CannedRecord) -> StoreResult<Option<CannedRecord>> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE canned_responses SET shortcut = ?3, title = ?4, text = ?5, updated_at = ?6
                     WHERE id = ?1 AND app_id = ?2",
                )?
                .execute(params![k.id, k.app_id, k.shortcut, k.title, k.text, k.updated_at])
                .map_err(|e| shortcut_taken(e, &k.shortcut))?;
            Ok((n > 0).then(|| k.clone()))
        })
    }

    fn delete_canned(&self, app_id: &str, id: &str) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute("DELETE FROM canned_responses WHERE id = ?1 AND app_id = ?2", params![id, app_id])? > 0)
        })
    }
}

impl VisitorContextStore for SqliteStore {
    fn visitor_device(&self, visitor_id: &str) -> StoreResult<Option<DeviceInfo>> {
        let json: Option<Option<String>> = self.read(|c| {
            Ok(c.prepare_cached("SELECT device FROM visitors WHERE id = ?1")?
                .query_row([visitor_id], |r| r.get(0))
                .optional()?)
        })?;
        json.flatten()
            .map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("visitor device: {e}"))))
            .transpose()
    }

    fn visitor_consents(&self, visitor_id: &str) -> StoreResult<Vec<ConsentRecord>> {
        let rows = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT record_id, visitor_id, chatflow_id, kind, decision, text_hash, subscription_type, decided_at,
                        recorded_at
                 FROM consent_records WHERE visitor_id = ?1 ORDER BY recorded_at DESC, rowid DESC",
            )?
            .query_map([visitor_id], consent_from_row)?
            .collect::<Result<Vec<_>, _>>()?)
        })?;
        rows.into_iter()
            .map(|(mut record, kind, decision)| {
                record.input.kind = parse_consent_kind(&kind)?;
                record.input.decision = parse_decision(&decision)?;
                Ok(record)
            })
            .collect()
    }
}
