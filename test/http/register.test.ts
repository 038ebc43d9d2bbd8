// Dynamic client registration (RFC 7591) and management (RFC 7592), issue 18: initial access
// tokens from the real CLI, what a client may give itself, the management round trip (GET, PUT
// rotating the registration token, DELETE revoking the client and its tokens), and refusals.

import { expect } from 'chai';
import { createInitialAccessToken } from '../../src/oauth/registration.js';
import { run } from '../support/process.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

describe('dynamic client registration (RFC 7591) and management (RFC 7592)', function () {
  this.timeout(90_000);
  let server: TestServer;
  let endpoint: string;

  before(async () => {
    server = await startTestServer({ config: { registrationGrants: ['authorization_code', 'refresh_token', 'client_credentials'] } });
    endpoint = `${server.url}/oauth/register`;
  });
  after(async () => {
    await server?.stop();
  });

  const initialToken = async (uses = 1, ttlSeconds: number | null = null) => (await createInitialAccessToken(server.auth.context, { uses, ttlSeconds }, { actor: 'admin:test' })).token;
  const register = async (body: unknown, token?: string) => {
    const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: (await response.json().catch(() => null)) as any };
  };
  const manage = async (method: string, uri: string, token: string, body?: unknown) => {
    const response = await fetch(uri, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: response.status, headers: response.headers, body: (await response.text().then((t) => (t ? JSON.parse(t) : null))) as any };
  };
  const app = { client_name: 'Self-made app', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code', 'refresh_token'], scope: 'read' };

  it('advertises its own registration_endpoint (not the admin API)', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { registration_endpoint: string };
    expect(metadata.registration_endpoint).to.equal(endpoint);
  });

  it('needs an initial access token: none → 401 with WWW-Authenticate: Bearer; a made-up one → 401 invalid_token', async () => {
    const none = await register(app);
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer realm=/);
    const fake = await register(app, `00000000-0000-4000-8000-000000000000.${'A'.repeat(43)}`);
    expect(fake.status).to.equal(401);
    expect(fake.headers.get('www-authenticate')).to.contain('error="invalid_token"');
  });

  it('warrant registration-token create (the real CLI) prints the token alone on its last line, or JSON; it registers one client, once', async () => {
    const env = { DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage, ISSUER: server.url };
    const plain = await run(['registration-token', 'create'], env);
    expect(plain.code, plain.stderr).to.equal(0);
    const token = plain.stdout.trim().split('\n').at(-1)!;
    expect(token).to.match(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    const asJson = await run(['registration-token', 'create', '--uses', '2', '--json'], env);
    expect(Object.keys(JSON.parse(asJson.stdout))).to.deep.equal(['initial_access_token']);
    const bad = await run(['registration-token', 'create', '--uses', '0'], env);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^warrant: --uses/);

    const created = await register(app, token);
    expect(created.status).to.equal(201);
    expect(created.headers.get('cache-control')).to.equal('no-store');
    expect(created.body).to.include({ client_name: 'Self-made app', token_endpoint_auth_method: 'client_secret_basic', registration_client_uri: `${endpoint}/${created.body.client_id}`, client_secret_expires_at: 0, first_party: false });
    expect(created.body.client_secret).to.match(/^[A-Za-z0-9_-]{43,}$/);
    expect(created.body.registration_access_token).to.be.a('string');
    expect(created.body.client_id_issued_at).to.be.a('number');
    // Single use by default.
    expect((await register(app, token)).status).to.equal(401);
    // Two uses with --uses 2.
    const twice = JSON.parse(asJson.stdout).initial_access_token as string;
    expect((await register(app, twice)).status).to.equal(201);
    expect((await register(app, twice)).status).to.equal(201);
    expect((await register(app, twice)).status).to.equal(401);
    // Only hashes in the log: neither the initial token's secret nor the registration token.
    const log = JSON.stringify((await server.auth.store.readAll({})).map((e) => e.data));
    expect(log).not.to.contain(token.split('.')[1]);
    expect(log).not.to.contain(created.body.registration_access_token.split('.')[1]);
  });

  it('an expired initial access token is refused', async () => {
    const token = await initialToken(1, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await register(app, token)).status).to.equal(401);
  });

  it('refuses what a client may not give itself, or what is malformed, with RFC 7591 errors — and such a refusal does not spend the token', async () => {
    const token = await initialToken();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...app, scope: 'read warrant:admin' }, 'invalid_client_metadata'],
      [{ ...app, first_party: true }, 'invalid_client_metadata'],
      [{ ...app, grant_types: ['password'] }, 'invalid_client_metadata'],
      [{ ...app, software_statement: 'eyJhbGciOiJSUzI1NiJ9.e30.sig' }, 'invalid_software_statement'],
      [{ ...app, logo_uri: 'https://app.example/logo.png' }, 'invalid_client_metadata'],
      [{ ...app, redirect_uris: ['http://app.example/cb'] }, 'invalid_redirect_uri'],
      [{ ...app, client_name: undefined }, 'invalid_client_metadata'],
      [{ ...app, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      [{ ...app, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:9/jwks' }, 'invalid_client_metadata'],
      [{ ...app, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://169.254.169.254/latest' }, 'invalid_client_metadata'],
      [{ ...app, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://[::1]/jwks' }, 'invalid_client_metadata'],
    ];
    for (const [body, error] of cases) {
      const refused = await register(body, token);
      expect(refused.status, JSON.stringify(body)).to.equal(400);
      expect(refused.body.error, JSON.stringify(body)).to.equal(error);
    }
    const notJson = await fetch(endpoint, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"client_name":' });
    expect(notJson.status).to.equal(400);
    expect((await register(app, token)).status).to.equal(201);
  });

  it('manages itself at registration_client_uri: GET, PUT (rotates the registration token; the old one is 401), DELETE (revokes the client: its tokens and credentials stop working at once)', async () => {
    const created = (await register({ ...app, grant_types: ['client_credentials'] }, await initialToken())).body;
    const uri = created.registration_client_uri as string;
    const read = await manage('GET', uri, created.registration_access_token);
    expect(read.status).to.equal(200);
    expect(read.body).to.include({ client_id: created.client_id, client_name: 'Self-made app' });
    expect(read.body).not.to.have.property('client_secret');

    const updated = await manage('PUT', uri, created.registration_access_token, { client_id: created.client_id, client_secret: created.client_secret, client_name: 'Renamed app', redirect_uris: ['https://app.example/new'], grant_types: ['client_credentials'], scope: 'read' });
    expect(updated.status).to.equal(200);
    expect(updated.body).to.include({ client_name: 'Renamed app' });
    expect(updated.body.registration_access_token).to.be.a('string').and.not.equal(created.registration_access_token);
    expect((await manage('GET', uri, created.registration_access_token)).status).to.equal(401);
    const token = updated.body.registration_access_token as string;
    // A PUT for another client id, or granting itself more, is refused.
    expect((await manage('PUT', uri, token, { client_id: '00000000-0000-4000-8000-000000000000', client_name: 'x' })).status).to.equal(400);
    expect((await manage('PUT', uri, token, { client_id: created.client_id, scope: 'warrant:audit' })).body.error).to.equal('invalid_client_metadata');

    const access = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: basic(created.client_id, created.client_secret) });
    expect(access.status).to.equal(200);
    const deleted = await manage('DELETE', uri, token);
    expect(deleted.status).to.equal(204);
    const introspected = await server.auth.policy.authenticate(`Bearer ${access.body.access_token}`).then(() => 'active', () => 'refused');
    expect(introspected).to.equal('refused');
    const again = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(created.client_id, created.client_secret) });
    expect(again.status).to.equal(401);
    expect(again.body.error).to.equal('invalid_client');
    expect((await manage('GET', uri, token)).status).to.equal(401);
  });

  it('a client made by the admin API has no registration token, and one client\'s token manages no other', async () => {
    const admin = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const mine = (await register(app, await initialToken())).body;
    expect((await manage('GET', `${endpoint}/${admin.id}`, mine.registration_access_token)).status).to.equal(401);
    expect((await manage('GET', `${endpoint}/not-a-uuid`, mine.registration_access_token)).status).to.equal(401);
    expect((await manage('GET', mine.registration_client_uri, 'garbage')).status).to.equal(401);
  });

  it('WARRANT_OPEN_REGISTRATION=true lets anyone register, still without warrant:* scopes', async () => {
    const open = await startTestServer({ config: { openRegistration: true } });
    try {
      const created = await fetch(`${open.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(app) });
      expect(created.status).to.equal(201);
      const privileged = await fetch(`${open.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...app, scope: 'warrant:admin' }) });
      expect(((await privileged.json()) as { error: string }).error).to.equal('invalid_client_metadata');
    } finally {
      await open.stop();
    }
  });
});
