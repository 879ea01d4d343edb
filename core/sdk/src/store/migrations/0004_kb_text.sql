-- Knowledge base: the article text (title, body) moves out of kb_articles into kb_text; kb_articles keeps the small
-- columns. Owned by `kb/`.
--
-- Why: a search scans FTS5 matches in rank order and reads each match's base and language from kb_articles. With the
-- 1–2 kB body in the same row, those rows spread over most of the file and the scan read them from disk; without it,
-- the metadata of 10,000 articles fits in the reader's page cache. The text is read only for the returned hits.
-- The existing text is carried over: a synced base stays searchable offline, no re-download.

DROP TRIGGER kb_articles_ai;
DROP TRIGGER kb_articles_ad;
DROP TRIGGER kb_articles_au;
-- External content: dropping the index leaves kb_articles (and its text) untouched.
DROP TABLE kb_fts;

-- One row per row of kb_articles, removed with it.
CREATE TABLE kb_text (
    id    INTEGER PRIMARY KEY NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body  TEXT NOT NULL
);
INSERT INTO kb_text (id, title, body) SELECT id, title, body FROM kb_articles;
ALTER TABLE kb_articles DROP COLUMN title;
ALTER TABLE kb_articles DROP COLUMN body;

-- Same tokens, prefixes and ranking as 0003; the content is now kb_text.
CREATE VIRTUAL TABLE kb_fts USING fts5(
    title,
    body,
    content = 'kb_text',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO kb_fts (kb_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0)');
INSERT INTO kb_fts (kb_fts) VALUES ('rebuild');

CREATE TRIGGER kb_text_ai AFTER INSERT ON kb_text BEGIN
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_text_ad AFTER DELETE ON kb_text BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER kb_text_au AFTER UPDATE OF title, body ON kb_text BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
