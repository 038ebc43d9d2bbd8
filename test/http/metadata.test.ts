// RFC 8414 metadata, the JWKS, and key rotation without breaking live tokens.

import { expect } from 'chai';
import { decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { readStoredKeys, rotateKeys } from '../../src/keys/keystore.js';
import { basic, insecure, postForm, startTestServer, useTestServer } from '../support/server.js';

describe('metadata and keys', function () {
  this.timeout(60_000);
  const server = useTestServer({ config: { scopes: { read: 'Read your data' } } });

  it('GET /.well-known/oauth-authorization-server lists the issuer, every endpoint, grants, auth methods, scopes and S256', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata).to.include({
      issuer: server.url,
      token_endpoint: `${server.url}/oauth/token`,
      jwks_uri: `${server.url}/oauth/jwks`,
      revocation_endpoint: `${server.url}/oauth/revoke`,
      introspection_endpoint: `${server.url}/oauth/introspect`,
    });
    // Only what works: registration is its own RFC 7591 endpoint, not the admin API; introspection refuses public clients.
    expect(metadata['registration_endpoint']).to.equal(`${server.url}/oauth/register`);
    expect(metadata['introspection_endpoint_auth_methods_supported']).to.deep.equal(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(metadata['revocation_endpoint_auth_methods_supported']).to.include('none');
    expect(metadata['grant_types_supported']).to.include.members(['client_credentials', 'refresh_token']);
    expect(metadata['token_endpoint_auth_methods_supported']).to.include.members(['client_secret_basic', 'client_secret_post']);
    expect(metadata['code_challenge_methods_supported']).to.deep.equal(['S256']);
    expect(metadata['scopes_supported']).to.include.members(['read', 'warrant:admin', 'warrant:audit']);
    expect((metadata['scope_descriptions'] as Record<string, string>)['read']).to.equal('Read your data');
    // oauth4webapi accepted it (startTestServer discovered the server through it).
    expect(server.as.issuer).to.equal(server.url);
  });

  it('GET /oauth/jwks publishes the public key with kid, alg and use, and never a private part', async () => {
    const jwks = (await (await fetch(`${server.url}/oauth/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).to.have.length(1);
    expect(jwks.keys[0]).to.include({ alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
    expect(jwks.keys[0]!['kid']).to.be.a('string');
    expect(jwks.keys[0]).not.to.have.property('d');
  });

  it('keys rotate: the new key signs, the retiring key stays published, and tokens it signed still validate', async () => {
    const { id, secret, client } = await server.client();
    const before = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
    const oldKid = decodeProtectedHeader(before.body.access_token).kid;

    await rotateKeys(server.storage, { retireAfterSeconds: 3600 });
    await server.auth.context.keys.reload();

    const after = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
    const newKid = decodeProtectedHeader(after.body.access_token).kid;
    expect(newKid).to.not.equal(oldKid);
    const jwks = (await (await fetch(`${server.url}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).to.have.members([oldKid, newKid]);
    for (const token of [before.body.access_token, after.body.access_token]) {
      const request = new Request('https://x', { headers: { authorization: `Bearer ${token}` } });
      expect((await oauth.validateJwtAccessToken(server.as, request, server.url, insecure)).client_id).to.equal(id);
      expect((await server.auth.policy.authenticate(`Bearer ${token}`)).clientId).to.equal(client.client_id);
    }
    // Once the retiring key's tokens have expired it leaves the JWKS.
    const stored = await readStoredKeys(server.storage);
    expect(stored.find((k) => k.kid === oldKid)).to.include({ status: 'retiring' });
    await rotateKeys(server.storage, { retireAfterSeconds: 3600, now: new Date(Date.now() + 2 * 3600_000) });
    expect((await readStoredKeys(server.storage)).map((k) => k.kid)).not.to.include(oldKid);
  });

  it('signs with RS256 or EdDSA keys when installed with them', async () => {
    for (const alg of ['RS256', 'EdDSA'] as const) {
      const other = await startTestServer({ alg });
      try {
        const { id, secret } = await other.client();
        const res = await postForm(`${other.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
        expect(decodeProtectedHeader(res.body.access_token).alg).to.equal(alg);
        const request = new Request('https://x', { headers: { authorization: `Bearer ${res.body.access_token}` } });
        if (alg === 'RS256') expect((await oauth.validateJwtAccessToken(other.as, request, other.url, insecure)).client_id).to.equal(id);
        expect((await other.auth.policy.authenticate(`Bearer ${res.body.access_token}`)).clientId).to.equal(id);
      } finally {
        await other.stop();
      }
    }
  });

  it('takes its signing key from WARRANT_SIGNING_KEY (PEM), so several nodes share one key', async () => {
    const { generateKeyPair, exportPKCS8 } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportPKCS8(privateKey);
    const nodes = [await startTestServer({ config: { signingKey: pem } }), await startTestServer({ config: { signingKey: pem } })];
    try {
      const [a, b] = await Promise.all(nodes.map(async (n) => ((await (await fetch(`${n.url}/oauth/jwks`)).json()) as { keys: { kid: string }[] }).keys));
      expect(a).to.have.length(1);
      expect(a![0]!.kid).to.equal(b![0]!.kid);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});

