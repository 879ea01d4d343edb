-- 5: a message's satisfaction-survey part (the server's prompt, or the visitor's answer), as its wire JSON.
ALTER TABLE messages ADD COLUMN survey TEXT;
