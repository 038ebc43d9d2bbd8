// The event catalogue (DESIGN §2): one type and one JSON Schema per event, at its current version.
// No field holds a secret: client secrets, refresh tokens and codes appear only as keyed hashes
// (HMAC-SHA-256 with the server pepper, base64url), access tokens only by their `jti`.

import type { SchemaObject } from 'ajv';

export const GRANT_TYPES = [
  'authorization_code',
  'client_credentials',
  'refresh_token',
  'password',
  'urn:ietf:params:oauth:grant-type:device_code',
  'personal_access',
  'urn:ietf:params:oauth:grant-type:token-exchange',
] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export const REVOCATION_REASONS = [
  'revoked_by_client',
  'refresh_token_reuse',
  'client_revoked',
  'code_replay',
  'admin',
  'subject_revoked',
] as const;

/** RFC 8693 §4.1: who acts for the subject, nested for a chain of exchanges. */
export interface ActClaim {
  sub: string;
  act?: ActClaim;
}
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** How a client proves who it is at the token, introspection and revocation endpoints (RFC 7591 §2). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export const CLIENT_PROFILES = ['fapi2'] as const;
export type ClientProfile = (typeof CLIENT_PROFILES)[number];

/** A JWK Set of public keys (RFC 7517 §5); private members are refused by the schema. */
export interface PublicJwks {
  keys: Record<string, unknown>[];
}

export interface ClientRegistered {
  clientId: string;
  name: string;
  confidential: boolean;
  /** Keyed hash of the client secret; null for public clients. */
  secretHash: string | null;
  grantTypes: GrantType[];
  scopes: string[];
  redirectUris: string[];
  /**
   * Resources (RFC 8707 audiences) the client may ask tokens for, besides the server's default
   * audience. Absent in events written before it existed: none.
   */
  resources?: string[];
  firstParty: boolean;
  /** Per-client lifetimes in seconds; null means the server default. */
  accessTokenTtl: number | null;
  refreshTokenTtl: number | null;
  /**
   * The registered authentication method (issue 16). Absent in older events: a secret when
   * confidential, none when public. `private_key_jwt` clients have no secret (secretHash null).
   */
  tokenEndpointAuthMethod?: ClientAuthMethod;
  /** private_key_jwt: the client's public keys inline, or where to fetch them (one of the two). */
  jwks?: PublicJwks | null;
  jwksUri?: string | null;
  /** OIDC RP-initiated logout: where the client may send people after signing out. */
  postLogoutRedirectUris?: string[];
  /** RFC 9449 §5.2: every token request must carry a DPoP proof. */
  dpopBoundAccessTokens?: boolean;
  /** RFC 9126 §6: authorization requests only through PAR. */
  requirePushedAuthorizationRequests?: boolean;
  /** A security profile the client is held to: `fapi2` (FAPI 2.0 Security Profile), or none. */
  profile?: ClientProfile | null;
}

export interface ClientChanges {
  name?: string;
  grantTypes?: GrantType[];
  scopes?: string[];
  redirectUris?: string[];
  resources?: string[];
  firstParty?: boolean;
  accessTokenTtl?: number | null;
  refreshTokenTtl?: number | null;
  jwks?: PublicJwks | null;
  jwksUri?: string | null;
  postLogoutRedirectUris?: string[];
  dpopBoundAccessTokens?: boolean;
  requirePushedAuthorizationRequests?: boolean;
  profile?: ClientProfile | null;
}

export interface ClientUpdated {
  clientId: string;
  changes: ClientChanges;
}

export interface ClientSecretRotated {
  clientId: string;
  secretHash: string;
}

export interface ClientRevoked {
  clientId: string;
}

export interface AuthorizationCodeIssued {
  grantId: string;
  clientId: string;
  subject: string;
  codeHash: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | 'plain' | null;
  resource: string | null;
  expiresAt: string;
  /** The sign-in session the grant was made in (v2; null in library mode, where the host owns sessions, and in v1 events). */
  sessionId: string | null;
  /** OIDC (v3; null before): the authentication request's nonce, echoed in the id token. Not a secret. */
  nonce: string | null;
  /** OIDC (v3; null before): when the person signed in (the id token's auth_time). */
  authTime: string | null;
}

