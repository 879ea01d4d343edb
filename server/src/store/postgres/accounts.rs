//! Agent accounts (email sign-in, disabling), teams and the web inbox's browser sessions in PostgreSQL. An email is
//! unique per app through `email_norm` (trimmed, lowercased by the domain) and its partial unique index.

use ::postgres::{GenericClient, Row};

use super::apps::{agent_from_row, team_members_in, AGENT_COLS};
use super::error::is_unique_violation;
use super::PostgresStore;
use crate::store::accounts::{AccountStore, AgentAccount, LoginCandidate, NewAgent, SeedLogin, SessionRecord, Team};
use crate::store::{AgentRecord, StoreError, StoreResult};

fn account_cols() -> String {
    format!("{AGENT_COLS}, email, disabled, password_hash IS NOT NULL")
}

fn account_from_row(r: &Row) -> AgentAccount {
    AgentAccount {
        agent: agent_from_row(r),
        email: r.get(5),
        disabled: r.get(6),
        has_password: r.get(7),
        team_ids: Vec::new(),
    }
}

fn with_teams(c: &mut impl GenericClient, mut account: AgentAccount) -> StoreResult<AgentAccount> {
    let rows =
        c.query("SELECT team_id FROM team_members WHERE agent_id = $1 ORDER BY team_id", &[&account.agent.id])?;
    account.team_ids = rows.iter().map(|r| r.get(0)).collect();
    Ok(account)
}

fn account_in(c: &mut impl GenericClient, app_id: &str, agent_id: &str) -> StoreResult<Option<AgentAccount>> {
    let sql = format!("SELECT {} FROM agents WHERE id = $1 AND app_id = $2", account_cols());
    let found = c.query_opt(&sql, &[&agent_id, &app_id])?;
    found.map(|r| with_teams(c, account_from_row(&r))).transpose()
}

fn team_exists(c: &mut impl GenericClient, app_id: &str, team_id: &str) -> StoreResult<()> {
    let exists: bool =
        c.query_one("SELECT EXISTS(SELECT 1 FROM teams WHERE app_id = $1 AND id = $2)", &[&app_id, &team_id])?.get(0);
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("team `{team_id}` does not exist in this app")))
    }
}

fn email_taken(email: &str) -> StoreError {
    StoreError::Taken(format!("email `{email}` is already used by an agent of this app"))
}

impl AccountStore for PostgresStore {
    fn agent_accounts(&self, app_id: &str) -> StoreResult<Vec<AgentAccount>> {
        self.read(|tx| {
            let sql = format!("SELECT {} FROM agents WHERE app_id = $1 ORDER BY id", account_cols());
            let rows = tx.query(&sql, &[&app_id])?;
            rows.iter().map(|r| with_teams(tx, account_from_row(r))).collect()
        })
    }

    fn agent_account(&self, app_id: &str, agent_id: &str) -> StoreResult<Option<AgentAccount>> {
        self.read(|tx| account_in(tx, app_id, agent_id))
    }

