// Issuing, refreshing, revoking and describing tokens, on top of the token-family aggregate.
// HTTP handlers (src/http/token.ts, revoke.ts, introspect.ts) parse and authenticate, then call these.

import { randomUUID } from 'node:crypto';
import { projectionsFor } from '../../projections/index.js';
import { decideFamily, evolveFamily, initialFamilyState, type FamilyCommand, type FamilyState } from '../domain/token-family.js';
import type { DomainError } from '../domain/errors.js';
import type { GrantType } from '../events/types.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { AccessTokenError, looksLikeJwt, signAccessToken, verifyAccessToken } from './access-token.js';
import { appendAndWait, load } from './aggregate.js';
import type { ClientRecord } from './clients-read.js';
import type { Actor, WarrantContext } from './context.js';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, OAuthError, UnauthorizedClient } from './errors.js';
import { randomId, randomSecret } from './secrets.js';
import { privilegedScopes, refusePrivileged } from './scopes.js';
import { hasControlCharacters } from './text.js';

const TOKENS = projectionsFor(['TokenIssued', 'TokenRefreshed', 'TokenRevoked']);
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

/** RFC 6749 §3.3: space-delimited, case-sensitive scope tokens; undefined when absent. */
export function parseScope(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const scopes = raw.split(' ').filter((s) => s !== '');
  if (scopes.some((s) => !SCOPE_TOKEN.test(s) || s.length > 128)) throw new InvalidScope('the scope parameter is malformed');
  return [...new Set(scopes)];
}

/** RFC 8707 §2: an absolute URI without a fragment; the token's audience. */
export function parseResource(raw: string | undefined, fallback: string): string[] {
  if (raw === undefined) return [fallback];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidTarget('resource must be an absolute URI');
  }
  if (url.hash || raw.includes('#') || raw.length > 2000) throw new InvalidTarget('resource must not have a fragment');
  if (hasControlCharacters(raw)) throw new InvalidTarget('resource must not contain control characters');
  return [raw];
}

/**
 * The audience of a new grant: the server's default audience, or a resource the client was
 * registered for (RFC 8707 §2: invalid_target otherwise) — a client cannot mint tokens for an API
 * it was not meant to reach.
 */
export function audienceFor(ctx: WarrantContext, client: ClientRecord, raw: string | undefined): string[] {
  const audience = parseResource(raw, ctx.config.audience);
  const [resource] = audience as [string];
  if (resource !== ctx.config.audience && !client.resources.includes(resource)) {
    throw new InvalidTarget('the client is not allowed tokens for this resource', `not in the client's resources: ${resource}`);
  }
  return audience;
}

function ttls(ctx: WarrantContext, client: ClientRecord): { access: number; refresh: number } {
  return { access: client.accessTokenTtl ?? ctx.config.accessTokenTtl, refresh: client.refreshTokenTtl ?? ctx.config.refreshTokenTtl };
}

async function mint(ctx: WarrantContext, claims: { sub: string; aud: string[]; jti: string; clientId: string; scopes: string[]; iat: number; exp: number }) {
  return signAccessToken(ctx.keys, {
    iss: ctx.config.issuer,
    sub: claims.sub,
    aud: claims.aud.length === 1 ? claims.aud[0]! : claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    client_id: claims.clientId,
    scope: claims.scopes.join(' '),
  });
}

function familyStream(familyId: string): string {
  return `token-${familyId}`;
}

/** Starts a token family (a grant) and answers with its first tokens. */
export async function issueTokens(
  ctx: WarrantContext,
  input: {
    client: ClientRecord; subject: string; grantType: GrantType; scopes: string[]; audience: string[]; withRefresh: boolean;
    grantId?: string | null; name?: string | null; familyId?: string; accessTokenTtl?: number; actor: Actor;
  },
): Promise<TokenResponse & { familyId: string }> {
  // Every grant ends here: the last word on who may hold warrant:* scopes (src/oauth/scopes.ts).
  refusePrivileged(ctx.config, input.scopes, input);
  const now = ctx.clock();
  const lifetimes = ttls(ctx, input.client);
  if (input.accessTokenTtl) lifetimes.access = input.accessTokenTtl;
  const familyId = input.familyId ?? randomUUID();
  const jti = randomId();
  const refreshToken = input.withRefresh ? randomSecret() : undefined;
  const accessExpires = new Date(now.getTime() + lifetimes.access * 1000);
  const command: FamilyCommand = {
    type: 'Issue',
    familyId,
    clientId: input.client.clientId,
    subject: input.subject,
    grantType: input.grantType,
    scopes: input.scopes,
    audience: input.audience,
    jti,
    accessTokenExpiresAt: accessExpires,
    refreshTokenHash: refreshToken ? ctx.hasher.hash(refreshToken) : null,
    refreshTokenExpiresAt: refreshToken ? new Date(now.getTime() + lifetimes.refresh * 1000) : null,
    grantId: input.grantId ?? null,
    name: input.name ?? null,
  };
  const decision = decideFamily(command, initialFamilyState);
  const iat = Math.floor(now.getTime() / 1000);
  // Sign while the event is appended; the token is handed out only if the append succeeded, and
  // only once the read models know it, so introspection and policies accept it at once.
  const [accessToken] = await Promise.all([
    mint(ctx, { sub: input.subject, aud: input.audience, jti, clientId: input.client.clientId, scopes: input.scopes, iat, exp: iat + lifetimes.access }),
    appendAndWait(ctx, familyStream(familyId), -1, decision.events, input.actor, TOKENS),
  ]);
  ctx.metrics.tokensIssued.inc({ grant_type: input.grantType });
  return {
    familyId,
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: lifetimes.access,
    scope: input.scopes.join(' '),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  };
}

