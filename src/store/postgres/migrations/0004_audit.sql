CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    node_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
