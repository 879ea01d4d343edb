//! Visitors, their tokens, identification (merge) and consent records in PostgreSQL. Push tokens live in
//! `push_tokens` (one row per device, `postgres::push`): the visitor row has no push columns.

use ::postgres::{GenericClient, Row};
use chatflow_protocol::{
    ConsentDecision, ConsentKind, ConsentRecord, ConsentRecordInput, DeviceInfo, PushTokenRequest,
};

use super::PostgresStore;
use crate::store::columns::{consent_kind_str, decision_str, parse_consent_kind, parse_decision};
use crate::store::{PushStore, StoreError, StoreResult, VisitorRecord, VisitorStore};

const VISITOR_COLS: &str = "id, app_id, user_id, email, created_at";

/// The key space of the advisory locks taken on a user id (two-integer keys never meet the feed's one-bigint key).
const USER_LOCK_CLASS: i32 = 0x7573; // "us"

fn visitor_from_row(r: &Row) -> VisitorRecord {
    VisitorRecord { id: r.get(0), app_id: r.get(1), user_id: r.get(2), email: r.get(3), created_at: r.get(4) }
}

pub(super) fn visitor_in(c: &mut impl GenericClient, id: &str) -> StoreResult<Option<VisitorRecord>> {
    Ok(c.query_opt(&format!("SELECT {VISITOR_COLS} FROM visitors WHERE id = $1"), &[&id])?
        .map(|r| visitor_from_row(&r)))
}

pub(super) fn conversation_ids_of(c: &mut impl GenericClient, visitor_id: &str) -> StoreResult<Vec<String>> {
    let rows = c.query("SELECT id FROM conversations WHERE visitor_id = $1 ORDER BY created_at, id", &[&visitor_id])?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The app's visitor identified as `user_id`. Inside a unit of work it first takes a transaction lock on the user
/// id: identifications of one user wait for each other, so the second sees the visitor the first created or named
/// (the user's visitor may not exist yet: there is no row to lock).
pub(super) fn visitor_of_user_in(
    c: &mut impl GenericClient,
    app_id: &str,
    user_id: &str,
) -> StoreResult<Option<VisitorRecord>> {
    c.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2::text || chr(1) || $3::text))",
        &[&USER_LOCK_CLASS, &app_id, &user_id],
    )?;
    Ok(c.query_opt(
        &format!("SELECT {VISITOR_COLS} FROM visitors WHERE app_id = $1 AND user_id = $2"),
        &[&app_id, &user_id],
    )?
    .map(|r| visitor_from_row(&r)))
}

pub(super) fn fold_visitor_in(c: &mut impl GenericClient, from: &str, into: &str) -> StoreResult<()> {
    if from == into {
        // Nothing to move, and deleting `from` would delete the target.
        return Ok(());
    }
    c.execute("UPDATE conversations SET visitor_id = $2 WHERE visitor_id = $1", &[&from, &into])?;
    // A record id the target already has is dropped (it goes with `from`, ON DELETE CASCADE).
    c.execute(
        "UPDATE consent_records SET visitor_id = $2 WHERE visitor_id = $1
             AND record_id NOT IN (SELECT record_id FROM consent_records WHERE visitor_id = $2)",
        &[&from, &into],
    )?;
    c.execute(
        "UPDATE visitors SET device = COALESCE((SELECT device FROM visitors WHERE id = $1), device) WHERE id = $2",
        &[&from, &into],
    )?;
    // Both visitors' devices now reach the user.
    super::push::move_tokens_in(c, from, into)?;
    c.execute("DELETE FROM visitors WHERE id = $1", &[&from])?;
    Ok(())
}

pub(super) fn replace_token_in(
    c: &mut impl GenericClient,
    old_hash: &str,
    new_hash: &str,
    visitor_id: &str,
    now: i64,
) -> StoreResult<()> {
    c.execute("DELETE FROM visitor_tokens WHERE token_hash = $1", &[&old_hash])?;
    c.execute(
        "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES ($1, $2, $3)",
        &[&new_hash, &visitor_id, &now],
    )?;
    Ok(())
}

