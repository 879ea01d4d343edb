//! Agent accounts, teams and browser sessions in SQLite.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::SqliteStore;
use crate::store::accounts::{AccountStore, AgentAccount, LoginCandidate, NewAgent, SeedLogin, SessionRecord, Team};
use crate::store::{AgentRecord, StoreError, StoreResult};

const ACCOUNT_COLS: &str =
    "id, app_id, display_name, avatar_url, available, email, disabled, password_hash IS NOT NULL";

fn agent_from_row(r: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        id: r.get(0)?,
        app_id: r.get(1)?,
        display_name: r.get(2)?,
        avatar_url: r.get(3)?,
        available: r.get(4)?,
    })
}

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<AgentAccount> {
    Ok(AgentAccount {
        agent: agent_from_row(r)?,
        email: r.get(5)?,
        disabled: r.get(6)?,
        has_password: r.get(7)?,
        team_ids: Vec::new(),
    })
}

fn with_teams(conn: &Connection, mut account: AgentAccount) -> StoreResult<AgentAccount> {
    let mut stmt = conn.prepare_cached("SELECT team_id FROM team_members WHERE agent_id = ?1 ORDER BY team_id")?;
    account.team_ids = stmt.query_map([&account.agent.id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(account)
}

fn account_in(conn: &Connection, app_id: &str, agent_id: &str) -> StoreResult<Option<AgentAccount>> {
    let found = conn
        .prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM agents WHERE id = ?1 AND app_id = ?2"))?
        .query_row([agent_id, app_id], account_from_row)
        .optional()?;
    found.map(|a| with_teams(conn, a)).transpose()
}

fn team_exists(conn: &Connection, app_id: &str, team_id: &str) -> StoreResult<()> {
    let exists: bool =
        conn.query_row("SELECT EXISTS(SELECT 1 FROM teams WHERE app_id = ?1 AND id = ?2)", [app_id, team_id], |r| {
            r.get(0)
        })?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("team `{team_id}` does not exist in this app")))
    }
}

