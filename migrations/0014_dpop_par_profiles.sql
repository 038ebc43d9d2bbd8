-- Sender-constrained tokens, pushed requests and security profiles (issue 17): client metadata
-- from RFC 9449 §5.2 (dpop_bound_access_tokens), RFC 9126 §6
-- (require_pushed_authorization_requests) and Warrant's per-client profile (fapi2).
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens boolean NOT NULL DEFAULT false;
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests boolean NOT NULL DEFAULT false;
ALTER TABLE clients ADD COLUMN profile text;
