//! Push tokens (one row per device), per-app credentials and the push queue in PostgreSQL. Several server processes
//! may drain the queue: a worker claims due jobs by moving their `due_at` past a lease, in one statement that skips
//! rows another worker is claiming, so a push is sent by one process only.

use ::postgres::{GenericClient, Row};
use chatflow_protocol::{Chatflow, ChatflowInput, PushPlatform};

use super::tx::PgTx;
use super::{seq_from_sql, seq_to_sql, PostgresStore};
use crate::store::columns::{parse_platform, platform_str};
use crate::store::push::{
    ApnsCredentials, ApnsEnvironment, FcmCredentials, PushContent, PushCredentials, PushJob, PushListener, PushStore,
    PushTx, MAX_TOKENS_PER_VISITOR,
};
use crate::store::{StoreError, StoreResult};

/// How long a claimed job stays invisible to other workers. Longer than one delivery can take (an OAuth token
/// request and a send, 15 s timeout each), so it only matters when the claiming process stopped mid-send: the job is
/// sent again once the lease ends.
const CLAIM_LEASE_MS: i64 = 120_000;

impl PostgresStore {
    /// Tells the push worker that a commit queued pushes.
    pub(super) fn push_committed(&self) {
        let listener = super::lock(&self.push_listener).clone();
        if let Some(listener) = listener {
            listener();
        }
    }
}

/// Moves the tokens of a visitor folded into another (identification merges devices).
pub(super) fn move_tokens_in(conn: &mut impl GenericClient, from: &str, into: &str) -> StoreResult<()> {
    conn.execute("UPDATE push_tokens SET visitor_id = $2 WHERE visitor_id = $1", &[&from, &into])?;
    conn.execute("UPDATE push_queue SET visitor_id = $2 WHERE visitor_id = $1", &[&from, &into])?;
    Ok(())
}

/// Unread team/bot messages of one conversation (`Some`) or all the visitor's conversations.
fn unread_in(conn: &mut impl GenericClient, visitor_id: &str, conversation_id: Option<&str>) -> StoreResult<u64> {
    let n: i64 = conn
        .query_one(
            "SELECT COUNT(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id
             WHERE c.visitor_id = $1 AND ($2::TEXT IS NULL OR c.id = $2)
               AND m.seq > c.visitor_read_seq AND m.author_kind <> 'visitor'",
            &[&visitor_id, &conversation_id],
        )?
        .get(0);
    Ok(seq_from_sql(n))
}

