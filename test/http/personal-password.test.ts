// Personal access tokens (/oauth/personal-access-tokens, `warrant token create`) and the opt-in
// password grant.

import { expect } from 'chai';
import { createUser } from '../../src/users/directory.js';
import { run } from '../support/process.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

async function signIn(server: TestServer, username: string, password: string): Promise<string> {
  const login = await fetch(`${server.url}/oauth/login`);
  const pre = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const done = await fetch(`${server.url}/oauth/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: pre },
    body: new URLSearchParams({ username, password, csrf, return_to: '/oauth/login' }),
  });
  expect(done.status).to.equal(302);
  return done.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

describe('personal access tokens and the password grant', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { scopes: { 'repo:read': 'Read repositories', 'repo:write': 'Write repositories' }, passwordGrant: true } });
    await createUser(server.auth.pool, 'kim', 'kims password 123');
  });
  after(async () => {
    await server.stop();
  });

  it('a signed-in user creates, lists and revokes named tokens; the tokens work, and revocation is immediate', async () => {
    const cookie = await signIn(server, 'kim', 'kims password 123');
    const list = await fetch(`${server.url}/oauth/personal-access-tokens`, { headers: { cookie } });
    const { tokens, csrf_token: csrf } = (await list.json()) as { tokens: unknown[]; csrf_token: string };
    expect(tokens).to.deep.equal([]);

    const noCsrf = await fetch(`${server.url}/oauth/personal-access-tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'laptop' }) });
    expect(noCsrf.status).to.equal(403);
    const created = await fetch(`${server.url}/oauth/personal-access-tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'laptop', scope: 'repo:read' }) });
    expect(created.status).to.equal(201);
    const pat = (await created.json()) as { id: string; name: string; scopes: string[]; access_token: string; expires_at: string };
    expect(pat).to.include({ name: 'laptop' });
    expect(pat.scopes).to.deep.equal(['repo:read']);
    expect(new Date(pat.expires_at).getTime() - Date.now()).to.be.greaterThan(300 * 86_400_000);
    const auth = await server.auth.policy.authenticate(`Bearer ${pat.access_token}`);
    expect(auth).to.include({ grantType: 'personal_access' });
    expect(auth.scopes).to.deep.equal(['repo:read']);

    const listed = (await (await fetch(`${server.url}/oauth/personal-access-tokens`, { headers: { cookie } })).json()) as { tokens: { id: string; name: string; revoked: boolean }[] };
    expect(listed.tokens.map((t) => [t.id, t.name, t.revoked])).to.deep.equal([[pat.id, 'laptop', false]]);
    const unknownScope = await fetch(`${server.url}/oauth/personal-access-tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'x', scope: 'admin' }) });
    expect(unknownScope.status).to.equal(400);

    const deleted = await fetch(`${server.url}/oauth/personal-access-tokens/${pat.id}`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
    expect(deleted.status).to.equal(204);
    expect(await server.auth.policy.authenticate(`Bearer ${pat.access_token}`).then(() => 'accepted', () => 'refused')).to.equal('refused');
    expect((await fetch(`${server.url}/oauth/personal-access-tokens`)).status).to.equal(401);
    const history = await server.auth.store.readStream(`token-${pat.id}`);
    expect(history[0]!.data).to.include({ grantType: 'personal_access', name: 'laptop' });
  });

  it('warrant token create makes one from the command line', async () => {
    const result = await run(['token', 'create', '--user', 'kim', '--name', 'ci', '--scope', 'repo:write', '--json'], {
      DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage, ISSUER: server.url, WARRANT_SCOPES: JSON.stringify({ 'repo:write': 'Write repositories' }),
    });
    expect(result.code, result.stderr).to.equal(0);
    const pat = JSON.parse(result.stdout) as { access_token: string; name: string };
    expect(pat.name).to.equal('ci');
    expect((await server.auth.policy.authenticate(`Bearer ${pat.access_token}`)).scopes).to.deep.equal(['repo:write']);
    const missing = await run(['token', 'create', '--user', 'nobody', '--name', 'x'], { DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage });
    expect(missing.code).to.equal(1);
    expect(missing.stderr.trim()).to.equal('warrant: no user nobody');
  });

  it('the password grant works when enabled, for clients allowed it; wrong passwords are invalid_grant', async () => {
    const c = await server.client({ grantTypes: ['password', 'refresh_token'], scopes: ['repo:read'] });
    const ok = await postForm(`${server.url}/oauth/token`, { grant_type: 'password', username: 'kim', password: 'kims password 123', scope: 'repo:read' }, { authorization: basic(c.id, c.secret) });
    expect(ok.status).to.equal(200);
    expect(ok.body.refresh_token).to.be.a('string');
    const issued = await server.auth.store.readAll({ filter: { types: ['TokenIssued'], data: { clientId: c.id } } });
    const { rows } = await server.auth.pool.query<{ user_id: string }>("SELECT user_id FROM users WHERE username = 'kim'");
    expect(issued[0]!.data).to.include({ grantType: 'password', subject: rows[0]!.user_id });
    const wrong = await postForm(`${server.url}/oauth/token`, { grant_type: 'password', username: 'kim', password: 'nope' }, { authorization: basic(c.id, c.secret) });
    expect(wrong.body.error).to.equal('invalid_grant');
    const other = await server.client({ grantTypes: ['client_credentials'] });
    const refused = await postForm(`${server.url}/oauth/token`, { grant_type: 'password', username: 'kim', password: 'kims password 123' }, { authorization: basic(other.id, other.secret) });
    expect(refused.body.error).to.equal('unauthorized_client');
  });

  it('the password grant is off by default', async () => {
    const plain = await startTestServer();
    try {
      await createUser(plain.auth.pool, 'kim', 'kims password 123');
      const c = await plain.client({ grantTypes: ['password'] });
      const res = await postForm(`${plain.url}/oauth/token`, { grant_type: 'password', username: 'kim', password: 'kims password 123' }, { authorization: basic(c.id, c.secret) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('unsupported_grant_type');
      const metadata = (await (await fetch(`${plain.url}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] };
      expect(metadata.grant_types_supported).not.to.include('password');
    } finally {
      await plain.stop();
    }
  });
});
