-- 5: the agents' live feed (an append-only log of what changed, per app), internal notes, canned responses, and the
-- team a conversation was assigned to.

-- One row per change an agent's inbox shows, written in the same transaction as the change. `ref` is the message's
-- seq (kind `message`) or the note's id (kind `note`); a `conversation` event means "its inbox row changed". The feed
-- renders the payload when it delivers the event (messages and notes never change; a row is shown as it is now).
-- Only the newest events are kept (retention by count): a cursor older than the oldest kept one must resync.
CREATE TABLE agent_feed (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('conversation', 'message', 'note')),
    conversation_id TEXT NOT NULL,
    ref TEXT
);
CREATE INDEX agent_feed_app ON agent_feed(app_id, id);

-- Internal notes: agents only. A table of their own, so no visitor path (history, catch-up, realtime, transcript,
-- push) can select one by mistake.
CREATE TABLE agent_notes (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    client_message_id TEXT,
    after_seq INTEGER NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT,
    author_avatar TEXT,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX agent_notes_conversation ON agent_notes(conversation_id, created_at);
CREATE UNIQUE INDEX agent_notes_client_id ON agent_notes(conversation_id, client_message_id)
    WHERE client_message_id IS NOT NULL;

CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    shortcut TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (app_id, shortcut)
);

-- The team a conversation was assigned to (`POST …/assign {"team_id"}`), and each team's round-robin position.
ALTER TABLE conversations ADD COLUMN team_id TEXT;
CREATE TABLE team_routing_cursors (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    team_id TEXT NOT NULL,
    cursor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, team_id)
);
