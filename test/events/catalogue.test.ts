// Keeps src/events/types.ts and its schemas in step: every typed sample must pass its schema,
// and every field the type declares is required by the schema (no silent drift either way).

import { expect } from 'chai';
import { EventSchemaError, warrantEvents } from '../../src/events/catalogue.js';
import { schemas, versions, type EventDataMap, type EventType } from '../../src/events/types.js';

const uuid = '6f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const hash = 'x'.repeat(43);
const at = '2026-11-28T10:00:00.000Z';

const samples: { [K in EventType]: EventDataMap[K] } = {
  DeviceAuthorizationRequested: { deviceId: uuid, clientId: uuid, deviceCodeHash: hash, userCodeHash: hash, scopes: ['read'], expiresAt: at, interval: 5 },
  DeviceAuthorizationApproved: { deviceId: uuid, subject: 'alice', sessionId: uuid },
  DeviceAuthorizationDenied: { deviceId: uuid, subject: 'alice', sessionId: null },
  DeviceCodeRedeemed: { deviceId: uuid, clientId: uuid, familyId: uuid },
  ClientRegistered: {
    clientId: uuid, name: 'App', confidential: true, secretHash: hash, grantTypes: ['client_credentials'], scopes: ['read'],
    redirectUris: ['https://app.example/cb'], firstParty: false, accessTokenTtl: 3600, refreshTokenTtl: null,
  },
  ClientUpdated: { clientId: uuid, changes: { name: 'Renamed', accessTokenTtl: null } },
  ClientSecretRotated: { clientId: uuid, secretHash: hash },
  ClientRevoked: { clientId: uuid },
  AuthorizationCodeIssued: {
    grantId: uuid, clientId: uuid, subject: 'alice', codeHash: hash, redirectUri: 'https://app.example/cb', scopes: ['read'],
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', codeChallengeMethod: 'S256', resource: null, expiresAt: at, sessionId: uuid,
    nonce: 'n-0S6_WzA2Mj', authTime: at,
  },
  AuthorizationCodeRedeemed: { grantId: uuid, clientId: uuid, familyId: uuid },
  TokenIssued: {
    familyId: uuid, clientId: uuid, subject: 'alice', grantType: 'authorization_code', scopes: ['read'], audience: ['https://api.example'],
    jti: 'abcdefghijklmnop', accessTokenHash: hash, accessTokenExpiresAt: at, refreshTokenHash: hash, refreshTokenExpiresAt: at, grantId: uuid, name: null,
  },
  TokenRefreshed: {
    familyId: uuid, clientId: uuid, jti: 'abcdefghijklmnoq', accessTokenHash: hash, scopes: ['read'], accessTokenExpiresAt: at,
    previousRefreshTokenHash: hash, refreshTokenHash: hash, refreshTokenExpiresAt: at,
  },
  TokenRevoked: { familyId: uuid, clientId: uuid, reason: 'refresh_token_reuse' },
  IdTokenIssued: { familyId: uuid, clientId: uuid, subject: 'alice', jti: 'abcdefghijklmnor', sessionId: uuid, authTime: at, expiresAt: at, grantType: 'authorization_code' },
  AuthorizationRequestPushed: { requestId: uuid, clientId: uuid, uriHash: hash, params: { response_type: 'code', scope: 'openid', state: 'xyz' }, expiresAt: at },
  PushedAuthorizationRequestUsed: { requestId: uuid, clientId: uuid },
  RegistrationTokenIssued: { tokenId: uuid, tokenHash: hash, uses: 1, expiresAt: at },
  RegistrationTokenUsed: { tokenId: uuid, clientId: uuid },
  RegistrationAccessTokenIssued: { clientId: uuid, tokenHash: hash },
  SessionStarted: { sessionId: uuid, subject: 'alice', secretHash: hash, expiresAt: at },
  SessionEnded: { sessionId: uuid, subject: 'alice', reason: 'logout' },
  ConsentGranted: { subject: 'alice', clientId: uuid, scopes: ['read'], audience: ['https://api.example/'], sessionId: null },
  ConsentRevoked: { subject: 'alice', clientId: uuid, reason: 'subject_revoked' },
};

