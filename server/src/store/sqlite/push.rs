//! Push tokens (one row per device), per-app credentials and the push queue in SQLite.

use chatflow_protocol::PushPlatform;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::tx::SqliteTx;
use super::{lock, seq_from_sql, seq_to_sql, SqliteStore};
use crate::store::columns::{parse_platform, platform_str};
use crate::store::push::{
    ApnsCredentials, ApnsEnvironment, FcmCredentials, PushContent, PushCredentials, PushJob, PushListener, PushStore,
    PushTx, MAX_TOKENS_PER_VISITOR,
};
use crate::store::{StoreError, StoreResult};

/// Moves the tokens of a visitor folded into another (identification merges devices).
pub(super) fn move_tokens_in(conn: &Connection, from: &str, into: &str) -> StoreResult<()> {
    conn.execute("UPDATE push_tokens SET visitor_id = ?2 WHERE visitor_id = ?1", params![from, into])?;
    conn.execute("UPDATE push_queue SET visitor_id = ?2 WHERE visitor_id = ?1", params![from, into])?;
    Ok(())
}

/// Unread team/bot messages of one conversation (`Some`) or all the visitor's conversations.
fn unread_in(conn: &Connection, visitor_id: &str, conversation_id: Option<&str>) -> StoreResult<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM conversations c JOIN messages m ON m.conversation_id = c.id
             WHERE c.visitor_id = ?1 AND (?2 IS NULL OR c.id = ?2)
               AND m.seq > c.visitor_read_seq AND m.author_kind <> 'visitor'",
        )?
        .query_row(params![visitor_id, conversation_id], |r| r.get(0))?;
    Ok(seq_from_sql(n))
}

type CredRow = (String, bool, [Option<String>; 9], i64);

fn credentials_from_row(r: &Row<'_>) -> rusqlite::Result<CredRow> {
    let mut cols: [Option<String>; 9] = Default::default();
    for (i, c) in cols.iter_mut().enumerate() {
        *c = r.get(2 + i)?;
    }
    Ok((r.get(0)?, r.get(1)?, cols, r.get(11)?))
}

