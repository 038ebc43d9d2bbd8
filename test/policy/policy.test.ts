// createPolicy: protecting a separate Koa API with Warrant's tokens (RFC 6750, RFC 9068).

import { spawn } from 'node:child_process';
import http from 'node:http';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import { expect } from 'chai';
import { SignJWT, UnsecuredJWT, decodeJwt, exportPKCS8, generateKeyPair } from 'jose';
import Koa from 'koa';
import { createLogger } from '../../src/logger.js';
import { revokeClient } from '../../src/oauth/clients.js';
import { createPolicy, type AuthState, type Policy, type PolicyOptions } from '../../src/policy/policy.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

/** A JSON answer: OAuth errors and the /me echo. */
interface Body {
  error?: string;
  error_description?: string;
  [field: string]: any;
}

interface Api {
  url: string;
  policy: Policy;
  close(): Promise<void>;
}

/** A protected API, in its own Koa app, using only the issuer URL and the database. */
async function protectedApi(server: TestServer, extra: Partial<PolicyOptions> = {}): Promise<Api> {
  const policy = createPolicy({ issuer: server.url, databaseUrl: server.db.url, ...extra });
  policy.definePolicy('owns-document', (auth, ctx) => auth.subject === ctx.params['owner']);
  policy.definePolicy('billing-client-only', (auth) => auth.clientId === process.env['BILLING_CLIENT']);
  const app = new Koa();
  const router = new Router();
  const echo = (ctx: Koa.Context) => {
    const auth = ctx.state['auth'] as AuthState;
    ctx.body = { subject: auth.subject, clientId: auth.clientId, scopes: auth.scopes, jti: auth.jti, iss: auth.claims.iss };
  };
  router.get('/me', policy.requireToken(), echo);
  router.get('/reports', policy.requireScopes('reports:read', 'reports:export'), echo);
  router.get('/either', policy.requireAnyScope('a', 'b'), echo);
  router.get('/machine', policy.requireClient('jobs'), echo);
  router.get('/docs/:owner', policy.requireScopes('docs'), policy.requirePolicy('owns-document'), echo);
  router.get('/billing', policy.requirePolicy('billing-client-only'), echo);
  app.use(router.routes());
  const listener = http.createServer(app.callback());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(listener.address() as { port: number }).port}`;
  return {
    url,
    policy,
    async close() {
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
      await policy.close();
    },
  };
}

const get = async (url: string, authorization?: string) => {
  const response = await fetch(url, { headers: authorization ? { authorization } : {} });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Body };
};

/** Makes a real server accept requests for some paths and never answer them, until the returned function is called. */
function stall(server: http.Server, paths: (path: string) => boolean): () => void {
  const handlers = server.listeners('request') as http.RequestListener[];
  const held: http.ServerResponse[] = [];
  server.removeAllListeners('request');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (paths(req.url ?? '')) return void held.push(res);
    for (const handler of handlers) handler.call(server, req, res);
  });
  return () => {
    server.removeAllListeners('request');
    for (const handler of handlers) server.on('request', handler);
    for (const res of held) res.destroy();
  };
}

describe('createPolicy (protected APIs)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let api: Api;
  before(async () => {
    server = await startTestServer();
    api = await protectedApi(server);
  });
  after(async () => {
    await api.close();
    await server.stop();
  });

  const clientToken = async (scopes: string[], register: string[] = scopes) => {
    const c = await server.client({ scopes: register });
    const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: scopes.join(' ') }, { authorization: basic(c.id, c.secret) });
    return { token: res.body.access_token as string, ...c };
  };

  it('accepts a valid token and puts subject, client id, scopes, jti and claims in ctx.state.auth (keys from the issuer JWKS)', async () => {
    const t = await clientToken(['read']);
    const res = await get(`${api.url}/me`, `Bearer ${t.token}`);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ subject: t.id, clientId: t.id, scopes: ['read'], jti: decodeJwt(t.token).jti, iss: server.url });
  });

  it('no token: 401 with WWW-Authenticate: Bearer realm and no error code (RFC 6750 §3.1)', async () => {
    const res = await get(`${api.url}/me`);
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.equal(`Bearer realm="${server.url}"`);
    const basicAuth = await get(`${api.url}/me`, 'Basic abc');
    expect(basicAuth.status).to.equal(401);
    expect(basicAuth.headers.get('www-authenticate')).to.contain('error="invalid_request"');
  });

  it('bad tokens: garbage, a tampered signature, alg "none", and HS256 keyed with the public key are 401 invalid_token', async () => {
    const t = await clientToken(['read']);
    const claims = decodeJwt(t.token);
    const jwks = (await (await fetch(`${server.url}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
    const none = new UnsecuredJWT(claims).encode();
    const confusion = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwks.keys[0]!.kid })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    const tampered = `${t.token.slice(0, t.token.lastIndexOf('.'))}.${'A'.repeat(86)}`;
    for (const [name, token] of Object.entries({ garbage: 'abc.def.ghi', tampered, none: `${none}`, confusion })) {
      const res = await get(`${api.url}/me`, `Bearer ${token}`);
      expect(res.status, name).to.equal(401);
      expect(res.headers.get('www-authenticate'), name).to.contain('error="invalid_token"');
    }
  });

  it('refuses a token from another issuer and a token for another audience', async () => {
    const other = await startTestServer();
    try {
      const c = await other.client();
      const foreign = (await postForm(`${other.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) })).body.access_token;
      expect((await get(`${api.url}/me`, `Bearer ${foreign}`)).status).to.equal(401);
    } finally {
      await other.stop();
    }
    // Same keys, different issuer name: the iss check alone refuses it.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportPKCS8(privateKey);
    const a = await startTestServer({ config: { signingKey: pem } });
    const b = await startTestServer({ config: { signingKey: pem } });
    const apiA = await protectedApi(a);
    try {
      const c = await b.client();
      const fromB = (await postForm(`${b.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) })).body.access_token;
      const res = await get(`${apiA.url}/me`, `Bearer ${fromB}`);
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.contain('error="invalid_token"');
    } finally {
      await apiA.close();
      await Promise.all([a.stop(), b.stop()]);
    }
    const t = await server.client({ resources: ['https://other.example/'] });
    const elsewhere = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', resource: 'https://other.example/' }, { authorization: basic(t.id, t.secret) })).body.access_token;
    expect((await get(`${api.url}/me`, `Bearer ${elsewhere}`)).status).to.equal(401);
    const audienceApi = await protectedApi(server, { audience: 'https://other.example/' });
    try {
      expect((await get(`${audienceApi.url}/me`, `Bearer ${elsewhere}`)).status).to.equal(200);
    } finally {
      await audienceApi.close();
    }
  });

  it('an expired token: refused beyond the clock tolerance, accepted within it', async () => {
    // Issued by a server whose clock is 1 h 3 s behind: exp is 3 s in the past.
    const late = await startTestServer({ clock: () => new Date(Date.now() - 3_603_000) });
    const strict = await protectedApi(late, { clockToleranceSeconds: 0 });
    const lenient = await protectedApi(late, { clockToleranceSeconds: 10 });
    try {
      const c = await late.client();
      const token = (await postForm(`${late.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) })).body.access_token;
      const refused = await get(`${strict.url}/me`, `Bearer ${token}`);
      expect(refused.status).to.equal(401);
      expect(refused.body.error_description).to.equal('the access token has expired');
      expect((await get(`${lenient.url}/me`, `Bearer ${token}`)).status).to.equal(200);
    } finally {
      await strict.close();
      await lenient.close();
      await late.stop();
    }
  });

  it('requireScopes needs all, requireAnyScope one; a miss is 403 insufficient_scope naming the scope', async () => {
    const one = await clientToken(['reports:read']);
    const res = await get(`${api.url}/reports`, `Bearer ${one.token}`);
    expect(res.status).to.equal(403);
    expect(res.body.error).to.equal('insufficient_scope');
    expect(res.headers.get('www-authenticate')).to.contain('error="insufficient_scope"').and.to.contain('scope="reports:read reports:export"');
    const both = await clientToken(['reports:read', 'reports:export']);
    expect((await get(`${api.url}/reports`, `Bearer ${both.token}`)).status).to.equal(200);
    expect((await get(`${api.url}/either`, `Bearer ${both.token}`)).status).to.equal(403);
    expect((await get(`${api.url}/either`, `Bearer ${(await clientToken(['b'])).token}`)).status).to.equal(200);
  });

  it('requireClient accepts client-credentials tokens only', async () => {
    const machine = await clientToken(['jobs']);
    expect((await get(`${api.url}/machine`, `Bearer ${machine.token}`)).status).to.equal(200);
    const user = await server.auth.actingAs({ subject: 'alice', scopes: ['jobs'] });
    const res = await get(`${api.url}/machine`, user.authorization);
    expect(res.status).to.equal(403);
    expect(res.body.error).to.equal('insufficient_scope');
  });

  it('ownership and other named policies allow and deny; a denial is 403 access_denied naming the policy, and is logged', async () => {
    const alice = await server.auth.actingAs({ subject: 'alice', scopes: ['docs'] });
    expect((await get(`${api.url}/docs/alice`, alice.authorization)).status).to.equal(200);
    const denied = await get(`${api.url}/docs/bob`, alice.authorization);
    expect(denied.status).to.equal(403);
    expect(denied.body).to.deep.equal({ error: 'access_denied', error_description: 'denied by policy "owns-document"' });
    // Scope checks run first and compose: without the scope it is insufficient_scope, not the policy.
    const noScope = await server.auth.actingAs({ subject: 'alice', scopes: [] });
    expect((await get(`${api.url}/docs/alice`, noScope.authorization)).body.error).to.equal('insufficient_scope');

    const billing = await server.auth.actingAsClient({ scopes: [] });
    process.env['BILLING_CLIENT'] = billing.clientId;
    expect((await get(`${api.url}/billing`, billing.authorization)).status).to.equal(200);
    expect((await get(`${api.url}/billing`, alice.authorization)).status).to.equal(403);
    expect((await get(`${api.url}/billing`)).status).to.equal(401);

    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } });
    const logged = await protectedApi(server, { logger: createLogger({ level: 'info', destination: sink }) });
    try {
      await get(`${logged.url}/docs/bob`, alice.authorization);
    } finally {
      await logged.close();
    }
    const entry = JSON.parse(lines.find((l) => l.includes('denied by policy'))!) as Record<string, unknown>;
    expect(entry).to.include({ policy: 'owns-document', subject: 'alice', clientId: alice.clientId });
  });

  it('revocation is immediate: a revoked token and the tokens of a revoked client fail at once', async () => {
    const t = await clientToken(['read']);
    expect((await get(`${api.url}/me`, `Bearer ${t.token}`)).status).to.equal(200);
    const revoked = await postForm(`${server.url}/oauth/revoke`, { token: t.token }, { authorization: basic(t.id, t.secret) });
    expect(revoked.status).to.equal(200);
    const after = await get(`${api.url}/me`, `Bearer ${t.token}`);
    expect(after.status).to.equal(401);
    expect(after.body.error_description).to.equal('the access token was revoked');

    const u = await clientToken(['read']);
    expect((await get(`${api.url}/me`, `Bearer ${u.token}`)).status).to.equal(200);
    await revokeClient(server.auth.context, u.id, { actor: 'admin:test' });
    expect((await get(`${api.url}/me`, `Bearer ${u.token}`)).status).to.equal(401);
  });

  it('a token revoked through /oauth/revoke fails at once in another process using the same database', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../support/resource-server.ts', import.meta.url))], {
      env: { ...process.env, ISSUER: server.url, DATABASE_URL: server.db.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const match = /listening (\d+)/.exec(chunk.toString());
          if (match) resolve(Number(match[1]));
        });
        child.on('exit', (code) => reject(new Error(`resource server exited ${code}`)));
      });
      const remote = `http://127.0.0.1:${port}/me`;
      for (let round = 0; round < 5; round += 1) {
        const t = await clientToken(['read']);
        expect((await get(remote, `Bearer ${t.token}`)).status).to.equal(200);
        const revoked = await postForm(`${server.url}/oauth/revoke`, { token: t.token }, { authorization: basic(t.id, t.secret) });
        expect(revoked.status).to.equal(200);
        // No sleep: the very next request to the other process is refused.
        expect((await get(remote, `Bearer ${t.token}`)).status, `round ${round}`).to.equal(401);
      }
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('body and query tokens are refused unless enabled; two places at once is invalid_request', async () => {
    const t = await clientToken(['read']);
    expect((await get(`${api.url}/me?access_token=${t.token}`)).status).to.equal(401);
    const withQuery = await protectedApi(server, { allowQueryToken: true });
    try {
      expect((await get(`${withQuery.url}/me?access_token=${t.token}`)).status).to.equal(200);
      const twice = await get(`${withQuery.url}/me?access_token=${t.token}`, `Bearer ${t.token}`);
      expect(twice.status).to.equal(401);
      expect(twice.headers.get('www-authenticate')).to.contain('error="invalid_request"');
    } finally {
      await withQuery.close();
    }
  });

  it('actingAs and actingAsClient mint real tokens the policy accepts (and that can be revoked)', async () => {
    const user = await server.auth.actingAs({ subject: 'zoe', scopes: ['reports:read', 'reports:export'] });
    const res = await get(`${api.url}/reports`, user.authorization);
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ subject: 'zoe' });
    const machine = await server.auth.actingAsClient({ scopes: ['jobs'] });
    expect((await get(`${api.url}/machine`, machine.authorization)).body).to.include({ clientId: machine.clientId });
    const { revokeFamily } = await import('../../src/oauth/revocation.js');
    await revokeFamily(server.auth.context, user.familyId, 'admin', { actor: 'admin:test' });
    expect((await get(`${api.url}/reports`, user.authorization)).status).to.equal(401);
  });

  it('an issuer that accepts connections and never answers (metadata or JWKS) gets 503 temporarily_unavailable with Retry-After within the discovery timeout, and tokens work once it answers', async () => {
    const issuer = await startTestServer();
    try {
      const c = await issuer.client();
      const token = (await postForm(`${issuer.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) })).body.access_token as string;
      for (const stalled of ['/.well-known/oauth-authorization-server', '/oauth/jwks']) {
        const release = stall(issuer.server, (path) => path.startsWith(stalled));
        const stuck = await protectedApi(issuer, { discoveryTimeoutMs: 300 });
        try {
          const started = Date.now();
          // Our own deadline, far below undici's 300 s, so a hang fails this test instead of stalling it.
          const response = await fetch(`${stuck.url}/me`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(4_000) });
          const elapsed = Date.now() - started;
          expect(response.status, stalled).to.equal(503);
          expect(response.headers.get('retry-after'), stalled).to.match(/^[1-9]\d*$/);
          expect(response.headers.get('www-authenticate'), stalled).to.equal(null);
          expect(await response.json(), stalled).to.deep.include({ error: 'temporarily_unavailable' });
          expect(elapsed, stalled).to.be.lessThan(300 + 1_500);
          // The issuer recovers: a later request discovers again (the failure is not kept) and the token is accepted.
          release();
          let status = 0;
          for (const deadline = Date.now() + 5_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
            status = (await fetch(`${stuck.url}/me`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(4_000) })).status;
            if (status !== 503) break;
          }
          expect(status, stalled).to.equal(200);
        } finally {
          release();
          await stuck.close();
        }
      }
    } finally {
      await issuer.stop();
    }
  });

  it('answers 503 (not a crash) when the issuer cannot be reached for its keys', async () => {
    const orphan = createPolicy({ issuer: 'http://127.0.0.1:1', databaseUrl: server.db.url });
    try {
      const error = await orphan.authenticate('Bearer a.b.c').catch((e: unknown) => e);
      expect(error).to.include({ status: 503, error: 'temporarily_unavailable' });
    } finally {
      await orphan.close();
    }
  });
});
