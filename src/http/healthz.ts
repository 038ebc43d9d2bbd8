// GET /healthz: is this process alive and can it reach its database and event store, and how
// far behind the log is each projection. 503 when the database or event store is unreachable.

import type Router from '@koa/router';
import type pg from 'pg';
import type { EventStore } from '../eventstore/port.js';
import type { RunnerStatus } from '../../projections/runner.js';

export interface HealthDeps {
  pool: pg.Pool;
  store: EventStore;
  projections: readonly string[];
  runners: () => RunnerStatus[];
}

async function check<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export function healthz(router: Router, deps: HealthDeps): void {
  router.get('/healthz', async (ctx) => {
    const [head, checkpoints] = await Promise.all([
      check(() => deps.store.headPosition()),
      check(async () => {
        const { rows } = await deps.pool.query<{ name: string; position: string }>('SELECT name, position FROM projection_checkpoints');
        return new Map(rows.map((row) => [row.name, Number(row.position)]));
      }),
    ]);
    const local = new Map(deps.runners().map((status) => [status.name, status]));
    const projections: Record<string, { position: number | null; lag: number | null; runningHere: boolean }> = {};
    for (const name of deps.projections) {
      const position = checkpoints.ok ? (checkpoints.value.get(name) ?? 0) : null;
      projections[name] = {
        position,
        lag: head.ok && position !== null ? Math.max(0, head.value - position) : null,
        runningHere: local.get(name)?.active ?? false,
      };
    }
    const healthy = head.ok && checkpoints.ok;
    ctx.status = healthy ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      status: healthy ? 'ok' : 'unavailable',
      database: checkpoints.ok ? 'ok' : 'unreachable',
      eventStore: head.ok ? 'ok' : 'unreachable',
      head: head.ok ? head.value : null,
      projections,
    };
  });
}
