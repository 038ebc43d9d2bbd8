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
}

export interface PurgeResult {
  families: number;
  accessTokens: number;
  refreshTokens: number;
  codes: number;
  devices: number;
}

export async function purge(pool: pg.Pool, options: PurgeOptions): Promise<PurgeResult> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.hours * 3_600_000);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const doomed = await client.query<{ family_id: string }>(
      `SELECT family_id FROM token_families
        WHERE ($2 AND revoked AND revoked_at < $1)
           OR ($3 AND coalesce(refresh_expires_at, access_expires_at) < $1)`,
      [cutoff, options.revoked, options.expired],
    );
    const ids = doomed.rows.map((r) => r.family_id);
    const access = await client.query('DELETE FROM access_tokens WHERE family_id = ANY($1::uuid[]) OR ($2 AND expires_at < $3)', [ids, options.expired, cutoff]);
    const refresh = await client.query('DELETE FROM refresh_tokens WHERE family_id = ANY($1::uuid[])', [ids]);
    const families = await client.query('DELETE FROM token_families WHERE family_id = ANY($1::uuid[])', [ids]);
    const codes = options.expired ? await client.query('DELETE FROM authorization_codes WHERE expires_at < $1', [cutoff]) : { rowCount: 0 };
    const devices = options.expired
      ? await client.query('DELETE FROM device_authorizations WHERE expires_at < $1 RETURNING device_id', [cutoff])
      : { rowCount: 0, rows: [] as { device_id: string }[] };
    if (devices.rows.length > 0) await client.query('DELETE FROM device_polls WHERE device_id = ANY($1::uuid[])', [devices.rows.map((r) => r.device_id)]);
    await client.query('COMMIT');
    return { families: families.rowCount ?? 0, accessTokens: access.rowCount ?? 0, refreshTokens: refresh.rowCount ?? 0, codes: codes.rowCount ?? 0, devices: devices.rowCount ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