fn credentials_of(row: CredRow) -> StoreResult<PushCredentials> {
    let (app_id, previews, c, updated_at) = row;
    let [project_id, client_email, fcm_key, token_uri, team_id, key_id, apns_key, topic, environment] = c;
    let fcm = match (project_id, client_email, fcm_key, token_uri) {
        (Some(project_id), Some(client_email), Some(private_key), Some(token_uri)) => {
            Some(FcmCredentials { project_id, client_email, private_key, token_uri })
        }
        _ => None,
    };
    let apns = match (team_id, key_id, apns_key, topic, environment) {
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
    Ok(PushCredentials { app_id, previews, fcm, apns, updated_at })
}

impl PushStore for SqliteStore {
    fn push_credentials(&self, app_id: &str) -> StoreResult<Option<PushCredentials>> {
        let row = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT app_id, previews, fcm_project_id, fcm_client_email, fcm_private_key, fcm_token_uri,
                        apns_team_id, apns_key_id, apns_private_key, apns_topic, apns_environment, updated_at
                 FROM push_credentials WHERE app_id = ?1",
            )?
            .query_row([app_id], credentials_from_row)
            .optional()?)
        })?;
        row.map(credentials_of).transpose()
    }

    fn set_push_credentials(&self, p: &PushCredentials) -> StoreResult<()> {
        let fcm = p.fcm.as_ref();
        let apns = p.apns.as_ref();
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO push_credentials (app_id, previews, fcm_project_id, fcm_client_email,
                     fcm_private_key, fcm_token_uri, apns_team_id, apns_key_id, apns_private_key, apns_topic,
                     apns_environment, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    p.app_id,
                    p.previews,
                    fcm.map(|f| &f.project_id),
                    fcm.map(|f| &f.client_email),
                    fcm.map(|f| &f.private_key),
                    fcm.map(|f| &f.token_uri),
                    apns.map(|a| &a.team_id),
                    apns.map(|a| &a.key_id),
                    apns.map(|a| &a.private_key),
                    apns.map(|a| &a.topic),
                    apns.map(|a| a.environment.as_str()),
                    p.updated_at
                ],
            )?;
            Ok(())
        })
    }

    fn delete_push_credentials(&self, app_id: &str) -> StoreResult<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM push_credentials WHERE app_id = ?1", [app_id])? > 0))
    }

    fn add_push_token(&self, visitor_id: &str, platform: PushPlatform, token: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            let exists: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM visitors WHERE id = ?1)", [visitor_id], |r| r.get(0))?;
            if !exists {
                return Err(StoreError::NotFound(format!("visitor `{visitor_id}` does not exist")));
            }
            tx.execute(
                "INSERT INTO push_tokens (platform, token, visitor_id, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (platform, token) DO UPDATE SET visitor_id = excluded.visitor_id,
                     updated_at = excluded.updated_at",
                params![platform_str(platform), token, visitor_id, now],
            )?;
            // Another visitor's pushes must not reach this device any more.
            tx.execute(
                "DELETE FROM push_queue WHERE platform = ?1 AND token = ?2 AND visitor_id <> ?3",
                params![platform_str(platform), token, visitor_id],
            )?;
            tx.execute(
                "DELETE FROM push_tokens WHERE visitor_id = ?1 AND rowid NOT IN (
                     SELECT rowid FROM push_tokens WHERE visitor_id = ?1 ORDER BY updated_at DESC, rowid DESC
                     LIMIT ?2)",
                params![visitor_id, MAX_TOKENS_PER_VISITOR as i64],
            )?;
            Ok(())
        })
    }

    fn remove_push_tokens(&self, visitor_id: &str, token: Option<&str>) -> StoreResult<usize> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM push_queue WHERE visitor_id = ?1 AND (?2 IS NULL OR token = ?2)",
                params![visitor_id, token],
            )?;
            Ok(tx.execute(
                "DELETE FROM push_tokens WHERE visitor_id = ?1 AND (?2 IS NULL OR token = ?2)",
                params![visitor_id, token],
            )?)
        })
    }

    fn push_tokens(&self, visitor_id: &str) -> StoreResult<Vec<(PushPlatform, String)>> {
        let rows: Vec<(String, String)> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT platform, token FROM push_tokens WHERE visitor_id = ?1 ORDER BY updated_at DESC, rowid DESC",
            )?;
            let rows = stmt.query_map([visitor_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        rows.into_iter().map(|(p, t)| Ok((parse_platform(&p)?, t))).collect()
    }

    fn due_push_jobs(&self, now: i64, limit: u32) -> StoreResult<Vec<PushJob>> {
        type JobRow = (i64, String, String, String, i64, String, String, i64);
        let rows: Vec<JobRow> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, app_id, visitor_id, conversation_id, seq, platform, token, attempts FROM push_queue
                 WHERE due_at <= ?1 ORDER BY due_at, id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        rows.into_iter()
            .map(|(id, app_id, visitor_id, conversation_id, seq, platform, token, attempts)| {
                Ok(PushJob {
                    id,
                    app_id,
                    visitor_id,
                    conversation_id,
                    seq: seq_from_sql(seq),
                    platform: parse_platform(&platform)?,
                    token,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    fn next_push_due(&self) -> StoreResult<Option<i64>> {
        self.read(|c| Ok(c.query_row("SELECT MIN(due_at) FROM push_queue", [], |r| r.get(0))?))
    }

    fn push_content(&self, conversation_id: &str, seq: u64) -> StoreResult<Option<PushContent>> {
        self.read(|c| {
            let row: Option<(String, String, i64, Option<String>, String)> = c
                .prepare_cached(
                    "SELECT c.app_id, c.visitor_id, c.chatflow_id, m.author_name, m.body
                     FROM messages m JOIN conversations c ON c.id = m.conversation_id
                     WHERE m.conversation_id = ?1 AND m.seq = ?2",
                )?
                .query_row(params![conversation_id, seq_to_sql(seq)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()?;
            let Some((app_id, visitor_id, chatflow_id, author_name, body)) = row else { return Ok(None) };
            let flow = super::apps::chatflow_in(c, &app_id, chatflow_id)?;
            let sender_name = author_name
                .filter(|n| !n.trim().is_empty())
                .or_else(|| flow.as_ref().map(|f| f.header.display_name.clone()))
                .unwrap_or_default();
            Ok(Some(PushContent {
                chatflow_id,
                language: flow.map(|f| f.language).unwrap_or_else(|| "en".into()),
                sender_name,
                body,
                unread: unread_in(c, &visitor_id, Some(conversation_id))?,
                unread_total: unread_in(c, &visitor_id, None)?,
            }))
        })
    }

    fn finish_push_job(&self, id: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM push_queue WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    fn retry_push_job(&self, id: i64, due_at: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE push_queue SET attempts = attempts + 1, due_at = ?2 WHERE id = ?1",
                params![id, due_at],
            )?;
            Ok(())
        })
    }

    fn drop_push_token(&self, platform: PushPlatform, token: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM push_queue WHERE platform = ?1 AND token = ?2",
                params![platform_str(platform), token],
            )?;
            tx.execute(
                "DELETE FROM push_tokens WHERE platform = ?1 AND token = ?2",
                params![platform_str(platform), token],
            )?;
            Ok(())
        })
    }

    fn set_push_listener(&self, listener: PushListener) {
        *lock(&self.push_listener) = Some(listener);
    }
}

impl SqliteStore {
    /// After a commit that queued pushes.
    pub(super) fn push_committed(&self) {
        let listener = lock(&self.push_listener).clone();
        if let Some(listener) = listener {
            listener();
        }
    }
}

impl PushTx for SqliteTx<'_> {
    fn enqueue_pushes(
        &mut self,
        app_id: &str,
        visitor_id: &str,
        conversation_id: &str,
        seq: u64,
        now: i64,
    ) -> StoreResult<usize> {
        // Only devices of a platform the app can send to: an app without push configured queues nothing.
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO push_queue (app_id, visitor_id, conversation_id, seq, platform, token, due_at, created_at)
                 SELECT ?1, t.visitor_id, ?3, ?4, t.platform, t.token, ?5, ?5
                 FROM push_tokens t JOIN push_credentials p ON p.app_id = ?1
                 WHERE t.visitor_id = ?2
                   AND ((t.platform = 'fcm' AND p.fcm_private_key IS NOT NULL)
                     OR (t.platform = 'apns' AND p.apns_private_key IS NOT NULL))",
            )?
            .execute(params![app_id, visitor_id, conversation_id, seq_to_sql(seq), now])?;
        if n > 0 {
            self.pushes_queued = true;
        }
        Ok(n)
    }
}