/// The chatflow of the app, as `super::apps` reads it (kept here: that file belongs to the apps part).
fn chatflow_in(conn: &mut impl GenericClient, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>> {
    let Some(row) =
        conn.query_opt("SELECT config, updated_at FROM chatflows WHERE id = $1 AND app_id = $2", &[&id, &app_id])?
    else {
        return Ok(None);
    };
    let config: String = row.get(0);
    let input: ChatflowInput = serde_json::from_str(&config)
        .map_err(|e| StoreError::Corrupt(format!("chatflow {id} settings do not parse: {e}")))?;
    Ok(Some(input.into_chatflow(id, row.get(1))))
}

const CREDENTIAL_COLS: &str = "app_id, previews, fcm_project_id, fcm_client_email, fcm_private_key, fcm_token_uri, \
     apns_team_id, apns_key_id, apns_private_key, apns_topic, apns_environment, updated_at";

fn credentials_of(r: &Row) -> StoreResult<PushCredentials> {
    let col = |i: usize| -> Option<String> { r.get(i) };
    let fcm = match (col(2), col(3), col(4), col(5)) {
        (Some(project_id), Some(client_email), Some(private_key), Some(token_uri)) => {
            Some(FcmCredentials { project_id, client_email, private_key, token_uri })
        }
        _ => None,
    };
    let apns = match (col(6), col(7), col(8), col(9), col(10)) {
        (Some(team_id), Some(key_id), Some(private_key), Some(topic), Some(env)) => Some(ApnsCredentials {
            team_id,
            key_id,
            private_key,
            topic,
            environment: ApnsEnvironment::parse(&env)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown APNs environment `{env}`")))?,
        }),
        _ => None,
    };
    Ok(PushCredentials { app_id: r.get(0), previews: r.get(1), fcm, apns, updated_at: r.get(11) })
}

impl PushStore for PostgresStore {
    fn push_credentials(&self, app_id: &str) -> StoreResult<Option<PushCredentials>> {
        let row = self.read(|tx| {
            Ok(tx.query_opt(&format!("SELECT {CREDENTIAL_COLS} FROM push_credentials WHERE app_id = $1"), &[&app_id])?)
        })?;
        row.as_ref().map(credentials_of).transpose()
    }

    fn set_push_credentials(&self, p: &PushCredentials) -> StoreResult<()> {
        let fcm = p.fcm.as_ref();
        let apns = p.apns.as_ref();
        self.write(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO push_credentials ({CREDENTIAL_COLS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (app_id) DO UPDATE SET previews = excluded.previews,
                         fcm_project_id = excluded.fcm_project_id, fcm_client_email = excluded.fcm_client_email,
                         fcm_private_key = excluded.fcm_private_key, fcm_token_uri = excluded.fcm_token_uri,
                         apns_team_id = excluded.apns_team_id, apns_key_id = excluded.apns_key_id,
                         apns_private_key = excluded.apns_private_key, apns_topic = excluded.apns_topic,
                         apns_environment = excluded.apns_environment, updated_at = excluded.updated_at"
                ),
                &[
                    &p.app_id,
                    &p.previews,
                    &fcm.map(|f| &f.project_id),
                    &fcm.map(|f| &f.client_email),
                    &fcm.map(|f| &f.private_key),
                    &fcm.map(|f| &f.token_uri),
                    &apns.map(|a| &a.team_id),
                    &apns.map(|a| &a.key_id),
                    &apns.map(|a| &a.private_key),
                    &apns.map(|a| &a.topic),
                    &apns.map(|a| a.environment.as_str()),
                    &p.updated_at,
                ],
            )?;
            Ok(())
        })
    }

    fn delete_push_credentials(&self, app_id: &str) -> StoreResult<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM push_credentials WHERE app_id = $1", &[&app_id])? > 0))
    }

    fn add_push_token(&self, visitor_id: &str, platform: PushPlatform, token: &str, now: i64) -> StoreResult<()> {
        let platform = platform_str(platform);
        self.write(|tx| {
            // Locks the visitor: registrations of one visitor run one after the other, so the trim below sees them
            // all (and the visitor cannot vanish meanwhile).
            if tx.query_opt("SELECT 1 FROM visitors WHERE id = $1 FOR NO KEY UPDATE", &[&visitor_id])?.is_none() {
                return Err(StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")));
            }
            tx.execute(
                "INSERT INTO push_tokens (platform, token, visitor_id, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (platform, token) DO UPDATE SET visitor_id = excluded.visitor_id,
                     updated_at = excluded.updated_at",
                &[&platform, &token, &visitor_id, &now],
            )?;
            // Another visitor's pushes must not reach this device any more.
            tx.execute(
                "DELETE FROM push_queue WHERE platform = $1 AND token = $2 AND visitor_id <> $3",
                &[&platform, &token, &visitor_id],
            )?;
            // No rowid here: within one millisecond the token just registered counts as the newest.
            tx.execute(
                "DELETE FROM push_tokens WHERE visitor_id = $1 AND (platform, token) NOT IN (
                     SELECT platform, token FROM push_tokens WHERE visitor_id = $1
                     ORDER BY updated_at DESC, (platform = $2 AND token = $3) DESC, token DESC LIMIT $4)",
                &[&visitor_id, &platform, &token, &(MAX_TOKENS_PER_VISITOR as i64)],
            )?;
            Ok(())
        })
    }

    fn remove_push_tokens(&self, visitor_id: &str, token: Option<&str>) -> StoreResult<usize> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM push_queue WHERE visitor_id = $1 AND ($2::TEXT IS NULL OR token = $2)",
                &[&visitor_id, &token],
            )?;
            let n = tx.execute(
                "DELETE FROM push_tokens WHERE visitor_id = $1 AND ($2::TEXT IS NULL OR token = $2)",
                &[&visitor_id, &token],
            )?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn push_tokens(&self, visitor_id: &str) -> StoreResult<Vec<(PushPlatform, String)>> {
        let rows = self.read(|tx| {
            Ok(tx.query(
                "SELECT platform, token FROM push_tokens WHERE visitor_id = $1 ORDER BY updated_at DESC, token DESC",
                &[&visitor_id],
            )?)
        })?;
        rows.iter().map(|r| Ok((parse_platform(r.get(0))?, r.get(1)))).collect()
    }

    fn due_push_jobs(&self, now: i64, limit: u32) -> StoreResult<Vec<PushJob>> {
        // The claim: due rows no other worker holds get a lease (a later `due_at`) in the same statement; finishing
        // deletes the job, a retry sets its next `due_at`.
        let rows = self.write(|tx| {
            Ok(tx.query(
                "WITH due AS (
                     SELECT id, due_at FROM push_queue WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 UPDATE push_queue q SET due_at = $3 FROM due WHERE q.id = due.id
                 RETURNING q.id, q.app_id, q.visitor_id, q.conversation_id, q.seq, q.platform, q.token, q.attempts,
                     due.due_at",
                &[&now, &i64::from(limit), &now.saturating_add(CLAIM_LEASE_MS)],
            )?)
        })?;
        let mut jobs = rows
            .iter()
            .map(|r| {
                let was_due: i64 = r.get(8);
                let job = PushJob {
                    id: r.get(0),
                    app_id: r.get(1),
                    visitor_id: r.get(2),
                    conversation_id: r.get(3),
                    seq: seq_from_sql(r.get(4)),
                    platform: parse_platform(r.get(5))?,
                    token: r.get(6),
                    attempts: u32::try_from(r.get::<_, i64>(7)).unwrap_or(u32::MAX),
                };
                Ok((was_due, job))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING has no order: oldest first, as they were due.
        jobs.sort_by_key(|(was_due, job)| (*was_due, job.id));
        Ok(jobs.into_iter().map(|(_, job)| job).collect())
    }

    fn next_push_due(&self) -> StoreResult<Option<i64>> {
        self.read(|tx| Ok(tx.query_one("SELECT MIN(due_at) FROM push_queue", &[])?.get(0)))
    }

    fn push_content(&self, conversation_id: &str, seq: u64) -> StoreResult<Option<PushContent>> {
        self.read(|tx| {
            let Some(row) = tx.query_opt(
                "SELECT c.app_id, c.visitor_id, c.chatflow_id, m.author_name, m.body
                 FROM messages m JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.conversation_id = $1 AND m.seq = $2",
                &[&conversation_id, &seq_to_sql(seq)],
            )?
            else {
                return Ok(None);
            };
            let (app_id, visitor_id): (String, String) = (row.get(0), row.get(1));
            let chatflow_id: i64 = row.get(2);
            let author_name: Option<String> = row.get(3);
            let flow = chatflow_in(tx, &app_id, chatflow_id)?;
            let sender_name = author_name
                .filter(|n| !n.trim().is_empty())
                .or_else(|| flow.as_ref().map(|f| f.header.display_name.clone()))
                .unwrap_or_default();
            Ok(Some(PushContent {
                chatflow_id,
                language: flow.map(|f| f.language).unwrap_or_else(|| "en".into()),
                sender_name,
                body: row.get(4),
                unread: unread_in(tx, &visitor_id, Some(conversation_id))?,
                unread_total: unread_in(tx, &visitor_id, None)?,
            }))
        })
    }

    fn finish_push_job(&self, id: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM push_queue WHERE id = $1", &[&id])?;
            Ok(())
        })
    }

    fn retry_push_job(&self, id: i64, due_at: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("UPDATE push_queue SET attempts = attempts + 1, due_at = $2 WHERE id = $1", &[&id, &due_at])?;
            Ok(())
        })
    }

    fn drop_push_token(&self, platform: PushPlatform, token: &str) -> StoreResult<()> {
        let platform = platform_str(platform);
        self.write(|tx| {
            tx.execute("DELETE FROM push_queue WHERE platform = $1 AND token = $2", &[&platform, &token])?;
            tx.execute("DELETE FROM push_tokens WHERE platform = $1 AND token = $2", &[&platform, &token])?;
            Ok(())
        })
    }

    fn set_push_listener(&self, listener: PushListener) {
        *super::lock(&self.push_listener) = Some(listener);
    }
}

impl PushTx for PgTx<'_, '_> {
    fn enqueue_pushes(
        &mut self,
        app_id: &str,
        visitor_id: &str,
        conversation_id: &str,
        seq: u64,
        now: i64,
    ) -> StoreResult<usize> {
        // Only devices of a platform the app can send to: an app without push configured queues nothing.
        let n = self.tx.execute(
            "INSERT INTO push_queue (app_id, visitor_id, conversation_id, seq, platform, token, due_at, created_at)
             SELECT $1::TEXT, t.visitor_id, $3::TEXT, $4::BIGINT, t.platform, t.token, $5::BIGINT, $5::BIGINT
             FROM push_tokens t JOIN push_credentials p ON p.app_id = $1
             WHERE t.visitor_id = $2
               AND ((t.platform = 'fcm' AND p.fcm_private_key IS NOT NULL)
                 OR (t.platform = 'apns' AND p.apns_private_key IS NOT NULL))",
            &[&app_id, &visitor_id, &conversation_id, &seq_to_sql(seq), &now],
        )?;
        if n > 0 {
            self.pushes_queued = true;
        }
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}
