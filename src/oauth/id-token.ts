// OpenID Connect id tokens (OIDC Core §2, §3.1.3.6): who signed in, for the client that asked.
// Signed with the active key like access tokens, typ "JWT". `at_hash` binds the id token to the
// access token it came with: the left half of the hash of the token's ASCII, with the hash of the
// signing algorithm (SHA-256 for ES256/RS256; SHA-512 for EdDSA with Ed25519, as OpenID's errata
// and node-oidc-provider do).

import { createHash } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { KeyStore } from '../keys/keystore.js';
import { ACCESS_TOKEN_ALGS, signJwt } from './access-token.js';

export interface IdTokenInput {
  issuer: string;
  subject: string;
  clientId: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
  authTime: Date;
  jti: string;
  accessToken: string;
  nonce?: string | null;
  sessionId?: string | null;
  /** Extra claims (a `findAccount` may ask for some in the id token itself). */
  claims?: Record<string, unknown>;
}

/** The claims a caller may never override: the ones that say who, for whom and when. */
const PROTECTED = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'azp', 'sid', 'jti', 'nbf']);

export function tokenHash(token: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(token, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export async function signIdToken(keys: KeyStore, input: IdTokenInput): Promise<string> {
  const key = await keys.active();
  const extra = Object.fromEntries(Object.entries(input.claims ?? {}).filter(([name]) => !PROTECTED.has(name)));
  return signJwt(
    keys,
    {
      ...extra,
      iss: input.issuer,
      sub: input.subject,
      // One audience, the client: azp is then not needed (OIDC Core §2).
      aud: input.clientId,
      exp: input.exp,
      iat: input.iat,
      auth_time: Math.floor(input.authTime.getTime() / 1000),
      ...(input.nonce ? { nonce: input.nonce } : {}),
      at_hash: tokenHash(input.accessToken, key.alg),
      ...(input.sessionId ? { sid: input.sessionId } : {}),
      jti: input.jti,
    },
    'JWT',
    key,
  );
}

export interface IdTokenHint {
  sub: string;
  clientId: string;
  sid: string | undefined;
}

/**
 * RP-initiated logout's `id_token_hint` (RP-Initiated Logout 1.0 §2): an id token this server
 * issued, possibly expired (signature, iss and typ still checked). Undefined when it is not one.
 */
export async function readIdTokenHint(keys: KeyStore, token: string, issuer: string): Promise<IdTokenHint | undefined> {
  if (token.length > 8192) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (header.typ !== undefined && header.typ !== 'JWT') return undefined;
    const key = (await keys.verificationKeys()).find((k) => k.kid === header.kid);
    if (!key || header.alg !== key.alg) return undefined;
    // An expired hint still names who signed in: logout must work after the id token's hour.
    const { payload } = await jwtVerify(token, key.publicKey, { algorithms: [...ACCESS_TOKEN_ALGS], issuer, clockTolerance: Number.MAX_SAFE_INTEGER });
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    if (typeof payload.sub !== 'string' || typeof aud !== 'string' || payload['at_hash'] === undefined) return undefined;
    return { sub: payload.sub, clientId: aud, sid: typeof payload['sid'] === 'string' ? payload['sid'] : undefined };
  } catch (error) {
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
