// Database faults under load (issue 8 §1), on a PostgreSQL cluster of this test's own (the
// embedded one, in a temporary folder, on a free port — never the shared server): restart it
// while a real `warrant serve` process is issuing tokens. While it is down every answer is 503
// OAuth error JSON with Retry-After; the process never dies; it recovers without a restart; and
// afterwards every token answered 200 has its TokenIssued event and the read models equal a
// rebuild from the events.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { silentLogger } from '../../src/logger.js';
import { expectReadModelsEqualRebuild } from '../support/consistency.js';
import { claims, Nodes, type WarrantNode } from '../support/nodes.js';
import { freePort } from '../support/process.js';

async function until(what: string, ms: number, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('PostgreSQL restarted under load', function () {
  this.timeout(180_000);
  let storage: string;
  let port: number;
  let database: EmbeddedDatabase | undefined;
  let nodes: Nodes | undefined;

  before(async () => {
    storage = await mkdtemp(path.join(tmpdir(), 'warrant-own-cluster-'));
    port = await freePort();
    database = await startEmbeddedPostgres({ storage, port, logger: silentLogger });
  });
  after(async () => {
    await nodes?.stop();
    await database?.stop();
    await rm(storage, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After while it is down, recovers by itself, and loses no answered token', async () => {
    nodes = await Nodes.create(database!.url);
    const node: WarrantNode = await nodes.start();
    const client = await nodes.client();

    const answered: string[] = [];
    const unavailable: { retryAfter: string | null; error: unknown }[] = [];
    const other: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const response = await Nodes.token(node, client.authorization);
          if (response.status === 200) answered.push(claims(response.body.access_token as string).jti);
          else if (response.status === 503) unavailable.push({ retryAfter: response.headers.get('retry-after'), error: response.body?.error });
          else other.push(`${response.status} ${JSON.stringify(response.body)}`);
        } catch (error) {
          other.push(`no answer: ${(error as Error).message}`);
        }
        if (unavailable.length > 0 && !stop) await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    try {
      await until('100 tokens before the restart', 30_000, () => answered.length >= 100);
      await database!.stop();
      database = undefined;
      await until('503s while the database is down', 20_000, () => unavailable.length >= 20);
      expect(node.child.exitCode, node.output()).to.equal(null);
      database = await startEmbeddedPostgres({ storage, port, logger: silentLogger });
      const before = answered.length;
      await until('tokens again after the restart, without restarting warrant', 60_000, () => answered.length >= before + 100);
    } finally {
      stop = true;
      await Promise.all(workers);
    }

    expect(other, 'answers other than 200 and 503').to.deep.equal([]);
    expect(node.child.exitCode, node.output()).to.equal(null);
    for (const refusal of unavailable) {
      expect(refusal.error).to.equal('temporarily_unavailable');
      expect(Number(refusal.retryAfter)).to.be.at.least(1);
    }

    const pool = new pg.Pool({ connectionString: database!.url });
    const store = new PostgresEventStore({ pool });
    try {
      const { rows } = await pool.query<{ jti: string; n: number }>(
        "SELECT data->>'jti' AS jti, count(*)::int AS n FROM es_events WHERE type = 'TokenIssued' AND data->>'jti' = ANY($1::text[]) GROUP BY 1",
        [answered],
      );
      expect(rows.length, 'tokens answered 200 without their event').to.equal(new Set(answered).size);
      expect(rows.every((row) => row.n === 1)).to.equal(true);
      await expectReadModelsEqualRebuild(pool, store);
    } finally {
      await store.close();
      await pool.end();
    }
  });
});
