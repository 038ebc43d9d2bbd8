// "The read models equal a rebuild from events": the check behind every fault, crash and race
// test. Waits until every projection has caught up with the log, rebuilds each into scratch
// tables and compares them row for row with the live ones.

import { expect } from 'chai';
import type pg from 'pg';
import { projections } from '../../projections/index.js';
import { dumpTables, rebuildProjection } from '../../projections/rebuild.js';
import type { EventStore } from '../../src/eventstore/port.js';

export async function waitForCatchUp(pool: pg.Pool, store: EventStore, timeoutMs = 20_000): Promise<number> {
  const head = await store.headPosition();
  const started = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ name: string; position: string }>('SELECT name, position FROM projection_checkpoints');
    const behind = projections.filter((p) => Number(rows.find((r) => r.name === p.name)?.position ?? 0) < head);
    if (behind.length === 0) return head;
    if (Date.now() - started > timeoutMs) throw new Error(`projections ${behind.map((p) => p.name).join(', ')} did not reach ${head}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function expectReadModelsEqualRebuild(pool: pg.Pool, store: EventStore): Promise<void> {
  await waitForCatchUp(pool, store);
  for (const projection of projections) {
    const rebuilt = await rebuildProjection({ pool, store, projection, swap: false });
    try {
      const live = await dumpTables(pool, projection.tables);
      const fresh = await dumpTables(pool, projection.tables, rebuilt.schema);
      expect(live, `read model ${projection.name} differs from a rebuild`).to.deep.equal(fresh);
    } finally {
      await pool.query(`DROP SCHEMA ${rebuilt.schema} CASCADE`);
    }
  }
}