export interface AuthorizationCodeRedeemed {
  grantId: string;
  clientId: string;
  /** The token family created from the code. */
  familyId: string;
}

export interface TokenIssued {
  familyId: string;
  clientId: string;
  /** RFC 9068 §2.2: the resource owner, or the client id for client_credentials. */
  subject: string;
  grantType: GrantType;
  scopes: string[];
  audience: string[];
  jti: string;
  /** Keyed hash of the signed access token (v2; null in v1): introspection compares it instead of verifying. */
  accessTokenHash: string | null;
  accessTokenExpiresAt: string;
  refreshTokenHash: string | null;
  refreshTokenExpiresAt: string | null;
  /** The authorization-code grant this family came from, if any. */
  grantId: string | null;
  /** A personal access token's name, if any. */
  name: string | null;
  /** RFC 9449: the thumbprint (RFC 7638) of the key the access token is bound to; absent: a bearer token. */
  dpopJkt?: string | null;
  /** RFC 8693: the family whose access token this one was exchanged for; it dies with that family. */
  parentFamilyId?: string | null;
  /** RFC 8693 §4.1: who acts for the subject (the `act` claim of the access token). */
  act?: ActClaim | null;
}

export interface TokenRefreshed {
  familyId: string;
  clientId: string;
  jti: string;
  /** Keyed hash of the signed access token (v2; null in v1). */
  accessTokenHash: string | null;
  scopes: string[];
  accessTokenExpiresAt: string;
  previousRefreshTokenHash: string;
  refreshTokenHash: string;
  refreshTokenExpiresAt: string;
  /** RFC 9449: the key this refresh's access token is bound to; absent: a bearer token. */
  dpopJkt?: string | null;
}

/**
 * An OpenID Connect id token went out with this family's tokens (stream `token-<familyId>`), at
 * the code exchange or a refresh. The token itself is not stored: it is signed, not secret, but
 * it carries no more than this.
 */
export interface IdTokenIssued {
  familyId: string;
  clientId: string;
  subject: string;
  jti: string;
  /** The sign-in session (the id token's `sid`); null in library mode. */
  sessionId: string | null;
  authTime: string;
  expiresAt: string;
  grantType: 'authorization_code' | 'refresh_token';
}

/**
 * RFC 9126: a client pushed an authorization request (stream `par-<requestId>`). The parameters
 * are the ones that would otherwise be in the browser's URL (none is a secret); the request_uri's
 * random part is kept only as a keyed hash.
 */
export interface AuthorizationRequestPushed {
  requestId: string;
  clientId: string;
  uriHash: string;
  params: Record<string, string>;
  expiresAt: string;
}

/** A pushed request was used at the authorization endpoint (single use: appended at its revision). */
export interface PushedAuthorizationRequestUsed {
  requestId: string;
  clientId: string;
}

/**
 * An RFC 7591 initial access token was made (`warrant registration-token create`; stream
 * `registration-token-<tokenId>`): good for `uses` registrations until `expiresAt`. Only its keyed
 * hash is kept.
 */
export interface RegistrationTokenIssued {
  tokenId: string;
  tokenHash: string;
  uses: number;
  expiresAt: string | null;
}

/** An initial access token registered a client (one of its uses). */
export interface RegistrationTokenUsed {
  tokenId: string;
  clientId: string;
}

/**
 * RFC 7592: the registration access token of a self-registered client (stream
 * `client-registration-<clientId>`), issued at registration and rotated by every PUT: only the
 * latest one is accepted.
 */
export interface RegistrationAccessTokenIssued {
  clientId: string;
  tokenHash: string;
}

export interface TokenRevoked {
  familyId: string;
  clientId: string;
  reason: RevocationReason;
}

export interface DeviceAuthorizationRequested {
  deviceId: string;
  clientId: string;
  deviceCodeHash: string;
  /** Keyed hash of the normalized user code (it approves a device: treated as a secret). */
  userCodeHash: string;
  scopes: string[];
  expiresAt: string;
  interval: number;
}

export interface DeviceAuthorizationApproved {
  deviceId: string;
  subject: string;
  /** The sign-in session of the approval (v2; null in library mode and v1 events). */
  sessionId: string | null;
}

