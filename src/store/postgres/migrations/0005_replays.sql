CREATE TABLE replays (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
