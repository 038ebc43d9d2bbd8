// GET /healthz (alive, with database / event store / projection lag), GET /readyz (ready for
// traffic: database and event store reachable, projections caught up) and GET /metrics
// (Prometheus), all from one look at the log head and the checkpoints. /metrics is open unless
// WARRANT_METRICS_TOKEN is set (it shows token volumes, error rates and the log's size).

import { createHash, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type pg from 'pg';
import { readCheckpoints } from '../../projections/checkpoints.js';
import type { RunnerStatus } from '../../projections/runner.js';
import type { EventStore } from '../eventstore/port.js';
import type { Metrics } from '../metrics.js';
import { BearerError } from '../oauth/errors.js';
import type { RequestState } from './request-id.js';

/** Lag (in events) above which /readyz says not ready. Idle projections trail by ignored events only. */
export const READY_MAX_LAG = 1000;

export interface ObservabilityDeps {
  pool: pg.Pool;
  store: EventStore;
  projections: readonly string[];
  runners: () => RunnerStatus[];
  metrics: Metrics;
  /** Bearer token /metrics requires; undefined leaves it open. */
  metricsToken?: string | undefined;
  /** `realm` of the /metrics challenge (the issuer). */
  realm?: string;
}

async function attempt<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

async function look(deps: ObservabilityDeps) {
  const [head, checkpoints] = await Promise.all([
    attempt(() => deps.store.headPosition()),
    attempt(async () => new Map([...(await readCheckpoints(deps.pool))].map(([name, checkpoint]) => [name, checkpoint.position]))),
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
  return {
    database: checkpoints.ok ? 'ok' : 'unreachable',
    eventStore: head.ok ? 'ok' : 'unreachable',
    head: head.ok ? head.value : null,
    projections,
  };
}

/** Constant time: both sides are hashed to one length first, so neither content nor length leaks. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function checkMetricsToken(authorization: string, expected: string, realm: string): void {
  if (!authorization) throw new BearerError(401, null, 'a bearer token is required', { realm });
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match) throw new BearerError(401, 'invalid_request', 'the Authorization header is not a Bearer token', { realm });
  if (!sameSecret(match[1]!, expected)) throw new BearerError(401, 'invalid_token', 'the metrics token is invalid', { realm });
}

/** Request latency by matched route (not raw path: ids would explode the label set). */
export function requestMetrics(metrics: Metrics): Middleware<RequestState> {
  return async (ctx, next) => {
    const end = metrics.requestSeconds.startTimer();
    try {
      await next();
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      end({ method: ctx.method, route: String(route), status: `${Math.floor(ctx.status / 100)}xx` });
    }
  };
}

export function observability(router: Router<RequestState>, deps: ObservabilityDeps): void {
  router.get('/healthz', async (ctx) => {
    const state = await look(deps);
    const healthy = state.database === 'ok' && state.eventStore === 'ok';
    ctx.status = healthy ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: healthy ? 'ok' : 'unavailable', ...state };
  });

  router.get('/readyz', async (ctx) => {
    const state = await look(deps);
    const lagging = Object.entries(state.projections).filter(([, p]) => p.lag === null || p.lag > READY_MAX_LAG).map(([name]) => name);
    const ready = state.database === 'ok' && state.eventStore === 'ok' && lagging.length === 0;
    ctx.status = ready ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    if (!ready) ctx.set('Retry-After', '1');
    ctx.body = { status: ready ? 'ready' : 'not_ready', ...state, lagging };
  });

  router.get('/metrics', async (ctx) => {
    // Before any work, so an unauthenticated scrape costs no queries.
    if (deps.metricsToken !== undefined) checkMetricsToken(ctx.get('authorization'), deps.metricsToken, (deps.realm ?? 'warrant').replace(/["\\]/g, ''));
    const state = await look(deps);
    if (state.head !== null) deps.metrics.logHead.set(state.head);
    for (const [name, p] of Object.entries(state.projections)) {
      if (p.position !== null) deps.metrics.projectionPosition.set({ projection: name }, p.position);
      if (p.lag !== null) deps.metrics.projectionLag.set({ projection: name }, p.lag);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
}
