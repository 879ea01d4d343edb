-- 8: the satisfaction survey. A message may carry a survey part (the prompt appended when a conversation closes, or
-- the visitor's answer) as its wire JSON. `surveys` has one row per prompt, keyed by the prompt message's seq, and
-- receives its answer (one per survey); the summary reads only this table.
ALTER TABLE messages ADD COLUMN survey TEXT;
CREATE TABLE surveys (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    chatflow_id INTEGER NOT NULL,
    -- The conversation's assignee when it closed: whose work the answer rates.
    agent_id TEXT,
    scale_max INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    rating INTEGER,
    comment TEXT,
    answer_seq INTEGER,
    answered_at INTEGER,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE INDEX surveys_app_sent ON surveys(app_id, sent_at);
