-- The PostgreSQL event store (DESIGN §3). Positions are assigned under one transaction-scoped
-- advisory lock, so they are gapless and follow commit order (src/eventstore/postgres.ts).
CREATE TABLE es_events (
  position    bigint      PRIMARY KEY,
  stream_id   text        NOT NULL,
  revision    bigint      NOT NULL,
  event_id    uuid        NOT NULL UNIQUE,
  type        text        NOT NULL,
  version     integer     NOT NULL,
  data        jsonb       NOT NULL,
  metadata    jsonb       NOT NULL,
  hash        text        NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, revision)
);
CREATE INDEX es_events_type_position ON es_events (type, position);

CREATE TABLE es_streams (
  stream_id     text   PRIMARY KEY,
  revision      bigint NOT NULL,
  last_hash     text   NOT NULL,
  last_position bigint NOT NULL
);
