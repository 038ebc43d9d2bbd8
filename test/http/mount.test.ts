// Warrant inside a host Koa app, the two documented ways: `auth.router` mounted in the host's own
// app (which has its own error middleware and body parser), and the whole `auth.app` under a
// prefix with koa-mount. Either way the protocol must not change: the same requests get the same
// answers as from the standalone server.

import http from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import { expect } from 'chai';
import Koa from 'koa';
import mount from 'koa-mount';
import { createHttpServer } from '../../src/serve.js';
import { createAuthServer, type AuthServer } from '../../src/server.js';
import { loadConfig } from '../../src/config.js';
import { ensureKey } from '../../src/keys/keystore.js';
import { ensurePepper } from '../../src/keys/pepper.js';
import { silentLogger } from '../../src/logger.js';
import { registerClient } from '../../src/oauth/clients.js';
import { createUser } from '../../src/users/directory.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort } from '../support/process.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

interface Answer {
  status: number;
  type: string | null;
  cacheControl: string | null;
  wwwAuthenticate: string | null;
  requestId: string | null;
  body: unknown;
}

async function ask(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text, so a text/plain answer shows in the failure
  }
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    wwwAuthenticate: response.headers.get('www-authenticate'),
    requestId: response.headers.get('x-request-id'),
    body,
  };
}

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
});

