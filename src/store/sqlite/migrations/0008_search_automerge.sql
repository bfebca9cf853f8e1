-- FTS5 merges a level's segments once it holds `automerge` of them, inside whichever batch
-- fills it. At the default of 4 those merges held the writer up to 17–30 ms; at 8, fewer levels
-- are rewritten and they held it up to 12–21 ms, and the p99 at 1,000 events/s fell from
-- 7.0–22.0 ms to 5.5–9.5 ms (five alternated `hookwatch bench` runs each, 2026-12-02).
INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 8);
