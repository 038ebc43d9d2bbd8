// Benchmark (not a test): a policy-protected Koa route against a bare Koa route that only verifies
// the same JWT with jose (signature, typ, iss, aud, exp) — no revocation check, no storage.
// Target (issue 4): protected ≥ 0.8 × bare in req/s on the 2-core machine.
//
//   npm run bench:policy [-- --seconds 10 --warmup 2 --connections 32 --rounds 3]
//
// Both APIs run in this process; autocannon runs in a child process (as a real client would),
// against each in turn, alternating for several rounds (the shared machine drifts); the table
// gives each route's median and the median of the per-round ratios. The token is a real client_credentials token from a real
// Warrant server on its own database.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createLocalJWKSet, jwtVerify } from 'jose';
import Koa from 'koa';
import { createPolicy } from '../src/policy/policy.js';
import { basic, postForm, startTestServer } from '../test/support/server.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const seconds = Number(args.get('seconds') ?? 10);
const warmup = Number(args.get('warmup') ?? 2);
const connections = Number(args.get('connections') ?? 32);
const rounds = Number(args.get('rounds') ?? 3);

interface Summary {
  requests: { mean: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

function runAutocannon(url: string, authorization: string, duration: number): Promise<Summary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [autocannonBin, '-c', String(connections), '-d', String(duration), '-j', '-H', `authorization=${authorization}`, url], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Summary) : reject(new Error(`autocannon exited ${code}`))));
  });
}

async function listen(app: Koa): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/resource`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const started = new Date();
const warrant = await startTestServer();
const policy = createPolicy({ issuer: warrant.url, databaseUrl: warrant.db.url });
try {
  const client = await warrant.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
  const token = (await postForm(`${warrant.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: basic(client.id, client.secret) })).body.access_token as string;
  const authorization = `Bearer ${token}`;

  const protectedApp = new Koa();
  protectedApp.use(policy.requireScopes('read'));
  protectedApp.use((ctx) => {
    ctx.body = { ok: true, sub: (ctx.state['auth'] as { subject: string }).subject };
  });

  const jwks = createLocalJWKSet((await (await fetch(`${warrant.url}/oauth/jwks`)).json()) as { keys: [] });
  const bareApp = new Koa();
  bareApp.use(async (ctx) => {
    const header = ctx.get('authorization');
    try {
      const { payload } = await jwtVerify(header.slice(7), jwks, { issuer: warrant.url, audience: warrant.url, typ: 'at+jwt', algorithms: ['ES256'] });
      ctx.body = { ok: true, sub: payload.sub };
    } catch {
      ctx.status = 401;
    }
  });

  const apps = { protected: await listen(protectedApp), bare: await listen(bareApp) };
  try {
    for (const app of Object.values(apps)) {
      const check = await fetch(app.url, { headers: { authorization } });
      if (check.status !== 200) throw new Error(`${app.url} answered ${check.status}`);
    }
    const runs: { protected: Summary; bare: Summary }[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      const result: Partial<Record<'protected' | 'bare', Summary>> = {};
      for (const [name, app] of Object.entries(apps) as ['protected' | 'bare', { url: string }][]) {
        process.stderr.write(`round ${round}/${rounds} ${name}: ${warmup} s warm-up, ${seconds} s measured …\n`);
        if (warmup > 0) await runAutocannon(app.url, authorization, warmup);
        result[name] = await runAutocannon(app.url, authorization, seconds);
      }
      runs.push(result as { protected: Summary; bare: Summary });
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const ratios = runs.map((r) => r.protected.requests.mean / r.bare.requests.mean);
    const ratio = median(ratios);
    const row = (label: string, pick: (r: { protected: Summary; bare: Summary }) => Summary) =>
      `| ${label} | ${Math.round(median(runs.map((r) => pick(r).requests.mean)))} | ${median(runs.map((r) => pick(r).latency.p50))} | ${median(runs.map((r) => pick(r).latency.p99))} | ${runs.reduce((n, r) => n + pick(r).non2xx, 0)} | ${runs.reduce((n, r) => n + pick(r).errors, 0)} |`;
    const lines = [
      `Policy-protected route vs bare Koa + jose verify, ${connections} connections, ${rounds} alternating rounds of ${seconds} s after ${warmup} s warm-up (${started.toISOString()}, Node ${process.version})`,
      '',
      '| route (medians over rounds) | req/s | p50 (ms) | p99 (ms) | non-2xx | errors |',
      '|---|---:|---:|---:|---:|---:|',
      row("policy.requireScopes('read') (verify + revocation lookup)", (r) => r.protected),
      row('bare Koa + jose jwtVerify', (r) => r.bare),
      '',
      `per-round ratios protected / bare: ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
      `median ratio: ${ratio.toFixed(2)} (target ≥ 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (runs.some((r) => r.protected.non2xx > 0 || r.bare.non2xx > 0)) process.exitCode = 1;
  } finally {
    await apps.protected.close();
    await apps.bare.close();
  }
} finally {
  await policy.close();
  await warrant.stop();
}
