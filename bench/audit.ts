// Benchmark (not a test): the audit API, replaying from the event store.
//   1. GET /audit/tokens/{jti} of a 100-event family (issued, 98 refreshes, revoked) under
//      autocannon, 32 connections (child process);
//   2. feed throughput: an NDJSON export of the whole log (50,000+ events), in events/s.
//
//   npm run bench:audit [-- --seconds 10 --events 50000]

import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { basic, postForm, startTestServer } from '../test/support/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const seconds = Number(args.get('seconds') ?? 10);
const feedEvents = Number(args.get('events') ?? 50_000);
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

function autocannon(url: string, authorization: string, duration: number): Promise<{ requests: { mean: number }; latency: { p50: number; p99: number }; non2xx: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [autocannonBin, '-c', '32', '-d', String(duration), '-j', '-H', `authorization=${authorization}`, url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited ${code}`))));
  });
}

const hash = () => randomBytes(32).toString('base64url');
const started = new Date();
const server = await startTestServer();
try {
  const auditorClient = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
  const auditor = `Bearer ${(await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'warrant:audit' }, { authorization: basic(auditorClient.id, auditorClient.secret) })).body.access_token}`;

  // A 100-event family through the real catalogue.
  const familyId = randomUUID();
  const clientId = auditorClient.id;
  const stream = `token-${familyId}`;
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  const firstJti = randomBytes(16).toString('base64url');
  let previous = hash();
  await server.auth.store.append(stream, [{ type: 'TokenIssued', data: { familyId, clientId, subject: 'bench', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], jti: firstJti, accessTokenHash: null, accessTokenExpiresAt: expires, refreshTokenHash: previous, refreshTokenExpiresAt: expires, grantId: null, name: null } }], { expectedRevision: 'no_stream' });
  for (let i = 0; i < 98; i += 1) {
    const next = hash();
    await server.auth.store.append(stream, [{ type: 'TokenRefreshed', data: { familyId, clientId, jti: randomBytes(16).toString('base64url'), scopes: ['read'], accessTokenHash: null, accessTokenExpiresAt: expires, previousRefreshTokenHash: previous, refreshTokenHash: next, refreshTokenExpiresAt: expires } }], { expectedRevision: i });
    previous = next;
  }
  await server.auth.store.append(stream, [{ type: 'TokenRevoked', data: { familyId, clientId, reason: 'admin' } }], { expectedRevision: 98 });
  const historyUrl = `${server.url}/audit/tokens/${firstJti}`;
  const check = (await (await fetch(historyUrl, { headers: { authorization: auditor } })).json()) as { events: unknown[] };
  if (check.events.length !== 100) throw new Error(`expected 100 events, got ${check.events.length}`);

  process.stderr.write(`history: 2 s warm-up, ${seconds} s measured …\n`);
  await autocannon(historyUrl, auditor, 2);
  const history = await autocannon(historyUrl, auditor, seconds);

  // Fill the log to the feed size with revocations on many streams.
  const have = await server.auth.store.headPosition();
  const batches = Math.ceil(Math.max(0, feedEvents - have) / 100);
  await Promise.all(Array.from({ length: batches }, () => server.auth.store.append(`token-${randomUUID()}`, Array.from({ length: 100 }, () => ({ type: 'TokenRevoked', data: { familyId: randomUUID(), clientId, reason: 'admin' } })), { expectedRevision: 'no_stream' })));
  const total = await server.auth.store.headPosition();
  const t0 = performance.now();
  const response = await fetch(`${server.url}/audit/events`, { headers: { authorization: auditor, accept: 'application/x-ndjson' } });
  let lines = 0;
  let bytes = 0;
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    const text = decoder.decode(chunk, { stream: true });
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines += 1;
  }
  const feedSeconds = (performance.now() - t0) / 1000;
  if (lines !== total) throw new Error(`export had ${lines} lines, log has ${total} events`);

  process.stdout.write(
    [
      `Audit API (${started.toISOString()}, Node ${process.version}, 2-core machine, autocannon in a child process)`,
      '',
      '| measurement | result |',
      '|---|---:|',
      `| GET /audit/tokens/{jti}, 100-event family, 32 connections: req/s | ${Math.round(history.requests.mean)} |`,
      `| … latency p50 / p99 (ms) | ${history.latency.p50} / ${history.latency.p99} |`,
      `| … non-2xx | ${history.non2xx} |`,
      `| NDJSON export of ${total} events: events/s | ${Math.round(total / feedSeconds)} |`,
      `| … time, size | ${feedSeconds.toFixed(2)} s, ${(bytes / 1e6).toFixed(1)} MB |`,
    ].join('\n') + '\n',
  );
} finally {
  await server.stop();
}
