import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { serve, type RunningServer } from '../../src/serve.js';
import { createAuthServer } from '../../src/server.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { delay, revokedEvent } from '../support/events.js';

describe('GET /healthz', () => {
  let db: TestDatabase;
  let storage: string;
  let running: RunningServer | undefined;

  beforeEach(async () => {
    db = await createTestDatabase({ migrate: false });
    storage = await mkdtemp(path.join(tmpdir(), 'warrant-healthz-'));
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await db.drop();
    await rm(storage, { recursive: true, force: true });
  });

  // serve() creates the signing key and pepper in this fresh storage, as on a new machine.
  const start = async () => {
    running = await serve(loadConfig({}, { databaseUrl: db.url, port: 0, host: '127.0.0.1', storage }), silentLogger);
    return running;
  };

  it('reports database, event store and per-projection lag; lag reaches 0 once applied', async () => {
    const { url, auth } = await start();
    const first = await fetch(`${url}/healthz`);
    expect(first.status).to.equal(200);
    expect(first.headers.get('cache-control')).to.equal('no-store');
    expect(first.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const body = (await first.json()) as Record<string, unknown>;
    expect(body).to.deep.include({ status: 'ok', database: 'ok', eventStore: 'ok', head: 0 });

    const { position } = await auth.store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    await auth.waiter.waitFor(position);
    const after = (await (await fetch(`${url}/healthz`)).json()) as { head: number; projections: Record<string, { position: number; lag: number; runningHere: boolean }> };
    expect(after.head).to.equal(position);
    for (const name of ['clients', 'tokens', 'authorization_codes']) {
      expect(after.projections[name]).to.deep.equal({ position, lag: 0, runningHere: true });
    }
  });

  it('answers 503 JSON (not a crash) when the database goes away, and the process keeps serving', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/healthz`)).status).to.equal(200);
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: db.url.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [db.name]);
    await admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    try {
      const down = await fetch(`${url}/healthz`);
      expect(down.status).to.equal(503);
      expect(await down.json()).to.deep.include({ status: 'unavailable', database: 'unreachable' });
    } finally {
      await admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    // Recovers without a restart.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i += 1) {
      status = (await fetch(`${url}/healthz`)).status;
      if (status !== 200) await delay(100);
    }
    expect(status).to.equal(200);
  });

  it('drains in-flight requests on stop, then refuses new connections', async () => {
    const { url, auth } = await start();
    auth.router.get('/slow', async (ctx) => {
      await delay(500);
      ctx.body = { done: true };
    });
    const inFlight = fetch(`${url}/slow`);
    await delay(100);
    const stopping = running!.stop();
    const response = await inFlight;
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ done: true });
    await stopping;
    running = undefined;
    expect(await fetch(`${url}/healthz`).then(() => 'answered', () => 'refused')).to.equal('refused');
  });

  it('createAuthServer refuses to start on an unreachable database with a clear error', async () => {
    const error = await createAuthServer({ config: { databaseUrl: 'postgres://postgres@127.0.0.1:1/x', storage } }).catch((e: unknown) => e);
    expect(error).to.include({ code: 'ERR_WARRANT_STARTUP' });
    expect((error as Error).message).to.match(/^cannot reach PostgreSQL at 127\.0\.0\.1:1\/x/);
  });
});
