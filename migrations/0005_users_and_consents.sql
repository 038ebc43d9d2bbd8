-- The standalone server's built-in user directory, and remembered consents. Users are not event
-- sourced on purpose: a username is personal data, and personal data beyond the subject id stays
-- out of the (immutable) event log (DESIGN §2). The subject of a user's tokens is users.user_id.
CREATE TABLE users (
  user_id       uuid        PRIMARY KEY,
  username      text        NOT NULL UNIQUE,
  password_hash text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Remembered consent per user, client and scopes: a later request for a subset skips the page.
CREATE TABLE consents (
  subject    text        NOT NULL,
  client_id  uuid        NOT NULL,
  scopes     text[]      NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject, client_id)
);
