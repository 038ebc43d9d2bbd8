// `npm run bench`: Warrant side by side with its references, in one run (issue 7), written to
// bench/results.md. 32 connections each; autocannon in a child process, except for refresh and
// revocation, which need a fresh token per request (autocannon's setupRequest, so in-process).
//
//   Warrant: client_credentials issuance (ES256), refresh (rotation), introspection,
//            a policy-protected route, revocation
//   node-oidc-provider 9 (devDependency, in-memory adapter): client_credentials with JWT ES256
//            access tokens; introspection (opaque tokens)
//   bare Koa + jose, no storage: sign the same kind of token; verify it
//
//   npm run bench [-- --seconds 8]

import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import Koa from 'koa';
import Provider from 'oidc-provider';
import type { Histogram } from 'prom-client';
import { rebuildProjection } from '../projections/rebuild.js';
import { tokensProjection } from '../projections/index.js';
import { issueTokens } from '../src/oauth/issue.js';
import { createPolicy } from '../src/policy/policy.js';
import { basic, postForm, startTestServer } from '../test/support/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const seconds = Number(args.get('seconds') ?? 8);
const connections = 32;
const FORM = 'application/x-www-form-urlencoded';
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  note?: string;
}

/** Each measured run follows 2 s of the same load, unreported: no scenario is measured cold (JIT, pools). */
async function external(name: string, url: string, options: { method?: string; headers?: Record<string, string>; body?: string }, beforeMeasure?: () => void): Promise<Row> {
  await autocannonChild(url, options, 2);
  beforeMeasure?.();
  process.stderr.write(`${name} …\n`);
  const r = await autocannonChild(url, options, seconds);
  return { name, rps: r.requests.mean, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx };
}

function autocannonChild(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }, duration: number): Promise<{ requests: { mean: number }; latency: { p50: number; p99: number }; non2xx: number }> {
  const argv = [autocannonBin, '-c', String(connections), '-d', String(duration), '-j', '-m', options.method ?? 'GET'];
  for (const [k, v] of Object.entries(options.headers ?? {})) argv.push('-H', `${k}=${v}`);
  if (options.body) argv.push('-b', options.body);
  argv.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      resolve(JSON.parse(out) as { requests: { mean: number }; latency: { p50: number; p99: number }; non2xx: number });
    });
  });
}

/** In-process autocannon where each request needs its own token. */
async function internal(name: string, url: string, headers: Record<string, string>, bodies: string[]): Promise<Row> {
  process.stderr.write(`${name} …\n`);
  let next = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { ...headers, 'content-type': FORM },
    requests: [{ setupRequest: (request: Record<string, unknown>) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
  } as never);
  return { name, rps: result.requests.mean, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, note: `load generator in-process; ${next} of ${bodies.length} pre-issued tokens used` };
}

async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

const started = new Date();
const rows: Row[] = [];
const extra: string[] = [];

