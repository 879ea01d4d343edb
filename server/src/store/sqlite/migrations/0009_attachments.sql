-- 9: attachments. `uploads` tracks each declared file until its bytes are complete (offset = bytes held durably in
-- the partial file); a complete upload gets an `attachments` row, which a message then claims (conversation, seq).
-- A message keeps its attachments' wire JSON too, so every read path returns them without a join.
CREATE TABLE uploads (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    -- 'visitor' or 'agent': uploads belong to their uploader; the id is the client's, unique per uploader.
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    attachment_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, upload_id)
) WITHOUT ROWID;
CREATE INDEX uploads_expiry ON uploads(expires_at) WHERE attachment_id IS NULL;
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    -- The wire JSON (`Attachment`); its sha256 is the blob key.
    body TEXT NOT NULL,
    thumbnail_key TEXT,
    conversation_id TEXT,
    message_seq INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_conversation ON attachments(conversation_id) WHERE conversation_id IS NOT NULL;
ALTER TABLE messages ADD COLUMN attachments TEXT;
-- The admin's per-app file size limit (absent: the protocol's default).
CREATE TABLE attachment_settings (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    max_bytes INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
