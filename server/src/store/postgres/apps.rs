//! Apps, agents, team members and chatflows in PostgreSQL. A chatflow's settings are its wire JSON (`ChatflowInput`);
//! seeds may give chatflows fixed ids, and the identity then moves past them.

use ::postgres::{GenericClient, Row};
use chatflow_protocol::{Chatflow, ChatflowInput};

use super::PostgresStore;
use crate::store::{AgentRecord, AppRecord, AppSeed, AppStore, ChatflowStore, StoreError, StoreResult, TeamMember};

pub(super) const AGENT_COLS: &str = "id, app_id, display_name, avatar_url, available";

fn app_from_row(r: &Row) -> AppRecord {
    AppRecord { id: r.get(0), name: r.get(1), identity_secret: r.get(2) }
}

/// An agent from the first five columns of `r` (`AGENT_COLS`).
pub(super) fn agent_from_row(r: &Row) -> AgentRecord {
    AgentRecord { id: r.get(0), app_id: r.get(1), display_name: r.get(2), avatar_url: r.get(3), available: r.get(4) }
}

fn chatflow_from_parts(id: i64, config: &str, updated_at: i64) -> StoreResult<Chatflow> {
    let input: ChatflowInput = serde_json::from_str(config)
        .map_err(|e| StoreError::Corrupt(format!("chatflow {id} settings do not parse: {e}")))?;
    Ok(input.into_chatflow(id, updated_at))
}

fn to_json(input: &ChatflowInput) -> StoreResult<String> {
    serde_json::to_string(input).map_err(|e| StoreError::Corrupt(format!("chatflow settings do not serialize: {e}")))
}

