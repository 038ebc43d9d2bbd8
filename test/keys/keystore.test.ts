// Signing keys (src/keys/keystore.ts) and the pepper: created once with owner-only files, rotated
// with the old key published until it retires, loaded from WARRANT_SIGNING_KEY, and tokens signed
// by one key verified by jose against the published JWKS.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createLocalJWKSet, exportJWK, exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { ensureKey, KeyError, KeyStore, keysDir, readStoredKeys, rotateKeys } from '../../src/keys/keystore.js';
import { ensurePepper, loadPepper, pepperFile } from '../../src/keys/pepper.js';
import { signAccessToken } from '../../src/oauth/access-token.js';

const claims = () => {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: 'https://auth.example', sub: 'alice', aud: 'https://api.example', iat, exp: iat + 60, jti: 'abcdefghijklmnopq', client_id: 'c' };
};

describe('signing keys and pepper', () => {
  let storage: string;
  beforeEach(async () => {
    storage = await mkdtemp(path.join(tmpdir(), 'warrant-keys-'));
  });
  afterEach(async () => {
    await rm(storage, { recursive: true, force: true });
  });

  it('ensureKey creates one key (mode 0600) once; a second call keeps it', async () => {
    const first = await ensureKey(storage, { alg: 'ES256' });
    expect(first.created).to.equal(true);
    const again = await ensureKey(storage, { alg: 'ES256' });
    expect(again).to.deep.include({ created: false });
    expect(again.key.kid).to.equal(first.key.kid);
    expect((await stat(path.join(keysDir(storage), `${first.key.kid}.json`))).mode & 0o777).to.equal(0o600);
  });

  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    it(`${alg}: a token signed with the active key verifies against the published JWKS (jose), and a retiring key stays published until it retires`, async () => {
      await ensureKey(storage, { alg });
      const keys = await KeyStore.open({ storage, reloadIntervalMs: 0 });
      const old = await signAccessToken(keys, claims());
      const rotated = await rotateKeys(storage, { retireAfterSeconds: 3600 });
      expect(rotated.retired).to.have.length(1);
      await keys.reload();
      const fresh = await signAccessToken(keys, claims());
      const jwks = createLocalJWKSet(await keys.jwks());
      for (const token of [old, fresh]) {
        const { payload, protectedHeader } = await jwtVerify(token, jwks, { algorithms: [alg], typ: 'at+jwt' });
        expect(payload.sub).to.equal('alice');
        expect(protectedHeader.alg).to.equal(alg);
      }
      expect((await keys.jwks()).keys.every((k) => !('d' in k))).to.equal(true);
      // Once retired, the old key leaves the JWKS and a second rotation deletes its file.
      await rotateKeys(storage, { retireAfterSeconds: 3600, now: new Date(Date.now() + 7200_000) });
      expect((await readStoredKeys(storage)).map((k) => k.kid)).not.to.include(rotated.retired[0]!.kid);
    });
  }

  it('WARRANT_SIGNING_KEY as a PEM or a private JWK; a public JWK or garbage is a KeyError', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const fromPem = await KeyStore.open({ storage, signingKey: await exportPKCS8(privateKey), signingKeyAlg: 'ES256' });
    const fromJwk = await KeyStore.open({ storage, signingKey: JSON.stringify(await exportJWK(privateKey)), signingKeyAlg: 'ES256' });
    expect((await fromPem.active()).kid).to.equal((await fromJwk.active()).kid);
    const publicOnly = await KeyStore.open({ storage, signingKey: JSON.stringify(await exportJWK(publicKey)) }).then(() => undefined, (error: unknown) => error);
    expect(publicOnly).to.be.instanceOf(KeyError).with.property('message').that.contains('no "d"');
    const refused = await KeyStore.open({ storage, signingKey: 'not a key' }).then(() => undefined, (error: unknown) => error);
    expect(refused).to.be.instanceOf(KeyError);
    const noKey = await KeyStore.open({ storage }).then(() => undefined, (error: unknown) => error);
    expect(noKey).to.be.instanceOf(KeyError).with.property('message').that.contains('warrant install');
  });

  it('the pepper: created once (0600, ≥ 32 bytes), loaded from the file or WARRANT_PEPPER', async () => {
    expect((await ensurePepper(storage)).created).to.equal(true);
    expect((await ensurePepper(storage)).created).to.equal(false);
    expect((await stat(pepperFile(storage))).mode & 0o777).to.equal(0o600);
    const fromFile = await loadPepper({ storage });
    expect(fromFile.length).to.be.at.least(32);
    const given = Buffer.alloc(32, 7).toString('base64url');
    expect((await loadPepper({ storage, pepper: given })).equals(Buffer.alloc(32, 7))).to.equal(true);
  });
});
