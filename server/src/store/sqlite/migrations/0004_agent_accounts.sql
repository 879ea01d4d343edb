-- 4: agent accounts (email + argon2id password hash, disabled flag), teams as their own rows, browser sessions.

-- `email` is kept as given; `email_norm` (trimmed, lowercased) makes it unique per app, case-insensitively.
ALTER TABLE agents ADD COLUMN email TEXT;
ALTER TABLE agents ADD COLUMN email_norm TEXT;
ALTER TABLE agents ADD COLUMN password_hash TEXT;
ALTER TABLE agents ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX agents_email ON agents(app_id, email_norm) WHERE email_norm IS NOT NULL;
CREATE INDEX agents_email_login ON agents(email_norm) WHERE email_norm IS NOT NULL;

-- Teams existed only through their members; a team may now exist before anyone joins it.
CREATE TABLE teams (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO teams (app_id, id, created_at) SELECT DISTINCT app_id, team_id, 0 FROM team_members;

-- Browser sessions of the web inbox. Only the SHA-256 of the cookie's token is stored; the CSRF token is not a
-- credential on its own (the cookie must come with it), so it is kept as is to be returned by `/v1/agent/me`.
CREATE TABLE agent_sessions (
    token_hash TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX agent_sessions_agent ON agent_sessions(agent_id);
