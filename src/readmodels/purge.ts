// `warrant purge`: removes expired and revoked rows from the read models. Events are never
// deleted (the audit history stays complete), and nothing a still-valid refresh chain needs goes:
// a family is removed only when its refresh token (or, without one, its access token) has
// expired, so rotated refresh tokens stay for reuse detection as long as the chain lives
// (unlike laravel/passport#1818). A `projections rebuild` brings purged rows back.

import type pg from 'pg';

export interface PurgeOptions {
  expired: boolean;
  revoked: boolean;
  /** Only rows that expired / were revoked more than this many hours ago. */
  hours: number;
  now?: Date;
  /** Rows per transaction (default 5,000): a big purge never holds long locks or one huge transaction. */
  chunk?: number;
  /** Called once with the total of families and stray access tokens to remove, then after each chunk. */
  onProgress?: (done: number, total: number) => void;
}

export interface PurgeResult {
  families: number;
  accessTokens: number;
  refreshTokens: number;
  codes: number;
  devices: number;
}

const DOOMED = `($2 AND revoked AND revoked_at < $1) OR ($3 AND coalesce(refresh_expires_at, access_expires_at) < $1)`;

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function purge(pool: pg.Pool, options: PurgeOptions): Promise<PurgeResult> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.hours * 3_600_000);
  const chunk = options.chunk ?? 5000;
  const result: PurgeResult = { families: 0, accessTokens: 0, refreshTokens: 0, codes: 0, devices: 0 };
  const { rows: [counts] } = await pool.query<{ families: number; strays: number }>(
    `SELECT (SELECT count(*)::int FROM token_families WHERE ${DOOMED}) AS families,
            (SELECT count(*)::int FROM access_tokens a JOIN token_families USING (family_id)
              WHERE $3 AND a.expires_at < $1 AND NOT (${DOOMED})) AS strays`,
    [cutoff, options.revoked, options.expired],
  );
  const total = counts!.families + counts!.strays;
  let done = 0;
  options.onProgress?.(0, total);

  // Whole families (every row of a grant), a chunk per transaction.
  for (;;) {
    const removed = await inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ family_id: string }>(
        `SELECT family_id FROM token_families WHERE ${DOOMED} LIMIT $4 FOR UPDATE SKIP LOCKED`,
        [cutoff, options.revoked, options.expired, chunk],
      );
      const ids = rows.map((r) => r.family_id);
      if (ids.length === 0) return 0;
      const access = await client.query('DELETE FROM access_tokens WHERE family_id = ANY($1::uuid[])', [ids]);
      const refresh = await client.query('DELETE FROM refresh_tokens WHERE family_id = ANY($1::uuid[])', [ids]);
      const families = await client.query('DELETE FROM token_families WHERE family_id = ANY($1::uuid[])', [ids]);
      result.accessTokens += access.rowCount ?? 0;
      result.refreshTokens += refresh.rowCount ?? 0;
      result.families += families.rowCount ?? 0;
      return ids.length;
    });
    if (removed === 0) break;
    done += removed;
    options.onProgress?.(Math.min(done, total), total);
  }

  if (options.expired) {
    // Expired access tokens of families that live on (replaced by a refresh): nothing needs them.
    for (;;) {
      const stray = await pool.query(
        'DELETE FROM access_tokens WHERE jti IN (SELECT jti FROM access_tokens WHERE expires_at < $1 LIMIT $2)',
        [cutoff, chunk],
      );
      const n = stray.rowCount ?? 0;
      if (n === 0) break;
      result.accessTokens += n;
      done += n;
      options.onProgress?.(Math.min(done, total), total);
    }
    await inTransaction(pool, async (client) => {
      const codes = await client.query('DELETE FROM authorization_codes WHERE expires_at < $1', [cutoff]);
      const devices = await client.query<{ device_id: string }>('DELETE FROM device_authorizations WHERE expires_at < $1 RETURNING device_id', [cutoff]);
      if (devices.rows.length > 0) await client.query('DELETE FROM device_polls WHERE device_id = ANY($1::uuid[])', [devices.rows.map((r) => r.device_id)]);
      result.codes = codes.rowCount ?? 0;
      result.devices = devices.rowCount ?? 0;
    });
  }
  options.onProgress?.(total, total);
  return result;
}