fn require_one(n: u64, visitor_id: &str) -> StoreResult<()> {
    if n == 0 {
        return Err(StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")));
    }
    Ok(())
}

impl VisitorStore for PostgresStore {
    fn create_visitor(&self, app_id: &str, visitor_id: &str, token_hash: &str, now: i64) -> StoreResult<VisitorRecord> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO visitors (id, app_id, created_at) VALUES ($1, $2, $3)",
                &[&visitor_id, &app_id, &now],
            )?;
            tx.execute(
                "INSERT INTO visitor_tokens (token_hash, visitor_id, created_at) VALUES ($1, $2, $3)",
                &[&token_hash, &visitor_id, &now],
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
        Ok(self
            .pool
            .get()?
            .query_opt(
                "SELECT v.id, v.app_id, v.user_id, v.email, v.created_at
                 FROM visitor_tokens t JOIN visitors v ON v.id = t.visitor_id WHERE t.token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| visitor_from_row(&r)))
    }

    fn visitor(&self, id: &str) -> StoreResult<Option<VisitorRecord>> {
        visitor_in(&mut *self.pool.get()?, id)
    }

    fn set_properties(&self, visitor_id: &str, properties_json: &str) -> StoreResult<()> {
        self.write_logged(|tx, feed| {
            let n =
                tx.execute("UPDATE visitors SET properties = $2 WHERE id = $1", &[&visitor_id, &properties_json])?;
            // The contact's name comes from the properties.
            feed.visitor(visitor_id);
            require_one(n, visitor_id)
        })
    }

    fn set_device(&self, visitor_id: &str, device: &DeviceInfo) -> StoreResult<()> {
        let json = serde_json::to_string(device).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let n = self.pool.get()?.execute("UPDATE visitors SET device = $2 WHERE id = $1", &[&visitor_id, &json])?;
        require_one(n, visitor_id)
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
        let n = self.pool.get()?.execute("DELETE FROM visitors WHERE id = $1", &[&visitor_id])?;
        require_one(n, visitor_id)
    }
}

const CONSENT_COLS: &str =
    "record_id, visitor_id, chatflow_id, kind, decision, text_hash, subscription_type, decided_at, recorded_at";

fn consent_from_row(r: &Row) -> StoreResult<ConsentRecord> {
    Ok(ConsentRecord {
        record_id: r.get(0),
        visitor_id: r.get(1),
        input: ConsentRecordInput {
            chatflow_id: r.get(2),
            kind: parse_consent_kind(r.get(3))?,
            decision: parse_decision(r.get(4))?,
            text_hash: r.get(5),
            subscription_type: r.get(6),
            decided_at: r.get(7),
        },
        recorded_at: r.get(8),
    })
}

/// The visitor's record under `record_id`.
pub(super) fn consent_in(
    c: &mut impl GenericClient,
    visitor_id: &str,
    record_id: &str,
) -> StoreResult<Option<ConsentRecord>> {
    c.query_opt(
        &format!("SELECT {CONSENT_COLS} FROM consent_records WHERE visitor_id = $1 AND record_id = $2"),
        &[&visitor_id, &record_id],
    )?
    .map(|r| consent_from_row(&r))
    .transpose()
}

