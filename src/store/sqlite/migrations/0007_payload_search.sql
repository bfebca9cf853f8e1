-- Payload search: a full-text index (FTS5) over every event's body. It is filled off the
-- ingest path, in batches (`index_payloads`), up to `indexed_rowid`: indexing in each ingest's
-- transaction cost 40% of SQLite's ingest rate (measured with `hookwatch bench`, 2026-12-02).
-- A pruned event leaves the index in the delete's own transaction, if it had been indexed.
CREATE VIRTUAL TABLE events_fts USING fts5(body, content='events', content_rowid='rowid');
INSERT INTO events_fts(events_fts) VALUES ('rebuild');
CREATE TABLE events_fts_progress (indexed_rowid INTEGER NOT NULL);
INSERT INTO events_fts_progress SELECT coalesce(max(rowid), 0) FROM events;
CREATE TRIGGER events_fts_delete AFTER DELETE ON events
WHEN old.rowid <= (SELECT indexed_rowid FROM events_fts_progress) BEGIN
    INSERT INTO events_fts(events_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
