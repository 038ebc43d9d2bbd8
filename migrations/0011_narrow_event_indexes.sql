-- The audit finds events by a jti, a client id or a subject. A GIN index over all of every event's
-- data answered that, but every append paid for indexing every path of its data (issue 15); three
-- narrow expression indexes answer the same lookups (src/eventstore/postgres/read.ts) for a
-- fraction of the insert cost.
DROP INDEX IF EXISTS es_events_data;
CREATE INDEX es_events_jti ON es_events ((data->>'jti')) WHERE data->>'jti' IS NOT NULL;
CREATE INDEX es_events_client ON es_events ((data->>'clientId'), position) WHERE data->>'clientId' IS NOT NULL;
CREATE INDEX es_events_subject ON es_events ((data->>'subject'), position) WHERE data->>'subject' IS NOT NULL;
