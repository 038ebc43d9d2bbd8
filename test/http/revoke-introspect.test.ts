// RFC 7009 revocation and RFC 7662 introspection against a real server, with oauth4webapi.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { PostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { revokedEvent } from '../support/events.js';
import * as oauth from 'oauth4webapi';
import { decodeJwt } from 'jose';
import { signAccessToken, type AccessTokenClaims } from '../../src/oauth/access-token.js';
import { revokeClient } from '../../src/oauth/clients.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { basic, insecure, postForm, startTestServer, type TestServer, useTestServer } from '../support/server.js';

describe('POST /oauth/revoke and POST /oauth/introspect', function () {
  this.timeout(60_000);
  const server = useTestServer();

  async function tokens() {
    const registered = await server.client({ grantTypes: ['client_credentials', 'refresh_token', 'authorization_code'], scopes: ['read', 'write'] });
    const record = (await server.auth.context.read.clients.find(registered.id))!;
    const issued = await issueTokens(server.auth.context, {
      client: record, subject: 'carol', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'carol' },
    });
    return { ...registered, issued };
  }
  const introspect = async (token: string, who: { client: oauth.Client; secret: string }) =>
    oauth.processIntrospectionResponse(server.as, who.client, await oauth.introspectionRequest(server.as, who.client, oauth.ClientSecretBasic(who.secret), token, insecure));
  const revoke = async (token: string, who: { client: oauth.Client; secret: string }, hint?: string) =>
    oauth.processRevocationResponse(
      await oauth.revocationRequest(server.as, who.client, oauth.ClientSecretBasic(who.secret), token, { ...insecure, ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}) }),
    );

  describe('introspection (RFC 7662)', () => {
    it('describes an active access token with every RFC 7662 field', async () => {
      const t = await tokens();
      const result = await introspect(t.issued.access_token, t);
      expect(result).to.include({ active: true, scope: 'read', client_id: t.id, sub: 'carol', aud: server.url, iss: server.url, token_type: 'Bearer' });
      expect(result.exp).to.be.a('number');
      expect(result.iat).to.be.a('number');
      expect(result.nbf).to.equal(result.iat);
      expect(result.jti).to.be.a('string');
    });

    it('describes an active refresh token', async () => {
      const t = await tokens();
      expect(await introspect(t.issued.refresh_token!, t)).to.include({ active: true, client_id: t.id, sub: 'carol', token_type: 'refresh_token' });
    });

    it("another client learns only {\"active\": false} about a refresh token (a thief cannot test a stolen one), but may introspect access tokens", async () => {
      const a = await tokens();
      const b = await server.client();
      // With every hint: the hint only orders the lookups and must not open another way in.
      for (const hint of [undefined, 'refresh_token', 'access_token']) {
        const res = await postForm(`${server.url}/oauth/introspect`, { token: a.issued.refresh_token!, ...(hint ? { token_type_hint: hint } : {}) }, { authorization: basic(b.id, b.secret) });
        expect(res.status, `hint ${hint}`).to.equal(200);
        expect(res.body, `hint ${hint}`).to.deep.equal({ active: false });
      }
      expect(await introspect(a.issued.refresh_token!, a)).to.include({ active: true, client_id: a.id, sub: 'carol', scope: 'read', token_type: 'refresh_token' });
      // Resource servers introspect tokens issued to others: access tokens stay open to any confidential client.
      expect(await introspect(a.issued.access_token, b)).to.include({ active: true, client_id: a.id, sub: 'carol', token_type: 'Bearer' });
      // The refusal rotated nothing: A can still use its refresh token.
      const refreshed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: a.issued.refresh_token! }, { authorization: basic(a.id, a.secret) });
      expect(refreshed.status).to.equal(200);
    });

    it('answers only {"active": false} for garbage, a forged JWT and an unknown refresh token', async () => {
      const t = await tokens();
      for (const token of ['garbage', 'a.b.c', `${t.issued.access_token.slice(0, -4)}AAAA`, 'x'.repeat(43)]) {
        expect(await introspect(token, t), token.slice(0, 20)).to.deep.equal({ active: false });
      }
    });

    it("a token that carries a real jti but is not byte for byte the one issued is inactive, even when signed with the server's own key", async () => {
      const t = await tokens();
      const claims = decodeJwt(t.issued.access_token) as AccessTokenClaims;
      const [header, payload, signature] = t.issued.access_token.split('.') as [string, string, string];
      const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'read write' })).toString('base64url');
      const forgeries = {
        'claims changed, signature kept': `${header}.${widened}.${signature}`,
        'signature replaced': `${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`,
        // Only a leaked key could produce this; the server still never issued it.
        're-signed with the active key': await signAccessToken(server.auth.context.keys, { ...claims, scope: 'read write' }),
      };
      for (const [what, token] of Object.entries(forgeries)) {
        expect(await introspect(token, t), what).to.deep.equal({ active: false });
      }
      expect(await introspect(t.issued.access_token, t)).to.include({ active: true, scope: 'read', jti: claims.jti });
    });

    it('still verifies the signature of access tokens whose events predate the recorded hash (version-1 TokenIssued)', async () => {
      const t = await tokens();
      const { jti } = decodeJwt(t.issued.access_token);
      // What replaying a version-1 TokenIssued leaves: the row without a hash.
      const { rowCount } = await server.db.pool.query('UPDATE access_tokens SET token_hash = NULL WHERE jti = $1', [jti]);
      expect(rowCount).to.equal(1);
      expect(await introspect(t.issued.access_token, t)).to.include({ active: true, scope: 'read', jti });
      const [header, payload] = t.issued.access_token.split('.');
      expect(await introspect(`${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`, t)).to.deep.equal({ active: false });
    });

    it('requires client authentication, and a public client id is not enough (no token scanning)', async () => {
      const t = await tokens();
      const publicClient = await server.client({ confidential: false, grantTypes: ['authorization_code'], redirectUris: ['https://x.example/cb'] });
      const scan = await postForm(`${server.url}/oauth/introspect`, { token: t.issued.access_token, client_id: publicClient.id });
      expect(scan.status).to.equal(401);
      expect(scan.body.error).to.equal('invalid_client');
      const res = await postForm(`${server.url}/oauth/introspect`, { token: t.issued.access_token });
      expect(res.status).to.equal(401);
      expect(res.body.error).to.equal('invalid_client');
      const missing = await postForm(`${server.url}/oauth/introspect`, {}, { authorization: basic(t.id, t.secret) });
      expect(missing.status).to.equal(400);
      expect(missing.body).to.deep.equal({ error: 'invalid_request', error_description: 'missing required parameter token' });
    });
  });

  describe('revocation (RFC 7009)', () => {
    it('revoking the access token revokes the whole grant, visible as soon as the call answers', async () => {
      const t = await tokens();
      await revoke(t.issued.access_token, t);
      // No waiting: the revoke answered only after the read model applied TokenRevoked.
      expect(await introspect(t.issued.access_token, t)).to.deep.equal({ active: false });
      expect(await introspect(t.issued.refresh_token!, t)).to.deep.equal({ active: false });
      const res = await server.auth.policy.authenticate(`Bearer ${t.issued.access_token}`).catch((e: unknown) => e);
      expect(res).to.include({ status: 401, error: 'invalid_token' });
      const refresh = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: t.issued.refresh_token! }, { authorization: basic(t.id, t.secret) });
      expect(refresh.body.error).to.equal('invalid_grant');
    });

    it('revokes by refresh token, with or without a (possibly wrong) token_type_hint', async () => {
      for (const hint of [undefined, 'refresh_token', 'access_token', 'something_else']) {
        const t = await tokens();
        await revoke(t.issued.refresh_token!, t, hint);
        expect((await introspect(t.issued.access_token, t)).active, `hint ${hint}`).to.equal(false);
      }
    });

    it('answers 200 for unknown, malformed and already revoked tokens', async () => {
      const t = await tokens();
      for (const token of ['unknown-token', 'a.b.c', 'x'.repeat(43)]) {
        const res = await postForm(`${server.url}/oauth/revoke`, { token }, { authorization: basic(t.id, t.secret) });
        expect(res.status, token).to.equal(200);
      }
      await revoke(t.issued.access_token, t);
      await revoke(t.issued.access_token, t);
      const events = await server.auth.store.readStream(`token-${t.issued.familyId}`);
      expect(events.filter((e) => e.type === 'TokenRevoked')).to.have.length(1);
    });

    it("refuses to revoke another client's token, and revokes nothing", async () => {
      const t = await tokens();
      const other = await server.client();
      const res = await postForm(`${server.url}/oauth/revoke`, { token: t.issued.access_token }, { authorization: basic(other.id, other.secret) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('invalid_request');
      expect((await introspect(t.issued.access_token, t)).active).to.equal(true);
    });

    it('requires client authentication (401 invalid_client)', async () => {
      const t = await tokens();
      const res = await postForm(`${server.url}/oauth/revoke`, { token: t.issued.access_token });
      expect(res.status).to.equal(401);
      expect(res.body.error).to.equal('invalid_client');
      expect((await introspect(t.issued.access_token, t)).active).to.equal(true);
    });

    it('revoking a client makes all its tokens invalid at once', async () => {
      const t = await tokens();
      const cc = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(t.id, t.secret) });
      const observer = await server.client();
      expect((await introspect(cc.body.access_token, observer)).active).to.equal(true);
      await revokeClient(server.auth.context, t.id, { actor: 'admin:test' });
      expect(await introspect(cc.body.access_token, observer)).to.deep.equal({ active: false });
      expect(await introspect(t.issued.access_token, observer)).to.deep.equal({ active: false });
      expect(await introspect(t.issued.refresh_token!, observer)).to.deep.equal({ active: false });
    });
  });

  describe('when the read models cannot catch up in time', () => {
    let slow: TestServer;
    before(async () => {
      slow = await startTestServer({ config: { projectionWaitTimeoutMs: 300 } });
    });
    after(async () => {
      await slow.stop();
    });

    it('revocation answers 503 temporarily_unavailable with Retry-After (RFC 7009 §2.2.1), and the revocation still lands', async () => {
      const registered = await slow.client({ grantTypes: ['refresh_token', 'authorization_code'] });
      const record = (await slow.auth.context.read.clients.find(registered.id))!;
      const issued = await issueTokens(slow.auth.context, {
        client: record, subject: 'dave', grantType: 'authorization_code', scopes: ['read'], audience: [slow.url], withRefresh: true, actor: { actor: 'dave' },
      });
      await Promise.all(slow.auth.runners.map((r) => r.stop()));
      // The tokens read model falls behind: an event appended without inline projections (as by a
      // process that could not apply them), and no runner to catch up.
      const plain = new PostgresEventStore({ pool: slow.db.pool });
      await plain.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
      await plain.close();
      const res = await postForm(`${slow.url}/oauth/revoke`, { token: issued.refresh_token! }, { authorization: basic(registered.id, registered.secret) });
      expect(res.status).to.equal(503);
      expect(res.body.error).to.equal('temporarily_unavailable');
      expect(res.headers.get('retry-after')).to.equal('1');
      // The event is stored; once projections run again the token is revoked everywhere.
      slow.auth.runners.forEach((r) => r.start());
      const events = await slow.auth.store.readStream(`token-${issued.familyId}`);
      expect(events.map((e) => e.type)).to.deep.equal(['TokenIssued', 'TokenRevoked']);
      await slow.auth.waiter.waitFor(await slow.auth.store.headPosition(), { projections: ['tokens'], timeoutMs: 5000 });
      const { rows } = await slow.auth.pool.query('SELECT revoked FROM token_families WHERE family_id = $1', [issued.familyId]);
      expect(rows[0].revoked).to.equal(true);
    });
  });
});