    fn create_agent(&self, new: &NewAgent) -> StoreResult<AgentAccount> {
        let a = &new.agent;
        self.write(|tx| {
            let id_taken: bool = tx.query_one("SELECT EXISTS(SELECT 1 FROM agents WHERE id = $1)", &[&a.id])?.get(0);
            if id_taken {
                return Err(StoreError::Taken(format!("agent id `{}` is already taken", a.id)));
            }
            let email_used: bool = tx
                .query_one(
                    "SELECT EXISTS(SELECT 1 FROM agents WHERE app_id = $1 AND email_norm = $2)",
                    &[&a.app_id, &new.email_norm],
                )?
                .get(0);
            if email_used {
                return Err(email_taken(&new.email));
            }
            let inserted = tx.execute(
                "INSERT INTO agents (id, app_id, display_name, avatar_url, available, token_hash, email, email_norm,
                     password_hash, disabled)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE)",
                &[
                    &a.id,
                    &a.app_id,
                    &a.display_name,
                    &a.avatar_url,
                    &a.available,
                    &new.token_hash,
                    &new.email,
                    &new.email_norm,
                    &new.password_hash,
                ],
            );
            match inserted {
                // Another writer took the id or the email between the checks and the insert.
                Err(e) if is_unique_violation(&e) => {
                    return Err(match e.as_db_error().and_then(|d| d.constraint()) {
                        Some("agents_email") => email_taken(&new.email),
                        Some("agents_pkey") => StoreError::Taken(format!("agent id `{}` is already taken", a.id)),
                        _ => e.into(),
                    });
                }
                other => other?,
            };
            account_in(tx, &a.app_id, &a.id)?.ok_or_else(|| StoreError::Corrupt("created agent vanished".into()))
        })
    }

    fn set_agent_disabled(&self, app_id: &str, agent_id: &str, disabled: bool) -> StoreResult<Option<AgentAccount>> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE agents SET disabled = $3 WHERE id = $1 AND app_id = $2",
                &[&agent_id, &app_id, &disabled],
            )?;
            if n == 0 {
                return Ok(None);
            }
            tx.execute("DELETE FROM agent_sessions WHERE agent_id = $1", &[&agent_id])?;
            account_in(tx, app_id, agent_id)
        })
    }

    fn set_agent_password(&self, app_id: &str, agent_id: &str, password_hash: &str) -> StoreResult<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE agents SET password_hash = $3 WHERE id = $1 AND app_id = $2",
                &[&agent_id, &app_id, &password_hash],
            )?;
            if n > 0 {
                tx.execute("DELETE FROM agent_sessions WHERE agent_id = $1", &[&agent_id])?;
            }
            Ok(n > 0)
        })
    }

    fn login_candidates(&self, email_norm: &str, app_id: Option<&str>) -> StoreResult<Vec<LoginCandidate>> {
        let rows = self.pool.get()?.query(
            &format!(
                "SELECT {AGENT_COLS}, password_hash, disabled FROM agents
                 WHERE email_norm = $1 AND ($2::TEXT IS NULL OR app_id = $2) ORDER BY app_id"
            ),
            &[&email_norm, &app_id],
        )?;
        Ok(rows
            .iter()
            .map(|r| LoginCandidate { agent: agent_from_row(r), password_hash: r.get(5), disabled: r.get(6) })
            .collect())
    }

    fn apply_seed_logins(&self, app_id: &str, logins: &[SeedLogin], team_ids: &[String], now: i64) -> StoreResult<()> {
        self.write(|tx| {
            for l in logins {
                if let Some((email, norm)) = &l.email {
                    let other = tx.query_opt(
                        "SELECT id FROM agents WHERE app_id = $1 AND email_norm = $2 AND id <> $3",
                        &[&app_id, norm, &l.agent_id],
                    )?;
                    if let Some(other) = other {
                        let other: String = other.get(0);
                        return Err(StoreError::Invalid(format!(
                            "agent `{}`: email `{email}` is already used by agent `{other}`",
                            l.agent_id
                        )));
                    }
                    tx.execute(
                        "UPDATE agents SET email = $3, email_norm = $4 WHERE id = $1 AND app_id = $2",
                        &[&l.agent_id, &app_id, email, norm],
                    )?;
                }
                // The admin API owns a password once set: a restart must not undo a reset.
                if let Some(hash) = &l.password_hash {
                    tx.execute(
                        "UPDATE agents SET password_hash = $3 WHERE id = $1 AND app_id = $2 AND password_hash IS NULL",
                        &[&l.agent_id, &app_id, hash],
                    )?;
                }
            }
            for team in team_ids {
                tx.execute(
                    "INSERT INTO teams (app_id, id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&app_id, team, &now],
                )?;
            }
            Ok(())
        })
    }

    fn create_session(&self, s: &SessionRecord, started_after: i64, seen_after: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM agent_sessions WHERE created_at < $1 OR last_seen_at < $2",
                &[&started_after, &seen_after],
            )?;
            tx.execute(
                "INSERT INTO agent_sessions (token_hash, agent_id, csrf_token, created_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&s.token_hash, &s.agent_id, &s.csrf_token, &s.created_at, &s.last_seen_at],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, AgentRecord)>> {
        let row = self.pool.get()?.query_opt(
            "SELECT a.id, a.app_id, a.display_name, a.avatar_url, a.available,
                    s.token_hash, s.csrf_token, s.created_at, s.last_seen_at
             FROM agent_sessions s JOIN agents a ON a.id = s.agent_id
             WHERE s.token_hash = $1 AND NOT a.disabled",
            &[&token_hash],
        )?;
        Ok(row.map(|r| {
            let agent = agent_from_row(&r);
            let session = SessionRecord {
                token_hash: r.get(5),
                agent_id: agent.id.clone(),
                csrf_token: r.get(6),
                created_at: r.get(7),
                last_seen_at: r.get(8),
            };
            (session, agent)
        }))
    }

    fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        self.pool.get()?.execute(
            "UPDATE agent_sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE token_hash = $1",
            &[&token_hash, &now],
        )?;
        Ok(())
    }

    fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.pool.get()?.execute("DELETE FROM agent_sessions WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn teams(&self, app_id: &str) -> StoreResult<Vec<Team>> {
        self.read(|tx| {
            let rows = tx.query("SELECT id FROM teams WHERE app_id = $1 ORDER BY id", &[&app_id])?;
            let members = team_members_in(tx, app_id)?;
            Ok(rows
                .iter()
                .map(|r| {
                    let id: String = r.get(0);
                    let agent_ids = members.iter().filter(|m| m.team_id == id).map(|m| m.agent_id.clone()).collect();
                    Team { id, agent_ids }
                })
                .collect())
        })
    }

    fn create_team(&self, app_id: &str, team_id: &str, now: i64) -> StoreResult<bool> {
        let n = self.pool.get()?.execute(
            "INSERT INTO teams (app_id, id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&app_id, &team_id, &now],
        )?;
        Ok(n > 0)
    }

    fn add_team_member(&self, app_id: &str, team_id: &str, agent_id: &str) -> StoreResult<()> {
        self.write(|tx| {
            team_exists(tx, app_id, team_id)?;
            if account_in(tx, app_id, agent_id)?.is_none() {
                return Err(StoreError::NotFound(format!("agent `{agent_id}` does not exist in this app")));
            }
            tx.execute(
                "INSERT INTO team_members (app_id, team_id, agent_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&app_id, &team_id, &agent_id],
            )?;
            Ok(())
        })
    }

    fn remove_team_member(&self, app_id: &str, team_id: &str, agent_id: &str) -> StoreResult<bool> {
        self.write(|tx| {
            team_exists(tx, app_id, team_id)?;
            let n = tx.execute(
                "DELETE FROM team_members WHERE app_id = $1 AND team_id = $2 AND agent_id = $3",
                &[&app_id, &team_id, &agent_id],
            )?;
            Ok(n > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    // On the backend the run asks for (`CHATFLOW_TEST_POSTGRES`).
    use crate::store::accounts::{NewAgent, SeedLogin, SessionRecord};
    use crate::store::test_backends::store;
    use crate::store::{AgentRecord, StoreError};

    fn new_agent(id: &str, email: &str) -> NewAgent {
        NewAgent {
            agent: AgentRecord {
                id: id.into(),
                app_id: "app1".into(),
                display_name: id.into(),
                avatar_url: None,
                available: false,
            },
            email: email.into(),
            email_norm: email.trim().to_lowercase(),
            password_hash: "hash".into(),
            token_hash: format!("token-{id}"),
        }
    }

    #[test]
    fn ids_and_emails_are_unique_and_seeds_keep_a_reset_password() {
        let s = store();
        let made = s.create_agent(&new_agent("ag2", "Bo@Example.com")).unwrap();
        assert_eq!((made.email.as_deref(), made.has_password, made.disabled), (Some("Bo@Example.com"), true, false));
        assert!(matches!(s.create_agent(&new_agent("ag3", "bo@example.com")), Err(StoreError::Taken(_))));
        assert!(matches!(s.create_agent(&new_agent("ag1", "x@example.com")), Err(StoreError::Taken(_))));
        let login = |hash: &str| SeedLogin {
            agent_id: "ag1".into(),
            email: Some(("Ann@example.com".into(), "ann@example.com".into())),
            password_hash: Some(hash.into()),
        };
        s.apply_seed_logins("app1", &[login("seeded")], &["support".into()], 1).unwrap();
        assert!(s.set_agent_password("app1", "ag1", "reset").unwrap());
        s.apply_seed_logins("app1", &[login("seeded")], &["support".into()], 2).unwrap();
        let found = s.login_candidates("ann@example.com", None).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].password_hash.as_deref(), Some("reset"));
        assert!(s.login_candidates("ann@example.com", Some("other")).unwrap().is_empty());
        let clash = SeedLogin { agent_id: "ag2".into(), email: login("x").email, password_hash: None };
        assert!(matches!(s.apply_seed_logins("app1", &[clash], &[], 3), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn sessions_end_with_a_disabled_agent_and_teams_need_to_exist() {
        let s = store();
        let session = |token: &str| SessionRecord {
            token_hash: token.into(),
            agent_id: "ag1".into(),
            csrf_token: "csrf".into(),
            created_at: 10,
            last_seen_at: 10,
        };
        s.create_session(&session("old"), 0, 0).unwrap();
        s.create_session(&session("new"), 5, 5).unwrap();
        s.touch_session("new", 20).unwrap();
        s.touch_session("new", 15).unwrap();
        assert_eq!(s.session("new").unwrap().unwrap().0.last_seen_at, 20, "last seen only rises");
        s.set_agent_disabled("app1", "ag1", true).unwrap().unwrap();
        assert!(s.session("new").unwrap().is_none());
        assert!(s.set_agent_disabled("other", "ag1", false).unwrap().is_none());

        assert!(matches!(s.add_team_member("app1", "night", "ag1"), Err(StoreError::NotFound(_))));
        assert!(s.create_team("app1", "night", 1).unwrap());
        assert!(!s.create_team("app1", "night", 2).unwrap());
        assert!(matches!(s.add_team_member("app1", "night", "ghost"), Err(StoreError::NotFound(_))));
        s.add_team_member("app1", "night", "ag1").unwrap();
        s.add_team_member("app1", "night", "ag1").unwrap();
        assert_eq!(s.agent_account("app1", "ag1").unwrap().unwrap().team_ids, vec!["night".to_owned()]);
        assert_eq!(s.teams("app1").unwrap()[0].agent_ids, vec!["ag1".to_owned()]);
        assert!(s.remove_team_member("app1", "night", "ag1").unwrap());
        assert!(!s.remove_team_member("app1", "night", "ag1").unwrap());
    }
}