async function listen(app: Koa): Promise<{ url: string; server: http.Server }> {
  const port = await freePort();
  const server = createHttpServer(app.callback(), { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, server };
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('Warrant mounted in a host Koa app', function () {
  this.timeout(60_000);

  describe('auth.router in a host app with its own error middleware and body parser', () => {
    let standalone: TestServer;
    let host: { url: string; server: http.Server };
    let hostErrors: string[];
    before(async () => {
      standalone = await startTestServer();
      hostErrors = [];
      const app = new Koa();
      // The host's error middleware: its own format (text), and it records what reached it.
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          hostErrors.push((error as Error).message);
          ctx.status = (error as { status?: number }).status ?? 500;
          ctx.type = 'text/plain';
          ctx.body = `host says: ${(error as Error).message}`;
        }
      });
      app.use(bodyParser());
      app.use(standalone.auth.router.routes());
      app.use(standalone.auth.router.allowedMethods());
      app.use(async (ctx) => {
        if (ctx.path === '/host/boom') ctx.throw(418, 'the host failed on its own route');
        ctx.body = { host: true };
      });
      host = await listen(app);
    });
    after(async () => {
      await close(host.server);
      await standalone.stop();
    });

    it('answers token errors exactly as the standalone server: RFC 6749 JSON, status, WWW-Authenticate, no-store, request id', async () => {
      const { id, secret } = await standalone.client({ scopes: ['read'] });
      const narrow = await standalone.client({ grantTypes: ['authorization_code'], redirectUris: ['https://app.example/cb'], scopes: ['read'] });
      const cases: [string, RequestInit][] = [
        ['wrong secret (invalid_client, Basic challenge)', form({ grant_type: 'client_credentials' }, { authorization: basic(id, 'not the secret') })],
        ['unknown client in the body (invalid_client)', form({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' })],
        ['a scope the client lacks (invalid_scope)', form({ grant_type: 'client_credentials', scope: 'write' }, { authorization: basic(id, secret) })],
        ['a grant the client lacks (unauthorized_client)', form({ grant_type: 'client_credentials' }, { authorization: basic(narrow.id, narrow.secret) })],
        ['no grant_type (invalid_request)', form({}, { authorization: basic(id, secret) })],
        ['a JSON body (invalid_request)', { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic(id, secret) }, body: '{"grant_type":"client_credentials"}' }],
      ];
      for (const [name, init] of cases) {
        const mounted = await ask(`${host.url}/oauth/token`, init);
        const alone = await ask(`${standalone.url}/oauth/token`, init);
        expect(mounted.type, name).to.match(/^application\/json/);
        expect(mounted.cacheControl, name).to.equal('no-store');
        expect(mounted.requestId, name).to.match(/^[0-9a-f-]{36}$/);
        expect({ ...mounted, requestId: null }, name).to.deep.equal({ ...alone, requestId: null });
      }
      const invalidClient = await ask(`${host.url}/oauth/token`, cases[0]![1]);
      expect(invalidClient.status).to.equal(401);
      expect(invalidClient.wwwAuthenticate).to.match(/^Basic realm=/);
      expect((invalidClient.body as { error: string }).error).to.equal('invalid_client');
      expect(((await ask(`${host.url}/oauth/token`, cases[2]![1])).body as { error: string }).error).to.equal('invalid_scope');
      expect(((await ask(`${host.url}/oauth/token`, cases[3]![1])).body as { error: string }).error).to.equal('unauthorized_client');
      expect(hostErrors, 'no Warrant error reached the host error middleware').to.deep.equal([]);
    });

    it('issues, introspects and revokes through the mounted router (the host body parser does not get in the way)', async () => {
      const { id, secret } = await standalone.client({ scopes: ['read'] });
      const issued = await postForm(`${host.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: basic(id, secret), 'x-request-id': 'host-req-1' });
      expect(issued.status).to.equal(200);
      expect(issued.headers.get('x-request-id')).to.equal('host-req-1');
      const token = issued.body.access_token as string;
      expect((await postForm(`${host.url}/oauth/introspect`, { token }, { authorization: basic(id, secret) })).body.active).to.equal(true);
      expect((await postForm(`${host.url}/oauth/revoke`, { token }, { authorization: basic(id, secret) })).status).to.equal(200);
      expect((await postForm(`${host.url}/oauth/introspect`, { token }, { authorization: basic(id, secret) })).body.active).to.equal(false);
    });

    it('bearer failures on the admin API carry RFC 6750 WWW-Authenticate, as standalone', async () => {
      const mounted = await ask(`${host.url}/oauth/clients`);
      const alone = await ask(`${standalone.url}/oauth/clients`);
      expect(mounted.status).to.equal(401);
      expect(mounted.wwwAuthenticate).to.match(/^Bearer realm=/);
      expect({ ...mounted, requestId: null }).to.deep.equal({ ...alone, requestId: null });
      const { id, secret } = await standalone.client({ scopes: ['read'] });
      const token = (await postForm(`${host.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) })).body.access_token as string;
      const forbidden = await ask(`${host.url}/oauth/clients`, { headers: { authorization: `Bearer ${token}` } });
      expect(forbidden.status).to.equal(403);
      expect(forbidden.wwwAuthenticate).to.match(/error="insufficient_scope"/);
      expect(hostErrors).to.deep.equal([]);
    });

    it("leaves the host's own routes to the host: its errors still reach its error middleware", async () => {
      const boom = await ask(`${host.url}/host/boom`);
      expect(boom.status).to.equal(418);
      expect(boom.body).to.equal('host says: the host failed on its own route');
      expect(boom.requestId, 'Warrant does not stamp the host routes').to.equal(null);
      expect(hostErrors).to.deep.equal(['the host failed on its own route']);
      hostErrors.length = 0;
      expect((await ask(`${host.url}/anything`)).body).to.deep.equal({ host: true });
    });
  });

  describe('auth.app under a prefix (koa-mount), issuer https://…/auth', () => {
    let db: TestDatabase;
    let storage: string;
    let auth: AuthServer;
    let host: { url: string; server: http.Server };
    let base: string;
    before(async () => {
      db = await createTestDatabase({ migrate: false });
      storage = await mkdtemp(path.join(tmpdir(), 'warrant-mount-'));
      await ensureKey(storage);
      await ensurePepper(storage);
      const port = await freePort();
      base = `http://127.0.0.1:${port}/auth`;
      auth = await createAuthServer({ config: loadConfig({}, { databaseUrl: db.url, storage, issuer: base, port }), logger: silentLogger });
      const app = new Koa();
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          ctx.status = 500;
          ctx.body = `host says: ${(error as Error).message}`;
        }
      });
      app.use(mount('/auth', auth.app));
      const server = createHttpServer(app.callback(), { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      host = { url: `http://127.0.0.1:${port}`, server };
    });
    after(async () => {
      await close(host.server);
      await auth.close();
      await db.drop();
      await rm(storage, { recursive: true, force: true });
    });

    it('publishes endpoints under the prefix, and they work', async () => {
      const metadata = (await ask(`${base}/.well-known/oauth-authorization-server`)).body as Record<string, string>;
      expect(metadata['issuer']).to.equal(base);
      expect(metadata['token_endpoint']).to.equal(`${base}/oauth/token`);
      const { client, clientSecret } = await registerClient(auth.context, { name: 'Prefixed', grantTypes: ['client_credentials'], scopes: ['read'] }, { actor: 'admin:test' });
      const issued = await postForm(metadata['token_endpoint']!, { grant_type: 'client_credentials' }, { authorization: basic(client.clientId, clientSecret!) });
      expect(issued.status).to.equal(200);
      const refused = await ask(metadata['token_endpoint']!, form({ grant_type: 'client_credentials' }, { authorization: basic(client.clientId, 'wrong') }));
      expect(refused.status).to.equal(401);
      expect(refused.type).to.match(/^application\/json/);
      expect((refused.body as { error: string }).error).to.equal('invalid_client');
      expect((await ask(`${host.url}/oauth/token`, form({ grant_type: 'client_credentials' }))).status, 'nothing at the root').to.equal(404);
    });

    it('keeps the sign-in pages inside the prefix: redirects, stylesheet, form actions and the way back', async () => {
      const { client } = await registerClient(auth.context, { name: 'Web app', grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: ['https://app.example/cb'] }, { actor: 'admin:test' });
      await createUser(auth.pool, 'pia', 'pias password 1');
      const query = new URLSearchParams({ client_id: client.clientId, response_type: 'code', redirect_uri: 'https://app.example/cb', scope: 'read', code_challenge: 'E9Melhoa2OwvFrEMTJguCQaoeVBY4NVaDjxpO8wjBmE', code_challenge_method: 'S256' });
      const first = await fetch(`${base}/oauth/authorize?${query.toString()}`, { redirect: 'manual' });
      expect(first.status, await first.clone().text()).to.equal(302);
      const login = new URL(first.headers.get('location')!, base);
      expect(login.pathname).to.equal('/auth/oauth/login');
      expect(login.searchParams.get('return_to')).to.match(/^\/auth\/oauth\/authorize\?/);

      const page = await fetch(login);
      const html = await page.text();
      const stylesheet = new URL(/<link rel="stylesheet" href="([^"]+)"/.exec(html)![1]!, login);
      expect((await fetch(stylesheet)).status, stylesheet.pathname).to.equal(200);
      const action = new URL(/<form method="post" action="([^"]+)"/.exec(html)![1]!, login);
      expect(action.pathname).to.equal('/auth/oauth/login');
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
      const returnTo = /name="return_to" value="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
      const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const signedIn = await fetch(action, { redirect: 'manual', ...form({ username: 'pia', password: 'pias password 1', csrf, return_to: returnTo }, { cookie }) });
      expect(signedIn.status).to.equal(302);
      expect(new URL(signedIn.headers.get('location')!, base).pathname).to.equal('/auth/oauth/authorize');
    });
  });
});
