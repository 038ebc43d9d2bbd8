// Is this access token (by jti) still good? One query against the read models, batched across
// concurrent requests (src/db/batched-lookup.ts): never cached, so a revocation is always seen.

import type pg from 'pg';
import { BatchedLookup } from '../db/batched-lookup.js';

export interface RevocationState {
  grantType: string;
  familyRevoked: boolean;
  clientRevoked: boolean;
}

interface Row {
  jti: string;
  grant_type: string;
  family_revoked: boolean;
  client_revoked: boolean;
}

export class RevocationLookup {
  readonly #lookup: BatchedLookup<Row>;

  constructor(pool: pg.Pool, concurrency = 2) {
    this.#lookup = new BatchedLookup<Row>({
      pool,
      name: 'warrant_policy_lookup',
      text: `SELECT a.jti, f.grant_type, f.revoked AS family_revoked, c.revoked AS client_revoked
               FROM access_tokens a
               JOIN token_families f ON f.family_id = a.family_id
               JOIN clients c ON c.client_id = a.client_id
              WHERE a.jti = ANY($1::text[])`,
      keyOf: (row) => row.jti,
      applicationName: 'warrant-policy',
      concurrency,
    });
  }

  async lookup(jti: string): Promise<RevocationState | undefined> {
    const row = await this.#lookup.lookup(jti);
    return row && { grantType: row.grant_type, familyRevoked: row.family_revoked, clientRevoked: row.client_revoked };
  }

  close(): Promise<void> {
    return this.#lookup.close();
  }
}
