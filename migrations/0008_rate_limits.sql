-- Failed authentications per key, shared by every node (src/oauth/rate-limit.ts): a window starts
-- at a key's first failure and ends at resets_at. Keys (client id + address, username + address,
-- address) are stored as keyed hashes: addresses and usernames are personal data. Operational
-- counters, not history: no events; ended windows are deleted.
CREATE TABLE rate_limit_failures (
  key_hash  text        PRIMARY KEY,
  resets_at timestamptz NOT NULL,
  count     integer     NOT NULL
);
CREATE INDEX rate_limit_failures_resets ON rate_limit_failures (resets_at);
