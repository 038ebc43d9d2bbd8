// Valid sample events for store and projection tests.

import { randomBytes, randomUUID } from 'node:crypto';
import type { NewEvent } from '../../src/eventstore/port.js';

export function revokedEvent(): NewEvent {
  return { type: 'TokenRevoked', data: { familyId: randomUUID(), clientId: randomUUID(), reason: 'admin' } };
}

export function clientRegistered(clientId = randomUUID(), overrides: Record<string, unknown> = {}): NewEvent {
  return {
    type: 'ClientRegistered',
    data: {
      clientId,
      name: 'Test client',
      confidential: true,
      secretHash: 'A'.repeat(43),
      grantTypes: ['client_credentials', 'refresh_token'],
      scopes: ['read', 'write'],
      redirectUris: ['https://app.example/callback'],
      firstParty: false,
      accessTokenTtl: null,
      refreshTokenTtl: null,
      ...overrides,
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A keyed hash's shape (32 bytes, base64url); the argument only keeps call sites readable.
const hash = (_n: number) => randomBytes(32).toString('base64url');

/**
 * A realistic mixed history through the real catalogue: clients registered, updated, rotated
 * and revoked; token families issued, refreshed and revoked; codes issued and redeemed.
 * Returns the last position.
 */
export async function seedHistory(
  store: import('../../src/eventstore/port.js').EventStore,
  options: { clients?: number; familiesPerClient?: number } = {},
): Promise<number> {
  let last = 0;
  let counter = 0;
  const clients = options.clients ?? 3;
  const families = options.familiesPerClient ?? 4;
  for (let c = 0; c < clients; c += 1) {
    const clientId = randomUUID();
    const stream = `client-${clientId}`;
    await store.append(stream, [clientRegistered(clientId)], { expectedRevision: 'no_stream', metadata: { actor: 'admin:seed' } });
    await store.append(stream, [{ type: 'ClientUpdated', data: { clientId, changes: { name: `Client ${c}`, scopes: ['read'] } } }], { expectedRevision: 0 });
    last = (await store.append(stream, [{ type: 'ClientSecretRotated', data: { clientId, secretHash: hash(++counter) } }], { expectedRevision: 1 })).position;
    for (let f = 0; f < families; f += 1) {
      const familyId = randomUUID();
      const grantId = randomUUID();
      await store.append(`grant-${grantId}`, [
        {
          type: 'AuthorizationCodeIssued',
          data: {
            grantId, clientId, subject: `user-${f}`, codeHash: hash(++counter), redirectUri: 'https://app.example/cb', scopes: ['read'],
            codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', codeChallengeMethod: 'S256', resource: null,
            expiresAt: new Date(Date.now() + 60_000).toISOString(), sessionId: null, nonce: null, authTime: null,
          },
        },
        { type: 'AuthorizationCodeRedeemed', data: { grantId, clientId, familyId } },
      ], { expectedRevision: 'no_stream' });
      const refresh = hash(++counter);
      const expires = new Date(Date.now() + 3_600_000).toISOString();
      const familyStream = `token-${familyId}`;
      await store.append(familyStream, [{
        type: 'TokenIssued',
        data: {
          familyId, clientId, subject: `user-${f}`, grantType: 'authorization_code', scopes: ['read'], audience: ['https://api.example'],
          jti: `jti${(++counter).toString().padStart(20, '0')}`, accessTokenHash: hash(++counter), accessTokenExpiresAt: expires, refreshTokenHash: refresh,
          refreshTokenExpiresAt: expires, grantId, name: null,
        },
      }], { expectedRevision: 'no_stream' });
      let previous = refresh;
      for (let r = 0; r < f % 3; r += 1) {
        const next = hash(++counter);
        last = (await store.append(familyStream, [{
          type: 'TokenRefreshed',
          data: {
            familyId, clientId, jti: `jti${(++counter).toString().padStart(20, '0')}`, scopes: ['read'], accessTokenHash: hash(++counter), accessTokenExpiresAt: expires,
            previousRefreshTokenHash: previous, refreshTokenHash: next, refreshTokenExpiresAt: expires,
          },
        }], { expectedRevision: r })).position;
        previous = next;
      }
      if (f % 2 === 1) {
        last = (await store.append(familyStream, [{ type: 'TokenRevoked', data: { familyId, clientId, reason: 'revoked_by_client' } }], { expectedRevision: 'any' })).position;
      }
    }
    if (c === clients - 1) {
      last = (await store.append(stream, [{ type: 'ClientRevoked', data: { clientId } }], { expectedRevision: 2 })).position;
    }
  }
  return last;
}
