// Reads of the `consents` read model (projections/consents.ts).

import type pg from 'pg';

export class ConsentQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** What a subject allowed a client: scopes and audiences merged over every decision. */
  async of(subject: string, clientId: string): Promise<{ scopes: string[]; audience: string[] } | undefined> {
    const { rows } = await this.pool.query<{ scopes: string[]; audience: string[] }>('SELECT scopes, audience FROM consents WHERE subject = $1 AND client_id = $2', [subject, clientId]);
    return rows[0];
  }

  async clientsOf(subject: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ client_id: string }>('SELECT client_id FROM consents WHERE subject = $1', [subject]);
    return rows.map((row) => row.client_id);
  }
}