/** RFC 6749 §4.4: the client acting on its own behalf; no refresh token (§4.4.3). */
export async function clientCredentials(
  ctx: WarrantContext,
  input: { client: ClientRecord; scope: string | undefined; resource: string | undefined; actor: Actor },
): Promise<TokenResponse> {
  const { client } = input;
  if (!client.confidential) throw new UnauthorizedClient('public clients cannot use client_credentials');
  if (!client.grantTypes.includes('client_credentials')) throw new UnauthorizedClient('the client is not allowed the client_credentials grant');
  const requested = parseScope(input.scope);
  // Omitted scope: everything the client is registered with (RFC 6749 §3.3 lets the server choose).
  const scopes = requested ?? client.scopes;
  const refused = scopes.filter((scope) => !client.scopes.includes(scope));
  if (refused.length > 0) throw new InvalidScope('the client is not allowed the requested scope', `refused: ${refused.join(' ')}`);
  const audience = audienceFor(ctx, client, input.resource);
  const { familyId: _familyId, ...response } = await issueTokens(ctx, {
    client, subject: client.clientId, grantType: 'client_credentials', scopes, audience, withRefresh: false, actor: input.actor,
  });
  return response;
}

/** RFC 6749 §4.3 (legacy; off unless WARRANT_PASSWORD_GRANT=true): the built-in user directory. */
export async function passwordGrant(
  ctx: WarrantContext,
  input: { client: ClientRecord; username: string | undefined; password: string | undefined; scope: string | undefined; actor: Actor; address: string },
): Promise<TokenResponse> {
  const { client } = input;
  if (!client.grantTypes.includes('password')) throw new UnauthorizedClient('the client is not allowed the password grant');
  // Omitted scope: the client's scopes a user may hold (never warrant:*; asking for one is refused).
  const scopes = parseScope(input.scope) ?? client.scopes.filter((scope) => privilegedScopes([scope]).length === 0);
  if (scopes.some((scope) => !client.scopes.includes(scope))) throw new InvalidScope('the client is not allowed the requested scope');
  refusePrivileged(ctx.config, scopes, { grantType: 'password', subject: '' });
  // Guessing passwords is limited as at the login form (src/oauth/rate-limit.ts).
  const failed = await ctx.limits.signInAttempt(input.username ?? '', input.address);
  const { checkLogin } = await import('../users/directory.js');
  const user = await checkLogin(ctx.pool, input.username ?? '', input.password ?? '');
  if (!user) {
    await failed();
    throw new InvalidGrant('wrong username or password');
  }
  const { familyId: _f, ...response } = await issueTokens(ctx, {
    client, subject: user.userId, grantType: 'password', scopes, audience: [ctx.config.audience],
    withRefresh: client.grantTypes.includes('refresh_token'), actor: { ...input.actor, actor: user.userId },
  });
  return response;
}

function refreshError(error: DomainError): OAuthError {
  switch (error.code) {
    case 'scope_widened':
      return new InvalidScope('the requested scope exceeds the original grant');
    default:
      return new InvalidGrant('the refresh token is invalid, expired or revoked', error.code);
  }
}

