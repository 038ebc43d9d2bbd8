// Warrant as another project meets it: `npm pack`, the tarball installed into a fresh Koa app in
// a temporary folder, then plain `node` (no loader), a strict TypeScript compile of a consumer,
// and `npx warrant` there. Nothing here imports from this repository's sources.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { childEnv, freePort, waitForHttp } from '../support/process.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string>; dependencies: Record<string, string> };

// The consumer's own dependencies, pinned to what this repository already uses (so the npm cache
// has them).
const KOA = pkg.dependencies['koa']!;
const ROUTER = pkg.dependencies['@koa/router']!;
const TYPESCRIPT = pkg.devDependencies['typescript']!;
const TYPES_NODE = pkg.devDependencies['@types/node']!;

const AUTH_SERVER = `// A consumer's authorization server: Warrant's whole app on its own port.
import http from 'node:http';
import { createAuthServer } from 'warrant';

const auth = await createAuthServer({ config: { databaseUrl: process.env.DATABASE_URL, issuer: process.env.ISSUER } });
http.createServer(auth.app.callback()).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('auth ready'));
process.on('SIGTERM', async () => { await auth.close(); process.exit(0); });
`;

const API = `// A consumer's protected API: only the issuer URL and the database.
import Koa from 'koa';
import Router from '@koa/router';
import { createPolicy } from 'warrant';

const policy = createPolicy({ issuer: process.env.ISSUER, databaseUrl: process.env.DATABASE_URL });
const router = new Router();
router.get('/reports', policy.requireScopes('reports:read'), (ctx) => {
  ctx.body = { subject: ctx.state.auth.subject, scopes: ctx.state.auth.scopes };
});
const app = new Koa();
app.use(router.routes());
app.listen(Number(process.env.API_PORT), '127.0.0.1', () => console.log('api ready'));
process.on('SIGTERM', async () => { await policy.close(); process.exit(0); });
`;

