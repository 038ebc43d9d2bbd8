-- Sign-in sessions and remembered consents become read models of events (issue 13): SessionStarted
-- / SessionEnded (stream session-<id>) and ConsentGranted / ConsentRevoked (stream
-- consent-<client>-<digest of subject>). Consents written before this migration had no events;
-- they stay until a rebuild of the consents projection, which forgets them (people are asked again).
CREATE TABLE sessions (
  session_id   uuid        PRIMARY KEY,
  subject      text        NOT NULL,
  secret_hash  text        NOT NULL,
  started_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  ended_reason text,
  revision     bigint      NOT NULL
);
CREATE INDEX sessions_live_by_subject ON sessions (subject) WHERE ended_at IS NULL;

-- Consent now covers audiences too (RFC 8707 resources): a request for another API asks again.
ALTER TABLE consents ADD COLUMN audience text[] NOT NULL DEFAULT '{}';
