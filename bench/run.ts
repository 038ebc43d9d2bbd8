// `npm run bench`: Warrant side by side with its references, in one run (issues 7 and 15), written
// to bench/results.md. Three rounds of every scenario; the tables give medians (the machine is
// shared: compare ratios within one run). 32 connections; the load generator (bench/load.ts) is
// always a process of its own, so each server's CPU is measured alone: Node's from
// /proc/<pid>/stat, PostgreSQL's summed over every `postgres` process on the machine.
//
//   Warrant: client_credentials issuance (ES256), refresh (rotation), introspection,
//            a policy-protected route (bench/policy-app.ts, its own process) with a bearer token
//            and with a DPoP-bound token (a fresh proof per request, made beforehand), revocation
//   node-oidc-provider 9 (devDependency, in-memory adapter): client_credentials with JWT ES256
//            access tokens; introspection (opaque tokens)
//   bare Koa + jose, no storage: sign the same kind of token; verify it
//
//   npm run bench [-- --seconds 8 --rounds 3] [--only policy,verify]
//
// --only runs just the scenarios whose names contain one of the words (and writes no results.md).

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import Koa from 'koa';
import Provider from 'oidc-provider';
import type { Histogram } from 'prom-client';
import { basic, postForm } from '../test/support/server.js';
import { built, startBuiltServer } from './warrant-server.js';

const { issueTokens } = built.issue;
const { rebuildProjection } = built.rebuild;
const { tokensProjection } = built.projections;

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const seconds = Number(args.get('seconds') ?? 8);
const rounds = Number(args.get('rounds') ?? 3);
const only = args.get('only')?.toLowerCase().split(',').filter(Boolean);
const wanted = (name: string) => !only || only.some((word) => name.toLowerCase().includes(word));
const connections = 32;
const FORM = 'application/x-www-form-urlencoded';
const TICK_MS = 10; // USER_HZ is 100 on Linux

// CPU ----------------------------------------------------------------------------------------------
const ticksOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
  } catch {
    return 0;
  }
};
/** CPU ticks of every `postgres` process, by pid (connections come and go during a run). */
const postgresTicks = (): Map<number, number> => {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') ticks.set(Number(entry), ticksOf(Number(entry)));
    } catch {
      // the process ended
    }
  }
  return ticks;
};
/** Ticks spent since `before` by the processes alive now (a process that ended meanwhile is not counted). */
const postgresSince = (before: Map<number, number>): number => {
  let sum = 0;
  for (const [pid, ticks] of postgresTicks()) sum += ticks - (before.get(pid) ?? 0);
  return sum;
};

// Load ---------------------------------------------------------------------------------------------
interface Load {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  bodies?: string[];
  header?: { name: string; values: string[] };
}
interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  used: number;
}
interface Row extends Result {
  name: string;
  nodeCores: number;
  pgCores: number;
  nodeMs: number;
  pgMs: number;
  note?: string;
}

function generate(load: Load, duration: number): Promise<Result> {
  const spec = { url: load.url, method: load.method ?? 'GET', headers: load.headers ?? {}, body: load.body, bodies: load.bodies, header: load.header, connections, duration };
  const file = path.join(tmpdir(), `warrant-bench-load-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(spec)); // thousands of bodies do not fit in argv
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./load.ts', import.meta.url).pathname, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`load generator exited ${code}`))));
  });
}

/** 2 s of the same load first, unreported (JIT, pools), then the measured run with the server's and PostgreSQL's CPU. */
async function measure(name: string, pid: number, load: Load, options: { warm?: boolean; beforeMeasure?: () => Promise<void> | void; note?: (r: Result) => string } = {}): Promise<Row> {
  if (options.warm !== false) await generate(load, 2);
  await options.beforeMeasure?.();
  process.stderr.write(`${name} …\n`);
  const node0 = ticksOf(pid);
  const pg0 = postgresTicks();
  const r = await generate(load, seconds);
  const nodeMs = (ticksOf(pid) - node0) * TICK_MS;
  const pgMs = postgresSince(pg0) * TICK_MS;
  const requests = r.rps * seconds;
  return {
    name, ...r, nodeCores: nodeMs / 1000 / seconds, pgCores: pgMs / 1000 / seconds, nodeMs: nodeMs / requests, pgMs: pgMs / requests,
    ...(options.note ? { note: options.note(r) } : {}),
  };
}

// DPoP (RFC 9449): one ES256 key for the bench's client, proofs signed with node:crypto.
const dpopKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const { kty, crv, x, y } = dpopKey.publicKey.export({ format: 'jwk' });
const dpopHeader = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } })).toString('base64url');
function dpopProof(htm: string, htu: string, accessToken?: string): string {
  const claims = { htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...(accessToken ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}) };
  const input = `${dpopHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: dpopKey.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

async function spawnPolicyApp(issuer: string, databaseUrl: string): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./policy-app.ts', import.meta.url).pathname, issuer, databaseUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the policy app exited ${code}`)));
  });
  return { ...(JSON.parse(line) as { url: string; pid: number }), child };
}

