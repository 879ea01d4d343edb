//! Internal notes, canned responses, team assignment and the visitor sidebar's reads in PostgreSQL.

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, Row};
use chatflow_protocol::{Author, AuthorKind, ConsentRecord, ConsentRecordInput, DeviceInfo};

use super::error::is_unique_violation;
use super::tx::PgTx;
use super::{seq_from_sql, seq_to_sql, PostgresStore};
use crate::store::agent::{CannedRecord, CannedStore, NoteRecord, NoteStore, VisitorContextStore};
use crate::store::columns::{parse_consent_kind, parse_decision};
use crate::store::tx::AgentTx;
use crate::store::{StoreError, StoreResult};

const NOTE_COLS: &str =
    "id, app_id, conversation_id, client_message_id, after_seq, author_id, author_name, author_avatar, body, created_at";

fn note_from_row(r: &Row) -> StoreResult<NoteRecord> {
    Ok(NoteRecord {
        id: r.try_get(0)?,
        app_id: r.try_get(1)?,
        conversation_id: r.try_get(2)?,
        client_message_id: r.try_get(3)?,
        after_seq: seq_from_sql(r.try_get(4)?),
        author: Author {
            kind: AuthorKind::Agent,
            id: r.try_get(5)?,
            display_name: r.try_get(6)?,
            avatar_url: r.try_get(7)?,
        },
        body: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

/// Notes matching `sql_where`, oldest first.
fn note_where(
    conn: &mut impl GenericClient,
    sql_where: &str,
    args: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<NoteRecord>> {
    let sql = format!("SELECT {NOTE_COLS} FROM agent_notes WHERE {sql_where} ORDER BY created_at, row_order");
    conn.query(&sql, args)?.iter().map(note_from_row).collect()
}

impl AgentTx for PgTx<'_, '_> {
    fn note_by_client_id(&mut self, conversation_id: &str, client_id: &str) -> StoreResult<Option<NoteRecord>> {
        Ok(note_where(self.tx, "conversation_id = $1 AND client_message_id = $2", &[&conversation_id, &client_id])?
            .pop())
    }

    fn insert_note(&mut self, n: &NoteRecord) -> StoreResult<()> {
        self.tx.execute(
            &format!("INSERT INTO agent_notes ({NOTE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            &[
                &n.id,
                &n.app_id,
                &n.conversation_id,
                &n.client_message_id,
                &seq_to_sql(n.after_seq),
                &n.author.id,
                &n.author.display_name,
                &n.author.avatar_url,
                &n.body,
                &n.created_at,
            ],
        )?;
        self.feed.note(&n.conversation_id, &n.id);
        Ok(())
    }

    fn set_conversation_team(&mut self, conversation_id: &str, team_id: Option<&str>) -> StoreResult<()> {
        let n =
            self.tx.execute("UPDATE conversations SET team_id = $2 WHERE id = $1", &[&conversation_id, &team_id])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("conversation `{conversation_id}` does not exist")));
        }
        self.feed.conversation(conversation_id);
        Ok(())
    }

    fn next_team_cursor(&mut self, app_id: &str, team_id: &str) -> StoreResult<u64> {
        // One statement: the upsert locks the cursor's row, so concurrent assignments take successive values.
        let v: i64 = self
            .tx
            .query_one(
                "INSERT INTO team_routing_cursors AS t (app_id, team_id, cursor) VALUES ($1, $2, 1)
                 ON CONFLICT (app_id, team_id) DO UPDATE SET cursor = t.cursor + 1 RETURNING t.cursor - 1",
                &[&app_id, &team_id],
            )?
            .try_get(0)?;
        Ok(seq_from_sql(v))
    }
}

impl NoteStore for PostgresStore {
    fn notes(&self, conversation_id: &str) -> StoreResult<Vec<NoteRecord>> {
        note_where(&mut *self.pool.get()?, "conversation_id = $1", &[&conversation_id])
    }

    fn note(&self, id: &str) -> StoreResult<Option<NoteRecord>> {
        Ok(note_where(&mut *self.pool.get()?, "id = $1", &[&id])?.pop())
    }
}

const CANNED_COLS: &str = "id, app_id, shortcut, title, text, updated_at";

fn canned_from_row(r: &Row) -> StoreResult<CannedRecord> {
    Ok(CannedRecord {
        id: r.try_get(0)?,
        app_id: r.try_get(1)?,
        shortcut: r.try_get(2)?,
        title: r.try_get(3)?,
        text: r.try_get(4)?,
        updated_at: r.try_get(5)?,
    })
}

/// A taken shortcut is the caller's conflict, not a backend failure.
fn shortcut_taken(e: ::postgres::Error, shortcut: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Taken(format!("shortcut `{shortcut}` is already used by another canned response"))
    } else {
        e.into()
    }
}

