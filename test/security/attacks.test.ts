// Attacks from RFC 6819 and RFC 9700 that the other suites do not already name (SECURITY.md maps
// every attack to its test): PKCE downgrade, redirect URI tricks at both steps, code injection
// across clients, forged tokens at introspection, and secret guessing by timing.

import { createPublicKey } from 'node:crypto';
import { expect } from 'chai';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { issueCode } from '../../src/oauth/codes.js';
import { s256 } from '../../src/oauth/grants/authorization-code.js';
import { basic, postForm, useTestServer } from '../support/server.js';

const REDIRECT = 'https://app.example/callback';
const VERIFIER = 'k'.repeat(43);

describe('attacks', function () {
  this.timeout(30_000);
  const server = useTestServer();

  const codeFor = async (clientId: string, challenge: string | null) => {
    const client = (await server.auth.context.read.clients.find(clientId))!;
    return issueCode(server.auth.context, {
      client, subject: 'victim', redirectUri: REDIRECT, scopes: ['read'], codeChallenge: challenge, codeChallengeMethod: challenge ? 'S256' : null, resource: null, sessionId: null, actor: { actor: 'test' },
    });
  };
  const redeem = (c: { id: string; secret: string }, form: Record<string, string>) =>
    postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', redirect_uri: REDIRECT, ...form }, { authorization: basic(c.id, c.secret) });

  it('PKCE downgrade: a verifier for a code issued without a challenge, or none for a code issued with one, is invalid_grant', async () => {
    const c = await server.client({ grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [REDIRECT] });
    const unexpected = await redeem(c, { code: await codeFor(c.id, null), code_verifier: VERIFIER });
    expect(unexpected.status).to.equal(400);
    expect(unexpected.body.error).to.equal('invalid_grant');
    const missing = await redeem(c, { code: await codeFor(c.id, s256(VERIFIER)) });
    expect(missing.body.error).to.equal('invalid_grant');
    const wrong = await redeem(c, { code: await codeFor(c.id, s256(VERIFIER)), code_verifier: 'w'.repeat(43) });
    expect(wrong.body.error).to.equal('invalid_grant');
    // The honest redemption still works, so the refusals above were about PKCE alone.
    expect((await redeem(c, { code: await codeFor(c.id, s256(VERIFIER)), code_verifier: VERIFIER })).status).to.equal(200);
  });

  const tricks = [
    'https://app.example/call', // prefix
    'https://app.example/callback/extra', // extra path
    'https://APP.example/Callback', // case
    'https://app.example/callback?x=1', // extra query
    'https://app.example/callback#frag', // fragment
    'https://user@app.example/callback', // userinfo
    'https://app.example.evil.example/callback', // suffix host
    'http://app.example/callback', // scheme
    'https://app.example:443/callback', // explicit default port
    'https://app.example/callback/', // trailing slash
    'https://app.example/%63allback', // percent-encoded path
  ];

  it('redirect URI tricks at the authorization endpoint: an error page, never a redirect', async () => {
    const c = await server.client({ grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [REDIRECT] });
    for (const uri of tricks) {
      const url = new URL(`${server.url}/oauth/authorize`);
      for (const [k, v] of Object.entries({ response_type: 'code', client_id: c.id, redirect_uri: uri, code_challenge: s256(VERIFIER), code_challenge_method: 'S256', state: 's' })) url.searchParams.set(k, v);
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status, uri).to.equal(400);
      expect(response.headers.get('location'), uri).to.equal(null);
    }
  });

  it('redirect URI tricks at the token endpoint: invalid_grant, and the code stays unusable by tricks', async () => {
    const c = await server.client({ grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [REDIRECT] });
    for (const uri of tricks) {
      const response = await redeem(c, { code: await codeFor(c.id, s256(VERIFIER)), code_verifier: VERIFIER, redirect_uri: uri });
      expect(response.status, uri).to.equal(400);
      expect(response.body.error, uri).to.equal('invalid_grant');
    }
  });

  it('code injection: a code stolen from one client and redeemed by another (with the right verifier) is invalid_grant', async () => {
    const victim = await server.client({ grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [REDIRECT] });
    const attacker = await server.client({ grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [REDIRECT] });
    const code = await codeFor(victim.id, s256(VERIFIER));
    const injected = await redeem(attacker, { code, code_verifier: VERIFIER });
    expect(injected.status).to.equal(400);
    expect(injected.body.error).to.equal('invalid_grant');
    const { rows } = await server.auth.pool.query("SELECT 1 FROM es_events WHERE type = 'TokenIssued' AND data->>'clientId' = $1", [attacker.id]);
    expect(rows).to.have.length(0);
  });

  it('forged tokens at introspection: alg none, HS256 keyed with the public key, another issuer\'s key — all inactive', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const real = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) })).body.access_token as string;
    const [header, payload] = real.split('.') as [string, string];
    const realHeader = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string };
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`;
    const active = await server.auth.context.keys.active();
    const publicPem = createPublicKey({ key: await exportJWK(active.publicKey), format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: realHeader.kid }).sign(new TextEncoder().encode(String(publicPem)));
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: realHeader.kid }).sign(privateKey);
    for (const [name, token] of [['alg none', none], ['HS256 with the public key', hmac], ['another key', foreign]] as const) {
      const response = await postForm(`${server.url}/oauth/introspect`, { token }, { authorization: basic(c.id, c.secret) });
      expect(response.status, name).to.equal(200);
      expect(response.body, name).to.deep.equal({ active: false });
    }
    // The genuine token with the same claims is active: only the forgery was refused.
    expect((await postForm(`${server.url}/oauth/introspect`, { token: real }, { authorization: basic(c.id, c.secret) })).body.active).to.equal(true);
  });

  it('guessing secrets by timing: every client authentication does exactly one keyed-hash comparison, whatever is wrong', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const revoked = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const { revokeClient } = await import('../../src/oauth/clients.js');
    await revokeClient(server.auth.context, revoked.id, { actor: 'admin:test' });
    const hasher = server.auth.context.hasher;
    const original = hasher.matches.bind(hasher);
    const compared: number[] = [];
    hasher.matches = (value, expected) => {
      compared.push(value.length);
      return original(value, expected);
    };
    try {
      const attempts: [string, string][] = [
        [c.id, c.secret], // right
        [c.id, `${c.secret.slice(0, -1)}x`], // all but the last character right
        [c.id, 'x'], // nothing right, short
        [c.id, 'x'.repeat(500)], // nothing right, long
        ['00000000-0000-4000-8000-000000000000', c.secret], // unknown client
        ['not-a-uuid', c.secret], // not even an id
        [revoked.id, revoked.secret], // revoked client, right secret
      ];
      const statuses: number[] = [];
      for (const [id, secret] of attempts) {
        compared.length = 0;
        statuses.push((await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) })).status);
        expect(compared, `${id} / ${secret.length} chars`).to.have.length(1);
      }
      expect(statuses).to.deep.equal([200, 401, 401, 401, 401, 401, 401]);
    } finally {
      hasher.matches = original;
    }
    // What is compared is a fixed-length HMAC, not the secret: no prefix of the secret can match.
    expect(Buffer.from(hasher.hash('x'), 'base64url')).to.have.length(32);
    expect(Buffer.from(hasher.hash('x'.repeat(10_000)), 'base64url')).to.have.length(32);
  });
});
