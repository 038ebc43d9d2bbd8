// Benchmark (not a test): PostgreSQL event store appends/s with 32 concurrent single-event
// appenders, and projection lag — from an append's acknowledgement until the read model that
// handles it (tokens) has applied it, as a revocation waiting on ProjectionWaiter experiences it.
// All three projection runners run during the measurement.
//
//   npm run bench:eventstore [-- --seconds 10 --appenders 32]
//
// Uses a scratch database on BENCH_DATABASE_URL's server (default the local one), dropped after.

import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { projections, projectionsFor } from '../projections/index.js';
import { ProjectionRunner } from '../projections/runner.js';
import { ProjectionWaiter } from '../projections/waiter.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { PostgresEventStore } from '../src/eventstore/postgres/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const seconds = Number(args.get('seconds') ?? 10);
const warmup = Number(args.get('warmup') ?? 2);
const appenders = Number(args.get('appenders') ?? 32);
const adminUrl = process.env['BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function tokenIssued(): { type: string; data: unknown } {
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  return {
    type: 'TokenIssued',
    data: {
      familyId: randomUUID(), clientId: randomUUID(), subject: 'bench-user', grantType: 'client_credentials', scopes: ['read'],
      audience: ['https://api.example'], jti: randomBytes(16).toString('base64url'), accessTokenHash: randomBytes(32).toString('base64url'), accessTokenExpiresAt: expires,
      refreshTokenHash: randomBytes(32).toString('base64url'), refreshTokenExpiresAt: expires, grantId: null, name: null,
    },
  };
}

const name = `warrant_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const pool = createPool(url.toString(), { max: 10 });
try {
  await migrate(pool);
  const store = new PostgresEventStore({ pool, lanes: Number(args.get('lanes') ?? 1) });
  const runners = projections.map((projection) => new ProjectionRunner({ projection, store, pool }));
  if (args.get('projections') !== 'off') runners.forEach((r) => r.start());
  const waiter = new ProjectionWaiter({ pool, projections: projections.map((p) => p.name), timeoutMs: 30_000 });

  // A writer waits for the projections that handle its events (here: tokens).
  const waitOn = projectionsFor(['TokenIssued']);
  const ackLatency: number[] = [];
  const lag: number[] = [];
  const pendingLag: Promise<void>[] = [];
  let appended = 0;
  let measuring = false;
  let stop = false;

  const worker = async () => {
    while (!stop) {
      const started = performance.now();
      const result = await store.append(`token-${randomUUID()}`, [tokenIssued()], { expectedRevision: 'no_stream' });
      const acked = performance.now();
      if (!measuring) continue;
      appended += 1;
      ackLatency.push(acked - started);
      if (args.get('lag') !== 'off') pendingLag.push(waiter.waitFor(result.position, { projections: waitOn }).then(() => void lag.push(performance.now() - acked)));
    }
  };
  const workers = Array.from({ length: appenders }, worker);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(workers);
  await Promise.all(pendingLag);

  ackLatency.sort((a, b) => a - b);
  lag.sort((a, b) => a - b);
  const rate = appended / elapsed;
  const fmt = (n: number) => n.toFixed(1);
  const lines = [
    `PostgreSQL event store, ${appenders} concurrent single-event appenders, ${seconds} s after ${warmup} s warm-up (${new Date().toISOString()})`,
    '',
    '| metric | value |',
    '|---|---:|',
    `| appends/s | ${Math.round(rate)} |`,
    `| events appended | ${appended} |`,
    `| append ack latency p50 / p99 (ms) | ${fmt(percentile(ackLatency, 50))} / ${fmt(percentile(ackLatency, 99))} |`,
    `| projection lag, ack → applied (tokens read model), p50 / p99 (ms) | ${fmt(percentile(lag, 50))} / ${fmt(percentile(lag, 99))} |`,
    `| target | ≥ 5,000 events/s, lag p99 ≤ 100 ms: ${rate >= 5000 && percentile(lag, 99) <= 100 ? 'met' : 'NOT met'} |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  await Promise.all(runners.map((r) => r.stop()));
  await waiter.close();
  await store.close();
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
