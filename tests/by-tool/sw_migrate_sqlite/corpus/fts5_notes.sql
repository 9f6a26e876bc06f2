-- A notes app's full-text search as the SQLite FTS5 documentation sets it
-- up: an external-content FTS5 table kept in step by triggers, a
-- standalone FTS5 table with a porter tokenizer and an UNINDEXED column,
-- an older FTS4 table, and the shadow tables (_data, _idx, _docsize,
-- _config, _content, _segments, ...) each of them makes.
CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT, updated TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE VIRTUAL TABLE notes_fts USING fts5(title, body, content='notes', content_rowid='id');
CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN
  INSERT INTO notes_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN
  INSERT INTO notes_fts(notes_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER notes_au AFTER UPDATE ON notes BEGIN
  INSERT INTO notes_fts(notes_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
  INSERT INTO notes_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE VIRTUAL TABLE mail USING fts5(sender, subject, body, received UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE docs4 USING fts4(name, content);
BEGIN;
INSERT INTO notes (title, body) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
  SELECT 'Note ' || i, 'The quick brown fox ' || i || ' jumps over the lazy dög; naïve café ' || hex(randomblob(8)) FROM n;
UPDATE notes SET body = body || ' (edited)' WHERE id % 10 = 0;
DELETE FROM notes WHERE id % 97 = 0;
INSERT INTO mail WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
  SELECT 'sender' || i % 17 || '@example.com', 'Re: meeting ' || i, 'Running runners ran ' || i || ' times', '2024-01-' || printf('%02d', 1 + i % 28) FROM n;
INSERT INTO docs4 VALUES ('a', 'SQLite full-text search, version four'), ('b', 'Σίσυφος and ünïcode');
COMMIT;
INSERT INTO notes_fts(notes_fts) VALUES ('optimize');