pub(super) fn insert_consent_in(c: &mut impl GenericClient, r: &ConsentRecord) -> StoreResult<()> {
    c.execute(
        &format!("INSERT INTO consent_records ({CONSENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
        &[
            &r.record_id,
            &r.visitor_id,
            &r.input.chatflow_id,
            &consent_kind_str(r.input.kind),
            &decision_str(r.input.decision),
            &r.input.text_hash,
            &r.input.subscription_type,
            &r.input.decided_at,
            &r.recorded_at,
        ],
    )?;
    Ok(())
}

/// The decision of the visitor's latest record of `kind` on this text hash for the chatflow. Records of one
/// millisecond are told apart by their insertion order.
pub(super) fn latest_consent_decision_in(
    c: &mut impl GenericClient,
    visitor_id: &str,
    chatflow_id: i64,
    kind: ConsentKind,
    text_hash: &str,
) -> StoreResult<Option<ConsentDecision>> {
    let row = c.query_opt(
        "SELECT decision FROM consent_records
         WHERE visitor_id = $1 AND chatflow_id = $2 AND kind = $3 AND text_hash = $4
         ORDER BY recorded_at DESC, row_order DESC LIMIT 1",
        &[&visitor_id, &chatflow_id, &consent_kind_str(kind), &text_hash],
    )?;
    row.map(|r| parse_decision(r.get(0))).transpose()
}

pub(super) fn visitor_app_in(c: &mut impl GenericClient, visitor_id: &str) -> StoreResult<Option<String>> {
    Ok(c.query_opt("SELECT app_id FROM visitors WHERE id = $1", &[&visitor_id])?.map(|r| r.get(0)))
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use crate::domain::visitors::identify;
    use crate::store::test_backends::{open_conversation, store};
    use crate::store::Identify;

    fn plan(current: &str, token: &str, user: &str, new_token: &str) -> Identify {
        Identify {
            current_visitor_id: current.into(),
            current_token_hash: token.into(),
            app_id: "app1".into(),
            user_id: user.into(),
            email: None,
            fresh_visitor_id: format!("fresh-{new_token}"),
            new_token_hash: new_token.into(),
            now: 10,
        }
    }

    /// Runs two identifications at once and returns their results.
    fn both(s: &dyn crate::store::Store, a: &Identify, b: &Identify) -> [crate::store::IdentifyOutcome; 2] {
        let start = Barrier::new(2);
        std::thread::scope(|scope| {
            let run = |p: &Identify| {
                let (start, p) = (&start, p.clone());
                scope.spawn(move || {
                    start.wait();
                    identify(s, &p).unwrap()
                })
            };
            let (a, b) = (run(a), run(b));
            [a.join().unwrap(), b.join().unwrap()]
        })
    }

    /// Two devices identified as one new user at the same moment end up as one visitor (on SQLite the writer
    /// serializes them; on PostgreSQL the lock on the user id does), and a replayed identification keeps the visitor.
    /// Runs on the backend `test_backends` picks (both stores must agree).
    #[test]
    fn concurrent_identifications_of_one_user_merge_into_one_visitor() {
        let s = store();
        for round in 0..20 {
            let (va, vb, user) = (format!("a{round}"), format!("b{round}"), format!("u{round}"));
            let (ca, cb) = (format!("ca{round}"), format!("cb{round}"));
            s.create_visitor("app1", &va, &format!("t{va}"), 1).unwrap();
            s.create_visitor("app1", &vb, &format!("t{vb}"), 1).unwrap();
            open_conversation(&*s, &ca, &va, 1);
            open_conversation(&*s, &cb, &vb, 2);
            let [a, b] = both(
                &*s,
                &plan(&va, &format!("t{va}"), &user, &format!("n{va}")),
                &plan(&vb, &format!("t{vb}"), &user, &format!("n{vb}")),
            );
            assert_eq!(a.visitor.id, b.visitor.id, "round {round}: one visitor for the user");
            let kept = a.visitor.id.clone();
            let gone = if kept == va { &vb } else { &va };
            assert!(s.visitor(gone).unwrap().is_none());
            let ids: Vec<_> = s.visitor_conversations(&kept).unwrap().into_iter().map(|c| c.id).collect();
            assert_eq!(ids, [cb.clone(), ca.clone()]);
            for token in [format!("n{va}"), format!("n{vb}")] {
                assert_eq!(s.visitor_by_token(&token).unwrap().map(|v| v.id), Some(kept.clone()));
            }

            // The same session identified twice at once: the visitor stays.
            let vc = format!("c{round}");
            s.create_visitor("app1", &vc, &format!("t{vc}"), 1).unwrap();
            let other = format!("w{round}");
            let [a, b] = both(
                &*s,
                &plan(&vc, &format!("t{vc}"), &other, &format!("n{vc}")),
                &plan(&vc, &format!("t{vc}"), &other, &format!("m{vc}")),
            );
            assert_eq!((&a.visitor.id, &b.visitor.id), (&vc, &vc));
            assert_eq!(s.visitor(&vc).unwrap().and_then(|v| v.user_id), Some(other));
        }
    }
}
