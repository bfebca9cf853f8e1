-- The replay an attempt was made for, so the inspector can say so.
ALTER TABLE attempts ADD COLUMN replay_id TEXT;
