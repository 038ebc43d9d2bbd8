// Issuing tokens: every grant ends here. A token family (one grant and its refresh chain) starts
// with TokenIssued; its access token is an RFC 9068 JWT signed before the event is appended (the
// event records its keyed hash) and handed out only once the read models know it, so introspection
// and policies accept it at once.

import { randomUUID } from 'node:crypto';
import { familyDecider } from '../domain/token-family.js';
import type { ActClaim, GrantType, IdTokenIssued } from '../events/types.js';
import type { ClientRecord } from '../readmodels/clients.js';
import { signAccessToken } from './access-token.js';
import { handle } from './aggregate.js';
import { FAPI2_MAX_ACCESS_TOKEN_TTL } from './profiles.js';
import { signIdToken } from './id-token.js';
import type { Actor, WarrantContext } from './context.js';
import { refusePrivileged } from './scopes.js';
import { randomId, randomSecret } from './secrets.js';

export interface TokenResponse {
  access_token: string;
  /** DPoP when the access token is bound to the key of the request's DPoP proof (RFC 9449 §5). */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  /** OpenID Connect (scope openid, OIDC Core §3.1.3.3). */
  id_token?: string;
}

/** The sign-in an id token speaks of (OIDC Core §2): when, in which session, with which nonce. */
export interface SignIn {
  authTime: Date;
  sessionId: string | null;
  nonce: string | null;
}

/**
 * An id token for these tokens, and the IdTokenIssued event that records it (OIDC Core §3.1.3.3,
 * §12.2): only when the scope has `openid`.
 */
export async function idTokenFor(
  ctx: WarrantContext,
  input: { familyId: string; clientId: string; subject: string; scopes: readonly string[]; accessToken: string; signIn: SignIn; iat: number; grantType: IdTokenIssued['grantType'] },
): Promise<{ idToken: string; event: IdTokenIssued } | undefined> {
  if (!input.scopes.includes('openid')) return undefined;
  const jti = randomId();
  const exp = input.iat + ctx.config.idTokenTtl;
  const idToken = await signIdToken(ctx.keys, {
    issuer: ctx.config.issuer,
    subject: input.subject,
    clientId: input.clientId,
    iat: input.iat,
    exp,
    authTime: input.signIn.authTime,
    jti,
    accessToken: input.accessToken,
    nonce: input.signIn.nonce,
    sessionId: input.signIn.sessionId,
  });
  return {
    idToken,
    event: {
      familyId: input.familyId,
      clientId: input.clientId,
      subject: input.subject,
      jti,
      sessionId: input.signIn.sessionId,
      authTime: input.signIn.authTime.toISOString(),
      expiresAt: new Date(exp * 1000).toISOString(),
      grantType: input.grantType,
    },
  };
}

export function familyStream(familyId: string): string {
  return `token-${familyId}`;
}

/** Lifetimes in seconds: the client's own, or the server's; FAPI 2.0 clients' access tokens are short-lived. */
export function lifetimes(ctx: WarrantContext, client: ClientRecord): { access: number; refresh: number } {
  const access = client.accessTokenTtl ?? ctx.config.accessTokenTtl;
  return {
    access: client.profile === 'fapi2' ? Math.min(access, FAPI2_MAX_ACCESS_TOKEN_TTL) : access,
    refresh: client.refreshTokenTtl ?? ctx.config.refreshTokenTtl,
  };
}

/** An access token; with `jkt`, bound to that key (RFC 9449 §6.1: `cnf.jkt`). */
export async function mint(ctx: WarrantContext, claims: { sub: string; aud: string[]; jti: string; clientId: string; scopes: string[]; iat: number; exp: number; jkt?: string | undefined; act?: ActClaim | null | undefined }): Promise<string> {
  return signAccessToken(ctx.keys, {
    iss: ctx.config.issuer,
    sub: claims.sub,
    aud: claims.aud.length === 1 ? claims.aud[0]! : claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    client_id: claims.clientId,
    scope: claims.scopes.join(' '),
    ...(claims.jkt ? { cnf: { jkt: claims.jkt } } : {}),
    // RFC 8693 §4.1: who acts for the subject (token exchange with an actor token).
    ...(claims.act ? { act: claims.act } : {}),
  });
}

