// Benchmark (not a test): projection rebuild rate (issue 7 target: ≥ 20,000 events/s).
// Seeds a mixed history through the real catalogue (clients registered/updated/rotated, codes
// issued/redeemed, token families issued/refreshed), then rebuilds each projection from the whole
// log into scratch tables (not swapped in) and reports events/s.
//
//   npm run bench:rebuild [-- --events 100000]

import { projections } from '../projections/index.js';
import { rebuildProjection } from '../projections/rebuild.js';
import { seedHistory } from '../test/support/events.js';
import { startTestServer } from '../test/support/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const target = Number(args.get('events') ?? 100_000);
if (!Number.isSafeInteger(target) || target < 1000) throw new Error(`--events must be an integer ≥ 1000, got ${args.get('events')}`);

const server = await startTestServer({ config: { logLevel: 'silent' } });
try {
  // Live runners off while seeding and measuring: the rebuild is measured alone.
  await Promise.all(server.auth.runners.map((runner) => runner.stop()));
  process.stderr.write(`seeding about ${target} events …\n`);
  const workers = 16;
  while ((await server.auth.store.headPosition()) < target) {
    await Promise.all(Array.from({ length: workers }, () => seedHistory(server.auth.store, { clients: 5, familiesPerClient: 20 })));
  }
  const head = await server.auth.store.headPosition();
  const lines = [
    `Projection rebuild from ${head} events (${new Date().toISOString()}, Node ${process.version}; scratch tables, not swapped in)`,
    '',
    '| projection | events of its types | seconds | log events/s | applied events/s |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const projection of projections) {
    const started = performance.now();
    const result = await rebuildProjection({ pool: server.auth.pool, store: server.auth.store, projection, swap: false });
    const seconds = (performance.now() - started) / 1000;
    await server.auth.pool.query(`DROP SCHEMA ${result.schema} CASCADE`);
    lines.push(`| ${projection.name} | ${result.events} | ${seconds.toFixed(2)} | ${Math.round(head / seconds)} | ${Math.round(result.events / seconds)} |`);
    process.stderr.write(`${lines.at(-1)}\n`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.stop();
}
