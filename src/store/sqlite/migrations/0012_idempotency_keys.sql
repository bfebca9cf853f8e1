-- The answers to admin requests sent with an Idempotency-Key, so that a repeat is answered as the
-- first was. A request claims its row (status NULL, held until claimed_until) before it runs, so
-- a duplicate sent meanwhile is refused rather than run twice; a row is kept for
-- idempotency_window, then pruned by retention.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    client_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    claimed_until INTEGER,
    status INTEGER,
    headers TEXT,
    body BLOB,
    PRIMARY KEY (scope, client_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
