-- 7: email over SMTP — each app's SMTP settings and the persisted outbox of emails to send.

-- One row per app that sends email. The password is kept in clear (SMTP AUTH needs it) and never returned by the API.
CREATE TABLE email_settings (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    security TEXT NOT NULL CHECK (security IN ('none', 'starttls', 'tls')),
    username TEXT,
    password TEXT,
    from_address TEXT NOT NULL,
    from_name TEXT,
    reopen_link TEXT,
    updated_at INTEGER NOT NULL
);

-- The outbox, written in the same transaction as its cause (an agent reply, a close, an agent's request). The body is
-- rendered when the email is sent, from the messages up to `up_to_seq` (internal notes live in another table and are
-- never read). States: pending -> sending (claimed, committed before the SMTP exchange) -> sent; or cancelled (the
-- visitor read the reply, the address is gone), or failed (attempts exhausted, refused for good, or interrupted while
-- sending: an email that may have left is never sent again).
CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('unread_reply', 'transcript', 'manual_transcript')),
    -- JSON array of addresses; empty for kinds that email the visitor (read when sending).
    recipients TEXT NOT NULL DEFAULT '[]',
    subject TEXT,
    -- unread_reply: the burst's first agent message; the others: null.
    first_seq INTEGER,
    up_to_seq INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'cancelled', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    -- When to try next: null means "when due" (created_at, plus the reply delay for unread_reply).
    next_attempt_at INTEGER,
    sent_at INTEGER,
    last_error TEXT,
    message_id TEXT NOT NULL
);
CREATE INDEX email_outbox_pending ON email_outbox(state, id);
CREATE INDEX email_outbox_conversation ON email_outbox(conversation_id, kind, id);
