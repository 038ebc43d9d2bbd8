-- Resources (RFC 8707 audiences) a client may ask tokens for besides the default audience.
-- Clients registered before this column existed may ask for none.
ALTER TABLE clients ADD COLUMN resources text[] NOT NULL DEFAULT '{}';
