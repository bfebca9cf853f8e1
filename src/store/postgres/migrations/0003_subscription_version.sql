CREATE TABLE subscription_version (version BIGINT NOT NULL);
INSERT INTO subscription_version VALUES (0);