const TYPED = `// A TypeScript consumer: the public types under strict settings, without skipLibCheck.
import http from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { createAuthServer, createPolicy, OAuthError, type AuthServer, type AuthState, type Policy, type PolicyCheck } from 'warrant';

const policy: Policy = createPolicy({ issuer: 'https://auth.example', databaseUrl: 'postgres://localhost/app' });
const ownsReport: PolicyCheck = (auth: AuthState, ctx) => auth.subject === ctx.params['owner'];
policy.definePolicy('owns-report', ownsReport);

const router = new Router();
router.get('/reports/:owner', policy.requireAnyScope('reports:read', 'admin'), policy.requirePolicy('owns-report'), (ctx) => {
  const auth = ctx.state['auth'] as AuthState;
  const first: string | undefined = auth.scopes[0];
  ctx.body = { subject: auth.subject, first: first ?? null };
});

export async function main(): Promise<void> {
  const auth: AuthServer = await createAuthServer({ config: { issuer: 'https://auth.example', databaseUrl: 'postgres://localhost/auth' } });
  const app = new Koa();
  app.use(auth.router.routes());
  app.use(router.routes());
  http.createServer(app.callback());
  const error = new OAuthError(400, 'invalid_request', 'example');
  const status: number = error.status;
  console.log(status, auth.config.issuer);
  await auth.close();
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noUncheckedIndexedAccess: true,
    noPropertyAccessFromIndexSignature: true,
    exactOptionalPropertyTypes: false,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
  },
  include: ['consumer.ts'],
};

describe('the npm package in a fresh consumer app', function () {
  this.timeout(300_000);
  let work: string;
  let app: string;
  let tarball: string;
  let packed: { files: { path: string }[]; entryCount: number; size: number };
  let db: TestDatabase;
  const children: ChildProcess[] = [];

  before(async () => {
    expect(existsSync(path.join(ROOT, 'dist', 'src', 'index.js')), 'npm test builds dist/ first').to.equal(true);
    work = await mkdtemp(path.join(tmpdir(), 'warrant-consumer-'));
    app = path.join(work, 'app');
    await mkdir(app);
    // --ignore-scripts: dist/ is already built; packing must not rebuild it under other tests.
    const { stdout } = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    packed = (JSON.parse(stdout) as (typeof packed & { filename: string })[])[0]!;
    tarball = path.join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }, null, 2));
    await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, `koa@${KOA}`, `@koa/router@${ROUTER}`, `typescript@${TYPESCRIPT}`, `@types/node@${TYPES_NODE}`], { cwd: app, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 });
    db = await createTestDatabase({ migrate: false });
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await db?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the tarball ships compiled JavaScript, declarations and migrations, and no tests or benchmarks', async () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).to.include.members(['package.json', 'README.md', 'bin/warrant.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/migrations/0001_event_store.sql']);
    expect(paths.filter((p) => /^(test|bench|src|projections|examples|\.ci)\//.test(p)), 'nothing but dist/, bin/ and docs').to.deep.equal([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).to.deep.equal([]);
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    expect(stdout.split('\n').filter((line) => /^package\/(test|bench)\//.test(line))).to.deep.equal([]);
    const installed = JSON.parse(await readFile(path.join(app, 'node_modules', 'warrant', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(installed.dependencies)).not.to.include.members(['tsx', 'typescript', 'mocha']);
  });

  it('`npx warrant --help` works in the consumer app', async () => {
    const { stdout } = await exec('npx', ['--no-install', 'warrant', '--help'], { cwd: app });
    expect(stdout).to.match(/^Usage: warrant/).and.to.contain('client');
  });

  it('plain node imports createAuthServer and createPolicy; the app protects a route with a token from the running Warrant (valid 200, revoked 401)', async () => {
    const storage = path.join(work, 'storage');
    const [port, apiPort] = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${port}`;
    const env = { DATABASE_URL: db.url, WARRANT_STORAGE: storage, ISSUER: issuer, PORT: String(port), API_PORT: String(apiPort), WARRANT_SCOPES: '{"reports:read":"Read reports"}' };
    // What the README tells a library user to run first: keys, pepper and tables.
    const installed = await exec('npx', ['--no-install', 'warrant', 'install'], { cwd: app, env: childEnv(env) });
    expect(installed.stdout).to.contain('Signing key created');
    const created = await exec('npx', ['--no-install', 'warrant', 'client', 'create', '--name', 'Reports job', '--grant', 'client_credentials', '--scope', 'reports:read', '--json'], { cwd: app, env: childEnv(env) });
    const { client_id: id, client_secret: secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };

    await writeFile(path.join(app, 'auth.mjs'), AUTH_SERVER);
    await writeFile(path.join(app, 'api.mjs'), API);
    for (const script of ['auth.mjs', 'api.mjs']) {
      const child = spawn(process.execPath, [script], { cwd: app, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('exit', (code) => {
        if (code) output += `\n(exited ${code})`;
      });
      children.push(child);
      await waitForHttp(script === 'auth.mjs' ? `${issuer}/healthz` : `http://127.0.0.1:${apiPort}/`, 30_000).catch((error: unknown) => {
        throw new Error(`${script} did not start: ${(error as Error).message}\n${output}`);
      });
      expect(output, `${script} runs under plain node`).not.to.contain('ERR_UNKNOWN_FILE_EXTENSION');
    }
    const authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const post = (endpoint: string, body: string) =>
      fetch(`${issuer}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body });
    const token = ((await (await post('/oauth/token', 'grant_type=client_credentials')).json()) as { access_token: string }).access_token;
    const call = () => fetch(`http://127.0.0.1:${apiPort}/reports`, { headers: { authorization: `Bearer ${token}` } });
    const ok = await call();
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.equal({ subject: id, scopes: ['reports:read'] });
    expect((await fetch(`http://127.0.0.1:${apiPort}/reports`)).status, 'no token').to.equal(401);

    expect((await post('/oauth/revoke', `token=${token}`)).status).to.equal(200);
    const revoked = await call();
    expect(revoked.status).to.equal(401);
    expect(revoked.headers.get('www-authenticate')).to.contain('error="invalid_token"');
  });

  it('a TypeScript consumer type-checks with strict, noUncheckedIndexedAccess and nodenext, without skipLibCheck', async () => {
    await writeFile(path.join(app, 'consumer.ts'), TYPED);
    await writeFile(path.join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const result = await exec(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', app], { cwd: app }).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
    );
    expect(result.output).to.equal('');
    expect(result.code).to.equal(0);
    // The check can fail: a type error in the consumer is reported.
    await writeFile(path.join(app, 'consumer.ts'), `${TYPED}\nconst wrong: number = createPolicy({ issuer: 'x', databaseUrl: 'y' });\nexport { wrong };\n`);
    const broken = await exec(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', app], { cwd: app }).then(() => '', (error: { stdout: string }) => error.stdout);
    expect(broken).to.contain("Type 'Policy' is not assignable to type 'number'");
  });
});
