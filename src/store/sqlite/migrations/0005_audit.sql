-- Schema 5: the audit log, every change with who made it.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
