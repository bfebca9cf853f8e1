-- Schema 9: the search index moves to a file of its own (`search.rs`), which takes every event
-- in again from the first.
DROP TRIGGER events_fts_delete;
DROP TABLE events_fts;
DROP TABLE events_fts_progress;