impl AccountStore for SqliteStore {
    fn agent_accounts(&self, app_id: &str) -> StoreResult<Vec<AgentAccount>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM agents WHERE app_id = ?1 ORDER BY id"))?;
            let rows: Vec<AgentAccount> = stmt.query_map([app_id], account_from_row)?.collect::<Result<_, _>>()?;
            rows.into_iter().map(|a| with_teams(c, a)).collect()
        })
    }

    fn agent_account(&self, app_id: &str, agent_id: &str) -> StoreResult<Option<AgentAccount>> {
        self.read(|c| account_in(c, app_id, agent_id))
    }

    fn create_agent(&self, new: &NewAgent) -> StoreResult<AgentAccount> {
        let a = &new.agent;
        self.write(|tx| {
            let id_taken: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM agents WHERE id = ?1)", [&a.id], |r| r.get(0))?;
            if id_taken {
                return Err(StoreError::Taken(format!("agent id `{}` is already taken", a.id)));
            }
            let email_taken: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM agents WHERE app_id = ?1 AND email_norm = ?2)",
                [&a.app_id, &new.email_norm],
                |r| r.get(0),
            )?;
            if email_taken {
                return Err(StoreError::Taken(format!(
                    "email `{}` is already used by an agent of this app",
                    new.email
                )));
            }
            tx.execute(
                "INSERT INTO agents (id, app_id, display_name, avatar_url, available, token_hash, email, email_norm,
                     password_hash, disabled)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0)",
                params![
                    a.id,
                    a.app_id,
                    a.display_name,
                    a.avatar_url,
                    a.available,
                    new.token_hash,
                    new.email,
                    new.email_norm,
                    new.password_hash
                ],
            )?;
            account_in(tx, &a.app_id, &a.id)?.ok_or_else(|| StoreError::Corrupt("created agent vanished".into()))
        })
    }

    fn set_agent_disabled(&self, app_id: &str, agent_id: &str, disabled: bool) -> StoreResult<Option<AgentAccount>> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE agents SET disabled = ?3 WHERE id = ?1 AND app_id = ?2",
                params![agent_id, app_id, disabled],
            )?;
            if n == 0 {
                return Ok(None);
            }
            tx.execute("DELETE FROM agent_sessions WHERE agent_id = ?1", [agent_id])?;
            account_in(tx, app_id, agent_id)
        })
    }

    fn set_agent_password(&self, app_id: &str, agent_id: &str, password_hash: &str) -> StoreResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE agents SET password_hash = ?3 WHERE id = ?1 AND app_id = ?2",
                params![agent_id, app_id, password_hash],
            )?;
            if n > 0 {
                tx.execute("DELETE FROM agent_sessions WHERE agent_id = ?1", [agent_id])?;
            }
            Ok(n > 0)
        })
    }

    fn login_candidates(&self, email_norm: &str, app_id: Option<&str>) -> StoreResult<Vec<LoginCandidate>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, app_id, display_name, avatar_url, available, password_hash, disabled FROM agents
                 WHERE email_norm = ?1 AND (?2 IS NULL OR app_id = ?2) ORDER BY app_id",
            )?;
            let rows = stmt.query_map(params![email_norm, app_id], |r| {
                Ok(LoginCandidate { agent: agent_from_row(r)?, password_hash: r.get(5)?, disabled: r.get(6)? })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn apply_seed_logins(&self, app_id: &str, logins: &[SeedLogin], team_ids: &[String], now: i64) -> StoreResult<()> {
        self.write(|tx| {
            for l in logins {
                if let Some((email, norm)) = &l.email {
                    let other: Option<String> = tx
                        .query_row(
                            "SELECT id FROM agents WHERE app_id = ?1 AND email_norm = ?2 AND id <> ?3",
                            [app_id, norm, &l.agent_id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if let Some(other) = other {
                        return Err(StoreError::Invalid(format!(
                            "agent `{}`: email `{email}` is already used by agent `{other}`",
                            l.agent_id
                        )));
                    }
                    tx.execute(
                        "UPDATE agents SET email = ?3, email_norm = ?4 WHERE id = ?1 AND app_id = ?2",
                        params![l.agent_id, app_id, email, norm],
                    )?;
                }
                // The admin API owns a password once set: a restart must not undo a reset.
                if let Some(hash) = &l.password_hash {
                    tx.execute(
                        "UPDATE agents SET password_hash = ?3 WHERE id = ?1 AND app_id = ?2 AND password_hash IS NULL",
                        params![l.agent_id, app_id, hash],
                    )?;
                }
            }
            for team in team_ids {
                tx.execute(
                    "INSERT OR IGNORE INTO teams (app_id, id, created_at) VALUES (?1, ?2, ?3)",
                    params![app_id, team, now],
                )?;
            }
            Ok(())
        })
    }

    fn create_session(&self, s: &SessionRecord, started_after: i64, seen_after: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM agent_sessions WHERE created_at < ?1 OR last_seen_at < ?2",
                params![started_after, seen_after],
            )?;
            tx.execute(
                "INSERT INTO agent_sessions (token_hash, agent_id, csrf_token, created_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.token_hash, s.agent_id, s.csrf_token, s.created_at, s.last_seen_at],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, AgentRecord)>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT a.id, a.app_id, a.display_name, a.avatar_url, a.available,
                        s.token_hash, s.csrf_token, s.created_at, s.last_seen_at
                 FROM agent_sessions s JOIN agents a ON a.id = s.agent_id
                 WHERE s.token_hash = ?1 AND a.disabled = 0",
            )?
            .query_row([token_hash], |r| {
                let agent = agent_from_row(r)?;
                let session = SessionRecord {
                    token_hash: r.get(5)?,
                    agent_id: agent.id.clone(),
                    csrf_token: r.get(6)?,
                    created_at: r.get(7)?,
                    last_seen_at: r.get(8)?,
                };
                Ok((session, agent))
            })
            .optional()?)
        })
    }

    fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE agent_sessions SET last_seen_at = MAX(last_seen_at, ?2) WHERE token_hash = ?1",
                params![token_hash, now],
            )?;
            Ok(())
        })
    }

    fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM agent_sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
    }

    fn teams(&self, app_id: &str) -> StoreResult<Vec<Team>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM teams WHERE app_id = ?1 ORDER BY id")?;
            let ids: Vec<String> = stmt.query_map([app_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
            let members = super::apps::team_members_in(c, app_id)?;
            Ok(ids
                .into_iter()
                .map(|id| {
                    let agent_ids = members.iter().filter(|m| m.team_id == id).map(|m| m.agent_id.clone()).collect();
                    Team { id, agent_ids }
                })
                .collect())
        })
    }

    fn create_team(&self, app_id: &str, team_id: &str, now: i64) -> StoreResult<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT OR IGNORE INTO teams (app_id, id, created_at) VALUES (?1, ?2, ?3)",
                params![app_id, team_id, now],
            )? > 0)
        })
    }

    fn add_team_member(&self, app_id: &str, team_id: &str, agent_id: &str) -> StoreResult<()> {
        self.write(|tx| {
            team_exists(tx, app_id, team_id)?;
            if account_in(tx, app_id, agent_id)?.is_none() {
                return Err(StoreError::NotFound(format!("agent `{agent_id}` does not exist in this app")));
            }
            tx.execute(
                "INSERT OR IGNORE INTO team_members (app_id, team_id, agent_id) VALUES (?1, ?2, ?3)",
                params![app_id, team_id, agent_id],
            )?;
            Ok(())
        })
    }

    fn remove_team_member(&self, app_id: &str, team_id: &str, agent_id: &str) -> StoreResult<bool> {
        self.write(|tx| {
            team_exists(tx, app_id, team_id)?;
            Ok(tx.execute(
                "DELETE FROM team_members WHERE app_id = ?1 AND team_id = ?2 AND agent_id = ?3",
                params![app_id, team_id, agent_id],
            )? > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::migrations::{migrate, MIGRATIONS};

    #[test]
    fn upgrading_keeps_teams_and_agents_without_sign_in() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO apps (id, name, identity_secret, admin_token_hash, created_at) VALUES ('a', 'A', 's', 'h', 0);
             INSERT INTO agents (id, app_id, display_name, token_hash) VALUES ('ag1', 'a', 'Ann', 't1');
             INSERT INTO team_members (app_id, team_id, agent_id) VALUES ('a', 'support', 'ag1');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let team: String = conn.query_row("SELECT id FROM teams WHERE app_id = 'a'", [], |r| r.get(0)).unwrap();
        assert_eq!(team, "support", "teams known through their members became rows");
        let (email, hash, disabled): (Option<String>, Option<String>, bool) = conn
            .query_row("SELECT email, password_hash, disabled FROM agents WHERE id = 'ag1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((email, hash, disabled), (None, None, false), "token-only and enabled, as before");
    }
}
