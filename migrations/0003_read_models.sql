-- Read models written only by projections/ (DESIGN §4). No secret is stored in plain form:
-- *_hash columns hold HMAC-SHA-256 digests; access tokens are known only by jti.
CREATE TABLE clients (
  client_id         uuid        PRIMARY KEY,
  name              text        NOT NULL,
  confidential      boolean     NOT NULL,
  secret_hash       text,
  grant_types       text[]      NOT NULL,
  scopes            text[]      NOT NULL,
  redirect_uris     text[]      NOT NULL,
  first_party       boolean     NOT NULL,
  access_token_ttl  integer,
  refresh_token_ttl integer,
  revoked           boolean     NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  revoked_at        timestamptz,
  revision          bigint      NOT NULL
);

CREATE TABLE token_families (
  family_id          uuid        PRIMARY KEY,
  client_id          uuid        NOT NULL,
  subject            text        NOT NULL,
  grant_type         text        NOT NULL,
  scopes             text[]      NOT NULL,
  audience           text[]      NOT NULL,
  current_jti        text        NOT NULL,
  grant_id           uuid,
  name               text,
  revoked            boolean     NOT NULL DEFAULT false,
  revoked_reason     text,
  revoked_at         timestamptz,
  access_expires_at  timestamptz NOT NULL,
  refresh_expires_at timestamptz,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  revision           bigint      NOT NULL
);
CREATE INDEX token_families_client ON token_families (client_id);
CREATE INDEX token_families_subject ON token_families (subject);
CREATE INDEX token_families_grant ON token_families (grant_id) WHERE grant_id IS NOT NULL;

CREATE TABLE access_tokens (
  jti        text        PRIMARY KEY,
  family_id  uuid        NOT NULL,
  client_id  uuid        NOT NULL,
  subject    text        NOT NULL,
  scopes     text[]      NOT NULL,
  audience   text[]      NOT NULL,
  issued_at  timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX access_tokens_family ON access_tokens (family_id);

CREATE TABLE refresh_tokens (
  token_hash text        PRIMARY KEY,
  family_id  uuid        NOT NULL,
  client_id  uuid        NOT NULL,
  current    boolean     NOT NULL,
  issued_at  timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE authorization_codes (
  grant_id              uuid        PRIMARY KEY,
  code_hash             text        NOT NULL UNIQUE,
  client_id             uuid        NOT NULL,
  subject               text        NOT NULL,
  redirect_uri          text        NOT NULL,
  scopes                text[]      NOT NULL,
  code_challenge        text,
  code_challenge_method text,
  resource              text,
  issued_at             timestamptz NOT NULL,
  expires_at            timestamptz NOT NULL,
  redeemed              boolean     NOT NULL DEFAULT false,
  redeemed_at           timestamptz,
  family_id             uuid,
  revision              bigint      NOT NULL
);
