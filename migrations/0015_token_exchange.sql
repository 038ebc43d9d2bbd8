-- Token exchange (RFC 8693, issue 18): a family started by exchanging another family's access token
-- records its parent, and is revoked with it (the tokens projection marks the descendants of a
-- revoked family in the same transaction).
ALTER TABLE token_families ADD COLUMN parent_family_id uuid;
CREATE INDEX token_families_by_parent ON token_families (parent_family_id) WHERE parent_family_id IS NOT NULL;
