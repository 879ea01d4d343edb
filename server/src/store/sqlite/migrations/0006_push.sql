-- 6: push delivery. Tokens become one row per device (an identified visitor signs in on several), the app's provider
-- credentials, and the persisted queue of pushes to send.

-- A token names one device of one visitor: registering it again (another visitor on the same device) moves it.
CREATE TABLE push_tokens (
    platform TEXT NOT NULL CHECK (platform IN ('fcm', 'apns')),
    token TEXT NOT NULL,
    visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (platform, token)
);
CREATE INDEX push_tokens_visitor ON push_tokens(visitor_id, updated_at);
INSERT OR IGNORE INTO push_tokens (platform, token, visitor_id, updated_at)
    SELECT push_platform, push_token, id, created_at FROM visitors
    WHERE push_token IS NOT NULL AND push_platform IN ('fcm', 'apns');
-- The old single-token columns stay (a shipped migration is never edited) but nothing reads or writes them now.
UPDATE visitors SET push_token = NULL, push_platform = NULL;

-- Per-app provider credentials. Secrets (the service account's private key, the APNs .p8 key) are stored because
-- signing needs them; the API never returns them.
CREATE TABLE push_credentials (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    previews INTEGER NOT NULL DEFAULT 0,
    fcm_project_id TEXT,
    fcm_client_email TEXT,
    fcm_private_key TEXT,
    fcm_token_uri TEXT,
    apns_team_id TEXT,
    apns_key_id TEXT,
    apns_private_key TEXT,
    apns_topic TEXT,
    apns_environment TEXT CHECK (apns_environment IN ('sandbox', 'production')),
    updated_at INTEGER NOT NULL
);

-- One row per (message, device), written in the unit of work that stores the agent's or bot's message.
CREATE TABLE push_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    platform TEXT NOT NULL,
    token TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX push_queue_due ON push_queue(due_at, id);
