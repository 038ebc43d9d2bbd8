// Soak benchmark (not a test, not in CI; issue 8): client_credentials issuance held at half the
// measured peak rate for 5 minutes, in 30-second windows, reporting per window the achieved
// rate, p50/p99 latency, errors and the server's resident memory — so the first and last windows
// can be compared.
//
//   npm run bench:soak [-- --minutes 5 --window 30]

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { basic, postForm, startTestServer } from '../test/support/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const minutes = Number(args.get('minutes') ?? 5);
const windowSeconds = Number(args.get('window') ?? 30);
if (!(minutes > 0) || !(windowSeconds >= 5)) throw new Error('--minutes must be > 0 and --window ≥ 5');
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

interface Result {
  requests: { mean: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

function autocannon(url: string, authorization: string, seconds: number, rate?: number): Promise<Result> {
  const argv = [autocannonBin, '-c', '32', '-d', String(seconds), '-j', '-m', 'POST', '-H', `authorization=${authorization}`, '-H', 'content-type=application/x-www-form-urlencoded', '-b', 'grant_type=client_credentials'];
  if (rate) argv.push('-R', String(rate));
  argv.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`autocannon exited ${code}`))));
  });
}

const mb = (bytes: number) => Math.round(bytes / 1048576);
const server = await startTestServer({ config: { logLevel: 'silent' } });
try {
  const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
  const authorization = basic(c.id, c.secret);
  const url = `${server.url}/oauth/token`;
  const check = await postForm(url, { grant_type: 'client_credentials' }, { authorization });
  if (check.status !== 200) throw new Error(`token request failed: ${check.status}`);

  process.stderr.write('measuring peak (15 s) …\n');
  const peak = await autocannon(url, authorization, 15);
  const rate = Math.max(1, Math.round(peak.requests.mean / 2));
  process.stderr.write(`peak ${Math.round(peak.requests.mean)} req/s; soaking at ${rate} req/s for ${minutes} min …\n`);

  const rows: string[] = [];
  const windows = Math.ceil((minutes * 60) / windowSeconds);
  for (let w = 0; w < windows; w += 1) {
    const r = await autocannon(url, authorization, windowSeconds, rate);
    const rss = mb(process.memoryUsage().rss);
    const row = `| ${(w + 1) * windowSeconds} | ${Math.round(r.requests.mean)} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx + r.errors} | ${rss} |`;
    rows.push(row);
    process.stderr.write(`${row}\n`);
  }
  const head = await server.auth.store.headPosition();
  process.stdout.write([
    `Soak: client_credentials at ${rate} req/s (half of a measured peak of ${Math.round(peak.requests.mean)} req/s), ${minutes} min in ${windowSeconds} s windows, 32 connections (${new Date().toISOString()}, Node ${process.version}). RSS is the server's process (autocannon runs in a child).`,
    '',
    '| at (s) | req/s | p50 (ms) | p99 (ms) | errors + non-2xx | server RSS (MB) |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `${head} events in the log at the end.`,
    '',
  ].join('\n'));
} finally {
  await server.stop();
}