/** Upper bound of the histogram bucket holding quantile q (prom-client's cumulative buckets). */
async function bucketQuantile(histogram: Histogram, q: number): Promise<{ bound: number; count: number }> {
  const { values } = await histogram.get();
  const buckets = values.filter((v) => v.metricName?.endsWith('_bucket'));
  const count = buckets.find((v) => v.labels['le'] === '+Inf')?.value ?? 0;
  const hit = buckets.find((v) => v.value >= q * count);
  return { bound: Number(hit?.labels['le'] ?? Infinity), count };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const started = new Date();
const self = process.pid;
const perRound: Row[][] = [];
const lags: { waits: number; p99: number; inline: number }[] = [];
const rebuilds: { rate: number; events: number }[] = [];

const warrant = await startBuiltServer();
const closers: (() => Promise<unknown>)[] = [() => warrant.stop()];
const settings = (await warrant.db.pool.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'server_version')")).rows;
try {
  const c = await warrant.client({ grantTypes: ['client_credentials', 'refresh_token', 'authorization_code'], scopes: ['read'] });
  const auth = basic(c.id, c.secret);
  const token = (await postForm(`${warrant.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: auth })).body.access_token as string;
  const waits = warrant.auth.context.metrics.readModelWaitSeconds;
  const inlineCount = async () => (await warrant.auth.context.metrics.inlineAppends.get()).values.reduce((n, v) => n + v.value, 0);
  const record = (await warrant.auth.context.read.clients.find(c.id))!;
  const tokenPool = async (n: number) => {
    const out: { refresh: string; access: string }[] = [];
    for (let i = 0; i < n; i += 64) {
      const batch = await Promise.all(Array.from({ length: Math.min(64, n - i) }, () => issueTokens(warrant.auth.context, { client: record, subject: 'bench', grantType: 'authorization_code', scopes: ['read'], audience: [warrant.url], withRefresh: true, actor: { actor: 'bench' } })));
      out.push(...batch.map((t) => ({ refresh: t.refresh_token!, access: t.access_token })));
    }
    return out;
  };
  const policyApp = await spawnPolicyApp(warrant.url, warrant.db.url);
  closers.push(async () => policyApp.child.kill('SIGTERM'));
  const bound = (await postForm(`${warrant.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: auth, dpop: dpopProof('POST', `${warrant.url}/oauth/token`) })).body.access_token as string;
  // One proof per request (fresh jti, the token's ath), made before the run: the load generator only sends them.
  const dpopLoad = (requests: number): Load => ({
    url: `${policyApp.url}/`,
    headers: { authorization: `DPoP ${bound}` },
    header: { name: 'dpop', values: Array.from({ length: requests }, () => dpopProof('GET', `${policyApp.url}/`, bound)) },
  });

  // node-oidc-provider and bare Koa + jose, in this process (idle while Warrant is measured).
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
  const opaque = (await postForm(`${oidc.url}/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: oidcAuth })).body.access_token as string;

  const active = await warrant.auth.context.keys.active();
  const sign = new Koa();
  sign.use(async (ctx) => {
    const now = Math.floor(Date.now() / 1000);
    ctx.body = { access_token: await new SignJWT({ client_id: c.id, scope: 'read', jti: crypto.randomUUID() }).setProtectedHeader({ alg: active.alg, kid: active.kid, typ: 'at+jwt' }).setIssuer(warrant.url).setSubject(c.id).setAudience(warrant.url).setIssuedAt(now).setExpirationTime(now + 3600).sign(active.privateKey) };
  });
  const signApp = await listen(sign.callback());
  closers.push(() => new Promise((r) => signApp.server.close(r)));
  const jwks = createLocalJWKSet(await warrant.auth.context.keys.jwks());
  const verify = new Koa();
  verify.use(async (ctx) => {
    const { payload } = await jwtVerify(ctx.get('authorization').slice(7), jwks, { issuer: warrant.url, audience: warrant.url, typ: 'at+jwt', algorithms: ['ES256'] });
    ctx.body = { ok: true, sub: payload.sub };
  });
  const verifyApp = await listen(verify.callback());
  closers.push(() => new Promise((r) => verifyApp.server.close(r)));

  for (let round = 1; round <= rounds; round++) {
    process.stderr.write(`round ${round} of ${rounds}\n`);
    const rows: Row[] = [];
    const post = (url: string, authorization: string, body: string): Load => ({ url, method: 'POST', headers: { authorization, 'content-type': FORM }, body });
    let inlineBefore = 0;
    if (wanted('Warrant client_credentials (ES256)')) {
      rows.push(await measure('Warrant client_credentials (ES256)', self, post(`${warrant.url}/oauth/token`, auth, 'grant_type=client_credentials'), {
        beforeMeasure: async () => {
          waits.reset();
          inlineBefore = await inlineCount();
        },
      }));
      const lag = await bucketQuantile(waits, 0.99);
      lags.push({ waits: lag.count, p99: lag.count ? lag.bound * 1000 : 0, inline: (await inlineCount()) - inlineBefore });
    }
    if (wanted('Warrant introspection')) rows.push(await measure('Warrant introspection', self, post(`${warrant.url}/oauth/introspect`, auth, `token=${token}`)));
    if (wanted('Warrant policy-protected route (own process)')) rows.push(await measure('Warrant policy-protected route (own process)', policyApp.pid, { url: `${policyApp.url}/`, headers: { authorization: `Bearer ${token}` } }));
    if (wanted('Warrant policy route with DPoP (own process)')) {
      // Proofs are single-use: the warm-up spends its own, and the measured run gets fresh ones
      // (enough for 8000 req/s; the note says how many were used).
      await generate(dpopLoad(2 * 8000), 2);
      const proofs = dpopLoad(seconds * 8000);
      rows.push(await measure('Warrant policy route with DPoP (own process)', policyApp.pid, proofs, { warm: false, note: (r) => `${r.used} of ${proofs.header!.values.length} pre-made proofs used` }));
    }
    // One fresh token per request, issued beforehand; no warm-up (it would spend them).
    // VACUUM ANALYZE after each burst of setup: otherwise autovacuum, woken by the thousands of
    // rows the setup just wrote, competes for the two cores during the measured run.
    const used = (n: number) => (r: Result) => `${r.used} of ${n} pre-issued tokens used`;
    if (wanted('Warrant refresh (rotation)')) {
      process.stderr.write('issuing tokens for refresh …\n');
      const forRefresh = await tokenPool(seconds * 3000);
      await warrant.db.pool.query('VACUUM ANALYZE');
      rows.push(await measure('Warrant refresh (rotation)', self, { ...post(`${warrant.url}/oauth/token`, auth, ''), bodies: forRefresh.map((t) => `grant_type=refresh_token&refresh_token=${t.refresh}`) }, { warm: false, note: used(forRefresh.length) }));
    }
    if (wanted('Warrant revocation (answers once applied)')) {
      process.stderr.write('issuing tokens for revocation …\n');
      const forRevoke = await tokenPool(seconds * 3000);
      await warrant.db.pool.query('VACUUM ANALYZE');
      rows.push(await measure('Warrant revocation (answers once applied)', self, { ...post(`${warrant.url}/oauth/revoke`, auth, ''), bodies: forRevoke.map((t) => `token=${t.access}`) }, { warm: false, note: used(forRevoke.length) }));
    }
    if (wanted('node-oidc-provider client_credentials (JWT ES256)')) rows.push(await measure('node-oidc-provider client_credentials (JWT ES256)', self, post(`${oidc.url}/token`, oidcAuth, 'grant_type=client_credentials&scope=read&resource=https%3A%2F%2Fapi.example')));
    if (wanted('node-oidc-provider introspection (opaque, in-memory)')) rows.push(await measure('node-oidc-provider introspection (opaque, in-memory)', self, post(`${oidc.url}/token/introspection`, oidcAuth, `token=${opaque}`)));
    if (wanted('bare Koa + jose: sign ES256 (no storage)')) rows.push(await measure('bare Koa + jose: sign ES256 (no storage)', self, { url: `${signApp.url}/`, method: 'POST' }));
    if (wanted('bare Koa + jose: verify ES256 bearer (no storage)')) rows.push(await measure('bare Koa + jose: verify ES256 bearer (no storage)', self, { url: `${verifyApp.url}/`, headers: { authorization: `Bearer ${token}` } }));
    perRound.push(rows);
    if (only) continue;

    // Rebuild of the tokens read model from the whole log so far (not swapped in), after the
    // VACUUM ANALYZE autovacuum would have done by the time an operator rebuilds.
    await warrant.db.pool.query('VACUUM ANALYZE');
    const head = await warrant.auth.store.headPosition();
    const rebuildStarted = performance.now();
    const rebuilt = await rebuildProjection({ pool: warrant.auth.pool, store: warrant.auth.store, projection: tokensProjection, swap: false });
    rebuilds.push({ rate: head / ((performance.now() - rebuildStarted) / 1000), events: head });
    await warrant.auth.pool.query(`DROP SCHEMA ${rebuilt.schema} CASCADE`);
  }
} finally {
  for (const close of closers.reverse()) await close().catch(() => undefined);
}

// Report -------------------------------------------------------------------------------------------
const names = perRound[0]!.map((r) => r.name);
const of = (round: Row[], prefix: string) => round.find((r) => r.name.startsWith(prefix))!;
const med = (name: string, field: keyof Omit<Row, 'name' | 'note'>) => median(perRound.map((round) => of(round, name)[field]));
const ratio = (a: string, b: string, field: 'rps' | 'cpu' = 'rps') => {
  if (!names.some((name) => name.startsWith(a)) || !names.some((name) => name.startsWith(b))) return 'not run';
  return median(perRound.map((round) => (field === 'rps' ? of(round, a).rps / of(round, b).rps : (of(round, a).nodeMs + of(round, a).pgMs) / (of(round, b).nodeMs + of(round, b).pgMs)))).toFixed(2);
};
const fixed = (n: number, digits = 2) => n.toFixed(digits);
const setting = (name: string) => settings.find((s) => s.name === name)?.setting ?? '?';
const lines = [
  '# Warrant benchmark',
  '',
  `${started.toISOString()} · Node ${process.version} · PostgreSQL ${setting('server_version')} (the machine's server: synchronous_commit=${setting('synchronous_commit')}, fsync=${setting('fsync')}) · ${connections} connections · ${seconds} s per scenario · medians of ${rounds} rounds · 2-core machine, load generator on the same machine in its own process (noisy: compare ratios within one run)`,
  '',
  '| scenario | req/s | p50 (ms) | p99 (ms) | non-2xx | server cores | PostgreSQL cores | CPU ms/req (server + PostgreSQL) | note |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ...names.map((name) => {
    const last = of(perRound.at(-1)!, name);
    return `| ${name} | ${Math.round(med(name, 'rps'))} | ${med(name, 'p50')} | ${med(name, 'p99')} | ${perRound.reduce((n, round) => n + of(round, name).non2xx + of(round, name).errors, 0)} | ${fixed(med(name, 'nodeCores'))} | ${fixed(med(name, 'pgCores'))} | ${fixed(med(name, 'nodeMs'), 3)} + ${fixed(med(name, 'pgMs'), 3)} | ${last.note ?? ''} |`;
  }),
  '',
  '| ratio (median of the per-round ratios) | value |',
  '|---|---:|',
  `| Warrant client_credentials / node-oidc-provider client_credentials (req/s) | ${ratio('Warrant client_credentials', 'node-oidc-provider client_credentials')} |`,
  `| Warrant client_credentials / bare Koa + jose sign (req/s) | ${ratio('Warrant client_credentials', 'bare Koa + jose: sign')} |`,
  `| Warrant introspection / node-oidc-provider introspection (req/s) | ${ratio('Warrant introspection', 'node-oidc-provider introspection')} |`,
  `| Warrant policy-protected route / bare Koa + jose verify (req/s) | ${ratio('Warrant policy-protected', 'bare Koa + jose: verify')} |`,
  `| Warrant policy route with DPoP / bare Koa + jose verify (req/s) | ${ratio('Warrant policy route with DPoP', 'bare Koa + jose: verify')} |`,
  `| CPU ms per request: Warrant client_credentials / node-oidc-provider client_credentials | ${ratio('Warrant client_credentials', 'node-oidc-provider client_credentials', 'cpu')} |`,
  `| CPU ms per request: Warrant introspection / node-oidc-provider introspection | ${ratio('Warrant introspection', 'node-oidc-provider introspection', 'cpu')} |`,
  '',
  // Measured only in full runs (not with --only).
  ...(lags.length && rebuilds.length ? [
    '| other target | measured (median) |',
    '|---|---:|',
    `| issuance run: appends whose read-model rows were written in the append's own transaction (inline) | ${lags.map((l) => l.inline).join(' / ')} |`,
    `| issuance run: waits for a projection runner after the append (append acknowledged → read model has it), count and p99 | ${lags.map((l) => l.waits).join(' / ')}; p99 ≤ ${median(lags.map((l) => l.p99))} ms |`,
    `| projection rebuild (tokens, whole log: ${rebuilds.map((r) => r.events).join(' / ')} events) | ${Math.round(median(rebuilds.map((r) => r.rate)))} events/s |`,
    '',
  ] : []),
  'Warrant appends every issuance, refresh and revocation as a durable event (synchronous commit) and',
  'answers once the read model shows it; node-oidc-provider keeps its state in process memory.',
  'PostgreSQL cores are every `postgres` process on the machine during the run (idle for the peers).',
  '',
];
if (!only) await writeFile(new URL('./results.md', import.meta.url), lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