impl CannedStore for PostgresStore {
    fn canned_responses(&self, app_id: &str) -> StoreResult<Vec<CannedRecord>> {
        // Shortcuts compare bytewise, as on SQLite, whatever the database's collation.
        let rows = self.pool.get()?.query(
            &format!("SELECT {CANNED_COLS} FROM canned_responses WHERE app_id = $1 ORDER BY shortcut COLLATE \"C\""),
            &[&app_id],
        )?;
        rows.iter().map(canned_from_row).collect()
    }

    fn insert_canned(&self, k: &CannedRecord) -> StoreResult<()> {
        self.pool
            .get()?
            .execute(
                &format!("INSERT INTO canned_responses ({CANNED_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
                &[&k.id, &k.app_id, &k.shortcut, &k.title, &k.text, &k.updated_at],
            )
            .map_err(|e| shortcut_taken(e, &k.shortcut))?;
        Ok(())
    }

    fn update_canned(&self, k: &CannedRecord) -> StoreResult<Option<CannedRecord>> {
        let n = self
            .pool
            .get()?
            .execute(
                "UPDATE canned_responses SET shortcut = $3, title = $4, text = $5, updated_at = $6
                 WHERE id = $1 AND app_id = $2",
                &[&k.id, &k.app_id, &k.shortcut, &k.title, &k.text, &k.updated_at],
            )
            .map_err(|e| shortcut_taken(e, &k.shortcut))?;
        Ok((n > 0).then(|| k.clone()))
    }

    fn delete_canned(&self, app_id: &str, id: &str) -> StoreResult<bool> {
        let n =
            self.pool.get()?.execute("DELETE FROM canned_responses WHERE id = $1 AND app_id = $2", &[&id, &app_id])?;
        Ok(n > 0)
    }
}

fn consent_from_row(r: &Row) -> StoreResult<ConsentRecord> {
    Ok(ConsentRecord {
        record_id: r.try_get(0)?,
        visitor_id: r.try_get(1)?,
        input: ConsentRecordInput {
            chatflow_id: r.try_get(2)?,
            kind: parse_consent_kind(r.try_get(3)?)?,
            decision: parse_decision(r.try_get(4)?)?,
            text_hash: r.try_get(5)?,
            subscription_type: r.try_get(6)?,
            decided_at: r.try_get(7)?,
        },
        recorded_at: r.try_get(8)?,
    })
}

impl VisitorContextStore for PostgresStore {
    fn visitor_device(&self, visitor_id: &str) -> StoreResult<Option<DeviceInfo>> {
        let row = self.pool.get()?.query_opt("SELECT device FROM visitors WHERE id = $1", &[&visitor_id])?;
        let json: Option<String> = row.map(|r| r.try_get(0)).transpose()?.flatten();
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("visitor device: {e}"))))
            .transpose()
    }

    fn visitor_consents(&self, visitor_id: &str) -> StoreResult<Vec<ConsentRecord>> {
        let rows = self.pool.get()?.query(
            "SELECT record_id, visitor_id, chatflow_id, kind, decision, text_hash, subscription_type, decided_at,
                    recorded_at
             FROM consent_records WHERE visitor_id = $1 ORDER BY recorded_at DESC, row_order DESC",
            &[&visitor_id],
        )?;
        rows.iter().map(consent_from_row).collect()
    }
}
