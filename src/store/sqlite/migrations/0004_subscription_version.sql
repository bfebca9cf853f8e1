-- Schema 4: a count of subscription changes, checked by every ingest in its transaction, so an
-- event is never matched against subscriptions older than the last answered change.
CREATE TABLE subscription_version (version INTEGER NOT NULL);
INSERT INTO subscription_version VALUES (0);
