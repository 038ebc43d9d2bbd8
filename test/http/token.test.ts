// POST /oauth/token against a real server, driven by oauth4webapi (a strict RFC client).

import http from 'node:http';
import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { issueTokens } from '../../src/oauth/issue.js';
import { basic, insecure, postForm, startTestServer, type TestServer, useTestServer } from '../support/server.js';

describe('POST /oauth/token', function () {
  this.timeout(60_000);
  const server = useTestServer();

  describe('client_credentials (RFC 6749 §4.4)', () => {
    it('issues an RFC 9068 access token that oauth4webapi validates, with no refresh token', async () => {
      const { client, secret, id } = await server.client();
      const response = await oauth.clientCredentialsGrantRequest(server.as, client, oauth.ClientSecretBasic(secret), { scope: 'read' }, insecure);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const result = await oauth.processClientCredentialsResponse(server.as, client, response);
      expect(result.token_type).to.equal('bearer');
      expect(result.scope).to.equal('read');
      expect(result.expires_in).to.equal(3600);
      expect(result.refresh_token).to.equal(undefined);
      expect(decodeProtectedHeader(result.access_token)).to.include({ typ: 'at+jwt', alg: 'ES256' });

      const request = new Request('https://api.example/resource', { headers: { authorization: `Bearer ${result.access_token}` } });
      const claims = await oauth.validateJwtAccessToken(server.as, request, server.url, insecure);
      expect(claims).to.include({ iss: server.url, sub: id, client_id: id, aud: server.url, scope: 'read' });
      expect(claims.jti).to.be.a('string');
      expect(claims.exp - claims.iat).to.equal(3600);
    });

    it('accepts client_secret_post and grants every registered scope when none is asked for', async () => {
      const { client, secret } = await server.client({ scopes: ['read', 'write'] });
      const result = await oauth.processClientCredentialsResponse(
        server.as,
        client,
        await oauth.clientCredentialsGrantRequest(server.as, client, oauth.ClientSecretPost(secret), {}, insecure),
      );
      expect(result.scope).to.equal('read write');
    });

    it('refuses a resource the client was not registered for (invalid_target): no tokens for APIs it was not meant to reach', async () => {
      const { id, secret } = await server.client({ resources: ['https://api.example/'] });
      const other = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', resource: 'https://payments.example/' }, { authorization: basic(id, secret) });
      expect(other.status).to.equal(400);
      expect(other.body.error).to.equal('invalid_target');
      // Near misses of the registered resource are other resources.
      for (const resource of ['https://api.example', 'https://api.example/x', 'https://API.example/']) {
        const near = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', resource }, { authorization: basic(id, secret) });
        expect(near.body.error, resource).to.equal('invalid_target');
      }
      // The server's default audience is always allowed, with or without naming it.
      const named = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', resource: server.auth.config.audience }, { authorization: basic(id, secret) });
      expect(named.status).to.equal(200);
      const unnamed = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
      expect(JSON.parse(Buffer.from((unnamed.body.access_token as string).split('.')[1]!, 'base64url').toString()).aud).to.equal(server.auth.config.audience);
    });

    it('sets aud from the resource parameter (RFC 8707) and refuses a resource with a fragment', async () => {
      const { client, secret, id } = await server.client({ resources: ['https://api.example/'] });
      const result = await oauth.processClientCredentialsResponse(
        server.as,
        client,
        await oauth.clientCredentialsGrantRequest(server.as, client, oauth.ClientSecretBasic(secret), { resource: 'https://api.example/' }, insecure),
      );
      const request = new Request('https://api.example/x', { headers: { authorization: `Bearer ${result.access_token}` } });
      expect((await oauth.validateJwtAccessToken(server.as, request, 'https://api.example/', insecure)).aud).to.equal('https://api.example/');
      // With the client's own, valid credentials: only the resource can be what is refused.
      const bad = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', resource: 'https://api.example/#x' }, { authorization: basic(id, secret) });
      expect(bad.status).to.equal(400);
      expect(bad.body).to.deep.equal({ error: 'invalid_target', error_description: 'resource must not have a fragment' });
      const control = await postForm(`${server.url}/oauth/token`, 'grant_type=client_credentials&resource=https%3A%2F%2Fapi.example%2F%01', { authorization: basic(id, secret) });
      expect(control.status).to.equal(400);
      expect(control.body.error).to.equal('invalid_request');
      const c2 = await server.client();
      const nul = await postForm(`${server.url}/oauth/token`, 'grant_type=client_credentials&resource=https%3A%2F%2Fapi.example%2F%00', { authorization: basic(c2.id, c2.secret) });
      expect(nul.status).to.equal(400);
      expect(nul.body.error).to.equal('invalid_request');
    });

    it('uses a per-client access-token lifetime', async () => {
      const { id, secret } = await server.client({ accessTokenTtl: 60 });
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
      expect(res.status).to.equal(200);
      expect(res.body.expires_in).to.equal(60);
    });

    it('refuses a scope the client was not registered with (invalid_scope)', async () => {
      const { id, secret } = await server.client({ scopes: ['read'] });
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read warrant:admin' }, { authorization: basic(id, secret) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('invalid_scope');
    });

    it('refuses a client not allowed the grant (unauthorized_client) and a public client', async () => {
      const refreshOnly = await server.client({ grantTypes: ['refresh_token'] });
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(refreshOnly.id, refreshOnly.secret) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('unauthorized_client');
      const publicClient = await server.client({ confidential: false });
      const res2 = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', client_id: publicClient.id });
      expect(res2.body.error).to.equal('unauthorized_client');
    });
  });

  describe('client authentication and request errors (RFC 6749 §5.2)', () => {
    it('answers invalid_client 401 with a Basic challenge for a wrong secret over Basic', async () => {
      const { id } = await server.client();
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, 'wrong') });
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal({ error: 'invalid_client', error_description: 'client authentication failed' });
      expect(res.headers.get('www-authenticate')).to.match(/^Basic realm=/);
      expect(res.headers.get('cache-control')).to.equal('no-store');
    });

    it('answers invalid_client 401 for an unknown client, a missing secret, no credentials, and a revoked client', async () => {
      const unknown = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', client_id: '0b6c0d4e-0000-4000-8000-000000000000', client_secret: 'x' });
      expect(unknown.status).to.equal(401);
      const { id, secret } = await server.client();
      const missing = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', client_id: id });
      expect(missing.status).to.equal(401);
      const none = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' });
      expect(none.status).to.equal(401);
      expect(none.body.error).to.equal('invalid_client');
      const { revokeClient } = await import('../../src/oauth/clients.js');
      await revokeClient(server.auth.context, id, { actor: 'admin:test' });
      const revoked = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
      expect(revoked.status).to.equal(401);
    });

    it('refuses two authentication methods at once, a repeated parameter, a wrong content type and bad encoding (invalid_request)', async () => {
      const { id, secret } = await server.client();
      const both = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', client_secret: secret }, { authorization: basic(id, secret) });
      expect(both.body.error).to.equal('invalid_request');
      const repeated = await postForm(`${server.url}/oauth/token`, 'grant_type=client_credentials&scope=read&scope=write', { authorization: basic(id, secret) });
      expect(repeated.status).to.equal(400);
      expect(repeated.body.error).to.equal('invalid_request');
      const json = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic(id, secret) }, body: '{"grant_type":"client_credentials"}' });
      expect(json.status).to.equal(400);
      expect(((await json.json()) as { error: string }).error).to.equal('invalid_request');
      const encoding = await postForm(`${server.url}/oauth/token`, 'grant_type=client_credentials&scope=%E0%A4%A', { authorization: basic(id, secret) });
      expect(encoding.body.error).to.equal('invalid_request');
      const missing = await postForm(`${server.url}/oauth/token`, 'scope=read', { authorization: basic(id, secret) });
      expect(missing.body).to.deep.equal({ error: 'invalid_request', error_description: 'missing required parameter grant_type' });
    });

    it('answers unsupported_grant_type for an unknown grant, and 413 for a body over the limit', async () => {
      const { id, secret } = await server.client();
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'urn:example:nope' }, { authorization: basic(id, secret) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('unsupported_grant_type');
      const big = await postForm(`${server.url}/oauth/token`, `grant_type=client_credentials&x=${'a'.repeat(70_000)}`, { authorization: basic(id, secret) });
      expect(big.status).to.equal(413);
      expect(big.body.error).to.equal('request_too_large');
      // The same without Content-Length (chunked): the limit trips while reading, and the answer is
      // still the 413 (stopping the read used to end the exchange as a bare 500).
      const url = new URL(`${server.url}/oauth/token`);
      const chunked = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode!, type: String(response.headers['content-type']), body }));
        });
        request.on('error', reject);
        request.write('grant_type=client_credentials&x=');
        request.write('a'.repeat(40_000));
        request.end('a'.repeat(40_000));
      });
      expect(chunked.status).to.equal(413);
      expect(chunked.type).to.match(/^application\/json/);
      expect(JSON.parse(chunked.body).error).to.equal('request_too_large');
    });
  });

  describe('refresh_token (RFC 6749 §6) with rotation and reuse detection', () => {
    /** A family with a refresh token, as the authorization-code grant will issue it. */
    async function grant(clientOverrides = {}) {
      const registered = await server.client({ grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read', 'write', 'profile'], ...clientOverrides });
      const record = (await server.auth.context.read.clients.find(registered.id))!;
      const issued = await issueTokens(server.auth.context, {
        client: record,
        subject: 'alice',
        grantType: 'authorization_code',
        scopes: ['read', 'write'],
        audience: [server.url],
        withRefresh: true,
        actor: { actor: 'alice' },
      });
      return { ...registered, issued };
    }

    const introspect = async (token: string, who: { client: oauth.Client; secret: string }) =>
      oauth.processIntrospectionResponse(server.as, who.client, await oauth.introspectionRequest(server.as, who.client, oauth.ClientSecretBasic(who.secret), token, insecure));

    it('rotates the refresh token and keeps the subject, audience and scopes', async () => {
      const g = await grant();
      const response = await oauth.refreshTokenGrantRequest(server.as, g.client, oauth.ClientSecretBasic(g.secret), g.issued.refresh_token!, insecure);
      const result = await oauth.processRefreshTokenResponse(server.as, g.client, response);
      expect(result.refresh_token).to.be.a('string').and.not.equal(g.issued.refresh_token);
      expect(result.scope).to.equal('read write');
      const request = new Request('https://x', { headers: { authorization: `Bearer ${result.access_token}` } });
      expect(await oauth.validateJwtAccessToken(server.as, request, server.url, insecure)).to.include({ sub: 'alice', client_id: g.id });
      // The rotated-away token is no longer active; the new one is.
      expect((await introspect(g.issued.refresh_token!, g)).active).to.equal(false);
      expect((await introspect(result.refresh_token!, g)).active).to.equal(true);
    });

    it('allows narrowing the scope and refuses widening it (invalid_scope)', async () => {
      const g = await grant();
      const narrowed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: g.issued.refresh_token!, scope: 'read' }, { authorization: basic(g.id, g.secret) });
      expect(narrowed.status).to.equal(200);
      expect(narrowed.body.scope).to.equal('read');
      const widened = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: narrowed.body.refresh_token, scope: 'read profile' }, { authorization: basic(g.id, g.secret) });
      expect(widened.status).to.equal(400);
      expect(widened.body.error).to.equal('invalid_scope');
      // Back up to the original grant is allowed (RFC 6749 §6: not beyond what was originally granted).
      const back = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: narrowed.body.refresh_token, scope: 'read write' }, { authorization: basic(g.id, g.secret) });
      expect(back.status).to.equal(200);
    });

    it('reuse of a rotated refresh token revokes the whole family: the newest access token introspects inactive', async () => {
      const g = await grant();
      const first = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, { authorization: basic(g.id, g.secret) });
      expect(first.status).to.equal(200);
      expect((await introspect(first.body.access_token, g)).active).to.equal(true);
      const reuse = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, { authorization: basic(g.id, g.secret) });
      expect(reuse.status).to.equal(400);
      expect(reuse.body.error).to.equal('invalid_grant');
      // Revoked before the error answer was sent (DESIGN §5).
      expect(await introspect(first.body.access_token, g)).to.deep.equal({ active: false });
      expect(await introspect(first.body.refresh_token, g)).to.deep.equal({ active: false });
      const events = await server.auth.store.readStream(`token-${g.issued.familyId}`);
      expect(events.map((e) => e.type)).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRevoked']);
      expect(events[2]!.data).to.include({ reason: 'refresh_token_reuse' });
    });

    it('of 20 concurrent refreshes with one refresh token exactly one succeeds and none answers 5xx', async () => {
      const g = await grant();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, { authorization: basic(g.id, g.secret) })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200), statuses.join(',')).to.have.length(1);
      expect(statuses.filter((s) => s >= 500)).to.deep.equal([]);
      for (const r of results.filter((x) => x.status !== 200)) expect(r.body.error).to.equal('invalid_grant');
      const refreshed = (await server.auth.store.readStream(`token-${g.issued.familyId}`)).filter((e) => e.type === 'TokenRefreshed');
      expect(refreshed).to.have.length(1);
    });

    it('a refresh token presented by another client is refused and revokes nothing', async () => {
      const g = await grant();
      const other = await server.client({ grantTypes: ['refresh_token'] });
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, { authorization: basic(other.id, other.secret) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('invalid_grant');
      expect((await introspect(g.issued.access_token, g)).active).to.equal(true);
    });

    it('an unknown refresh token is invalid_grant', async () => {
      const g = await grant();
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: 'not-a-real-token' }, { authorization: basic(g.id, g.secret) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('invalid_grant');
    });
  });

  describe('refresh grace window', () => {
    let graceful: TestServer;
    before(async () => {
      graceful = await startTestServer({ config: { refreshGraceSeconds: 30 } });
    });
    after(async () => {
      await graceful.stop();
    });

    it("lets the client's own retry with the just-rotated token succeed without revoking the family", async () => {
      const registered = await graceful.client({ grantTypes: ['refresh_token'], scopes: ['read'] });
      const record = (await graceful.auth.context.read.clients.find(registered.id))!;
      const issued = await issueTokens(graceful.auth.context, {
        client: record, subject: 'bob', grantType: 'authorization_code', scopes: ['read'], audience: [graceful.url], withRefresh: true, actor: { actor: 'bob' },
      });
      const auth = { authorization: basic(registered.id, registered.secret) };
      const first = await postForm(`${graceful.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }, auth);
      const retry = await postForm(`${graceful.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }, auth);
      expect([first.status, retry.status]).to.deep.equal([200, 200]);
      const events = await graceful.auth.store.readStream(`token-${issued.familyId}`);
      expect(events.map((e) => e.type)).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRefreshed']);
      // Only the newest refresh token is current.
      const current = await graceful.auth.pool.query('SELECT count(*)::int AS n FROM refresh_tokens WHERE family_id = $1 AND current', [issued.familyId]);
      expect(current.rows[0].n).to.equal(1);
      const latest = await postForm(`${graceful.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: retry.body.refresh_token }, auth);
      expect(latest.status).to.equal(200);
    });
  });
});
