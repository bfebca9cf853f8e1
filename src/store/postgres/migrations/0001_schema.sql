CREATE TABLE events (
    id TEXT PRIMARY KEY,
    seq BIGSERIAL UNIQUE,
    action TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body BYTEA NOT NULL,
    idempotency_key TEXT,
    card_id TEXT,
    pipe_id TEXT,
    node_id TEXT NOT NULL,
    recorded_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);
CREATE INDEX events_idempotency ON events(idempotency_key, received_at) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_received ON events(received_at);
CREATE INDEX events_action ON events(action, id);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_status_code INTEGER,
    last_error TEXT,
    updated_at BIGINT NOT NULL,
    leased_by TEXT,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX deliveries_unfinished ON deliveries(next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX deliveries_subscription ON deliveries(subscription_id, status);
CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status_code INTEGER,
    error_kind TEXT,
    error TEXT,
    response_body BYTEA NOT NULL,
    response_truncated BOOLEAN NOT NULL,
    next_retry_at BIGINT,
    request_headers TEXT NOT NULL,
    recorded_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);
CREATE INDEX attempts_delivery ON attempts(delivery_id);
CREATE INDEX attempts_started ON attempts(started_at);
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    in_flight BIGINT NOT NULL DEFAULT 0,
    backlog BIGINT NOT NULL DEFAULT 0
);
