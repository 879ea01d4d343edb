//! Visitors, their tokens, identification (merge) and consent records in SQLite.

use chatflow_protocol::{ConsentRecord, ConsentRecordInput, DeviceInfo, PushTokenRequest};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{consent_kind_str, decision_str, parse_consent_kind, parse_decision, SqliteStore};
use crate::store::{PushStore, StoreError, StoreResult, VisitorRecord, VisitorStore};

const VISITOR_COLS: &str = "id, app_id, user_id, email, created_at";

fn visitor_from_row(r: &Row<'_>) -> rusqlite::Result<VisitorRecord> {
    Ok(VisitorRecord { id: r.get(0)?, app_id: r.get(1)?, user_id: r.get(2)?, email: r.get(3)?, created_at: r.get(4)? })
}

pub(super) fn visitor_in(conn: &Connection, id: &str) -> StoreResult<Option<VisitorRecord>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {VISITOR_COLS} FROM visitors WHERE id = ?1"))?
        .query_row([id], visitor_from_row)
        .optional()?)
}

pub(super) fn conversation_ids_of(conn: &Connection, visitor_id: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM conversations WHERE visitor_id = ?1 ORDER BY created_at, id")?;
    let rows = stmt.query_map([visitor_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn visitor_of_user_in(conn: &Connection, app_id: &str, user_id: &str) -> StoreResult<Option<VisitorRecord>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {VISITOR_COLS} FROM visitors WHERE app_id = ?1 AND user_id = ?2"))?
        .query_row(params![app_id, user_id], visitor_from_row)
        .optional()?)
}

pub(super) fn fold_visitor_in(conn: &Connection, from: &str, into: &str) -> StoreResult<()> {
    conn.execute("UPDATE conversations SET visitor_id = ?2 WHERE visitor_id = ?1", params![from, into])?;
    conn.execute("UPDATE OR IGNORE consent_records SET visitor_id = ?2 WHERE visitor_id = ?1", params![from, into])?;
    conn.execute(
        "UPDATE visitors SET
             device = COALESCE((SELECT device FROM visitors WHERE id = ?1), device)
         WHERE id = ?2",
        params![from, into],
    )?;
    // Both visitors' devices now reach the user.
    super::push::move_tokens_in(conn, from, into)?;
    conn.execute("DELETE FROM visitors WHERE id = ?1", [from])?;
    Ok(())
}

pub(super) fn replace_token_in(
    conn: &Connection,
    old_hash: &str,
    new_hash: &str,
    visitor_id: &str,
    now: i64,
) -> StoreResult<()> {
    conn.execute("DELETE FROM visitor_tokens WHERE token_hash = ?1", [old_hash])?;
    conn.execute(
        "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES (?1, ?2, ?3)",
        params![new_hash, visitor_id, now],
    )?;
    Ok(())
}

fn require_one(n: usize, visitor_id: &str) -> StoreResult<()> {
    if n == 0 {
        return Err(StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")));
    }
    Ok(())
}

impl VisitorStore for SqliteStore {
    fn create_visitor(&self, app_id: &str, visitor_id: &str, token_hash: &str, now: i64) -> StoreResult<VisitorRecord> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO visitors (id, app_id, created_at) VALUES (?1, ?2, ?3)",
                params![visitor_id, app_id, now],
            )?;
            tx.execute(
                "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES (?1, ?2, ?3)",
                params![token_hash, visitor_id, now],
            )?;
            Ok(VisitorRecord {
                id: visitor_id.to_owned(),
                app_id: app_id.to_owned(),
                user_id: None,
                email: None,
                created_at: now,
            })
        })
    }

    fn visitor_by_token(&self, token_hash: &str) -> StoreResult<Option<VisitorRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT v.id, v.app_id, v.user_id, v.email, v.created_at
                 FROM visitor_tokens t JOIN visitors v ON v.id = t.visitor_id WHERE t.token_hash = ?1",
            )?
            .query_row([token_hash], visitor_from_row)
            .optional()?)
        })
    }

    fn visitor(&self, id: &str) -> StoreResult<Option<VisitorRecord>> {
        self.read(|c| visitor_in(c, id))
    }

    fn set_properties(&self, visitor_id: &str, properties_json: &str) -> StoreResult<()> {
        self.write_logged(|tx, feed| {
            let n =
                tx.execute("UPDATE visitors SET properties = ?2 WHERE id = ?1", params![visitor_id, properties_json])?;
            // The contact's name comes from the properties.
            feed.visitor(visitor_id);
            require_one(n, visitor_id)
        })
    }

    fn set_device(&self, visitor_id: &str, device: &DeviceInfo) -> StoreResult<()> {
        let json = serde_json::to_string(device).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.write(|tx| {
            let n = tx.execute("UPDATE visitors SET device = ?2 WHERE id = ?1", params![visitor_id, json])?;
            require_one(n, visitor_id)
        })
    }

    fn set_push_token(&self, visitor_id: &str, push: Option<&PushTokenRequest>) -> StoreResult<()> {
        // One row per device (`store::push`): a token adds a device; none removes them all.
        match push {
            Some(p) => self.add_push_token(visitor_id, p.platform, &p.token, crate::clock::system_now_ms()),
            None => self.remove_push_tokens(visitor_id, None).map(drop),
        }
    }

    fn delete_visitor(&self, visitor_id: &str) -> StoreResult<()> {
        // Tokens, conversations (and their messages) and consent records go with it (ON DELETE CASCADE).
        self.write(|tx| require_one(tx.execute("DELETE FROM visitors WHERE id = ?1", [visitor_id])?, visitor_id))
    }
}