pub(super) fn chatflow_in(c: &mut impl GenericClient, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>> {
    let row = c.query_opt("SELECT config, updated_at FROM chatflows WHERE id = $1 AND app_id = $2", &[&id, &app_id])?;
    row.map(|r| chatflow_from_parts(id, r.get(0), r.get(1))).transpose()
}

pub(super) fn agents_in(c: &mut impl GenericClient, app_id: &str) -> StoreResult<Vec<AgentRecord>> {
    // A disabled agent is out of routing, assignment and the agents list.
    let rows = c.query(
        &format!("SELECT {AGENT_COLS} FROM agents WHERE app_id = $1 AND NOT disabled ORDER BY id"),
        &[&app_id],
    )?;
    Ok(rows.iter().map(agent_from_row).collect())
}

pub(super) fn team_members_in(c: &mut impl GenericClient, app_id: &str) -> StoreResult<Vec<TeamMember>> {
    let rows =
        c.query("SELECT team_id, agent_id FROM team_members WHERE app_id = $1 ORDER BY team_id, agent_id", &[&app_id])?;
    Ok(rows.iter().map(|r| TeamMember { team_id: r.get(0), agent_id: r.get(1) }).collect())
}

/// Returns the chatflow's round-robin cursor and advances it (0 when the chatflow is gone). One statement, so
/// concurrent writers each get their own value.
pub(super) fn routing_cursor_in(c: &mut impl GenericClient, chatflow_id: i64) -> StoreResult<u64> {
    let row = c.query_opt(
        "UPDATE chatflows SET routing_cursor = routing_cursor + 1 WHERE id = $1 RETURNING routing_cursor - 1",
        &[&chatflow_id],
    )?;
    Ok(row.map(|r| super::seq_from_sql(r.get(0))).unwrap_or(0))
}

/// Moves the chatflow identity past the highest id in the table, never backwards (as SQLite's AUTOINCREMENT: a
/// deleted chatflow's id is not handed out again).
fn move_chatflow_identity(c: &mut impl GenericClient) -> StoreResult<()> {
    c.execute(
        "SELECT setval(s.seq, GREATEST((SELECT MAX(id) FROM chatflows), COALESCE(pg_sequence_last_value(s.seq), 0), 1))
         FROM (SELECT pg_get_serial_sequence('chatflows', 'id')::regclass AS seq) s",
        &[],
    )?;
    Ok(())
}

impl AppStore for PostgresStore {
    fn apply_app_seed(&self, seed: &AppSeed, now: i64) -> StoreResult<bool> {
        self.write(|tx| {
            let app = &seed.app;
            // `xmax = 0` on the returned row: this statement inserted it. One statement, so two servers seeding the
            // same app at once agree on which of them created it.
            let created: bool = tx
                .query_one(
                    "INSERT INTO apps (id, name, identity_secret, admin_token_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, identity_secret = excluded.identity_secret,
                         admin_token_hash = excluded.admin_token_hash
                     RETURNING xmax = 0",
                    &[&app.id, &app.name, &app.identity_secret, &seed.admin_token_hash, &now],
                )?
                .get(0);
            for (agent, token_hash) in &seed.agents {
                // Presence is live state: the seed sets it for a new agent and leaves a known agent's alone. No row
                // back: the id is another app's agent.
                let mine = tx.query_opt(
                    "INSERT INTO agents (id, app_id, display_name, avatar_url, available, token_hash)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
                         avatar_url = excluded.avatar_url, token_hash = excluded.token_hash
                     WHERE agents.app_id = excluded.app_id
                     RETURNING id",
                    &[&agent.id, &app.id, &agent.display_name, &agent.avatar_url, &agent.available, token_hash],
                )?;
                if mine.is_none() {
                    return Err(StoreError::Invalid(format!("agent id `{}` already belongs to another app", agent.id)));
                }
            }
            // The seed owns the members of the teams it names; teams made through the admin API keep theirs.
            let mut seeded: Vec<&str> = seed.team_members.iter().map(|m| m.team_id.as_str()).collect();
            seeded.dedup();
            for team in seeded {
                tx.execute("DELETE FROM team_members WHERE app_id = $1 AND team_id = $2", &[&app.id, &team])?;
            }
            for m in &seed.team_members {
                tx.execute(
                    "INSERT INTO team_members (app_id, team_id, agent_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&app.id, &m.team_id, &m.agent_id],
                )?;
            }
            if created {
                // Chatflows come from the seed only once: afterwards the admin API owns them, and a restart with the
                // same seed must not undo an admin's edits.
                let mut fixed = false;
                for (id, input) in &seed.chatflows {
                    let config = to_json(input)?;
                    match id {
                        Some(id) => {
                            fixed = true;
                            tx.execute(
                                "INSERT INTO chatflows (id, app_id, config, updated_at) VALUES ($1, $2, $3, $4)",
                                &[id, &app.id, &config, &now],
                            )?
                        }
                        None => tx.execute(
                            "INSERT INTO chatflows (app_id, config, updated_at) VALUES ($1, $2, $3)",
                            &[&app.id, &config, &now],
                        )?,
                    };
                }
                if fixed {
                    move_chatflow_identity(tx)?;
                }
            }
            Ok(created)
        })
    }

    fn app(&self, app_id: &str) -> StoreResult<Option<AppRecord>> {
        let row = self.pool.get()?.query_opt("SELECT id, name, identity_secret FROM apps WHERE id = $1", &[&app_id])?;
        Ok(row.as_ref().map(app_from_row))
    }

    fn app_by_admin_token(&self, token_hash: &str) -> StoreResult<Option<AppRecord>> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT id, name, identity_secret FROM apps WHERE admin_token_hash = $1", &[&token_hash])?;
        Ok(row.as_ref().map(app_from_row))
    }

    fn agent_by_token(&self, token_hash: &str) -> StoreResult<Option<AgentRecord>> {
        let row = self.pool.get()?.query_opt(
            &format!("SELECT {AGENT_COLS} FROM agents WHERE token_hash = $1 AND NOT disabled"),
            &[&token_hash],
        )?;
        Ok(row.as_ref().map(agent_from_row))
    }

    fn agents(&self, app_id: &str) -> StoreResult<Vec<AgentRecord>> {
        agents_in(&mut *self.pool.get()?, app_id)
    }

    fn team_members(&self, app_id: &str) -> StoreResult<Vec<TeamMember>> {
        team_members_in(&mut *self.pool.get()?, app_id)
    }

    fn set_agent_presence(&self, agent_id: &str, available: bool) -> StoreResult<()> {
        let n = self.pool.get()?.execute("UPDATE agents SET available = $2 WHERE id = $1", &[&agent_id, &available])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("agent `{agent_id}` does not exist")));
        }
        Ok(())
    }
}

impl ChatflowStore for PostgresStore {
    fn chatflows(&self, app_id: &str) -> StoreResult<Vec<Chatflow>> {
        let rows = self
            .pool
            .get()?
            .query("SELECT id, config, updated_at FROM chatflows WHERE app_id = $1 ORDER BY id", &[&app_id])?;
        rows.iter().map(|r| chatflow_from_parts(r.get(0), r.get(1), r.get(2))).collect()
    }

