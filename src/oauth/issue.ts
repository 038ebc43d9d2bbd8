// Issuing tokens: every grant ends here. A token family (one grant and its refresh chain) starts
// with TokenIssued; its access token is an RFC 9068 JWT signed before the event is appended (the
// event records its keyed hash) and handed out only once the read models know it, so introspection
// and policies accept it at once.

import { randomUUID } from 'node:crypto';
import { familyDecider } from '../domain/token-family.js';
import type { GrantType } from '../events/types.js';
import type { ClientRecord } from '../readmodels/clients.js';
import { signAccessToken } from './access-token.js';
import { handle } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { refusePrivileged } from './scopes.js';
import { randomId, randomSecret } from './secrets.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export function familyStream(familyId: string): string {
  return `token-${familyId}`;
}

/** Lifetimes in seconds: the client's own, or the server's. */
export function lifetimes(ctx: WarrantContext, client: ClientRecord): { access: number; refresh: number } {
  return { access: client.accessTokenTtl ?? ctx.config.accessTokenTtl, refresh: client.refreshTokenTtl ?? ctx.config.refreshTokenTtl };
}

export async function mint(ctx: WarrantContext, claims: { sub: string; aud: string[]; jti: string; clientId: string; scopes: string[]; iat: number; exp: number }): Promise<string> {
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

/** Starts a token family (a grant) and answers with its first tokens. */
export async function issueTokens(
  ctx: WarrantContext,
  input: {
    client: ClientRecord; subject: string; grantType: GrantType; scopes: string[]; audience: string[]; withRefresh: boolean;
    grantId?: string | null; name?: string | null; familyId?: string; accessTokenTtl?: number; actor: Actor;
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
  const accessToken = await mint(ctx, { sub: input.subject, aud: input.audience, jti, clientId: input.client.clientId, scopes: input.scopes, iat, exp: iat + ttl.access });
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
    },
  }, { actor: input.actor, fresh: true });
  // A fresh family id cannot exist; if it did, nothing was appended and no token goes out.
  if (handled.decision.error) throw handled.decision.error;
  ctx.metrics.tokensIssued.inc({ grant_type: input.grantType });
  return {
    familyId,
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: ttl.access,
    scope: input.scopes.join(' '),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  };
}
