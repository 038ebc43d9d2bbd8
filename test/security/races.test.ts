// Races (issue 8 §4): many requests at once for something only one may have. Exactly one wins,
// the rest get a clean OAuth error (never a 5xx), and after each race the read models equal a
// rebuild (each test checks its own race: any one runs alone).

import { expect } from 'chai';
import { issueCode } from '../../src/oauth/codes.js';
import { s256 } from '../../src/oauth/grants/authorization-code.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { expectReadModelsEqualRebuild } from '../support/consistency.js';
import { basic, postForm, useTestServer } from '../support/server.js';

const N = 50;

describe('races', function () {
  this.timeout(60_000);
  const server = useTestServer();

  const statuses = (responses: { status: number }[]) =>
    responses.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

  it(`${N} concurrent refreshes of one refresh token: one new pair, ${N - 1} invalid_grant`, async () => {
    const c = await server.client({ grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read'] });
    const client = (await server.auth.context.read.clients.find(c.id))!;
    const issued = await issueTokens(server.auth.context, { client, subject: 'racer', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'racer' } });
    const responses = await Promise.all(Array.from({ length: N }, () =>
      postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }, { authorization: basic(c.id, c.secret) })));
    expect(statuses(responses), JSON.stringify(statuses(responses))).to.deep.equal({ 200: 1, 400: N - 1 });
    for (const r of responses.filter((r) => r.status === 400)) expect(r.body.error).to.equal('invalid_grant');
    // One rotation in the log; a loser that came after it was a reuse and revoked the family
    // (RFC 9700 §4.14.2: the server cannot tell a racing client from a thief) — at most once.
    const types = (await server.auth.store.readStream(`token-${issued.familyId}`)).map((e) => e.type);
    expect(types.filter((t) => t === 'TokenRefreshed')).to.have.length(1);
    expect(types.filter((t) => t === 'TokenRevoked').length).to.be.at.most(1);
    expect(types[0]).to.equal('TokenIssued');
    await expectReadModelsEqualRebuild(server.auth.pool, server.auth.store);
  });

  it(`${N} concurrent redemptions of one authorization code: one token response, ${N - 1} invalid_grant`, async () => {
    const redirectUri = 'https://app.example/callback';
    const c = await server.client({ grantTypes: ['authorization_code', 'refresh_token'], scopes: ['read'], redirectUris: [redirectUri] });
    const client = (await server.auth.context.read.clients.find(c.id))!;
    const verifier = 'v'.repeat(43);
    const code = await issueCode(server.auth.context, { client, subject: 'racer', redirectUri, scopes: ['read'], codeChallenge: s256(verifier), codeChallengeMethod: 'S256', resource: null, sessionId: null, actor: { actor: 'racer' } });
    const responses = await Promise.all(Array.from({ length: N }, () =>
      postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, { authorization: basic(c.id, c.secret) })));
    expect(statuses(responses), JSON.stringify(statuses(responses))).to.deep.equal({ 200: 1, 400: N - 1 });
    for (const r of responses.filter((r) => r.status === 400)) expect(r.body.error).to.equal('invalid_grant');
    const { rows } = await server.auth.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM es_events WHERE type = 'TokenIssued' AND data->>'clientId' = $1", [c.id]);
    expect(rows[0]!.n).to.equal(1);
    await expectReadModelsEqualRebuild(server.auth.pool, server.auth.store);
  });

  it('concurrent secret rotations of one client: each applied in turn or refused with 409, and exactly one secret works', async () => {
    const admin = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin'] });
    const bearer = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'warrant:admin' }, { authorization: basic(admin.id, admin.secret) })).body.access_token as string;
    const target = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const responses = await Promise.all(Array.from({ length: 20 }, async () => {
      const response = await fetch(`${server.url}/oauth/clients/${target.id}/secret`, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
      return { status: response.status, body: (await response.json()) as { client_secret?: string; error?: string } };
    }));
    const counts = statuses(responses);
    expect(Object.keys(counts).map(Number).every((s) => s === 200 || s === 409), JSON.stringify(counts)).to.equal(true);
    for (const r of responses.filter((r) => r.status === 409)) expect(r.body.error).to.equal('invalid_request');
    const winners = responses.filter((r) => r.status === 200).map((r) => r.body.client_secret!);
    expect(winners.length).to.be.at.least(1);
    // Every success is one event, in one linear history …
    const rotations = (await server.auth.store.readStream(`client-${target.id}`)).filter((e) => e.type === 'ClientSecretRotated');
    expect(rotations).to.have.length(winners.length);
    // … and only the secret of the last one applied authenticates.
    const works = await Promise.all([target.secret, ...winners].map(async (secret) =>
      (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(target.id, secret) })).status === 200));
    expect(works.filter(Boolean)).to.have.length(1);
    expect(works[0]).to.equal(false);
    await expectReadModelsEqualRebuild(server.auth.pool, server.auth.store);
  });
});
