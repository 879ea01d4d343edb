-- 3: bot sessions (one per bot conversation) and the knowledge base (articles, tombstones, change counter, FTS5).

-- The bot's state in a conversation. `pending` holds bot messages decided but not yet stored (JSON list, each with
-- its idempotent client id): they are stored one by one, then removed, so a restart resumes them without repeats.
CREATE TABLE bot_sessions (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    current_node TEXT,
    answers TEXT NOT NULL DEFAULT '{}',
    last_answer TEXT,
    outcome TEXT,
    last_activity_at INTEGER NOT NULL,
    handled_seq INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    emitted INTEGER NOT NULL DEFAULT 0,
    pending TEXT NOT NULL DEFAULT '[]',
    handoff_due INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX bot_sessions_work ON bot_sessions(conversation_id) WHERE pending <> '[]' OR handoff_due;

-- Every article change (create, edit, publish, unpublish, delete) takes the next value of this counter; the delta
-- sync cursor is the last value a client has seen.
CREATE TABLE kb_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO kb_counter (id, value) VALUES (1, 0);

-- Articles of an app's knowledge bases. `lang` is the primary language subtag, lowercased (`fr` for `fr-CA`).
CREATE TABLE kb_articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    kb_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    language TEXT NOT NULL,
    lang TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    published INTEGER NOT NULL,
    url TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    change_seq INTEGER NOT NULL
);
CREATE INDEX kb_articles_changes ON kb_articles(app_id, kb_id, change_seq);

-- Deleted articles, kept so that a delta sync reports them as removed.
CREATE TABLE kb_tombstones (
    article_id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    kb_id INTEGER NOT NULL,
    change_seq INTEGER NOT NULL
);
CREATE INDEX kb_tombstones_changes ON kb_tombstones(app_id, kb_id, change_seq);

-- Full-text index of the published articles only (rowid = article id). Accent- and case-insensitive tokens, prefix
-- indexes for search-as-you-type; the UNINDEXED columns filter by app, base and language. Same tokenizer and
-- ranking as the SDK's offline index: bm25 with a title match worth 10 body matches.
CREATE VIRTUAL TABLE kb_fts USING fts5(
    title,
    body,
    app_id UNINDEXED,
    kb_id UNINDEXED,
    lang UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO kb_fts (kb_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0)');

CREATE TRIGGER kb_articles_ai AFTER INSERT ON kb_articles WHEN new.published BEGIN
    INSERT INTO kb_fts (rowid, title, body, app_id, kb_id, lang)
        VALUES (new.id, new.title, new.body, new.app_id, new.kb_id, new.lang);
END;
CREATE TRIGGER kb_articles_ad AFTER DELETE ON kb_articles BEGIN
    DELETE FROM kb_fts WHERE rowid = old.id;
END;
CREATE TRIGGER kb_articles_au AFTER UPDATE ON kb_articles BEGIN
    DELETE FROM kb_fts WHERE rowid = old.id;
    INSERT INTO kb_fts (rowid, title, body, app_id, kb_id, lang)
        SELECT new.id, new.title, new.body, new.app_id, new.kb_id, new.lang WHERE new.published;
END;
