-- OpenID Connect and private_key_jwt (issue 16).
--
-- Standard claims of the built-in users (OIDC Core §5.1). Like usernames they are personal data,
-- so they live here and never in the event log.
ALTER TABLE users ADD COLUMN email text;
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN name text;

-- Client metadata of RFC 7591 / OIDC registration that Warrant now acts on. A client registered
-- before this column existed authenticates as before (its secret, or none when public).
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method text;
ALTER TABLE clients ADD COLUMN jwks jsonb;
ALTER TABLE clients ADD COLUMN jwks_uri text;
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}';

-- Single-use JWT ids (client assertions, RFC 7523 §3 item 7; DPoP proofs later), shared by every
-- process on this database. Not a read model: a replay cache, like rate_limit_failures; a row is
-- worthless once `expires_at` has passed and is deleted then.
CREATE TABLE used_jtis (
  scope      text        NOT NULL,
  jti_hash   text        NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (scope, jti_hash)
);
CREATE INDEX used_jtis_expiry ON used_jtis (expires_at);
