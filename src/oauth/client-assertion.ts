// private_key_jwt (RFC 7523 §2.2 and §3, OIDC Core §9): the client proves who it is with a JWT
// signed by a key it registered (`jwks`) or publishes (`jwks_uri`). Rules, in RFC 7523 §3 order:
//   - iss = sub = client_id (items 1, 2);
//   - aud names this server: its issuer, its token endpoint, or the endpoint called (item 3);
//   - exp present, not passed, at most 10 minutes ahead (item 4; the bound also caps how long
//     the jti must be remembered); nbf honoured; 5 s of clock skew tolerated;
//   - signed with an asymmetric algorithm by one of the client's keys (item 5; HMAC and none
//     are refused: private_key_jwt has no shared secret);
//   - jti present and used once per client, across every process (item 7, ./used-jtis.ts).
// Every failure is one invalid_client (RFC 7521 §4.2.1); the reason goes to the log only.

import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { ClientRecord } from '../readmodels/clients.js';
import type { WarrantContext } from './context.js';
import { InvalidClient } from './errors.js';
import { usedJtis } from './used-jtis.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The signing algorithms accepted in client assertions (token_endpoint_auth_signing_alg_values_supported). */
export const CLIENT_ASSERTION_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'] as const;

const MAX_LIFETIME_S = 600;
const SKEW_S = 5;
/** Long enough for any signed JWT (an RS4096 signature is 683 characters). */
const MAX_ASSERTION_LENGTH = 8192;

const refused = (detail: string) => new InvalidClient('client authentication failed', { detail: `client assertion: ${detail}` });

/**
 * The client an assertion claims to come from (its `sub`), read before the signature is checked
 * only to know whose keys to check it with; everything is verified again by verifyClientAssertion.
 */
export function assertedClientId(assertion: string): string {
  if (assertion.length > MAX_ASSERTION_LENGTH) throw refused(`longer than ${MAX_ASSERTION_LENGTH} characters`);
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch (error) {
    throw refused(`not a JWT (${(error as Error).message})`);
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw refused('no sub claim');
  if (claims.iss !== claims.sub) throw refused('iss differs from sub (both must be the client_id)');
  return claims.sub;
}

// Keys fetched from a client's jwks_uri, per client and URI (a new URI starts afresh). jose
// caches a fetched set for 10 minutes and refetches at most every 30 s for an unknown kid, so a
// stream of assertions with made-up kids cannot turn into a stream of fetches.
const MAX_REMOTE_SETS = 1000;
const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function remoteSet(clientId: string, uri: string): ReturnType<typeof createRemoteJWKSet> {
  const key = `${clientId} ${uri}`;
  let set = remoteSets.get(key);
  if (set) {
    // Most recently used last, so the oldest is the one evicted.
    remoteSets.delete(key);
  } else {
    set = createRemoteJWKSet(new URL(uri), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    if (remoteSets.size >= MAX_REMOTE_SETS) remoteSets.delete(remoteSets.keys().next().value!);
  }
  remoteSets.set(key, set);
  return set;
}

/** A jwks_uri that cannot be fetched, times out or does not hold a JWK Set. */
class KeySourceError extends Error {}

function keysOf(client: ClientRecord): JWTVerifyGetKey {
  if (client.jwks) return createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0]);
  const uri = client.jwksUri;
  if (!uri) throw refused('the client has no registered keys');
  const set = remoteSet(client.clientId, uri);
  return async (header, token) => {
    try {
      return await set(header, token);
    } catch (error) {
      // No key for this kid/alg is the assertion's fault; anything else is the key source's.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      const why = error instanceof errors.JWKSTimeout ? 'did not answer within 5 s' : `could not be used (${(error as Error).message})`;
      throw new KeySourceError(`jwks_uri ${uri} ${why}`);
    }
  };
}

function reason(error: unknown): string {
  if (error instanceof KeySourceError) return error.message;
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim}: ${error.message}`;
  if (error instanceof errors.JWTExpired) return `expired (${error.message})`;
  if (error instanceof errors.JWKSNoMatchingKey) return 'no registered key matches its kid and alg';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify with the registered key';
  if (error instanceof errors.JOSEAlgNotAllowed) return `alg not allowed (only ${CLIENT_ASSERTION_ALGS.join(', ')})`;
  return (error as Error).message;
}

/**
 * Checks `assertion` for `client` (registered with private_key_jwt) and records its jti.
 * `endpoint`: the absolute URL of the endpoint called, also accepted as `aud`.
 */
export async function verifyClientAssertion(ctx: WarrantContext, client: ClientRecord, assertion: string, endpoint?: string): Promise<void> {
  const now = ctx.clock();
  const issuer = ctx.config.issuer;
  const audience = [...new Set([issuer, `${issuer}/oauth/token`, ...(endpoint ? [endpoint] : [])])];
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(assertion, keysOf(client), {
      algorithms: [...CLIENT_ASSERTION_ALGS],
      issuer: client.clientId,
      subject: client.clientId,
      audience,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: SKEW_S,
      currentDate: now,
    }));
  } catch (error) {
    if (error instanceof InvalidClient) throw error;
    throw refused(reason(error));
  }
  const exp = claims.exp!;
  if (exp > now.getTime() / 1000 + MAX_LIFETIME_S + SKEW_S) throw refused(`exp is more than ${MAX_LIFETIME_S} s ahead`);
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti === '' || jti.length > 256) throw refused('jti must be a string of 1 to 256 characters');
  // Remembered as long as the assertion could be accepted: until exp, plus the skew allowed.
  const first = await usedJtis(ctx).use(`client_assertion:${client.clientId}`, jti, new Date((exp + SKEW_S) * 1000));
  if (!first) throw refused('jti already used (a replayed assertion)');
}
