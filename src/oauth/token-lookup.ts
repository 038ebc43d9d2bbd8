// Finding a presented token, of either kind, for revocation and introspection: an access token
// by its verified JWT's jti, a refresh token by its keyed hash — each one indexed lookup.

import { AccessTokenError, looksLikeJwt, verifyAccessToken } from './access-token.js';
import type { TokenRow } from '../readmodels/tokens.js';
import type { WarrantContext } from './context.js';

export interface TokenLookup extends Pick<TokenRow, 'familyId' | 'clientId' | 'subject' | 'scopes' | 'audience' | 'issuedAt' | 'expiresAt'> {
  type: 'access_token' | 'refresh_token';
  jti?: string;
  active: boolean;
}

async function accessToken(ctx: WarrantContext, token: string): Promise<TokenLookup | undefined> {
  let claims;
  try {
    claims = await verifyAccessToken(ctx.keys, token, { issuer: ctx.config.issuer, clockToleranceSeconds: 0 });
  } catch (error) {
    if (error instanceof AccessTokenError) return undefined;
    throw error;
  }
  const row = await ctx.read.tokens.accessToken(claims.jti);
  if (!row) return undefined;
  return {
    type: 'access_token', familyId: row.familyId, clientId: row.clientId, subject: row.subject, scopes: row.scopes, audience: row.audience,
    issuedAt: new Date(claims.iat * 1000), expiresAt: new Date(claims.exp * 1000), jti: claims.jti,
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