/** RFC 6749 §6 with rotation: a new refresh token each time; reuse of an old one revokes the family. */
export async function refreshTokens(
  ctx: WarrantContext,
  input: { client: ClientRecord; refreshToken: string; scope: string | undefined; resource: string | undefined; actor: Actor },
): Promise<TokenResponse> {
  const { client } = input;
  if (!client.grantTypes.includes('refresh_token')) throw new UnauthorizedClient('the client is not allowed the refresh_token grant');
  if (input.refreshToken.length > 512) throw new InvalidGrant();
  const presentedHash = ctx.hasher.hash(input.refreshToken);
  const { rows } = await ctx.pool.query<{ family_id: string }>('SELECT family_id FROM refresh_tokens WHERE token_hash = $1', [presentedHash]);
  const familyId = rows[0]?.family_id;
  if (!familyId) throw new InvalidGrant('the refresh token is invalid, expired or revoked', 'unknown refresh token');

  const { state } = await load<FamilyState>(ctx, familyStream(familyId), initialFamilyState, evolveFamily);
  const issued = state.issued;
  // A family from a user grant never refreshes into warrant:* scopes (nor keeps ones it got before this rule).
  if (issued) refusePrivileged(ctx.config, parseScope(input.scope) ?? state.scopes, issued);
  if (issued && input.resource !== undefined && !issued.audience.includes(input.resource)) {
    throw new InvalidTarget('resource must be one the grant was issued for');
  }
  const now = ctx.clock();
  const lifetimes = ttls(ctx, client);
  const jti = randomId();
  const refreshToken = randomSecret();
  const decision = decideFamily(
    {
      type: 'Refresh',
      familyId,
      clientId: client.clientId,
      presentedHash,
      scopes: parseScope(input.scope),
      clientScopes: client.scopes,
      jti,
      refreshTokenHash: ctx.hasher.hash(refreshToken),
      accessTokenExpiresAt: new Date(now.getTime() + lifetimes.access * 1000),
      refreshTokenExpiresAt: new Date(now.getTime() + lifetimes.refresh * 1000),
      graceSeconds: ctx.config.refreshGraceSeconds,
      now,
    },
    state,
  );
  try {
    // Reuse detection revokes before failing: the revocation must be visible before we answer.
    await appendAndWait(ctx, familyStream(familyId), state.revision, decision.events, input.actor, TOKENS);
  } catch (error) {
    // Another refresh of this family won the race (expected revision): this one loses, cleanly.
    if (isWrongExpectedRevision(error)) throw new InvalidGrant('the refresh token is invalid, expired or revoked', 'lost a concurrent refresh');
    throw error;
  }
  if (decision.events[0]?.type === 'TokenRevoked') ctx.metrics.revocations.inc({ reason: 'refresh_token_reuse' });
  if (decision.error) throw refreshError(decision.error);
  ctx.metrics.refreshes.inc();
  const refreshed = decision.events[0]!.data as { scopes: string[] };
  const iat = Math.floor(now.getTime() / 1000);
  const accessToken = await mint(ctx, { sub: issued!.subject, aud: issued!.audience, jti, clientId: client.clientId, scopes: refreshed.scopes, iat, exp: iat + lifetimes.access });
  return { access_token: accessToken, token_type: 'Bearer', expires_in: lifetimes.access, scope: refreshed.scopes.join(' '), refresh_token: refreshToken };
}

// Looking tokens up -----------------------------------------------------------------------------

export interface TokenLookup {
  type: 'access_token' | 'refresh_token';
  familyId: string;
  clientId: string;
  subject: string;
  scopes: string[];
  audience: string[];
  issuedAt: Date;
  expiresAt: Date;
  jti?: string;
  active: boolean;
}

async function lookupAccessToken(ctx: WarrantContext, token: string): Promise<TokenLookup | undefined> {
  let claims;
  try {
    claims = await verifyAccessToken(ctx.keys, token, { issuer: ctx.config.issuer, clockToleranceSeconds: 0 });
  } catch (error) {
    if (error instanceof AccessTokenError) return undefined;
    throw error;
  }
  const { rows } = await ctx.pool.query<{
    family_id: string; client_id: string; subject: string; scopes: string[]; audience: string[]; issued_at: Date; expires_at: Date; family_revoked: boolean; client_revoked: boolean;
  }>(
    `SELECT a.family_id, a.client_id, a.subject, a.scopes, a.audience, a.issued_at, a.expires_at,
            f.revoked AS family_revoked, c.revoked AS client_revoked
       FROM access_tokens a
       JOIN token_families f ON f.family_id = a.family_id
       JOIN clients c ON c.client_id = a.client_id
      WHERE a.jti = $1`,
    [claims.jti],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    type: 'access_token', familyId: row.family_id, clientId: row.client_id, subject: row.subject, scopes: row.scopes, audience: row.audience,
    issuedAt: new Date(claims.iat * 1000), expiresAt: new Date(claims.exp * 1000), jti: claims.jti,
    active: !row.family_revoked && !row.client_revoked && claims.exp * 1000 > ctx.clock().getTime(),
  };
}

