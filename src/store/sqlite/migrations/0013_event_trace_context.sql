-- The W3C trace context an event's deliveries continue (the ingest's span, or the traceparent it
-- came with, and the tracestate beside it): kept so that an attempt after a restart still joins
-- the producer's trace.
ALTER TABLE events ADD COLUMN traceparent TEXT;
ALTER TABLE events ADD COLUMN tracestate TEXT;
