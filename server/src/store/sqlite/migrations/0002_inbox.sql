-- 2: agent inbox and help desk.
--
-- Who handles a conversation: `bot` while a bot (or AI agent) chatflow runs it, `agents` once the bot handed off or an
-- agent took it over (or for live-chat chatflows from the start). `bot_started` remembers that a bot opened it (such
-- conversations have no transcript). `closed_at` is the last close (NULL while open).
ALTER TABLE conversations ADD COLUMN handled_by TEXT NOT NULL DEFAULT 'agents';
ALTER TABLE conversations ADD COLUMN bot_started INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN handoff_at INTEGER;
ALTER TABLE conversations ADD COLUMN taken_over_at INTEGER;
ALTER TABLE conversations ADD COLUMN spam INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN contact_unlinked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN closed_at INTEGER;
-- Inbox lists: newest first, cursor on (created_at, id).
CREATE INDEX conversations_inbox ON conversations(app_id, created_at, id);

-- Blocked senders: their conversations (past and future) show only in the `filtered` view.
CREATE TABLE blocked_senders (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    blocked_by TEXT,
    blocked_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, visitor_id)
);
-- Identify merges move an anonymous visitor's conversations to the user's visitor (then delete the anonymous one):
-- the block follows the conversations.
CREATE TRIGGER blocked_senders_follow_merge AFTER UPDATE OF visitor_id ON conversations
WHEN OLD.visitor_id <> NEW.visitor_id
BEGIN
    INSERT OR IGNORE INTO blocked_senders (app_id, visitor_id, blocked_by, blocked_at)
        SELECT app_id, NEW.visitor_id, blocked_by, blocked_at FROM blocked_senders
        WHERE app_id = NEW.app_id AND visitor_id = OLD.visitor_id;
END;

-- Help desk: create a ticket for each new conversation of a chatflow, or of a channel (the chatflow's row wins).
CREATE TABLE chatflow_help_desk (
    chatflow_id INTEGER PRIMARY KEY REFERENCES chatflows(id) ON DELETE CASCADE,
    create_tickets INTEGER NOT NULL,
    pipeline TEXT NOT NULL
);
CREATE TABLE channel_help_desk (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    create_tickets INTEGER NOT NULL,
    pipeline TEXT NOT NULL,
    PRIMARY KEY (app_id, channel)
);
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations(id) ON DELETE CASCADE,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    -- The first visitor message (shortened), until an agent edits it.
    subject TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tickets_app ON tickets(app_id, id);