export interface DeviceAuthorizationDenied {
  deviceId: string;
  subject: string;
  sessionId: string | null;
}

export const SESSION_END_REASONS = ['logout', 'subject_revoked', 'rp_logout'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** A person signed in on Warrant's login page (stream `session-<sessionId>`). */
export interface SessionStarted {
  sessionId: string;
  subject: string;
  /** Keyed hash of the session cookie's secret: the cookie itself never enters an event. */
  secretHash: string;
  expiresAt: string;
}

export interface SessionEnded {
  sessionId: string;
  subject: string;
  reason: SessionEndReason;
}

/**
 * A person allowed a client these scopes for these audiences (stream `consent-<clientId>-<digest of
 * subject>`); a later request within both skips the consent page.
 */
export interface ConsentGranted {
  subject: string;
  clientId: string;
  scopes: string[];
  audience: string[];
  sessionId: string | null;
}

export interface ConsentRevoked {
  subject: string;
  clientId: string;
  reason: 'subject_revoked' | 'user';
}

export interface DeviceCodeRedeemed {
  deviceId: string;
  clientId: string;
  familyId: string;
}

export interface EventDataMap {
  DeviceAuthorizationRequested: DeviceAuthorizationRequested;
  DeviceAuthorizationApproved: DeviceAuthorizationApproved;
  DeviceAuthorizationDenied: DeviceAuthorizationDenied;
  DeviceCodeRedeemed: DeviceCodeRedeemed;
  ClientRegistered: ClientRegistered;
  ClientUpdated: ClientUpdated;
  ClientSecretRotated: ClientSecretRotated;
  ClientRevoked: ClientRevoked;
  AuthorizationCodeIssued: AuthorizationCodeIssued;
  AuthorizationCodeRedeemed: AuthorizationCodeRedeemed;
  TokenIssued: TokenIssued;
  TokenRefreshed: TokenRefreshed;
  TokenRevoked: TokenRevoked;
  IdTokenIssued: IdTokenIssued;
  AuthorizationRequestPushed: AuthorizationRequestPushed;
  RegistrationTokenIssued: RegistrationTokenIssued;
  RegistrationTokenUsed: RegistrationTokenUsed;
  RegistrationAccessTokenIssued: RegistrationAccessTokenIssued;
  PushedAuthorizationRequestUsed: PushedAuthorizationRequestUsed;
  SessionStarted: SessionStarted;
  SessionEnded: SessionEnded;
  ConsentGranted: ConsentGranted;
  ConsentRevoked: ConsentRevoked;
}

export type EventType = keyof EventDataMap;

/** An event as the domain produces it: a type and its data, at the current version. */
export type DomainEvent = { [K in EventType]: { type: K; data: EventDataMap[K] } }[EventType];

// Shared schema fragments ----------------------------------------------------------------------

const uuid = { type: 'string', format: 'uuid' } as const;
const keyedHash = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const; // 32 bytes, base64url
const dateTime = { type: 'string', format: 'date-time' } as const;
const scope = { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$', maxLength: 128 } as const; // RFC 6749 §3.3
const scopes = { type: 'array', items: scope, uniqueItems: true, maxItems: 200 } as const;
const grantTypes = { type: 'array', items: { type: 'string', enum: GRANT_TYPES }, uniqueItems: true, minItems: 1 } as const;
const redirectUris = { type: 'array', items: { type: 'string', format: 'uri', maxLength: 2000 }, uniqueItems: true, maxItems: 50 } as const;
// Absolute URIs without a fragment (RFC 8707 §2).
const resources = { type: 'array', items: { type: 'string', format: 'uri', pattern: '^[^#]*$', maxLength: 2000 }, uniqueItems: true, maxItems: 50 } as const;
const ttl = { type: 'integer', minimum: 1, maximum: 10 * 365 * 24 * 3600, nullable: true } as const;
const clientName = { type: 'string', minLength: 1, maxLength: 200 } as const;
const jti = { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' } as const;
const subject = { type: 'string', minLength: 1, maxLength: 255 } as const;
const authMethod = { type: 'string', enum: CLIENT_AUTH_METHODS } as const;
// Public keys only: a private or symmetric member (d, p, q, dp, dq, qi, oth, k) would put a secret in the log.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const jwks = {
  type: 'object',
  nullable: true,
  additionalProperties: false,
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      minItems: 1,
      maxItems: 10,
      items: {
        type: 'object',
        required: ['kty'],
        properties: { kty: { type: 'string', enum: ['EC', 'RSA', 'OKP'] }, ...Object.fromEntries(PRIVATE_JWK_MEMBERS.map((member) => [member, false])) },
        maxProperties: 20,
      },
    },
  },
} as const;
const jwksUri = { type: 'string', format: 'uri', maxLength: 2000, nullable: true } as const;
const jkt = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$', nullable: true } as const; // SHA-256 thumbprint, base64url
const profile = { type: 'string', enum: [...CLIENT_PROFILES, null], nullable: true } as const;