pub(super) fn consent_from_row(r: &Row<'_>) -> rusqlite::Result<(ConsentRecord, String, String)> {
    let record = ConsentRecord {
        record_id: r.get(0)?,
        visitor_id: r.get(1)?,
        input: ConsentRecordInput {
            chatflow_id: r.get(2)?,
            // Placeholders, replaced from the TEXT columns below (parsing can fail, row mapping cannot).
            kind: chatflow_protocol::ConsentKind::ProcessData,
            decision: chatflow_protocol::ConsentDecision::Declined,
            text_hash: r.get(5)?,
            subscription_type: r.get(6)?,
            decided_at: r.get(7)?,
        },
        recorded_at: r.get(8)?,
    };
    Ok((record, r.get(3)?, r.get(4)?))
}

/// The visitor's record under `record_id`.
pub(super) fn consent_in(conn: &Connection, visitor_id: &str, record_id: &str) -> StoreResult<Option<ConsentRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT record_id, visitor_id, chatflow_id, kind, decision, text_hash, subscription_type, decided_at,
                    recorded_at
             FROM consent_records WHERE visitor_id = ?1 AND record_id = ?2",
        )?
        .query_row(params![visitor_id, record_id], consent_from_row)
        .optional()?;
    row.map(|(mut record, kind, decision)| {
        record.input.kind = parse_consent_kind(&kind)?;
        record.input.decision = parse_decision(&decision)?;
        Ok(record)
    })
    .transpose()
}

pub(super) fn insert_consent_in(conn: &Connection, r: &ConsentRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO consent_records (visitor_id, record_id, chatflow_id, kind, decision, text_hash,
             subscription_type, decided_at, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        r.visitor_id,
        r.record_id,
        r.input.chatflow_id,
        consent_kind_str(r.input.kind),
        decision_str(r.input.decision),
        r.input.text_hash,
        r.input.subscription_type,
        r.input.decided_at,
        r.recorded_at
    ])?;
    Ok(())
}

pub(super) fn visitor_app_in(conn: &Connection, visitor_id: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT app_id FROM visitors WHERE id = ?1")?
        .query_row([visitor_id], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{open_conversation, store};
    use super::*;
    use crate::store::ConversationStore;

    #[test]
    fn deleting_a_visitor_removes_everything_it_owns() {
        let (_dir, s) = store();
        s.create_visitor("app1", "v1", "t1", 1).unwrap();
        open_conversation(&s, "c1", "v1", 1);
        s.delete_visitor("v1").unwrap();
        assert!(s.visitor_by_token("t1").unwrap().is_none());
        assert!(s.conversation("c1").unwrap().is_none());
        assert!(matches!(s.delete_visitor("v1"), Err(StoreError::NotFound(_))));
    }
}
