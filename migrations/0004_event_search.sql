-- The audit API finds events by their data (a jti, a client id, a subject) in the event store
-- itself, never in the read models: a GIN index answers `data @> '{"jti": "…"}'`.
CREATE INDEX es_events_data ON es_events USING gin (data jsonb_path_ops);