    fn chatflow(&self, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>> {
        chatflow_in(&mut *self.pool.get()?, app_id, id)
    }

    fn create_chatflow(&self, app_id: &str, input: &ChatflowInput, now: i64) -> StoreResult<Chatflow> {
        let config = to_json(input)?;
        let row = self.pool.get()?.query_one(
            "INSERT INTO chatflows (app_id, config, updated_at) VALUES ($1, $2, $3) RETURNING id",
            &[&app_id, &config, &now],
        )?;
        Ok(input.clone().into_chatflow(row.get(0), now))
    }

    fn update_chatflow(&self, app_id: &str, id: i64, input: &ChatflowInput, now: i64) -> StoreResult<Option<Chatflow>> {
        let config = to_json(input)?;
        let n = self.pool.get()?.execute(
            "UPDATE chatflows SET config = $3, updated_at = $4 WHERE id = $1 AND app_id = $2",
            &[&id, &app_id, &config, &now],
        )?;
        Ok((n > 0).then(|| input.clone().into_chatflow(id, now)))
    }

    fn delete_chatflow(&self, app_id: &str, id: i64) -> StoreResult<bool> {
        let n = self.pool.get()?.execute("DELETE FROM chatflows WHERE id = $1 AND app_id = $2", &[&id, &app_id])?;
        Ok(n > 0)
    }

    fn next_routing_cursor(&self, chatflow_id: i64) -> StoreResult<u64> {
        routing_cursor_in(&mut *self.pool.get()?, chatflow_id)
    }
}

#[cfg(test)]
mod tests {
    // On the backend the run asks for (`CHATFLOW_TEST_POSTGRES`), like the SQLite file's own tests.
    use crate::store::sqlite::test_support::chatflow_input;
    use crate::store::test_backends::store;
    use crate::store::{AgentRecord, AppRecord, AppSeed, StoreError};

    fn seed(app: &str, agent: &str, flow: Option<i64>) -> AppSeed {
        AppSeed {
            app: AppRecord { id: app.into(), name: "App".into(), identity_secret: "s2".into() },
            admin_token_hash: format!("{app}-admin"),
            agents: vec![(
                AgentRecord {
                    id: agent.into(),
                    app_id: app.into(),
                    display_name: "Ann".into(),
                    avatar_url: None,
                    available: false,
                },
                format!("{app}-{agent}"),
            )],
            team_members: vec![],
            chatflows: vec![(flow, chatflow_input("Seeded"))],
        }
    }

    #[test]
    fn a_second_seeding_keeps_admin_edits_and_live_presence() {
        let s = store();
        let mut edited = chatflow_input("Edited");
        edited.priority = 7;
        s.update_chatflow("app1", 1, &edited, 5).unwrap().unwrap();
        s.set_agent_presence("ag1", true).unwrap();
        let mut again = seed("app1", "ag1", Some(1));
        again.app.name = "Renamed".into();
        assert!(!s.apply_app_seed(&again, 9).unwrap());
        let flows = s.chatflows("app1").unwrap();
        assert_eq!((flows.len(), flows[0].name.as_str()), (1, "Edited"));
        assert_eq!(s.app("app1").unwrap().unwrap().identity_secret, "s2");
        assert!(s.agents("app1").unwrap()[0].available, "presence is live state");
        assert!(matches!(s.set_agent_presence("nobody", true), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn created_chatflows_never_take_a_seeded_or_deleted_id() {
        let s = store();
        assert!(s.apply_app_seed(&seed("app2", "ag2", Some(50)), 1).unwrap());
        assert!(s.apply_app_seed(&seed("app3", "ag3", None), 1).unwrap());
        let created = s.create_chatflow("app1", &chatflow_input("Two"), 3).unwrap();
        assert!(created.id > 50, "{}", created.id);
        assert!(s.delete_chatflow("app1", created.id).unwrap());
        assert!(!s.delete_chatflow("other", 1).unwrap());
        assert!(s.chatflow("other", 1).unwrap().is_none());
        let next = s.create_chatflow("app1", &chatflow_input("Three"), 4).unwrap();
        assert!(next.id > created.id, "{} after {}", next.id, created.id);
    }

    #[test]
    fn an_agent_id_of_another_app_is_refused() {
        let s = store();
        let err = s.apply_app_seed(&seed("app2", "ag1", None), 1).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert!(s.app("app2").unwrap().is_none(), "nothing of a refused seed stays");
    }

    #[test]
    fn routing_cursor_counts_up() {
        let s = store();
        assert_eq!(s.next_routing_cursor(1).unwrap(), 0);
        assert_eq!(s.next_routing_cursor(1).unwrap(), 1);
        assert_eq!(s.next_routing_cursor(999).unwrap(), 0);
    }
}
