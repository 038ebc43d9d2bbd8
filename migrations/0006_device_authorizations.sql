-- Device authorization grant (RFC 8628). The read model of device-<id> streams, and the poll
-- clock (how fast a device polls is not history worth an event; it lives here only).
CREATE TABLE device_authorizations (
  device_id        uuid        PRIMARY KEY,
  device_code_hash text        NOT NULL UNIQUE,
  user_code_hash   text        NOT NULL UNIQUE,
  client_id        uuid        NOT NULL,
  scopes           text[]      NOT NULL,
  expires_at       timestamptz NOT NULL,
  interval_seconds integer     NOT NULL,
  status           text        NOT NULL,
  subject          text,
  family_id        uuid,
  revision         bigint      NOT NULL
);

CREATE TABLE device_polls (
  device_id        uuid        PRIMARY KEY,
  last_poll_at     timestamptz NOT NULL,
  interval_seconds integer     NOT NULL
);