/** Starts a token family (a grant) and answers with its first tokens. */
export async function issueTokens(
  ctx: WarrantContext,
  input: {
    client: ClientRecord; subject: string; grantType: GrantType; scopes: string[]; audience: string[]; withRefresh: boolean;
    grantId?: string | null; name?: string | null; familyId?: string; accessTokenTtl?: number; actor: Actor;
    /** OpenID Connect: the sign-in behind an authorization code; with scope openid an id token goes out too. */
    signIn?: SignIn;
    /** RFC 9449: the thumbprint of the key the request's DPoP proof was signed with. */
    dpopJkt?: string | undefined;
    /** RFC 8693: the family this token was exchanged from, and who acts for the subject. */
    parentFamilyId?: string | null;
    act?: ActClaim | null;
  },
): Promise<TokenResponse & { familyId: string }> {
  // The last word on who may hold warrant:* scopes (src/oauth/scopes.ts), whatever the grant.
  refusePrivileged(ctx.config, input.scopes, input);
  const now = ctx.clock();
  const ttl = lifetimes(ctx, input.client);
  if (input.accessTokenTtl) ttl.access = input.accessTokenTtl;
  const familyId = input.familyId ?? randomUUID();
  const jti = randomId();
  const refreshToken = input.withRefresh ? randomSecret() : undefined;
  const iat = Math.floor(now.getTime() / 1000);
  // Signed first (tens of microseconds with node:crypto) so that its keyed hash goes into the event.
  const accessToken = await mint(ctx, { sub: input.subject, aud: input.audience, jti, clientId: input.client.clientId, scopes: input.scopes, iat, exp: iat + ttl.access, jkt: input.dpopJkt, act: input.act });
  const identity = input.signIn
    ? await idTokenFor(ctx, { familyId, clientId: input.client.clientId, subject: input.subject, scopes: input.scopes, accessToken, signIn: input.signIn, iat, grantType: 'authorization_code' })
    : undefined;
  const handled = await handle(ctx, familyStream(familyId), familyDecider, {
    type: 'Issue',
    token: {
      familyId,
      clientId: input.client.clientId,
      subject: input.subject,
      grantType: input.grantType,
      scopes: input.scopes,
      audience: input.audience,
      jti,
      accessTokenHash: ctx.hasher.hash(accessToken),
      accessTokenExpiresAt: new Date(now.getTime() + ttl.access * 1000).toISOString(),
      refreshTokenHash: refreshToken ? ctx.hasher.hash(refreshToken) : null,
      refreshTokenExpiresAt: refreshToken ? new Date(now.getTime() + ttl.refresh * 1000).toISOString() : null,
      grantId: input.grantId ?? null,
      name: input.name ?? null,
      ...(input.dpopJkt ? { dpopJkt: input.dpopJkt } : {}),
      ...(input.parentFamilyId ? { parentFamilyId: input.parentFamilyId, act: input.act ?? null } : {}),
    },
    ...(identity ? { idToken: identity.event } : {}),
  }, { actor: input.actor, fresh: true });
  // A fresh family id cannot exist; if it did, nothing was appended and no token goes out.
  if (handled.decision.error) throw handled.decision.error;
  ctx.metrics.tokensIssued.inc({ grant_type: input.grantType });
  return {
    familyId,
    access_token: accessToken,
    token_type: input.dpopJkt ? 'DPoP' : 'Bearer',
    expires_in: ttl.access,
    scope: input.scopes.join(' '),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(identity ? { id_token: identity.idToken } : {}),
  };
}
