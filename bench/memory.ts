// Benchmark (not a test, not in CI): does a server's resident memory grow with the number of
// tokens it has issued? Issues tokens through the same code path as the token endpoint
// (issueTokens: append, wait for the read model, sign) with 64 in flight, projections running,
// and samples RSS after a forced GC at fixed counts. Target (issue 7): ≤ 10 % growth between
// 100k and 1M tokens.
//
//   npm run bench:memory [-- --tokens 1000000]

import { issueTokens } from '../src/oauth/issue.js';
import { startTestServer } from '../test/support/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const total = Number(args.get('tokens') ?? 1_000_000);
if (!Number.isSafeInteger(total) || total < 100_000) throw new Error(`--tokens must be an integer ≥ 100000, got ${args.get('tokens')}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:memory does)');

const mb = (bytes: number) => Math.round(bytes / 1048576);
function sample(issued: number, started: number) {
  gc!();
  const { rss, heapUsed } = process.memoryUsage();
  const seconds = (performance.now() - started) / 1000;
  return { issued, rssMb: mb(rss), heapMb: mb(heapUsed), seconds: Math.round(seconds), rate: Math.round(issued / seconds) };
}

const server = await startTestServer({ config: { logLevel: 'silent' } });
try {
  const { id } = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
  const client = (await server.auth.context.read.clients.find(id))!;
  const checkpoints = new Set([10_000, 100_000, 250_000, 500_000, 750_000, total]);
  const samples: ReturnType<typeof sample>[] = [];
  const started = performance.now();
  let issued = 0;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next += 1;
      await issueTokens(server.auth.context, { client, subject: id, grantType: 'client_credentials', scopes: ['read'], audience: [server.url], withRefresh: false, actor: { actor: id } });
      issued += 1;
      if (checkpoints.has(issued)) {
        const s = sample(issued, started);
        samples.push(s);
        process.stderr.write(`${JSON.stringify(s)}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));

  const at100k = samples.find((s) => s.issued === 100_000)!;
  const atEnd = samples.find((s) => s.issued === total)!;
  const growth = ((atEnd.rssMb - at100k.rssMb) / at100k.rssMb) * 100;
  const lines = [
    `Resident memory by tokens issued (${new Date().toISOString()}, Node ${process.version}, 64 in flight, RSS after a forced GC)`,
    '',
    '| tokens issued | RSS (MB) | heap used (MB) | elapsed (s) | tokens/s so far |',
    '|---:|---:|---:|---:|---:|',
    ...samples.map((s) => `| ${s.issued} | ${s.rssMb} | ${s.heapMb} | ${s.seconds} | ${s.rate} |`),
    '',
    `RSS growth from 100k to ${total}: ${growth.toFixed(1)} % (target ≤ 10 %)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.stop();
}