describe('event catalogue', () => {
  for (const type of Object.keys(samples) as EventType[]) {
    it(`${type}: a typed sample passes, every declared field is required, and unknown fields are refused`, () => {
      expect(() => warrantEvents.validate(type, samples[type])).not.to.throw();
      expect(warrantEvents.version(type)).to.equal(versions[type]);
      const required = (schemas[type] as { required?: string[] }).required ?? [];
      expect([...required].sort()).to.deep.equal(Object.keys(samples[type]).sort());
      for (const field of required) {
        const without = { ...samples[type] } as Record<string, unknown>;
        delete without[field];
        expect(() => warrantEvents.validate(type, without), `without ${field}`).to.throw(EventSchemaError).with.property('field', `/${field}`);
      }
      expect(() => warrantEvents.validate(type, { ...samples[type], extra: 1 })).to.throw(EventSchemaError).with.property('field', '/extra');
    });
  }

  it('refuses anything that looks like a plaintext secret where a keyed hash belongs', () => {
    const error = (() => {
      try {
        warrantEvents.validate('ClientSecretRotated', { clientId: uuid, secretHash: 'my-plain-secret' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(EventSchemaError);
    expect(error).to.include({ eventType: 'ClientSecretRotated', field: '/secretHash' });
  });

  it('upcasts version-1 grants and device decisions (before sign-in sessions were recorded) to sessionId null', () => {
    const v1 = { grantId: uuid, clientId: uuid, subject: 'alice', codeHash: hash, redirectUri: 'https://app.example/cb', scopes: ['read'], codeChallenge: null, codeChallengeMethod: null, resource: null, expiresAt: at };
    const upcast = warrantEvents.upcast('AuthorizationCodeIssued', 1, v1);
    // …and then, as every version-2 grant (before OpenID Connect), to nonce and authTime null.
    expect(upcast).to.deep.equal({ version: 3, data: { ...v1, sessionId: null, nonce: null, authTime: null } });
    expect(() => warrantEvents.validate('AuthorizationCodeIssued', upcast.data)).not.to.throw();
    expect(warrantEvents.upcast('DeviceAuthorizationApproved', 1, { deviceId: uuid, subject: 'alice' }).data).to.deep.equal({ deviceId: uuid, subject: 'alice', sessionId: null });
  });

  it('keeps private key material out of the log: a client JWK with a private or symmetric member is refused', () => {
    const publicKey = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
    const client = { ...samples.ClientRegistered, secretHash: null, tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [publicKey] } };
    expect(() => warrantEvents.validate('ClientRegistered', client)).not.to.throw();
    for (const member of ['d', 'k', 'p']) {
      expect(() => warrantEvents.validate('ClientRegistered', { ...client, jwks: { keys: [{ ...publicKey, [member]: 'secret' }] } }), member).to.throw(EventSchemaError).with.property('field', `/jwks/keys/0/${member}`);
    }
    expect(() => warrantEvents.validate('ClientRegistered', { ...client, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } })).to.throw(EventSchemaError);
  });

  it('upcasts version-1 TokenIssued and TokenRefreshed (before access-token hashes were recorded) to accessTokenHash null', () => {
    const v1 = { familyId: uuid, clientId: uuid, jti: 'abcdefghijklmnoq', scopes: ['read'], accessTokenExpiresAt: at, previousRefreshTokenHash: hash, refreshTokenHash: hash, refreshTokenExpiresAt: at };
    const upcast = warrantEvents.upcast('TokenRefreshed', 1, v1);
    expect(upcast).to.deep.equal({ version: 2, data: { ...v1, accessTokenHash: null } });
    expect(() => warrantEvents.validate('TokenRefreshed', upcast.data)).not.to.throw();
    const issued = { ...samples.TokenIssued } as Record<string, unknown>;
    delete issued['accessTokenHash'];
    expect(() => warrantEvents.validate('TokenIssued', issued)).to.throw(EventSchemaError);
    expect(() => warrantEvents.validate('TokenIssued', warrantEvents.upcast('TokenIssued', 1, issued).data)).not.to.throw();
  });

  it('refuses an update that changes nothing', () => {
    expect(() => warrantEvents.validate('ClientUpdated', { clientId: uuid, changes: {} })).to.throw(EventSchemaError);
  });
});