/** Upper bound of the histogram bucket holding quantile q (prom-client's cumulative buckets). */
async function bucketQuantile(histogram: Histogram, q: number): Promise<{ bound: string; count: number }> {
  const { values } = await histogram.get();
  const buckets = values.filter((v) => v.metricName?.endsWith('_bucket'));
  const count = buckets.find((v) => v.labels['le'] === '+Inf')?.value ?? 0;
  const hit = buckets.find((v) => v.value >= q * count);
  return { bound: String(hit?.labels['le'] ?? '+Inf'), count };
}
const warrant = await startTestServer({ config: { logLevel: 'silent' } });
const closers: (() => Promise<unknown>)[] = [() => warrant.stop()];
try {
  // Warrant ------------------------------------------------------------------------------------
  const c = await warrant.client({ grantTypes: ['client_credentials', 'refresh_token', 'authorization_code'], scopes: ['read'] });
  const auth = basic(c.id, c.secret);
  const token = (await postForm(`${warrant.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: auth })).body.access_token as string;
  const waits = warrant.auth.context.metrics.readModelWaitSeconds;
  rows.push(await external('Warrant client_credentials (ES256)', `${warrant.url}/oauth/token`, { method: 'POST', headers: { authorization: auth, 'content-type': FORM }, body: 'grant_type=client_credentials' }, () => waits.reset()));
  const lag = await bucketQuantile(waits, 0.99);
  extra.push(`| projection lag p99 during the issuance run (append acknowledged → tokens read model has it; ${lag.count} writes) | ≤ ${Number(lag.bound) * 1000} ms |`);
  rows.push(await external('Warrant introspection', `${warrant.url}/oauth/introspect`, { method: 'POST', headers: { authorization: auth, 'content-type': FORM }, body: `token=${token}` }));

  const policy = createPolicy({ issuer: warrant.url, databaseUrl: warrant.db.url });
  closers.push(() => policy.close());
  const api = new Koa();
  api.use(policy.requireScopes('read'));
  api.use((ctx) => {
    ctx.body = { ok: true };
  });
  const protectedApi = await listen(api.callback());
  closers.push(() => new Promise((r) => protectedApi.server.close(r)));
  rows.push(await external('Warrant policy-protected route', `${protectedApi.url}/`, { headers: { authorization: `Bearer ${token}` } }));

  // Fresh tokens for refresh and revocation (one per request).
  const record = (await warrant.auth.context.read.clients.find(c.id))!;
  const pool = async (n: number) => {
    const out: { refresh: string; access: string }[] = [];
    for (let i = 0; i < n; i += 64) {
      const batch = await Promise.all(Array.from({ length: Math.min(64, n - i) }, () => issueTokens(warrant.auth.context, { client: record, subject: 'bench', grantType: 'authorization_code', scopes: ['read'], audience: [warrant.url], withRefresh: true, actor: { actor: 'bench' } })));
      out.push(...batch.map((t) => ({ refresh: t.refresh_token!, access: t.access_token })));
    }
    return out;
  };
  process.stderr.write('issuing token pools for refresh and revocation …\n');
  const forRefresh = await pool(seconds * 1500);
  rows.push(await internal('Warrant refresh (rotation)', `${warrant.url}/oauth/token`, { authorization: auth }, forRefresh.map((t) => `grant_type=refresh_token&refresh_token=${t.refresh}`)));
  const forRevoke = await pool(seconds * 1500);
  rows.push(await internal('Warrant revocation (answers once applied)', `${warrant.url}/oauth/revoke`, { authorization: auth }, forRevoke.map((t) => `token=${t.access}`)));

  // Rebuild of the tokens read model from the whole log this run wrote (not swapped in).
  const head = await warrant.auth.store.headPosition();
  const rebuildStarted = performance.now();
  const rebuilt = await rebuildProjection({ pool: warrant.auth.pool, store: warrant.auth.store, projection: tokensProjection, swap: false });
  const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
  await warrant.auth.pool.query(`DROP SCHEMA ${rebuilt.schema} CASCADE`);
  extra.push(`| projection rebuild (tokens, ${head} events replayed, ${rebuilt.events} applied) | ${Math.round(head / rebuildSeconds)} events/s |`);

  // node-oidc-provider -------------------------------------------------------------------------
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' };
  const oidc = await listen(() => undefined);
  closers.push(() => new Promise((r) => oidc.server.close(r)));
  const provider = new Provider(oidc.url, {
    clients: [{ client_id: 'bench', client_secret: 'bench-secret-bench-secret-bench-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'read', id_token_signed_response_alg: 'ES256' }],
    jwks: { keys: [jwk] },
    scopes: ['read'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string) => oneOf,
        getResourceServerInfo: () => ({ scope: 'read', audience: 'https://api.example', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
        useGrantedResource: () => true,
      },
    },
  } as never);
  oidc.server.removeAllListeners('request');
  oidc.server.on('request', provider.callback());
  const oidcAuth = `Basic ${Buffer.from('bench:bench-secret-bench-secret-bench-secret').toString('base64')}`;
  rows.push(await external('node-oidc-provider client_credentials (JWT ES256)', `${oidc.url}/token`, { method: 'POST', headers: { authorization: oidcAuth, 'content-type': FORM }, body: 'grant_type=client_credentials&scope=read&resource=https%3A%2F%2Fapi.example' }));
  const opaque = (await postForm(`${oidc.url}/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: oidcAuth })).body.access_token as string;
  rows.push(await external('node-oidc-provider introspection (opaque, in-memory)', `${oidc.url}/token/introspection`, { method: 'POST', headers: { authorization: oidcAuth, 'content-type': FORM }, body: `token=${opaque}` }));

  // Bare Koa + jose ------------------------------------------------------------------------------
  const active = await warrant.auth.context.keys.active();
  const sign = new Koa();
  sign.use(async (ctx) => {
    const now = Math.floor(Date.now() / 1000);
    ctx.body = { access_token: await new SignJWT({ client_id: c.id, scope: 'read', jti: crypto.randomUUID() }).setProtectedHeader({ alg: active.alg, kid: active.kid, typ: 'at+jwt' }).setIssuer(warrant.url).setSubject(c.id).setAudience(warrant.url).setIssuedAt(now).setExpirationTime(now + 3600).sign(active.privateKey) };
  });
  const signApp = await listen(sign.callback());
  closers.push(() => new Promise((r) => signApp.server.close(r)));
  rows.push(await external('bare Koa + jose: sign ES256 (no storage)', `${signApp.url}/`, { method: 'POST' }));
  const jwks = createLocalJWKSet(await warrant.auth.context.keys.jwks());
  const verify = new Koa();
  verify.use(async (ctx) => {
    const { payload } = await jwtVerify(ctx.get('authorization').slice(7), jwks, { issuer: warrant.url, audience: warrant.url, typ: 'at+jwt', algorithms: ['ES256'] });
    ctx.body = { ok: true, sub: payload.sub };
  });
  const verifyApp = await listen(verify.callback());
  closers.push(() => new Promise((r) => verifyApp.server.close(r)));
  rows.push(await external('bare Koa + jose: verify ES256 bearer (no storage)', `${verifyApp.url}/`, { headers: { authorization: `Bearer ${token}` } }));
} finally {
  for (const close of closers.reverse()) await close().catch(() => undefined);
}

