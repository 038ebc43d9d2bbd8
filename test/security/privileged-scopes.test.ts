// Issue 13, findings 1 and 2: the privileged scopes warrant:admin and warrant:audit go only to a
// client acting for itself (client_credentials) — never through a user-facing grant, even when an
// operator lists them in WARRANT_SCOPES — except an operator's personal access tokens when named in
// WARRANT_ADMIN_SUBJECTS. Clients registered before this rule are simulated by appending their
// events directly (the decider would refuse them now).

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { signAccessToken } from '../../src/oauth/access-token.js';
import { createUser, hashPassword } from '../../src/users/directory.js';
import { signInForApi } from '../support/browser-session.js';
import { run } from '../support/process.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

function createPat(server: TestServer, session: { cookie: string; csrf: string }, body: unknown): Promise<Response> {
  return fetch(`${server.url}/oauth/personal-access-tokens`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('privileged scopes (warrant:*) only for clients acting for themselves', function () {
  this.timeout(60_000);
  let server: TestServer;
  const secret = 'legacy client secret that is long enough';
  let legacy: string;

  before(async () => {
    server = await startTestServer({
      // The trigger of finding 1: the operator lists warrant:admin to give it a description.
      config: { scopes: { read: 'Read', 'warrant:admin': 'Administer Warrant', 'warrant:audit': 'Audit Warrant' }, passwordGrant: true },
    });
    await createUser(server.auth.pool, 'mallory', 'mallorys password 1');
    // A client registered before this rule: user grants and privileged scopes together.
    legacy = randomUUID();
    await server.auth.store.append(`client-${legacy}`, [{
      type: 'ClientRegistered',
      data: {
        clientId: legacy, name: 'Legacy portal', confidential: true, secretHash: server.auth.context.hasher.hash(secret),
        grantTypes: ['authorization_code', 'password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        scopes: ['read', 'warrant:admin', 'warrant:audit'], redirectUris: ['https://portal.example/cb'], resources: [], firstParty: true,
        accessTokenTtl: null, refreshTokenTtl: null,
      },
    }], { expectedRevision: 'no_stream', metadata: { actor: 'admin:test' } });
    await server.auth.waiter.waitFor(await server.auth.store.headPosition());
  });
  after(async () => {
    await server.stop();
  });

  it('finding 1: a signed-in user cannot mint a warrant:admin personal access token, even with warrant:admin in WARRANT_SCOPES', async () => {
    const session = await signInForApi(server.url, 'mallory', 'mallorys password 1');
    for (const body of [{ name: 'x', scope: 'warrant:admin' }, { name: 'x', scopes: ['read', 'warrant:audit'] }]) {
      const res = await createPat(server, session, body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      const error = (await res.json()) as { error: string; error_description: string };
      expect(error.error).to.equal('invalid_scope');
      expect(error.error_description).to.match(/only for a client acting for itself/);
    }
    // An ordinary scope still works.
    expect((await createPat(server, session, { name: 'fine', scope: 'read' })).status).to.equal(201);
  });

  it('finding 2: user-facing grants refuse warrant:* with invalid_scope: authorization code, device, password', async () => {
    // Authorization endpoint: back to the client with invalid_scope (before any sign-in).
    const authorize = await fetch(`${server.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: legacy, redirect_uri: 'https://portal.example/cb', scope: 'read warrant:audit', state: 's' }).toString()}`, { redirect: 'manual' });
    expect(authorize.status).to.equal(302);
    expect(new URL(authorize.headers.get('location')!).searchParams.get('error')).to.equal('invalid_scope');

    const device = await postForm(`${server.url}/oauth/device/code`, { scope: 'warrant:admin' }, { authorization: basic(legacy, secret) });
    expect(device.status).to.equal(400);
    expect(device.body.error).to.equal('invalid_scope');

    const password = await postForm(`${server.url}/oauth/token`, { grant_type: 'password', username: 'mallory', password: 'mallorys password 1', scope: 'warrant:admin' }, { authorization: basic(legacy, secret) });
    expect(password.status).to.equal(400);
    expect(password.body.error).to.equal('invalid_scope');
    // Asking for nothing gives the client's other scopes, never the privileged ones.
    const plain = await postForm(`${server.url}/oauth/token`, { grant_type: 'password', username: 'mallory', password: 'mallorys password 1' }, { authorization: basic(legacy, secret) });
    expect(plain.status).to.equal(200);
    expect(plain.body.scope).to.equal('read');
  });

  it('finding 2: a user family that carries warrant:* (issued before this rule) cannot refresh into it, and its access token is refused by the admin and audit APIs', async () => {
    const familyId = randomUUID();
    const jti = `legacyjti${randomUUID().replace(/-/g, '')}`;
    const refresh = `legacy-refresh-${randomUUID()}`;
    const expires = new Date(Date.now() + 3_600_000);
    const { rows } = await server.auth.pool.query<{ user_id: string }>("SELECT user_id FROM users WHERE username = 'mallory'");
    const subject = rows[0]!.user_id;
    await server.auth.store.append(`token-${familyId}`, [{
      type: 'TokenIssued',
      data: {
        familyId, clientId: legacy, subject, grantType: 'authorization_code', scopes: ['read', 'warrant:admin', 'warrant:audit'], audience: [server.url],
        // No access-token hash, as before issue 15: the token below is verified by its signature.
        jti, accessTokenHash: null, accessTokenExpiresAt: expires.toISOString(), refreshTokenHash: server.auth.context.hasher.hash(refresh), refreshTokenExpiresAt: expires.toISOString(), grantId: null, name: null,
      },
    }], { expectedRevision: 'no_stream', metadata: { actor: subject } });
    await server.auth.waiter.waitFor(await server.auth.store.headPosition());
    const iat = Math.floor(Date.now() / 1000);
    const token = await signAccessToken(server.auth.context.keys, { iss: server.url, sub: subject, aud: server.url, exp: iat + 600, iat, jti, client_id: legacy, scope: 'read warrant:admin warrant:audit' });

    for (const path of ['/oauth/clients', `/audit/tokens/${jti}`]) {
      const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, path).to.equal(403);
      expect(res.headers.get('www-authenticate'), path).to.contain('error="insufficient_scope"');
    }
    const revokeAll = await fetch(`${server.url}/oauth/subjects/${subject}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(revokeAll.status).to.equal(403);

    const refreshed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refresh }, { authorization: basic(legacy, secret) });
    expect(refreshed.status).to.equal(400);
    expect(refreshed.body.error).to.equal('invalid_scope');
    // Narrowed to what a user may hold, the family goes on.
    const narrowed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refresh, scope: 'read' }, { authorization: basic(legacy, secret) });
    expect(narrowed.status, JSON.stringify(narrowed.body)).to.equal(200);
    expect(narrowed.body.scope).to.equal('read');
  });

  it('a client acting for itself still gets and uses warrant:admin and warrant:audit', async () => {
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin', 'warrant:audit'] });
    const token = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(ops.id, ops.secret) })).body.access_token as string;
    expect((await fetch(`${server.url}/oauth/clients`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
    expect((await fetch(`${server.url}/audit/events?limit=1`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
  });

  it('registration refuses a client that combines warrant:* with a user grant: admin API (create and update) and CLI', async () => {
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin'] });
    const admin = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(ops.id, ops.secret) })).body.access_token as string;
    const call = (method: string, path: string, body: unknown) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await call('POST', '/oauth/clients', { client_name: 'Portal', grant_types: ['authorization_code'], redirect_uris: ['https://portal.example/cb'], scope: 'read warrant:audit' });
    expect(created.status).to.equal(400);
    expect(((await created.json()) as { error_description: string }).error_description).to.match(/warrant:audit cannot be combined with authorization_code/);

    const web = (await (await call('POST', '/oauth/clients', { client_name: 'Web', grant_types: ['authorization_code'], redirect_uris: ['https://web.example/cb'], scope: 'read' })).json()) as { client_id: string };
    const widened = await call('PATCH', `/oauth/clients/${web.client_id}`, { scope: 'read warrant:admin' });
    expect(widened.status).to.equal(400);
    const job = (await (await call('POST', '/oauth/clients', { client_name: 'Job', grant_types: ['client_credentials'], scope: 'warrant:audit' })).json()) as { client_id: string };
    const regranted = await call('PATCH', `/oauth/clients/${job.client_id}`, { grant_types: ['client_credentials', 'password'] });
    expect(regranted.status).to.equal(400);

    const cli = await run(['client', 'create', '--name', 'Portal', '--grant', 'authorization_code', '--redirect-uri', 'https://portal.example/cb', '--scope', 'warrant:admin'], {
      DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage, ISSUER: server.url,
    });
    expect(cli.code).to.equal(1);
    expect(cli.stderr.trim()).to.match(/^warrant: warrant:admin cannot be combined with authorization_code: privileged scopes are only for a client acting for itself/);
  });

  it('WARRANT_ADMIN_SUBJECTS: a named operator\'s personal access token may carry warrant:audit and reads the audit API; nobody else\'s may', async () => {
    const olga = randomUUID();
    const operators = await startTestServer({ config: { adminSubjects: [olga] } });
    try {
      // Olga's id is known before she exists, so the server can be started naming her.
      await operators.auth.pool.query('INSERT INTO users (user_id, username, password_hash) VALUES ($1, $2, $3)', [olga, 'olga', await hashPassword('olgas password 1')]);
      await createUser(operators.auth.pool, 'nina', 'ninas password 1');

      const nina = await signInForApi(operators.url, 'nina', 'ninas password 1');
      const refused = await createPat(operators, nina, { name: 'audit', scopes: ['warrant:audit'] });
      expect(refused.status).to.equal(400);
      expect(((await refused.json()) as { error: string }).error).to.equal('invalid_scope');

      const session = await signInForApi(operators.url, 'olga', 'olgas password 1');
      const created = await createPat(operators, session, { name: 'audit', scopes: ['warrant:audit'] });
      expect(created.status).to.equal(201);
      const { access_token: token } = (await created.json()) as { access_token: string };
      expect((await fetch(`${operators.url}/audit/events?limit=1`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
      // warrant:audit, not warrant:admin: the scope still decides.
      expect((await fetch(`${operators.url}/oauth/clients`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(403);
      // The audit log names the person.
      const issued = await operators.auth.store.readAll({ filter: { types: ['TokenIssued'], data: { subject: olga } } });
      expect(issued.at(-1)!.metadata.actor).to.equal(olga);
    } finally {
      await operators.stop();
    }
  });
});
