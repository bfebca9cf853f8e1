-- Keyed by lease holder: a claim seeks the unleased rows and those of silent nodes,
-- instead of walking every unfinished delivery the live nodes hold.
DROP INDEX deliveries_unfinished;
CREATE INDEX deliveries_unfinished ON deliveries(leased_by, next_attempt_at) WHERE status IN ('pending', 'retrying');
