-- Introspection compares a keyed hash of the presented access token with the one recorded when it
-- was issued (TokenIssued/TokenRefreshed v2) instead of verifying its signature (issue 15). Null for
-- tokens issued before: those are still verified with the signing keys.
ALTER TABLE access_tokens ADD COLUMN token_hash text;
