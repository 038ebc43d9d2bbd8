// Rebuilds a projection from the whole event log into fresh tables, then swaps them in
// (DESIGN §4). Handlers use unqualified table names, so `SET LOCAL search_path` points them at
// the fresh copies in a scratch schema.
//
// The swap holds the projection's checkpoint row (FOR UPDATE) so the live runner cannot commit
// meanwhile; it catches up with events appended during the bulk replay, replaces the tables
// and sets the checkpoint. The live runner's next compare-and-set then fails and it resumes
// from the new checkpoint, so nothing is applied twice or skipped.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { corked, settle } from '../src/db/pipeline.js';
import type { EventStore } from '../src/eventstore/port.js';
import { PROJECTIONS_CHANNEL } from './runner.js';
import { prepared, statementsFor, type Projection } from './types.js';

export interface RebuildOptions {
  pool: pg.Pool;
  store: EventStore;
  projection: Projection;
  /** false: leave the rebuilt tables in their scratch schema and return it (for comparisons). */
  swap?: boolean;
  pageSize?: number;
  onProgress?: (position: number, head: number) => void;
}

export interface RebuildResult {
  position: number;
  events: number;
  /** Where the rebuilt tables are when swap is false; undefined once swapped in. */
  schema: string | undefined;
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return name;
}

async function replay(
  client: pg.Client,
  store: EventStore,
  projection: Projection,
  schema: string,
  live: string,
  after: number,
  pageSize: number,
  onPage?: (position: number) => void,
): Promise<{ position: number; events: number }> {
  let position = after;
  let events = 0;
  await client.query(`SET LOCAL search_path TO ${ident(schema)}, ${ident(live)}`);
  const read = (from: number) => store.readAll({ after: from, maxCount: pageSize, filter: { types: projection.eventTypes } });
  let page = await read(position);
  while (page.length > 0) {
    const last = page[page.length - 1]!.position;
    // The next page is read while this one is written; a page's statements go out in one write
    // as prepared statements (parsed once per connection).
    const next = read(last);
    const statements = statementsFor(projection, page);
    try {
      await settle(corked(client, () => statements.map((statement) => client.query(prepared(statement)))));
    } catch (error) {
      next.catch(() => undefined);
      throw error;
    }
    events += page.length;
    position = last;
    onPage?.(position);
    page = await next;
  }
  return { position, events };
}

export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { pool, store, projection } = options;
  const pageSize = options.pageSize ?? 1000;
  const schema = `rebuild_${projection.name}_${randomBytes(4).toString('hex')}`;
  // Its own connection in pipeline mode: a page of statements is one round trip, not thousands.
  const client = new pg.Client({ ...(pool.options as pg.ClientConfig), pipeline: true, application_name: `warrant-rebuild-${projection.name}` } as pg.ClientConfig);
  client.on('error', () => undefined); // surfaced by the query that fails
  await client.connect();
  try {
    const live = (await client.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema;
    const head = await store.headPosition();

    // 1. Bulk replay into fresh tables, in one transaction (nothing visible if it fails).
    await client.query('BEGIN');
    await client.query(`CREATE SCHEMA ${ident(schema)}`);
    for (const table of projection.tables) {
      await client.query(`CREATE TABLE ${ident(schema)}.${ident(table)} (LIKE ${ident(live)}.${ident(table)} INCLUDING ALL)`);
    }
    let { position, events } = await replay(client, store, projection, schema, live, 0, pageSize, (p) => options.onProgress?.(p, head));
    await client.query('COMMIT');

    if (options.swap === false) return { position: Math.max(position, head), events, schema };

    // 2. Swap, with the live runner held at its checkpoint.
    await client.query('BEGIN');
    await client.query('INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING', [projection.name]);
    await client.query('SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE', [projection.name]);
    // Every position up to headNow is committed and visible (positions follow commit order), so
    // after the catch-up the checkpoint may cover filtered-out events up to it, and no further.
    const headNow = await store.headPosition();
    const rest = await replay(client, store, projection, schema, live, position, pageSize);
    position = Math.max(rest.position, headNow);
    events += rest.events;
    await client.query(`SET LOCAL search_path TO ${ident(live)}`);
    for (const table of projection.tables) {
      await client.query(`DROP TABLE ${ident(live)}.${ident(table)}`);
      await client.query(`ALTER TABLE ${ident(schema)}.${ident(table)} SET SCHEMA ${ident(live)}`);
    }
    await client.query(`DROP SCHEMA ${ident(schema)}`);
    await client.query('UPDATE projection_checkpoints SET position = $2, updated_at = now(), last_error = NULL WHERE name = $1', [
      projection.name,
      position,
    ]);
    await client.query('SELECT pg_notify($1, $2)', [PROJECTIONS_CHANNEL, `${projection.name}:${position}`]);
    await client.query('COMMIT');
    options.onProgress?.(position, position);
    return { position, events, schema: undefined };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`).catch(() => undefined);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every row of the tables, ordered, as JSON: what "equal read models" means in tests and checks. */
export async function dumpTables(pool: pg.Pool, tables: readonly string[], schema = 'public'): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of tables) {
    const { rows } = await pool.query<{ row: unknown }>(
      `SELECT to_jsonb(t) AS row FROM ${ident(schema)}.${ident(table)} t ORDER BY to_jsonb(t)::text`,
    );
    out[table] = rows.map((r) => r.row);
  }
  return out;
}
