// Where each projection stands: its checkpoint (the last log position it applied) and last error.

import type pg from 'pg';

export interface Checkpoint {
  position: number;
  lastError: string | null;
}

export async function readCheckpoints(pool: pg.Pool): Promise<Map<string, Checkpoint>> {
  const { rows } = await pool.query<{ name: string; position: string; last_error: string | null }>('SELECT name, position, last_error FROM projection_checkpoints');
  return new Map(rows.map((row) => [row.name, { position: Number(row.position), lastError: row.last_error }]));
}
