CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY,
    node_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);
CREATE INDEX alerts_at ON alerts(at);