// ajv's JSONSchemaType cannot express required nullable fields, so the types above are kept in
// step with these schemas by test/events/catalogue.test.ts (a typed sample of every event must pass).
export const schemas: { [K in EventType]: SchemaObject } = {
  DeviceAuthorizationRequested: {
    type: 'object',
    additionalProperties: false,
    required: ['deviceId', 'clientId', 'deviceCodeHash', 'userCodeHash', 'scopes', 'expiresAt', 'interval'],
    properties: { deviceId: uuid, clientId: uuid, deviceCodeHash: keyedHash, userCodeHash: keyedHash, scopes, expiresAt: dateTime, interval: { type: 'integer', minimum: 1, maximum: 60 } },
  },
  DeviceAuthorizationApproved: {
    type: 'object',
    additionalProperties: false,
    required: ['deviceId', 'subject', 'sessionId'],
    properties: { deviceId: uuid, subject, sessionId: { ...uuid, nullable: true } },
  },
  DeviceAuthorizationDenied: {
    type: 'object',
    additionalProperties: false,
    required: ['deviceId', 'subject', 'sessionId'],
    properties: { deviceId: uuid, subject, sessionId: { ...uuid, nullable: true } },
  },
  DeviceCodeRedeemed: {
    type: 'object',
    additionalProperties: false,
    required: ['deviceId', 'clientId', 'familyId'],
    properties: { deviceId: uuid, clientId: uuid, familyId: uuid },
  },
  ClientRegistered: {
    type: 'object',
    additionalProperties: false,
    required: ['clientId', 'name', 'confidential', 'secretHash', 'grantTypes', 'scopes', 'redirectUris', 'firstParty', 'accessTokenTtl', 'refreshTokenTtl'],
    properties: {
      clientId: uuid,
      name: clientName,
      confidential: { type: 'boolean' },
      secretHash: { ...keyedHash, nullable: true },
      grantTypes,
      scopes,
      redirectUris,
      resources,
      firstParty: { type: 'boolean' },
      accessTokenTtl: ttl,
      refreshTokenTtl: ttl,
      tokenEndpointAuthMethod: authMethod,
      jwks,
      jwksUri,
      postLogoutRedirectUris: redirectUris,
      dpopBoundAccessTokens: { type: 'boolean' },
      requirePushedAuthorizationRequests: { type: 'boolean' },
      profile,
    },
  },
  ClientUpdated: {
    type: 'object',
    additionalProperties: false,
    required: ['clientId', 'changes'],
    properties: {
      clientId: uuid,
      changes: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          name: clientName,
          grantTypes,
          scopes,
          redirectUris,
          resources,
          firstParty: { type: 'boolean' },
          accessTokenTtl: ttl,
          refreshTokenTtl: ttl,
          jwks,
          jwksUri,
          postLogoutRedirectUris: redirectUris,
          dpopBoundAccessTokens: { type: 'boolean' },
          requirePushedAuthorizationRequests: { type: 'boolean' },
          profile,
        },
      },
    },
  },
  ClientSecretRotated: {
    type: 'object',
    additionalProperties: false,
    required: ['clientId', 'secretHash'],
    properties: { clientId: uuid, secretHash: keyedHash },
  },
  ClientRevoked: {
    type: 'object',
    additionalProperties: false,
    required: ['clientId'],
    properties: { clientId: uuid },
  },
  AuthorizationCodeIssued: {
    type: 'object',
    additionalProperties: false,
    required: ['grantId', 'clientId', 'subject', 'codeHash', 'redirectUri', 'scopes', 'codeChallenge', 'codeChallengeMethod', 'resource', 'expiresAt', 'sessionId', 'nonce', 'authTime'],
    properties: {
      grantId: uuid,
      clientId: uuid,
      subject,
      codeHash: keyedHash,
      redirectUri: { type: 'string', format: 'uri', maxLength: 2000 },
      scopes,
      codeChallenge: { type: 'string', pattern: '^[A-Za-z0-9._~-]{43,128}$', nullable: true },
      codeChallengeMethod: { type: 'string', enum: ['S256', 'plain', null], nullable: true },
      resource: { type: 'string', format: 'uri', maxLength: 2000, nullable: true },
      expiresAt: dateTime,
      sessionId: { ...uuid, nullable: true },
      nonce: { type: 'string', minLength: 1, maxLength: 512, nullable: true },
      authTime: { ...dateTime, nullable: true },
    },
  },
  AuthorizationCodeRedeemed: {
    type: 'object',
    additionalProperties: false,
    required: ['grantId', 'clientId', 'familyId'],
    properties: { grantId: uuid, clientId: uuid, familyId: uuid },
  },
  TokenIssued: {
    type: 'object',
    additionalProperties: false,
    required: ['familyId', 'clientId', 'subject', 'grantType', 'scopes', 'audience', 'jti', 'accessTokenHash', 'accessTokenExpiresAt', 'refreshTokenHash', 'refreshTokenExpiresAt', 'grantId', 'name'],
    properties: {
      familyId: uuid,
      clientId: uuid,
      subject,
      grantType: { type: 'string', enum: GRANT_TYPES },
      scopes,
      audience: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 2000 }, minItems: 1, maxItems: 10 },
      jti,
      accessTokenHash: { ...keyedHash, nullable: true },
      accessTokenExpiresAt: dateTime,
      refreshTokenHash: { ...keyedHash, nullable: true },
      refreshTokenExpiresAt: { ...dateTime, nullable: true },
      grantId: { ...uuid, nullable: true },
      name: { type: 'string', minLength: 1, maxLength: 200, nullable: true },
      dpopJkt: jkt,
      parentFamilyId: { ...uuid, nullable: true },
      act: { type: 'object', nullable: true, required: ['sub'], properties: { sub: subject, act: { type: 'object', maxProperties: 2 } }, additionalProperties: false },
    },
  },
  TokenRefreshed: {
    type: 'object',
    additionalProperties: false,
    required: ['familyId', 'clientId', 'jti', 'accessTokenHash', 'scopes', 'accessTokenExpiresAt', 'previousRefreshTokenHash', 'refreshTokenHash', 'refreshTokenExpiresAt'],
    properties: {
      familyId: uuid,
      clientId: uuid,
      jti,
      accessTokenHash: { ...keyedHash, nullable: true },
      scopes,
      accessTokenExpiresAt: dateTime,
      previousRefreshTokenHash: keyedHash,
      refreshTokenHash: keyedHash,
      refreshTokenExpiresAt: dateTime,
      dpopJkt: jkt,
    },
  },
  TokenRevoked: {
    type: 'object',
    additionalProperties: false,
    required: ['familyId', 'clientId', 'reason'],
    properties: {
      familyId: uuid,
      clientId: uuid,
      reason: { type: 'string', enum: REVOCATION_REASONS },
    },
  },
  IdTokenIssued: {
    type: 'object',
    additionalProperties: false,
    required: ['familyId', 'clientId', 'subject', 'jti', 'sessionId', 'authTime', 'expiresAt', 'grantType'],
    properties: {
      familyId: uuid,
      clientId: uuid,
      subject,
      jti,
      sessionId: { ...uuid, nullable: true },
      authTime: dateTime,
      expiresAt: dateTime,
      grantType: { type: 'string', enum: ['authorization_code', 'refresh_token'] },
    },
  },
  AuthorizationRequestPushed: {
    type: 'object',
    additionalProperties: false,
    required: ['requestId', 'clientId', 'uriHash', 'params', 'expiresAt'],
    properties: {
      requestId: uuid,
      clientId: uuid,
      uriHash: keyedHash,
      params: { type: 'object', maxProperties: 30, additionalProperties: { type: 'string', maxLength: 4000 } },
      expiresAt: dateTime,
    },
  },
  RegistrationTokenIssued: {
    type: 'object',
    additionalProperties: false,
    required: ['tokenId', 'tokenHash', 'uses', 'expiresAt'],
    properties: { tokenId: uuid, tokenHash: keyedHash, uses: { type: 'integer', minimum: 1, maximum: 1_000_000 }, expiresAt: { ...dateTime, nullable: true } },
  },
  RegistrationTokenUsed: {
    type: 'object',
    additionalProperties: false,
    required: ['tokenId', 'clientId'],
    properties: { tokenId: uuid, clientId: uuid },
  },
  RegistrationAccessTokenIssued: {
    type: 'object',
    additionalProperties: false,
    required: ['clientId', 'tokenHash'],
    properties: { clientId: uuid, tokenHash: keyedHash },
  },
  PushedAuthorizationRequestUsed: {
    type: 'object',
    additionalProperties: false,
    required: ['requestId', 'clientId'],
    properties: { requestId: uuid, clientId: uuid },
  },
  SessionStarted: {
    type: 'object',
    additionalProperties: false,
    required: ['sessionId', 'subject', 'secretHash', 'expiresAt'],
    properties: { sessionId: uuid, subject, secretHash: keyedHash, expiresAt: dateTime },
  },
  SessionEnded: {
    type: 'object',
    additionalProperties: false,
    required: ['sessionId', 'subject', 'reason'],
    properties: { sessionId: uuid, subject, reason: { type: 'string', enum: SESSION_END_REASONS } },
  },
  ConsentGranted: {
    type: 'object',
    additionalProperties: false,
    required: ['subject', 'clientId', 'scopes', 'audience', 'sessionId'],
    properties: { subject, clientId: uuid, scopes, audience: { ...resources, minItems: 1 }, sessionId: { ...uuid, nullable: true } },
  },
  ConsentRevoked: {
    type: 'object',
    additionalProperties: false,
    required: ['subject', 'clientId', 'reason'],
    properties: { subject, clientId: uuid, reason: { type: 'string', enum: ['subject_revoked', 'user'] } },
  },
};

