// Several processes and crashes (issue 8 §2, §3), with real `warrant serve` processes on one
// database (its own, created for this file): each projection runs in exactly one process; a
// revocation at one node is seen at every other before the revoke call returns; when the process
// running a projection is killed another takes over within 5 s; and after a `kill -9` in the
// middle of load every token that was answered has its one TokenIssued event and the read models
// equal a rebuild — no half-applied batch, nothing appended twice.

import { expect } from 'chai';
import { projections } from '../../projections/index.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { expectReadModelsEqualRebuild } from '../support/consistency.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { claims, Nodes, type WarrantNode } from '../support/nodes.js';
import { postForm } from '../support/server.js';

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('several processes, and kill -9', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let nodes: Nodes;
  let store: PostgresEventStore;
  let client: Awaited<ReturnType<Nodes['client']>>;
  let live: WarrantNode[];

  before(async () => {
    db = await createTestDatabase({ migrate: true });
    store = new PostgresEventStore({ pool: db.pool });
    nodes = await Nodes.create(db.url);
    live = await Promise.all([nodes.start(), nodes.start(), nodes.start()]);
    client = await nodes.client();
  });
  after(async () => {
    await nodes?.stop();
    await store?.close();
    await db?.drop();
  });

  /** Resolves once every projection has exactly one runner among `among`. */
  const singleLeaders = (among: WarrantNode[]) =>
    until('one runner per projection', 10_000, async () => {
      const leaders = await nodes.leaders(among);
      const names = Object.keys(leaders);
      return names.length === projections.length && names.every((name) => leaders[name]!.length === 1) ? leaders : undefined;
    });

  it('three processes: each projection runs in exactly one; revocation at one node is immediate at the others', async () => {
    const leaders = await singleLeaders(live);
    expect(Object.keys(leaders).sort()).to.deep.equal(['authorization_codes', 'clients', 'consents', 'device_authorizations', 'sessions', 'tokens']);

    const [a, b, c] = live as [WarrantNode, WarrantNode, WarrantNode];
    const issued = await Nodes.token(a, client.authorization);
    expect(issued.status).to.equal(200);
    const token = issued.body.access_token as string;
    const introspect = (node: WarrantNode) => postForm(`${node.url}/oauth/introspect`, { token }, { authorization: client.authorization });
    expect((await introspect(b)).body.active).to.equal(true);
    const revoked = await postForm(`${c.url}/oauth/revoke`, { token }, { authorization: client.authorization });
    expect(revoked.status).to.equal(200);
    // No waiting: the revoke call answered only once the read model had it.
    const [atA, atB] = await Promise.all([introspect(a), introspect(b)]);
    expect(atA.body).to.deep.equal({ active: false });
    expect(atB.body).to.deep.equal({ active: false });
  });

  it('kill -9 the process running the projections: another takes over within 5 s and tokens keep coming', async () => {
    const leaders = await singleLeaders(live);
    const victim = leaders['tokens']![0]!;
    const killedAt = Date.now();
    await nodes.kill(victim);
    live = live.filter((node) => node !== victim);
    await singleLeaders(live);
    const takeover = Date.now() - killedAt;
    expect(takeover, `takeover took ${takeover} ms`).to.be.below(5000);

    const issued = await Nodes.token(live[0]!, client.authorization);
    expect(issued.status).to.equal(200);
    const described = await postForm(`${live[1]!.url}/oauth/introspect`, { token: issued.body.access_token }, { authorization: client.authorization });
    expect(described.body.active).to.equal(true);
  });

  it('kill -9 mid-load, restart: every answered token has exactly one TokenIssued, and the read models equal a rebuild', async () => {
    const leaders = await singleLeaders(live);
    const victim = leaders['tokens']![0]!;
    const other = live.find((node) => node !== victim)!;
    const answered: string[] = [];
    let failed = 0;
    let target = victim;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        let response;
        try {
          response = await Nodes.token(target, client.authorization);
        } catch {
          failed += 1; // the connection died with the process: no answer, nothing promised
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        // Outside the try: a wrong answer fails the test instead of counting as a dead connection.
        if (response.status === 200) answered.push(claims(response.body.access_token as string).jti);
        else expect(response.status, JSON.stringify(response.body)).to.equal(503);
      }
    };
    // Awaited from the start, so a worker's failed expectation fails this test when it happens.
    let failure: unknown;
    const workers = Promise.all(Array.from({ length: 8 }, worker)).catch((error: unknown) => {
      failure = error;
      stop = true;
    });
    // Waits for `n` answered tokens, or for a worker's failure, which it then throws.
    const answeredAtLeast = async (what: string, n: number) => {
      await until(what, 30_000, async () => (failure !== undefined || answered.length >= n ? true : undefined));
      if (failure) throw failure;
    };
    await answeredAtLeast('150 tokens under load', 150);
    await nodes.kill(victim);
    target = other;
    const before = answered.length;
    await answeredAtLeast('100 more tokens from the survivor', before + 100);
    const restarted = await nodes.start(victim.port);
    live = [...live.filter((node) => node !== victim), restarted];
    target = restarted;
    const again = answered.length;
    await answeredAtLeast('100 more from the restarted node', again + 100);
    stop = true;
    await workers;
    if (failure) throw failure;

    expect(failed).to.be.greaterThan(0); // the kill really happened mid-load
    const { rows } = await db.pool.query<{ jti: string; n: number }>(
      "SELECT data->>'jti' AS jti, count(*)::int AS n FROM es_events WHERE type = 'TokenIssued' AND data->>'jti' = ANY($1::text[]) GROUP BY 1",
      [answered],
    );
    expect(rows.length, 'answered tokens without their event').to.equal(new Set(answered).size);
    expect(rows.filter((row) => row.n !== 1), 'events appended twice').to.deep.equal([]);
    const duplicates = await db.pool.query("SELECT data->>'jti' FROM es_events WHERE type = 'TokenIssued' GROUP BY 1 HAVING count(*) > 1");
    expect(duplicates.rowCount).to.equal(0);
    await expectReadModelsEqualRebuild(db.pool, store);
  });
});
