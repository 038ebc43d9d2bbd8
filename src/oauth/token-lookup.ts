// Finding a presented token, of either kind, for revocation and introspection: an access token
// by its JWT's jti, a refresh token by its keyed hash — each one indexed lookup.
//
// An access token's row records the keyed hash of the whole JWT as it was issued (TokenIssued,
// TokenRefreshed). A presented token whose hash matches is byte for byte one this server signed,
// so its signature needs no second check: an HMAC (microseconds) stands in for an ECDSA or RSA
// verification. Only tokens whose events predate the hash (accessTokenHash null) are verified
// with jose as before. Either way the signing key must still be one the server publishes, so
// retiring a key still ends its tokens.

import { AccessTokenError, looksLikeJwt, verifyAccessToken, type AccessTokenClaims } from './access-token.js';
import type { TokenRow } from '../readmodels/tokens.js';
import type { WarrantContext } from './context.js';
import { boundKey } from './dpop.js';

export interface TokenLookup extends Pick<TokenRow, 'familyId' | 'clientId' | 'subject' | 'scopes' | 'audience' | 'issuedAt' | 'expiresAt'> {
  type: 'access_token' | 'refresh_token';
  jti?: string;
  /** RFC 9449: the key an access token is bound to (its `cnf.jkt`). */
  jkt?: string;
  active: boolean;
}

/** The JWT's kid and payload, unverified; undefined unless both parts are JSON objects with a string kid and jti. */
function decodeUnverified(token: string): { kid: string; jti: string; payload: AccessTokenClaims } | undefined {
  const [header, payload] = token.split('.');
  try {
    const h: unknown = JSON.parse(Buffer.from(header!, 'base64url').toString('utf8'));
    const p: unknown = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    const kid = (h as { kid?: unknown } | null)?.kid;
    const jti = (p as { jti?: unknown } | null)?.jti;
    return typeof kid === 'string' && typeof jti === 'string' ? { kid, jti, payload: p as AccessTokenClaims } : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies the JWT with jose: for tokens whose row has no hash (issued before the hash was recorded). */
async function verified(ctx: WarrantContext, token: string): Promise<AccessTokenClaims | undefined> {
  try {
    return await verifyAccessToken(ctx.keys, token, { issuer: ctx.config.issuer, clockToleranceSeconds: 0 });
  } catch (error) {
    if (error instanceof AccessTokenError) return undefined;
    throw error;
  }
}

async function accessToken(ctx: WarrantContext, token: string): Promise<TokenLookup | undefined> {
  const unverified = decodeUnverified(token);
  if (!unverified) return undefined;
  const row = await ctx.read.tokens.accessToken(unverified.jti);
  if (!row) return undefined;
  let claims: AccessTokenClaims | undefined;
  if (row.tokenHash !== null) {
    if (!ctx.hasher.matches(token, row.tokenHash)) return undefined;
    if (!(await ctx.keys.verificationKeys()).some((key) => key.kid === unverified.kid)) return undefined;
    claims = unverified.payload; // byte for byte the token this server signed
  } else {
    claims = await verified(ctx, token);
    if (claims?.jti !== unverified.jti) return undefined;
  }
  return {
    type: 'access_token', familyId: row.familyId, clientId: row.clientId, subject: row.subject, scopes: row.scopes, audience: row.audience,
    issuedAt: new Date(claims.iat * 1000), expiresAt: new Date(claims.exp * 1000), jti: claims.jti,
    jkt: boundKey(claims),
    active: !row.familyRevoked && !row.clientRevoked && claims.exp * 1000 > ctx.clock().getTime(),
  };
}

async function refreshToken(ctx: WarrantContext, token: string): Promise<TokenLookup | undefined> {
  if (token.length > 512) return undefined;
  const row = await ctx.read.tokens.refreshToken(ctx.hasher.hash(token));
  if (!row) return undefined;
  return {
    type: 'refresh_token', familyId: row.familyId, clientId: row.clientId, subject: row.subject, scopes: row.scopes, audience: row.audience,
    issuedAt: row.issuedAt, expiresAt: row.expiresAt,
    active: row.current && !row.familyRevoked && !row.clientRevoked && row.expiresAt.getTime() > ctx.clock().getTime(),
  };
}

/** Finds a token of either kind; the hint only decides which lookup goes first (RFC 7009 §2.1). */
export async function lookupToken(ctx: WarrantContext, token: string, hint: string | undefined): Promise<TokenLookup | undefined> {
  const jwt = looksLikeJwt(token);
  const order = hint === 'refresh_token' || (!jwt && hint !== 'access_token') ? [refreshToken, accessToken] : [accessToken, refreshToken];
  for (const lookup of order) {
    if (lookup === accessToken && !jwt) continue;
    const found = await lookup(ctx, token);
    if (found) return found;
  }
  return undefined;
}
