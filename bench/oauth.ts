// Benchmark (not a test): HTTP throughput and latency of a real Warrant server, driven by
// autocannon with 32 keep-alive connections from the same process (so the load generator shares
// the server's CPU; numbers are a floor, not a ceiling).
//   1. client_credentials issuance — POST /oauth/token, client_secret_basic: a client lookup, an
//      event append, a wait for the tokens projection, an ES256 signature.
//   2. introspection — POST /oauth/introspect of one access token, client_secret_basic.
//
//   npm run bench:oauth [-- --seconds 10 --warmup 2 --connections 32]
//
// The server (startTestServer) gets its own database on WARRANT_TEST_DATABASE_URL's server
// (default the local one) and a temporary storage folder, both removed at the end.

import autocannon, { type Result } from 'autocannon';
import { basic, postForm, startTestServer } from '../test/support/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const seconds = Number(args.get('seconds') ?? 10);
const warmup = Number(args.get('warmup') ?? 2);
const connections = Number(args.get('connections') ?? 32);
for (const [name, value] of [['seconds', seconds], ['warmup', warmup], ['connections', connections]] as const) {
  if (!Number.isFinite(value) || value < 0 || (name !== 'warmup' && value <= 0)) throw new Error(`--${name} must be a positive number, got ${args.get(name)}`);
}

const FORM = 'application/x-www-form-urlencoded';

async function load(title: string, url: string, headers: Record<string, string>, body: string): Promise<Result> {
  process.stderr.write(`${title}: ${warmup} s warm-up, ${seconds} s measured …\n`);
  return autocannon({
    title,
    url,
    method: 'POST',
    headers: { ...headers, 'content-type': FORM },
    body,
    connections,
    duration: seconds,
    ...(warmup > 0 ? { warmup: { connections, duration: warmup } } : {}),
  });
}

const started = new Date();
const server = await startTestServer();
try {
  const { id, secret } = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
  const authorization = basic(id, secret);
  const tokenUrl = `${server.url}/oauth/token`;
  const introspectUrl = `${server.url}/oauth/introspect`;
  const tokenBody = 'grant_type=client_credentials';

  // Check both requests once before loading them, so a misconfiguration fails loudly rather than
  // being measured as a fast stream of errors.
  const issued = await postForm(tokenUrl, tokenBody, { authorization });
  if (issued.status !== 200 || typeof issued.body?.access_token !== 'string') {
    throw new Error(`token request failed: ${issued.status} ${JSON.stringify(issued.body)}`);
  }
  const accessToken: string = issued.body.access_token;
  const introspectBody = new URLSearchParams({ token: accessToken }).toString();
  const described = await postForm(introspectUrl, introspectBody, { authorization });
  if (described.status !== 200 || described.body?.active !== true) {
    throw new Error(`introspection failed: ${described.status} ${JSON.stringify(described.body)}`);
  }

  const results: Array<[string, Result]> = [
    ['client_credentials issuance (POST /oauth/token)', await load('token', tokenUrl, { authorization }, tokenBody)],
    ['introspection (POST /oauth/introspect)', await load('introspect', introspectUrl, { authorization }, introspectBody)],
  ];

  const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
  const lines = [
    `Warrant over HTTP, ${connections} connections (autocannon, same process), ${seconds} s after ${warmup} s warm-up each (${started.toISOString()}, Node ${process.version})`,
    '',
    '| endpoint | req/s (mean) | latency p50 (ms) | latency p99 (ms) | requests | non-2xx | errors / timeouts |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.map(([name, r]) =>
      `| ${name} | ${Math.round(r.requests.mean)} | ${fmt(r.latency.p50)} | ${fmt(r.latency.p99)} | ${r.latency.totalCount} | ${r.non2xx} | ${r.errors} / ${r.timeouts} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const failed = results.filter(([, r]) => r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || (r.warmup?.non2xx ?? 0) > 0);
  for (const [name, r] of failed) {
    process.stderr.write(`${name}: non-2xx or failed responses (status codes ${JSON.stringify(r.statusCodeStats)}; warm-up non-2xx ${r.warmup?.non2xx ?? 0})\n`);
  }
  if (failed.length > 0) process.exitCode = 1;
} finally {
  await server.stop();
}
