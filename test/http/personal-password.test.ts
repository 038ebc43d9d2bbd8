// Personal access tokens (/oauth/personal-access-tokens, `warrant token create`) and the opt-in
// password grant.

import { expect } from 'chai';
import { createUser } from '../../src/users/directory.js';
import { signIn } from '../support/browser-session.js';
import { run } from '../support/process.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';


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
    const cookie = await signIn(server.url, 'kim', 'kims password 123');
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

  it('the API takes Passport\'s {"scopes": [...]} or OAuth\'s {"scope": "a b"}, and refuses unknown fields and malformed scopes with 400', async () => {
    const cookie = await signIn(server.url, 'kim', 'kims password 123');
    const { csrf_token: csrf } = (await (await fetch(`${server.url}/oauth/personal-access-tokens`, { headers: { cookie } })).json()) as { csrf_token: string };
    const create = (body: unknown) =>
      fetch(`${server.url}/oauth/personal-access-tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) });
    const passport = await create({ name: 'passport style', scopes: ['repo:read', 'repo:write'] });
    expect(passport.status).to.equal(201);
    expect(((await passport.json()) as { scopes: string[] }).scopes).to.deep.equal(['repo:read', 'repo:write']);
    const refused: [unknown, RegExp][] = [
      [{ name: 'typo', scops: ['repo:read'] }, /unknown field "scops"/],
      [{ name: 'both', scope: 'repo:read', scopes: ['repo:read'] }, /scope and scopes together/],
      [{ name: 'spaced', scopes: ['repo:read repo:write'] }, /not a valid scope/],
      [{ name: 'quoted', scope: 'repo"read' }, /not a valid scope/],
      [{ name: 'not a list', scopes: 'repo:read' }, /scopes must be array/],
      [{ scopes: ['repo:read'] }, /missing field "name"/],
      [{ name: 'unknown', scopes: ['admin'] }, /unknown scope: admin/],
      [['laptop'], /the body must be a JSON object/],
    ];
    for (const [body, message] of refused) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      const error = (await res.json()) as { error: string; error_description: string };
      expect(error.error_description, JSON.stringify(body)).to.match(message);
    }
    const listed = (await (await fetch(`${server.url}/oauth/personal-access-tokens`, { headers: { cookie } })).json()) as { tokens: { name: string }[] };
    expect(listed.tokens.map((t) => t.name), 'nothing refused was created').not.to.include.members(['typo', 'both', 'spaced', 'unknown']);
  });

  it('warrant token list / token revoke and user list / user delete (which revokes the user\'s tokens first)', async () => {
    const env = { DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage, ISSUER: server.url, WARRANT_SCOPES: JSON.stringify({ 'repo:read': 'Read repositories' }) };
    const leo = await createUser(server.auth.pool, 'leo', 'leos password 123');
    const made = await run(['token', 'create', '--user', 'leo', '--name', 'deploy', '--scope', 'repo:read', '--json'], env);
    expect(made.code, made.stderr).to.equal(0);
    const pat = JSON.parse(made.stdout) as { id: string; access_token: string };
    const second = JSON.parse((await run(['token', 'create', '--user', 'leo', '--name', 'backup', '--json'], env)).stdout) as { id: string; access_token: string };

    const list = await run(['token', 'list', '--user', 'leo'], env);
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.contain(pat.id).and.to.contain('"deploy"').and.to.contain(second.id);
    expect(list.stdout, 'never the token itself').not.to.contain(pat.access_token);
    const all = JSON.parse((await run(['token', 'list', '--json'], env)).stdout) as { id: string; username: string }[];
    expect(all.find((t) => t.id === pat.id)).to.include({ username: 'leo' });

    const revoked = await run(['token', 'revoke', pat.id], env);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(await server.auth.policy.authenticate(`Bearer ${pat.access_token}`).then(() => 'accepted', () => 'refused')).to.equal('refused');
    expect((await run(['token', 'list', '--user', 'leo'], env)).stdout).to.match(new RegExp(`${pat.id}.*revoked`));
    const notPersonal = await run(['token', 'revoke', '00000000-0000-4000-8000-000000000000'], env);
    expect(notPersonal.code).to.equal(1);
    expect(notPersonal.stderr.trim()).to.equal('warrant: no personal access token 00000000-0000-4000-8000-000000000000');

    const users = await run(['user', 'list'], env);
    expect(users.stdout).to.contain(`${leo.userId}  leo`).and.to.contain('  kim');
    const deleted = await run(['user', 'delete', 'leo'], env);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(deleted.stdout).to.equal('User leo deleted; 1 token family revoked.\n');
    expect(await server.auth.policy.authenticate(`Bearer ${second.access_token}`).then(() => 'accepted', () => 'refused'), 'their tokens die with them').to.equal('refused');
    expect((await run(['user', 'list', '--json'], env)).stdout).not.to.contain('"leo"');
    const again = await run(['user', 'delete', 'leo'], env);
    expect(again.stderr.trim()).to.equal('warrant: no user leo');
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
