// Reads of the `device_authorizations` read model (projections/devices.ts), and the poll clock
// (`device_polls`): how fast a device polls is not history worth an event, so it lives only here.

import type pg from 'pg';

export interface PendingDevice {
  deviceId: string;
  clientId: string;
  scopes: string[];
}

export class DeviceQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** A pending, unexpired request by the keyed hash of its user code. */
  async pending(userCodeHash: string, now: Date): Promise<PendingDevice | undefined> {
    const { rows } = await this.pool.query<{ device_id: string; client_id: string; scopes: string[] }>(
      "SELECT device_id, client_id, scopes FROM device_authorizations WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2",
      [userCodeHash, now],
    );
    return rows[0] && { deviceId: rows[0].device_id, clientId: rows[0].client_id, scopes: rows[0].scopes };
  }

  async byDeviceCode(deviceCodeHash: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ device_id: string }>('SELECT device_id FROM device_authorizations WHERE device_code_hash = $1', [deviceCodeHash]);
    return rows[0]?.device_id;
  }

  /**
   * Records a poll and answers the one before it (RFC 8628 §3.5): when it came and the interval
   * then in force. A poll sooner than the interval makes the interval grow by 5 s. The old values
   * come from the same statement's snapshot as the update.
   */
  async recordPoll(deviceId: string, now: Date, interval: number): Promise<{ last: Date | null; interval: number | null } | undefined> {
    const { rows } = await this.pool.query<{ last: Date | null; interval: number | null }>(
      `WITH old AS (SELECT last_poll_at, interval_seconds FROM device_polls WHERE device_id = $1),
            up AS (
              INSERT INTO device_polls AS p (device_id, last_poll_at, interval_seconds) VALUES ($1, $2, $3)
              ON CONFLICT (device_id) DO UPDATE
                SET interval_seconds = CASE WHEN EXCLUDED.last_poll_at < p.last_poll_at + make_interval(secs => p.interval_seconds)
                                            THEN p.interval_seconds + 5 ELSE p.interval_seconds END,
                    last_poll_at = EXCLUDED.last_poll_at
              RETURNING 1)
       SELECT (SELECT last_poll_at FROM old) AS last, (SELECT interval_seconds FROM old) AS interval, (SELECT count(*) FROM up) AS n`,
      [deviceId, now, interval],
    );
    return rows[0];
  }
}
