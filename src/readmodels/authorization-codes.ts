// Reads of the `authorization_codes` read model (projections/codes.ts): a code by its keyed hash.

import type pg from 'pg';

export class CodeQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** The grant a code was issued in, by the code's keyed hash. */
  async grantOf(codeHash: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ grant_id: string }>('SELECT grant_id FROM authorization_codes WHERE code_hash = $1', [codeHash]);
    return rows[0]?.grant_id;
  }
}
