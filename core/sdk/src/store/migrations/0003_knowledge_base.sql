-- Knowledge base: published articles of the app's knowledge bases, a full-text index over them, a sync cursor per base.
-- Owned by `kb/`. Never edit a shipped migration: add the next number instead.

-- One row per published article (unpublished and deleted articles are removed). `id` is the server's article id and
-- the FTS rowid. `lang` is the primary language subtag, lowercased ("fr" for "fr-CA"), used by the language filter.
-- Small columns first, body last: the search filter reads kb_id and lang without reaching a long body's overflow pages.
CREATE TABLE kb_articles (
    id         INTEGER PRIMARY KEY NOT NULL,
    kb_id      INTEGER NOT NULL,
    lang       TEXT NOT NULL,
    language   TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    url        TEXT NOT NULL,
    tags       TEXT NOT NULL DEFAULT '[]',
    title      TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX kb_articles_by_kb ON kb_articles (kb_id, lang);

-- External-content FTS5 index over kb_articles (the text is stored once, in kb_articles). Accent- and case-insensitive
-- tokens; prefix indexes for 2- and 3-character prefixes keep search-as-you-type cheap. Search joins kb_articles on
-- the rowid for the base/language filter and the displayed columns.
CREATE VIRTUAL TABLE kb_fts USING fts5(
    title,
    body,
    content = 'kb_articles',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- Ranking: bm25 with a title match worth 10 body matches. Stored in the table's configuration so that every
-- `ORDER BY rank` uses it; changing the weights takes a new migration.
INSERT INTO kb_fts (kb_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0)');

CREATE TRIGGER kb_articles_ai AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_articles_ad AFTER DELETE ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER kb_articles_au AFTER UPDATE OF title, body ON kb_articles BEGIN
    INSERT INTO kb_fts (kb_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO kb_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

-- Delta-sync state per knowledge base. `cursor` is the server's opaque `next_cursor` of the last applied page, written
-- in the same transaction as that page (an interrupted sync resumes after it). `completed_at` (unix ms) is set when a
-- sync reached `has_more = false`: from then on the local index answers searches.
CREATE TABLE kb_sync (
    kb_id           INTEGER PRIMARY KEY NOT NULL,
    cursor          TEXT,
    total_published INTEGER NOT NULL DEFAULT 0,
    completed_at    INTEGER
);
