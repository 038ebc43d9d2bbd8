// Access tokens are signed with node:crypto (src/oauth/access-token.ts) and verified with jose:
// for every algorithm, jose accepts what we sign, with the header and claims it would write, and
// refuses any bit of it changed.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { ensureKey, KeyStore } from '../../src/keys/keystore.js';
import { signAccessToken, verifyAccessToken, type AccessTokenClaims } from '../../src/oauth/access-token.js';

describe('access tokens: signed with node:crypto, checked by jose', () => {
  let storage: string;
  beforeEach(async () => {
    storage = await mkdtemp(path.join(tmpdir(), 'warrant-jws-'));
  });
  afterEach(async () => {
    await rm(storage, { recursive: true, force: true });
  });

  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    it(`${alg}: jose verifies the token against the JWKS, with the header and claims as jose would write them`, async () => {
      await ensureKey(storage, { alg });
      const keys = await KeyStore.open({ storage });
      const iat = Math.floor(Date.now() / 1000);
      const claims: AccessTokenClaims = { iss: 'https://auth.example', sub: 'alice', aud: 'https://api.example', exp: iat + 60, iat, jti: 'abcdefghijklmnopq', client_id: 'c1', scope: 'read write' };
      const token = await signAccessToken(keys, claims);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await keys.jwks()), { algorithms: [alg], typ: 'at+jwt', issuer: claims.iss, audience: claims.aud });
      expect(payload).to.deep.equal(claims);
      const active = await keys.active();
      expect(protectedHeader).to.deep.equal({ alg, kid: active.kid, typ: 'at+jwt' });
      // jose signing the same claims writes the same header and payload segments.
      const reference = await new SignJWT(claims).setProtectedHeader({ alg, kid: active.kid, typ: 'at+jwt' }).sign(active.privateKey);
      expect(token.split('.').slice(0, 2)).to.deep.equal(reference.split('.').slice(0, 2));
      expect(decodeProtectedHeader(token)).to.deep.equal(decodeProtectedHeader(reference));
      // Our own verification (jose underneath) accepts it …
      expect((await verifyAccessToken(keys, token, { issuer: claims.iss })).jti).to.equal(claims.jti);
      // … and refuses a changed payload or signature.
      const [h, p, s] = token.split('.') as [string, string, string];
      const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url');
      for (const bad of [`${h}.${forged}.${s}`, `${h}.${p}.${s.slice(0, -2)}${s.endsWith('A') ? 'B' : 'A'}A`]) {
        expect(await verifyAccessToken(keys, bad, { issuer: claims.iss }).then(() => 'accepted', (error: { reason: string }) => error.reason)).to.equal('signature');
      }
    });
  }
});
