-- Schema 6: replay jobs, stored so they resume after a restart.
CREATE TABLE replays (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
