-- Schema 1; a fresh database gets it and then every migration after it, like an old one.
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    idempotency_key TEXT,
    card_id TEXT,
    pipe_id TEXT
);
CREATE INDEX IF NOT EXISTS events_idempotency ON events(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
CREATE INDEX IF NOT EXISTS events_action ON events(action, id);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status_code INTEGER,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX IF NOT EXISTS deliveries_unfinished ON deliveries(status) WHERE status IN ('pending', 'retrying');
CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries(subscription_id, status);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error_kind TEXT,
    error TEXT,
    response_body BLOB NOT NULL,
    response_truncated INTEGER NOT NULL,
    next_retry_at INTEGER,
    request_headers TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts(delivery_id);
CREATE INDEX IF NOT EXISTS attempts_started ON attempts(started_at);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_at ON alerts(at);
