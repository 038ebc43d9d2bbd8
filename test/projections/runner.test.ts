import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  ProjectionRunner,
  ProjectionTimeoutError,
  ProjectionWaiter,
  dumpTables,
  projections,
  rebuildProjection,
  tokensProjection,
  type Projection,
} from '../../projections/index.js';
import { sql, statementsFor } from '../../projections/types.js';
import { NO_STREAM } from '../../src/eventstore/port.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { delay, revokedEvent, seedHistory } from '../support/events.js';

/** Not idempotent on purpose: applying an event twice, or half a batch, shows in the counts. */
const tally: Projection = {
  name: 'tally',
  tables: ['tally'],
  eventTypes: ['TokenRevoked', 'ClientRegistered'],
  handle: (event) => [
    sql('INSERT INTO tally (type, n) VALUES ($1, 1) ON CONFLICT (type) DO UPDATE SET n = tally.n + 1', event.type),
    sql('INSERT INTO tally_seen (position) VALUES ($1)', event.position),
  ],
};

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(25);
  }
}

describe('projections', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const cleanups: (() => Promise<void>)[] = [];
  const runner = (projection: Projection, options: Partial<ConstructorParameters<typeof ProjectionRunner>[0]> = {}) => {
    const r = new ProjectionRunner({ projection, store, pool: db.pool, takeoverIntervalMs: 100, retryDelayMs: 50, idleCheckpointMs: 50, ...options });
    cleanups.push(() => r.stop());
    return r;
  };

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore({ pool: db.pool, pollIntervalMs: 100 });
    await db.pool.query('CREATE TABLE tally (type text PRIMARY KEY, n integer NOT NULL); CREATE TABLE tally_seen (position bigint PRIMARY KEY)');
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await store.close();
    await db.drop();
  });

  it('projects clients, token families, access tokens, refresh tokens and codes, and waitFor sees them applied', async () => {
    const last = await seedHistory(store, { clients: 2, familiesPerClient: 4 });
    const waiter = new ProjectionWaiter({ pool: db.pool, projections: projections.map((p) => p.name), timeoutMs: 10_000 });
    cleanups.push(() => waiter.close());
    for (const projection of projections) runner(projection).start();
    await waiter.waitFor(last);

    const clients = await db.pool.query('SELECT name, scopes, revoked, revision FROM clients ORDER BY name');
    expect(clients.rows).to.deep.equal([
      { name: 'Client 0', scopes: ['read'], revoked: false, revision: '2' },
      { name: 'Client 1', scopes: ['read'], revoked: true, revision: '3' },
    ]);
    const families = await db.pool.query<{ revoked: boolean; n: string }>('SELECT revoked, count(*) AS n FROM token_families GROUP BY revoked ORDER BY revoked');
    expect(families.rows.map((r) => [r.revoked, Number(r.n)])).to.deep.equal([[false, 4], [true, 4]]);
    // f % 3 refreshes per family: 0+1+2+0 per client → 3 refreshes each → 8 issued + 6 refreshed access tokens.
    expect(Number((await db.pool.query('SELECT count(*) AS n FROM access_tokens')).rows[0].n)).to.equal(14);
    const refresh = await db.pool.query<{ current: boolean; n: string }>('SELECT current, count(*) AS n FROM refresh_tokens GROUP BY current ORDER BY current');
    expect(refresh.rows.map((r) => [r.current, Number(r.n)])).to.deep.equal([[false, 6], [true, 8]]);
    const codes = await db.pool.query('SELECT count(*) FILTER (WHERE redeemed) AS redeemed, count(*) AS n FROM authorization_codes');
    expect(codes.rows[0]).to.deep.equal({ redeemed: '8', n: '8' });
    const checkpoints = await waiter.refresh();
    for (const projection of projections) expect(checkpoints.get(projection.name)).to.equal(last);
  });

  it('waitFor times out with a typed error when no runner applies the event', async () => {
    const { position } = await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    const waiter = new ProjectionWaiter({ pool: db.pool, projections: ['tokens'] });
    cleanups.push(() => waiter.close());
    const started = Date.now();
    const error = await waiter.waitFor(position, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ProjectionTimeoutError);
    expect(error).to.include({ code: 'ERR_PROJECTION_TIMEOUT', position });
    expect(Date.now() - started).to.be.within(250, 3000);
  });

  it('after a handler throws at event N and the runner restarts, the read model equals a clean rebuild', async () => {
    for (let i = 0; i < 60; i += 1) await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    const failAt = 37;
    const failing: Projection = {
      ...tally,
      handle: (event) => {
        if (event.position === failAt) throw new Error(`handler failed at ${failAt}`);
        return tally.handle(event);
      },
    };
    const first = runner(failing, { maxBatch: 10 });
    first.start();
    await waitUntil(() => first.status().lastError !== null);
    await first.stop();
    // The batch holding event 37 (31..40) was rolled back whole: checkpoint 30, 30 rows.
    const checkpoint = await db.pool.query('SELECT position FROM projection_checkpoints WHERE name = $1', ['tally']);
    expect(Number(checkpoint.rows[0].position)).to.equal(30);
    expect((await dumpTables(db.pool, ['tally_seen']))['tally_seen']).to.have.length(30);
    expect(first.status().lastError).to.contain('handler failed at 37');

    const second = runner(tally, { maxBatch: 10 });
    second.start();
    await waitUntil(async () => Number((await db.pool.query("SELECT position FROM projection_checkpoints WHERE name = 'tally'")).rows[0].position) === 60);
    const live = await dumpTables(db.pool, ['tally', 'tally_seen']);
    expect(live['tally']).to.deep.equal([{ type: 'TokenRevoked', n: 60 }]);

    const rebuilt = await rebuildProjection({ pool: db.pool, store, projection: { ...tally, tables: ['tally', 'tally_seen'] }, swap: false });
    expect(await dumpTables(db.pool, ['tally', 'tally_seen'], rebuilt.schema)).to.deep.equal(live);
  });

  it('when the database refuses the SQL of event N, the rows of its batch and the checkpoint both stay as they were (one transaction)', async () => {
    for (let i = 0; i < 25; i += 1) await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    const failAt = 17;
    // The handler itself succeeds; PostgreSQL refuses its statement (a duplicate key), after the
    // batch's earlier statements and the checkpoint update were already sent in the same pipeline.
    const refusedInDatabase: Projection = {
      ...tally,
      handle: (event) => (event.position === failAt ? [sql('INSERT INTO tally_seen (position) VALUES ($1)', 1)] : tally.handle(event)),
    };
    const first = runner(refusedInDatabase, { maxBatch: 10 });
    first.start();
    await waitUntil(() => first.status().lastError !== null);
    await first.stop();
    expect(first.status().lastError).to.contain('duplicate key');
    // Batches 1..10 committed; batch 11..20 holds event 17: none of its rows, and the checkpoint at 10.
    const checkpoint = await db.pool.query("SELECT position FROM projection_checkpoints WHERE name = 'tally'");
    expect(Number(checkpoint.rows[0].position)).to.equal(10);
    const seen = (await dumpTables(db.pool, ['tally_seen']))['tally_seen'] as { position: string }[];
    expect(seen.map((row) => Number(row.position)).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 1));
    expect((await dumpTables(db.pool, ['tally']))['tally']).to.deep.equal([{ type: 'TokenRevoked', n: 10 }]);
  });

  it('two runners on one database: only one applies events; stop it and the other takes over', async () => {
    const a = runner(tally);
    const b = runner(tally);
    a.start();
    await waitUntil(() => a.status().active);
    b.start();
    for (let i = 0; i < 50; i += 1) await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    await waitUntil(() => a.status().position === 50);
    expect(b.status().active).to.equal(false);
    expect(b.status().position).to.equal(0);

    await a.stop();
    await waitUntil(() => b.status().active, 5000);
    for (let i = 0; i < 50; i += 1) await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    await waitUntil(() => b.status().position === 100);
    const rows = await dumpTables(db.pool, ['tally']);
    expect(rows['tally']).to.deep.equal([{ type: 'TokenRevoked', n: 100 }]);
  });

  it('when the active runner loses its database session (process death), a standby takes over and nothing is applied twice', async () => {
    const a = runner(tally);
    const b = runner(tally);
    a.start();
    await waitUntil(() => a.status().active);
    b.start();
    const writing = (async () => {
      for (let i = 0; i < 200; i += 1) await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    })();
    await delay(100);
    // Kill the session holding the projection's advisory lock, as if its process died.
    const holder = await db.pool.query<{ pid: number }>(
      "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid::bigint = (hashtext('projection:tally')::bigint & 4294967295) AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      [0x57415252],
    );
    expect(holder.rows).to.have.length(1);
    await db.pool.query('SELECT pg_terminate_backend($1)', [holder.rows[0]!.pid]);
    await writing;
    await waitUntil(async () => Number((await db.pool.query("SELECT position FROM projection_checkpoints WHERE name = 'tally'")).rows[0].position) === 200, 10_000);
    const rows = await dumpTables(db.pool, ['tally', 'tally_seen']);
    expect(rows['tally']).to.deep.equal([{ type: 'TokenRevoked', n: 200 }]);
    expect(rows['tally_seen']).to.have.length(200);
  });

  it('a rebuild produces the same rows as live projection, swaps them in, and the live runner carries on', async () => {
    await seedHistory(store, { clients: 3, familiesPerClient: 5 });
    const waiter = new ProjectionWaiter({ pool: db.pool, projections: projections.map((p) => p.name), timeoutMs: 10_000 });
    cleanups.push(() => waiter.close());
    const runners = projections.map((projection) => runner(projection));
    runners.forEach((r) => r.start());
    await waiter.waitFor(await store.headPosition());
    const tables = projections.flatMap((p) => p.tables);
    const live = await dumpTables(db.pool, tables);
    expect(live['token_families']).to.have.length(15);

    for (const projection of projections) await rebuildProjection({ pool: db.pool, store, projection });
    expect(await dumpTables(db.pool, tables)).to.deep.equal(live);

    // The live runners notice the moved checkpoint and keep projecting new events.
    const more = await seedHistory(store, { clients: 1, familiesPerClient: 2 });
    await waiter.waitFor(more);
    const after = await dumpTables(db.pool, tables);
    expect(after['token_families']).to.have.length(17);
    const fresh = await rebuildProjection({ pool: db.pool, store, projection: tokensProjection, swap: false });
    expect(await dumpTables(db.pool, tokensProjection.tables, fresh.schema)).to.deep.equal(
      Object.fromEntries(tokensProjection.tables.map((t) => [t, after[t]])),
    );
  });

  it('a run of TokenIssued written as one bulk statement (handleMany) leaves the same rows as applying each event by itself', async () => {
    await seedHistory(store, { clients: 3, familiesPerClient: 5 });
    // Twenty families issued at once: one append transaction, twenty TokenIssued in a row.
    await Promise.all(Array.from({ length: 20 }, () => seedHistory(store, { clients: 1, familiesPerClient: 1 })));
    // Then twelve families issued, refreshed and revoked together: runs of each type, with one
    // family refreshed twice in a row (a run must split there: one UPDATE moves a row once).
    const clientId = randomUUID();
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const h = () => randomBytes(32).toString('base64url');
    const families = Array.from({ length: 12 }, () => randomUUID());
    const refreshed = (familyId: string) => ({
      type: 'TokenRefreshed',
      data: { familyId, clientId, jti: randomUUID(), scopes: ['read'], accessTokenHash: h(), accessTokenExpiresAt: expires, previousRefreshTokenHash: h(), refreshTokenHash: h(), refreshTokenExpiresAt: expires },
    });
    await Promise.all(families.map((familyId) => store.append(`token-${familyId}`, [{
      type: 'TokenIssued',
      data: {
        familyId, clientId, subject: 'run', grantType: 'authorization_code', scopes: ['read', 'write'], audience: ['https://api.example'], jti: randomUUID(),
        accessTokenHash: h(), accessTokenExpiresAt: expires, refreshTokenHash: h(), refreshTokenExpiresAt: expires, grantId: null, name: null,
      },
    }], { expectedRevision: NO_STREAM })));
    await Promise.all(families.map((familyId, i) => store.append(`token-${familyId}`, i === 0 ? [refreshed(familyId), refreshed(familyId)] : [refreshed(familyId)], { expectedRevision: 0 })));
    await Promise.all(families.slice(0, 8).map((familyId) => store.append(`token-${familyId}`, [{ type: 'TokenRevoked', data: { familyId, clientId, reason: 'revoked_by_client' } }], { expectedRevision: 'any' })));
    const events: Awaited<ReturnType<typeof store.readAll>> = [];
    for (let page = await store.readAll({ filter: { types: tokensProjection.eventTypes } }); page.length > 0; page = await store.readAll({ after: page.at(-1)!.position, filter: { types: tokensProjection.eventTypes } })) {
      events.push(...page);
    }
    for (const type of ['TokenIssued', 'TokenRefreshed', 'TokenRevoked']) {
      const follows = events.filter((event, i) => event.type === type && events[i - 1]?.type === type).length;
      expect(follows, `${type} events that follow another of their type`).to.be.greaterThan(6);
    }

    const apply = async (schema: string, statements: { text: string; values: unknown[] }[]) => {
      const client = await db.pool.connect();
      try {
        await client.query(`CREATE SCHEMA ${schema}`);
        for (const table of tokensProjection.tables) await client.query(`CREATE TABLE ${schema}.${table} (LIKE public.${table} INCLUDING ALL)`);
        await client.query(`SET search_path TO ${schema}`);
        for (const statement of statements) await client.query(statement.text, statement.values);
      } finally {
        await client.query('SET search_path TO public');
        client.release();
      }
    };
    const bulk = statementsFor(tokensProjection, events);
    const single = events.flatMap((event) => tokensProjection.handle(event));
    expect(bulk.length).to.be.lessThan(single.length);
    await apply('one_by_one', single);
    await apply('in_bulk', bulk);
    const oneByOne = await dumpTables(db.pool, tokensProjection.tables, 'one_by_one');
    // seedHistory numbers jtis and hashes per call, so the twenty families repeat each other's:
    // the bulk statement must keep the first of each, as one-by-one application does.
    expect(oneByOne['access_tokens']).to.have.length.greaterThan(20);
    expect(oneByOne['token_families']!.filter((row) => (row as { revoked: boolean }).revoked)).to.have.length.greaterThan(8);
    expect(await dumpTables(db.pool, tokensProjection.tables, 'in_bulk')).to.deep.equal(oneByOne);
  });
});