const by = (name: string) => rows.find((r) => r.name.startsWith(name))!;
const ratio = (a: string, b: string) => (by(a).rps / by(b).rps).toFixed(2);
const lines = [
  `# Warrant benchmark`,
  '',
  `${started.toISOString()} · Node ${process.version} · ${connections} connections · ${seconds} s per scenario · 2-core machine, load generator on the same machine (noisy: compare ratios within one run)`,
  '',
  '| scenario | req/s | p50 (ms) | p99 (ms) | non-2xx | note |',
  '|---|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.note ?? ''} |`),
  '',
  '| ratio | value |',
  '|---|---:|',
  `| Warrant client_credentials / node-oidc-provider client_credentials | ${ratio('Warrant client_credentials', 'node-oidc-provider client_credentials')} |`,
  `| Warrant introspection / node-oidc-provider introspection | ${ratio('Warrant introspection', 'node-oidc-provider introspection')} |`,
  `| Warrant client_credentials / bare Koa + jose sign | ${ratio('Warrant client_credentials', 'bare Koa + jose: sign')} |`,
  `| Warrant policy-protected route / bare Koa + jose verify | ${ratio('Warrant policy-protected', 'bare Koa + jose: verify')} |`,
  '',
  '| other target | measured |',
  '|---|---:|',
  ...extra,
  '',
  'Warrant appends every issuance, refresh and revocation as a durable event (synchronous commit) and',
  'answers once the read model shows it; node-oidc-provider keeps its state in process memory.',
  '',
];
await writeFile(new URL('./results.md', import.meta.url), lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
