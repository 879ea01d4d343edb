-- Schema version 1 of the SDK's local store. Never edit a shipped migration: add the next number instead.

-- Small key/value facts: chatflow list ETag and fetch time, sync cursors of singletons.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The current visitor session (at most one row). Tokens are secrets: never logged.
CREATE TABLE session (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    visitor_id    TEXT NOT NULL,
    visitor_token TEXT NOT NULL,
    user_id       TEXT,
    email         TEXT,
    created_at    INTEGER NOT NULL
);

-- The app's chatflows as last fetched (JSON of protocol::Chatflow), for offline resolution.
CREATE TABLE chatflows (
    id   INTEGER PRIMARY KEY NOT NULL,
    json TEXT NOT NULL
);

-- Last known team availability per chatflow (from the status route).
CREATE TABLE chatflow_status (
    chatflow_id    INTEGER PRIMARY KEY NOT NULL,
    available      INTEGER NOT NULL,
    next_change_at INTEGER,
    fetched_at     INTEGER NOT NULL
);

-- Chat properties of the visitor, mirrored to the server.
CREATE TABLE properties (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Consent decisions per (chatflow, kind, text version). `synced` once the server stored the record.
CREATE TABLE consents (
    chatflow_id       INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    text_hash         TEXT NOT NULL,
    decision          TEXT NOT NULL,
    subscription_type TEXT,
    record_id         TEXT NOT NULL UNIQUE,
    decided_at        INTEGER NOT NULL,
    synced            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chatflow_id, kind, text_hash)
);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY NOT NULL,
    chatflow_id      INTEGER NOT NULL,
    status           TEXT NOT NULL,
    assignee_json    TEXT,
    created_at       INTEGER NOT NULL,
    -- Highest seq the server reported for the conversation.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    -- Every message 1..=synced_seq is in `messages`: the catch-up cursor.
    synced_seq       INTEGER NOT NULL DEFAULT 0,
    -- Highest seq the visitor has read (read marker) and whether the server knows it yet.
    read_seq         INTEGER NOT NULL DEFAULT 0,
    read_seq_synced  INTEGER NOT NULL DEFAULT 0,
    -- Highest seq the team has read.
    agent_read_seq   INTEGER NOT NULL DEFAULT 0
);

-- Messages, server-confirmed (seq set) and local echoes (seq NULL, state queued/sending/wedged).
CREATE TABLE messages (
    local_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id   TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq               INTEGER,
    client_message_id TEXT,
    author_kind       TEXT NOT NULL,
    author_id         TEXT,
    author_name       TEXT,
    author_avatar     TEXT,
    body              TEXT NOT NULL,
    quick_replies     TEXT,
    quick_reply_id    TEXT,
    created_at        INTEGER NOT NULL,
    state             TEXT NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (client_message_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);

-- The persistent send queue: one row per pending action, delivered in `id` order per conversation.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,
    conversation_id TEXT,
    client_id       TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT,
    error_message   TEXT,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_by_conversation ON outbox (conversation_id, id);
