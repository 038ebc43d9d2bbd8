// `warrant purge`: read-model rows go, events stay, and a still-valid refresh chain keeps working
// (the failure of laravel/passport#1818).

import { expect } from 'chai';
import { purge } from '../../src/readmodels/purge.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { revokeFamily } from '../../src/oauth/revocation.js';
import { run } from '../support/process.js';
import { basic, postForm, useTestServer } from '../support/server.js';

describe('warrant purge', function () {
  this.timeout(60_000);
  const server = useTestServer();

  const count = async (table: string, familyId: string) =>
    (await server.auth.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE family_id = $1`, [familyId])).rows[0]!.n;

  it('removes expired and revoked families, keeps events, and never breaks a refresh chain that is still valid', async () => {
    const c = await server.client({ grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read'] });
    const client = (await server.auth.context.read.clients.find(c.id))!;
    const issue = async (msAgo: number) => {
      const real = server.auth.context.clock;
      server.auth.context.clock = () => new Date(Date.now() - msAgo);
      try {
        return await issueTokens(server.auth.context, { client, subject: 'p', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'p' } });
      } finally {
        server.auth.context.clock = real;
      }
    };
    const dead = await issue(40 * 86_400_000); // refresh token (30 d) long expired
    const living = await issue(2 * 3_600_000); // access token (1 h) expired, refresh token valid
    const revoked = await issue(0);
    await revokeFamily(server.auth.context, revoked.familyId, 'admin', { actor: 'admin:test' });
    const eventsBefore = await server.auth.store.headPosition();

    const recent = await run(['purge', '--revoked', '--hours', '24'], { DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage });
    expect(recent.code, recent.stderr).to.equal(0);
    expect(recent.stdout).to.contain('Purged 0 token families');
    expect(await count('token_families', revoked.familyId)).to.equal(1);

    const all = await run(['purge'], { DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage });
    expect(all.code, all.stderr).to.equal(0);
    expect(all.stdout).to.match(/^Purged 2 token families/);
    // Not a terminal: progress as plain lines on stderr, ending at the total.
    expect(all.stderr).to.match(/^purging: 3\/3 \(100%\)$/m);
    for (const gone of [dead.familyId, revoked.familyId]) {
      expect(await count('token_families', gone)).to.equal(0);
      expect(await count('refresh_tokens', gone)).to.equal(0);
      expect(await count('access_tokens', gone)).to.equal(0);
    }
    expect(await count('token_families', living.familyId)).to.equal(1);
    expect(await count('refresh_tokens', living.familyId)).to.equal(1);
    expect(await count('access_tokens', living.familyId)).to.equal(0); // its expired access token went

    // Events are untouched, so the audit history is complete …
    expect(await server.auth.store.headPosition()).to.equal(eventsBefore);
    expect((await server.auth.store.readStream(`token-${dead.familyId}`)).map((e) => e.type)).to.deep.equal(['TokenIssued']);
    // … and the living chain still refreshes.
    const refreshed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: living.refresh_token! }, { authorization: basic(c.id, c.secret) });
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
    // Reuse detection still works for the living chain after a purge.
    const reuse = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: living.refresh_token! }, { authorization: basic(c.id, c.secret) });
    expect(reuse.body.error).to.equal('invalid_grant');
    expect((await server.auth.store.readStream(`token-${living.familyId}`)).at(-1)!.type).to.equal('TokenRevoked');
  });

  it('works in chunks of its own transaction each and reports progress after every chunk', async () => {
    await purge(server.auth.pool, { expired: false, revoked: true, hours: 0 }); // what earlier tests revoked
    const c = await server.client({ grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read'] });
    const client = (await server.auth.context.read.clients.find(c.id))!;
    const families = await Promise.all(Array.from({ length: 5 }, () =>
      issueTokens(server.auth.context, { client, subject: 'chunks', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'p' } })));
    for (const family of families) await revokeFamily(server.auth.context, family.familyId, 'admin', { actor: 'admin:test' });
    const calls: Array<[number, number]> = [];
    const result = await purge(server.auth.pool, { expired: false, revoked: true, hours: 0, chunk: 2, onProgress: (done, total) => calls.push([done, total]) });
    expect(result).to.include({ families: 5, accessTokens: 5, refreshTokens: 5 });
    expect(calls).to.deep.equal([[0, 5], [2, 5], [4, 5], [5, 5], [5, 5]]);
    for (const family of families) expect(await count('token_families', family.familyId)).to.equal(0);
  });

  it('refuses a bad --hours with a one-line error', async () => {
    const bad = await run(['purge', '--hours', 'soon'], { DATABASE_URL: server.db.url, WARRANT_STORAGE: server.storage });
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim()).to.equal('warrant: --hours must be a non-negative number');
  });
});
