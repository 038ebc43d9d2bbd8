// Reads of the `sessions` read model (projections/sessions.ts).

import type pg from 'pg';

export interface SessionRow {
  subject: string;
  secretHash: string;
  expiresAt: Date;
  /** When the person signed in (the SessionStarted event): OpenID Connect's auth_time. */
  startedAt: Date;
}

export class SessionQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** A session that has not ended (expiry is the caller's to judge, with its clock). */
  async live(sessionId: string): Promise<SessionRow | undefined> {
    const { rows } = await this.pool.query<{ subject: string; secret_hash: string; expires_at: Date; started_at: Date }>(
      'SELECT subject, secret_hash, expires_at, started_at FROM sessions WHERE session_id = $1 AND ended_at IS NULL',
      [sessionId],
    );
    return rows[0] && { subject: rows[0].subject, secretHash: rows[0].secret_hash, expiresAt: rows[0].expires_at, startedAt: rows[0].started_at };
  }

  async liveOf(subject: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ session_id: string }>('SELECT session_id FROM sessions WHERE subject = $1 AND ended_at IS NULL', [subject]);
    return rows.map((row) => row.session_id);
  }
}
