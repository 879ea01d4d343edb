//! The session's rows in the local store: the `session` row, visitor-scoped `meta` keys, and the wipe that runs when
//! the user logs out or another user identifies.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use chatflow_protocol::VisitorSession;

use crate::error::Result;

/// Prefix of `meta` keys that belong to the current visitor: wiped with its rows.
pub(crate) const VISITOR_META_PREFIX: &str = "visitor.";
// `device.*` meta keys belong to the app install and survive a logout.

/// Identity token waiting for the server (identify called offline, or the server was unreachable).
pub(crate) const META_PENDING_IDENTITY: &str = "visitor.pending_identity";
/// The user id the pending identity token names (its `sub`), so `identify` can tell a switch without the network.
pub(crate) const META_PENDING_USER: &str = "visitor.pending_user";
/// The JSON last pushed to the server for this visitor (properties / device / push token); absent: never pushed.
pub(crate) const META_SYNCED_PROPERTIES: &str = "visitor.synced.properties";
pub(crate) const META_SYNCED_DEVICE: &str = "visitor.synced.device";
pub(crate) const META_SYNCED_PUSH: &str = "visitor.synced.push";
/// The platform facade's device description (JSON `DeviceInfo`).
pub(crate) const META_DEVICE_INFO: &str = "device.info";
/// The device's push token (JSON `PushTokenRequest`); re-attached to each new visitor.
pub(crate) const META_PUSH_TOKEN: &str = "device.push_token";
/// Server-side cleanups that failed offline (JSON `Vec<PendingCleanup>`): tokens of forgotten visitors whose push
/// registration (and, after `clear_user_data`, whose whole record) must still be removed on the server.
pub(crate) const META_PENDING_CLEANUP: &str = "device.pending_cleanup";

/// The stored session row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRow {
    pub session: VisitorSession,
    pub created_at: i64,
}

pub(crate) fn load(conn: &Connection) -> Result<Option<SessionRow>> {
    Ok(conn
        .query_row("SELECT visitor_id, visitor_token, user_id, email, created_at FROM session WHERE id = 1", [], |r| {
            Ok(SessionRow {
                session: VisitorSession {
                    visitor_id: r.get(0)?,
                    visitor_token: r.get(1)?,
                    user_id: r.get(2)?,
                    email: r.get(3)?,
                },
                created_at: r.get(4)?,
            })
        })
        .optional()?)
}

/// Is `visitor_id` still the session's visitor? Read inside the write transaction that depends on it (a catch-up
/// must not store a previous user's messages after a logout).
pub(crate) fn still_visitor(tx: &Transaction<'_>, visitor_id: &str) -> Result<bool> {
    let current: Option<String> =
        tx.prepare_cached("SELECT visitor_id FROM session WHERE id = 1")?.query_row([], |r| r.get(0)).optional()?;
    Ok(current.as_deref() == Some(visitor_id))
}

pub(crate) fn save(tx: &Transaction<'_>, s: &VisitorSession, created_at: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO session (id, visitor_id, visitor_token, user_id, email, created_at) VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET visitor_id = excluded.visitor_id, visitor_token = excluded.visitor_token,
             user_id = excluded.user_id, email = excluded.email",
    )?
    .execute(params![s.visitor_id, s.visitor_token, s.user_id, s.email, created_at])?;
    Ok(())
}

use crate::store::meta_delete_prefix;
pub(crate) use crate::store::{meta_delete, meta_get};

/// Deletes every row of the current visitor and its `visitor.*` meta keys, in the caller's transaction: either the
/// previous user's data is entirely gone or nothing changed. Each capability deletes its own visitor-scoped rows; a
/// capability that adds a visitor-scoped table adds it to its own `wipe_visitor`.
pub(crate) fn wipe_visitor(tx: &Transaction<'_>) -> Result<()> {
    crate::sync::tables::wipe_visitor(tx)?;
    crate::consent::wipe_visitor(tx)?;
    crate::attachments::wipe_visitor(tx)?;
    // Rare (logout): kept out of the statement cache.
    tx.execute_batch("DELETE FROM properties; DELETE FROM session;")?;
    meta_delete_prefix(tx, VISITOR_META_PREFIX)?;
    Ok(())
}

/// Marks what the server must be told again (a new visitor or a changed value).
pub(crate) fn mark_unsynced(tx: &Transaction<'_>, keys: &[&str]) -> Result<()> {
    for k in keys {
        meta_delete(tx, k)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{meta_set, Store};

    fn count(store: &Store, table: &str) -> i64 {
        store.read(|c| Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)).unwrap()
    }

    #[test]
    fn wipe_removes_every_visitor_row_and_key_and_keeps_device_and_app_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|tx| {
                let s = VisitorSession {
                    visitor_id: "v1".into(),
                    visitor_token: "t1".into(),
                    user_id: Some("u1".into()),
                    email: None,
                };
                save(tx, &s, 1)?;
                tx.execute_batch(
                    "INSERT INTO conversations (id, chatflow_id, status, created_at) VALUES ('c1', 1, 'open', 1);
                     INSERT INTO messages (conversation_id, seq, author_kind, body, created_at, state)
                         VALUES ('c1', 1, 'visitor', 'hi', 1, 'sent');
                     INSERT INTO outbox (kind, client_id, payload, state, created_at)
                         VALUES ('message', 'm1', '{}', 'queued', 1);
                     INSERT INTO consents (chatflow_id, kind, text_hash, decision, record_id, decided_at)
                         VALUES (1, 'process_data', 'h', 'accepted', 'r1', 1);
                     INSERT INTO properties (key, value) VALUES ('plan', 'gold');
                     INSERT INTO chatflows (id, json) VALUES (1, '{}');",
                )?;
                meta_set(tx, META_PENDING_IDENTITY, "tok")?;
                meta_set(tx, META_SYNCED_DEVICE, "1")?;
                meta_set(tx, META_DEVICE_INFO, "{}")?;
                meta_set(tx, "chatflows.etag", "e1")?;
                Ok(())
            })
            .unwrap();
        store.write(wipe_visitor).unwrap();
        for t in ["messages", "outbox", "conversations", "consents", "properties", "session", "attachment_cache"] {
            assert_eq!(count(&store, t), 0, "{t}");
        }
        assert_eq!(store.meta_get(META_PENDING_IDENTITY).unwrap(), None);
        assert_eq!(store.meta_get(META_SYNCED_DEVICE).unwrap(), None);
        assert_eq!(store.meta_get(META_DEVICE_INFO).unwrap().as_deref(), Some("{}"));
        assert_eq!(store.meta_get("chatflows.etag").unwrap().as_deref(), Some("e1"));
        assert_eq!(count(&store, "chatflows"), 1);
        assert_eq!(store.read(load).unwrap(), None);
    }
}
