-- Knowledge base: the search filter reads each match's base and language from this index, not from the article row.
-- Owned by `kb/`.
--
-- Why: a search scans FTS5 matches in rank order and keeps those of the base and language asked for. Read from
-- kb_articles, whose rows carry the 1–2 kB body (2–3 rows per page, spread over the whole file), that filter read
-- article pages from disk; this index holds 10,000 articles in ≈ 0.2 MB and stays in the page cache. The search
-- names it (`INDEXED BY`): for `id = ?` SQLite would otherwise seek the table by rowid.
CREATE INDEX kb_articles_scope ON kb_articles (id, kb_id, lang);