/** Current schema version of every event type; bump it and add an upcaster when a shape changes. */
export const versions: { [K in EventType]: number } = {
  DeviceAuthorizationRequested: 1,
  DeviceAuthorizationApproved: 2,
  DeviceAuthorizationDenied: 2,
  DeviceCodeRedeemed: 1,
  ClientRegistered: 1,
  ClientUpdated: 1,
  ClientSecretRotated: 1,
  ClientRevoked: 1,
  AuthorizationCodeIssued: 3,
  AuthorizationCodeRedeemed: 1,
  TokenIssued: 2,
  TokenRefreshed: 2,
  TokenRevoked: 1,
  IdTokenIssued: 1,
  AuthorizationRequestPushed: 1,
  RegistrationTokenIssued: 1,
  RegistrationTokenUsed: 1,
  RegistrationAccessTokenIssued: 1,
  PushedAuthorizationRequestUsed: 1,
  SessionStarted: 1,
  SessionEnded: 1,
  ConsentGranted: 1,
  ConsentRevoked: 1,
};

/** upcasters[type][n] turns stored data of version n into version n + 1 (read time; stored events never change). */
const withoutSession = (data: unknown) => ({ ...(data as object), sessionId: null });
const withoutAccessTokenHash = (data: unknown) => ({ ...(data as object), accessTokenHash: null });
export const upcasters: { [K in EventType]?: Record<number, (data: unknown) => unknown> } = {
  AuthorizationCodeIssued: { 1: withoutSession, 2: (data) => ({ ...(data as object), nonce: null, authTime: null }) },
  DeviceAuthorizationApproved: { 1: withoutSession },
  DeviceAuthorizationDenied: { 1: withoutSession },
  TokenIssued: { 1: withoutAccessTokenHash },
  TokenRefreshed: { 1: withoutAccessTokenHash },
};
