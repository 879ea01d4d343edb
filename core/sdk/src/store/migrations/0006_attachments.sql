-- 6: attachments. A message's files as JSON (`attachments::MessageAttachment` list: server metadata, plus the local
-- copy of an outgoing file), and the download cache's bookkeeping (least recently used first out).
ALTER TABLE messages ADD COLUMN attachments TEXT;
CREATE TABLE attachment_cache (
    file TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    last_used INTEGER NOT NULL
);