async function lookupRefreshToken(ctx: WarrantContext, token: string): Promise<TokenLookup | undefined> {
  if (token.length > 512) return undefined;
  const { rows } = await ctx.pool.query<{
    family_id: string; client_id: string; subject: string; scopes: string[]; audience: string[]; issued_at: Date; expires_at: Date; current: boolean; family_revoked: boolean; client_revoked: boolean;
  }>(
    `SELECT r.family_id, r.client_id, f.subject, f.scopes, f.audience, r.issued_at, r.expires_at, r.current,
            f.revoked AS family_revoked, c.revoked AS client_revoked
       FROM refresh_tokens r
       JOIN token_families f ON f.family_id = r.family_id
       JOIN clients c ON c.client_id = r.client_id
      WHERE r.token_hash = $1`,
    [ctx.hasher.hash(token)],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    type: 'refresh_token', familyId: row.family_id, clientId: row.client_id, subject: row.subject, scopes: row.scopes, audience: row.audience,
    issuedAt: row.issued_at, expiresAt: row.expires_at,
    active: row.current && !row.family_revoked && !row.client_revoked && row.expires_at.getTime() > ctx.clock().getTime(),
  };
}

/** Finds a token of either kind; the hint only decides which lookup goes first (RFC 7009 §2.1). */
export async function lookupToken(ctx: WarrantContext, token: string, hint: string | undefined): Promise<TokenLookup | undefined> {
  const jwt = looksLikeJwt(token);
  const order = hint === 'refresh_token' || (!jwt && hint !== 'access_token') ? [lookupRefreshToken, lookupAccessToken] : [lookupAccessToken, lookupRefreshToken];
  for (const lookup of order) {
    if (lookup === lookupAccessToken && !jwt) continue;
    const found = await lookup(ctx, token);
    if (found) return found;
  }
  return undefined;
}

/** Revokes a whole family, waiting until the tokens read model shows it (DESIGN §5). */
export async function revokeFamily(ctx: WarrantContext, familyId: string, reason: 'revoked_by_client' | 'client_revoked' | 'admin' | 'subject_revoked' | 'code_replay', actor: Actor): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const { state } = await load<FamilyState>(ctx, familyStream(familyId), initialFamilyState, evolveFamily);
    const decision = decideFamily({ type: 'Revoke', familyId, reason }, state);
    try {
      const appended = await appendAndWait(ctx, familyStream(familyId), state.revision, decision.events, actor, TOKENS);
      if (appended) ctx.metrics.revocations.inc({ reason });
      return;
    } catch (error) {
      // A concurrent refresh moved the family on: decide again on the new state. Every retry
      // follows another writer's success, so a burst ends; a revocation must not give up early.
      if (isWrongExpectedRevision(error) && attempt < 50) continue;
      throw error;
    }
  }
}

/** RFC 7009 §2.1: revoke a token the client holds. Unknown or invalid tokens are not an error. */
export async function revokeToken(ctx: WarrantContext, input: { client: ClientRecord; token: string; hint: string | undefined; actor: Actor }): Promise<void> {
  const found = await lookupToken(ctx, input.token, input.hint);
  if (!found) return;
  if (found.clientId !== input.client.clientId) throw new InvalidRequest('the token was not issued to this client');
  await revokeFamily(ctx, found.familyId, 'revoked_by_client', input.actor);
}

/**
 * RFC 7662 §2.2. Anything not active is only {"active": false}. A refresh token is described only
 * to the client it was issued to (§4: the server decides what a caller may learn): no resource
 * server needs it, and otherwise a thief could check a stolen one without rotating it.
 */
export async function introspect(ctx: WarrantContext, input: { token: string; hint: string | undefined; callerId: string }): Promise<Record<string, unknown>> {
  const found = await lookupToken(ctx, input.token, input.hint);
  if (!found || !found.active) return { active: false };
  if (found.type === 'refresh_token' && found.clientId !== input.callerId) return { active: false };
  const iat = Math.floor(found.issuedAt.getTime() / 1000);
  return {
    active: true,
    scope: found.scopes.join(' '),
    client_id: found.clientId,
    sub: found.subject,
    exp: Math.floor(found.expiresAt.getTime() / 1000),
    iat,
    nbf: iat,
    ...(found.jti ? { jti: found.jti } : {}),
    aud: found.audience.length === 1 ? found.audience[0] : found.audience,
    iss: ctx.config.issuer,
    token_type: found.type === 'access_token' ? 'Bearer' : 'refresh_token',
  };
}

