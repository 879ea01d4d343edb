//! Apps, agents, teams and chatflows in SQLite.

use chatflow_protocol::{Chatflow, ChatflowInput};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::SqliteStore;
use crate::store::{AgentRecord, AppRecord, AppSeed, AppStore, ChatflowStore, StoreError, StoreResult, TeamMember};

fn app_from_row(r: &Row<'_>) -> rusqlite::Result<AppRecord> {
    Ok(AppRecord { id: r.get(0)?, name: r.get(1)?, identity_secret: r.get(2)? })
}

fn agent_from_row(r: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        id: r.get(0)?,
        app_id: r.get(1)?,
        display_name: r.get(2)?,
        avatar_url: r.get(3)?,
        available: r.get(4)?,
    })
}

const AGENT_COLS: &str = "id, app_id, display_name, avatar_url, available";

fn chatflow_from_parts(id: i64, config: &str, updated_at: i64) -> StoreResult<Chatflow> {
    let input: ChatflowInput = serde_json::from_str(config)
        .map_err(|e| StoreError::Corrupt(format!("chatflow {id} settings do not parse: {e}")))?;
    Ok(input.into_chatflow(id, updated_at))
}

fn to_json(input: &ChatflowInput) -> StoreResult<String> {
    serde_json::to_string(input).map_err(|e| StoreError::Corrupt(format!("chatflow settings do not serialize: {e}")))
}

pub(super) fn chatflow_in(conn: &Connection, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT config, updated_at FROM chatflows WHERE id = ?1 AND app_id = ?2")?
        .query_row(params![id, app_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(config, updated_at)| chatflow_from_parts(id, &config, updated_at)).transpose()
}

pub(super) fn agents_in(conn: &Connection, app_id: &str) -> StoreResult<Vec<AgentRecord>> {
    // A disabled agent is out of routing, assignment and the agents list.
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {AGENT_COLS} FROM agents WHERE app_id = ?1 AND disabled = 0 ORDER BY id"))?;
    let rows = stmt.query_map([app_id], agent_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn team_members_in(conn: &Connection, app_id: &str) -> StoreResult<Vec<TeamMember>> {
    let mut stmt =
        conn.prepare_cached("SELECT team_id, agent_id FROM team_members WHERE app_id = ?1 ORDER BY team_id, agent_id")?;
    let rows = stmt.query_map([app_id], |r| Ok(TeamMember { team_id: r.get(0)?, agent_id: r.get(1)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Returns the chatflow's round-robin cursor and advances it (0 when the chatflow is gone).
pub(super) fn routing_cursor_in(conn: &Connection, chatflow_id: i64) -> StoreResult<u64> {
    let cursor: Option<i64> = conn
        .prepare_cached(
            "UPDATE chatflows SET routing_cursor = routing_cursor + 1 WHERE id = ?1 RETURNING routing_cursor - 1",
        )?
        .query_row([chatflow_id], |r| r.get(0))
        .optional()?;
    Ok(cursor.map(super::seq_from_sql).unwrap_or(0))
}

impl AppStore for SqliteStore {
    fn apply_app_seed(&self, seed: &AppSeed, now: i64) -> StoreResult<bool> {
        self.write(|tx| {
            let app = &seed.app;
            let existed: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM apps WHERE id = ?1)", [&app.id], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO apps (id, name, identity_secret, admin_token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, identity_secret = excluded.identity_secret,
                     admin_token_hash = excluded.admin_token_hash",
                params![app.id, app.name, app.identity_secret, seed.admin_token_hash, now],
            )?;
            for (agent, token_hash) in &seed.agents {
                let owner: Option<String> =
                    tx.query_row("SELECT app_id FROM agents WHERE id = ?1", [&agent.id], |r| r.get(0)).optional()?;
                if owner.as_deref().is_some_and(|o| o != app.id) {
                    return Err(StoreError::Invalid(format!("agent id `{}` already belongs to another app", agent.id)));
                }
                // Presence is live state: the seed sets it for a new agent and leaves a known agent's alone.
                tx.execute(
                    "INSERT INTO agents (id, app_id, display_name, avatar_url, available, token_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(id) DO UPDATE SET display_name = excluded.display_name,
                         avatar_url = excluded.avatar_url, token_hash = excluded.token_hash",
                    params![agent.id, app.id, agent.display_name, agent.avatar_url, agent.available, token_hash],
                )?;
            }
            // The seed owns the members of the teams it names; teams made through the admin API keep theirs.
            let mut seeded: Vec<&str> = seed.team_members.iter().map(|m| m.team_id.as_str()).collect();
            seeded.dedup();
            for team in seeded {
                tx.execute("DELETE FROM team_members WHERE app_id = ?1 AND team_id = ?2", [&app.id, team])?;
            }
            for m in &seed.team_members {
                tx.execute(
                    "INSERT OR IGNORE INTO team_members (app_id, team_id, agent_id) VALUES (?1, ?2, ?3)",
                    params![app.id, m.team_id, m.agent_id],
                )?;
            }
            if !existed {
                // Chatflows come from the seed only once: afterwards the admin API owns them, and a restart with the
                // same seed must not undo an admin's edits.
                for (id, input) in &seed.chatflows {
                    tx.execute(
                        "INSERT INTO chatflows (id, app_id, config, updated_at) VALUES (?1, ?2, ?3, ?4)",
                        params![id, app.id, to_json(input)?, now],
                    )?;
                }
            }
            Ok(!existed)
        })
    }

    fn app(&self, app_id: &str) -> StoreResult<Option<AppRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT id, name, identity_secret FROM apps WHERE id = ?1")?
                .query_row([app_id], app_from_row)
                .optional()?)
        })
    }

    fn app_by_admin_token(&self, token_hash: &str) -> StoreResult<Option<AppRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT id, name, identity_secret FROM apps WHERE admin_token_hash = ?1")?
                .query_row([token_hash], app_from_row)
                .optional()?)
        })
    }

    fn agent_by_token(&self, token_hash: &str) -> StoreResult<Option<AgentRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!("SELECT {AGENT_COLS} FROM agents WHERE token_hash = ?1 AND disabled = 0"))?
                .query_row([token_hash], agent_from_row)
                .optional()?)
        })
    }

    fn agents(&self, app_id: &str) -> StoreResult<Vec<AgentRecord>> {
        self.read(|c| agents_in(c, app_id))
    }

    fn team_members(&self, app_id: &str) -> StoreResult<Vec<TeamMember>> {
        self.read(|c| team_members_in(c, app_id))
    }

    fn set_agent_presence(&self, agent_id: &str, available: bool) -> StoreResult<()> {
        self.write(|tx| {
            let n = tx.execute("UPDATE agents SET available = ?2 WHERE id = ?1", params![agent_id, available])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("agent `{agent_id}` does not exist")));
            }
            Ok(())
        })
    }
}

impl ChatflowStore for SqliteStore {
    fn chatflows(&self, app_id: &str) -> StoreResult<Vec<Chatflow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT id, config, updated_at FROM chatflows WHERE app_id = ?1 ORDER BY id")?;
            let rows = stmt.query_map([app_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (id, config, updated_at) = row?;
                out.push(chatflow_from_parts(id, &config, updated_at)?);
            }
            Ok(out)
        })
    }

    fn chatflow(&self, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>> {
        self.read(|c| chatflow_in(c, app_id, id))
    }

    fn create_chatflow(&self, app_id: &str, input: &ChatflowInput, now: i64) -> StoreResult<Chatflow> {
        let config = to_json(input)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO chatflows (app_id, config, updated_at) VALUES (?1, ?2, ?3)",
                params![app_id, config, now],
            )?;
            Ok(input.clone().into_chatflow(tx.last_insert_rowid(), now))
        })
    }

    fn update_chatflow(&self, app_id: &str, id: i64, input: &ChatflowInput, now: i64) -> StoreResult<Option<Chatflow>> {
        let config = to_json(input)?;
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE chatflows SET config = ?3, updated_at = ?4 WHERE id = ?1 AND app_id = ?2",
                params![id, app_id, config, now],
            )?;
            Ok((n > 0).then(|| input.clone().into_chatflow(id, now)))
        })
    }

    fn delete_chatflow(&self, app_id: &str, id: i64) -> StoreResult<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM chatflows WHERE id = ?1 AND app_id = ?2", params![id, app_id])? > 0))
    }

    fn next_routing_cursor(&self, chatflow_id: i64) -> StoreResult<u64> {
        self.write(|tx| routing_cursor_in(tx, chatflow_id))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{chatflow_input, store};
    use super::*;

    #[test]
    fn seed_is_idempotent_and_keeps_admin_edits() {
        let (_dir, s) = store();
        let mut edited = chatflow_input("Edited");
        edited.priority = 7;
        s.update_chatflow("app1", 1, &edited, 5).unwrap().unwrap();
        // A second seeding of the same app does not bring the original chatflow back.
        let seed = AppSeed {
            app: AppRecord { id: "app1".into(), name: "Renamed".into(), identity_secret: "s2".into() },
            admin_token_hash: "adminhash".into(),
            agents: vec![],
            team_members: vec![],
            chatflows: vec![(Some(1), chatflow_input("Support"))],
        };
        assert!(!s.apply_app_seed(&seed, 9).unwrap());
        let flows = s.chatflows("app1").unwrap();
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].name, "Edited");
        assert_eq!(s.app("app1").unwrap().unwrap().identity_secret, "s2");
    }

    #[test]
    fn chatflows_are_scoped_to_their_app() {
        let (_dir, s) = store();
        assert!(s.chatflow("app1", 1).unwrap().is_some());
        assert!(s.chatflow("other", 1).unwrap().is_none());
        assert!(!s.delete_chatflow("other", 1).unwrap());
        let created = s.create_chatflow("app1", &chatflow_input("Two"), 3).unwrap();
        assert!(created.id > 1);
        assert!(s.delete_chatflow("app1", created.id).unwrap());
    }

    #[test]
    fn routing_cursor_counts_up() {
        let (_dir, s) = store();
        assert_eq!(s.next_routing_cursor(1).unwrap(), 0);
        assert_eq!(s.next_routing_cursor(1).unwrap(), 1);
        assert_eq!(s.next_routing_cursor(999).unwrap(), 0);
    }
}
