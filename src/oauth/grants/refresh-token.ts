// RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every refresh hands out a new refresh token; a
// rotated one used again revokes the whole family — of two concurrent refreshes exactly one wins,
// since each appends at the family's revision. DPoP (RFC 9449 §5): a public client's refresh
// token works only with the key its family was issued to; each new access token is bound to the
// key of the proof presented, if any.

import { familyDecider, type RefreshCommand } from '../../domain/token-family.js';
import type { DomainError } from '../../domain/errors.js';
import { isWrongExpectedRevision } from '../../eventstore/port.js';
import type { ClientRecord } from '../../readmodels/clients.js';
import { handle, load } from '../aggregate.js';
import type { Actor, WarrantContext } from '../context.js';
import { InvalidGrant, InvalidScope, InvalidTarget, type OAuthError } from '../errors.js';
import { OIDC_SCOPES } from '../accounts.js';
import { familyStream, idTokenFor, lifetimes, mint, type TokenResponse } from '../issue.js';
import { parseScope, refusePrivileged, requireGrant } from '../scopes.js';
import { randomId, randomSecret } from '../secrets.js';

function refreshError(error: DomainError): OAuthError {
  return error.code === 'scope_widened'
    ? new InvalidScope('the requested scope exceeds the original grant')
    : new InvalidGrant('the refresh token is invalid, expired or revoked', error.code);
}

export async function refreshTokens(
  ctx: WarrantContext,
  input: { client: ClientRecord; refreshToken: string; scope: string | undefined; resource: string | undefined; actor: Actor; dpopJkt?: string | undefined },
): Promise<TokenResponse> {
  const { client } = input;
  requireGrant(client, 'refresh_token');
  if (input.refreshToken.length > 512) throw new InvalidGrant();
  const presentedHash = ctx.hasher.hash(input.refreshToken);
  const familyId = await ctx.read.tokens.familyOfRefreshToken(presentedHash);
  if (!familyId) throw new InvalidGrant('the refresh token is invalid, expired or revoked', 'unknown refresh token');
  const stream = familyStream(familyId);
  const requested = parseScope(input.scope);

  // The checks that need the family before deciding: privileged scopes and the audience.
  const loaded = await load(ctx, stream, familyDecider);
  const { state } = loaded;
  const issued = state.issued;
  // A family from a user grant never refreshes into warrant:* scopes (nor keeps ones it got before this rule).
  if (issued) refusePrivileged(ctx.config, requested ?? state.scopes, issued);
  if (issued && input.resource !== undefined && !issued.audience.includes(input.resource)) {
    throw new InvalidTarget('resource must be one the grant was issued for');
  }

  const now = ctx.clock();
  const ttl = lifetimes(ctx, client);
  const iat = Math.floor(now.getTime() / 1000);
  const refreshToken = randomSecret();
  const command: RefreshCommand = {
    type: 'Refresh',
    familyId,
    clientId: client.clientId,
    presentedHash,
    scopes: requested,
    // OpenID Connect's scopes are open to every client (src/http/authorize.ts): a refresh keeps them.
    clientScopes: [...client.scopes, ...Object.keys(OIDC_SCOPES)],
    jti: randomId(),
    accessTokenHash: null,
    refreshTokenHash: ctx.hasher.hash(refreshToken),
    accessTokenExpiresAt: new Date(now.getTime() + ttl.access * 1000),
    refreshTokenExpiresAt: new Date(now.getTime() + ttl.refresh * 1000),
    graceSeconds: ctx.config.refreshGraceSeconds,
    now,
    dpopJkt: input.dpopJkt ?? null,
    confidential: client.confidential,
  };
  // The access token is signed before the append so that the event records its keyed hash; its
  // scopes are those the decision on the loaded state gives (handle decides again on that same
  // state, and appends only at its revision).
  const preview = familyDecider.decide(command, state).events[0];
  let accessToken: string | undefined;
  let identity: Awaited<ReturnType<typeof idTokenFor>>;
  if (preview?.type === 'TokenRefreshed' && state.issued) {
    accessToken = await mint(ctx, { sub: state.issued.subject, aud: state.issued.audience, jti: command.jti, clientId: client.clientId, scopes: preview.data.scopes, iat, exp: iat + ttl.access, jkt: input.dpopJkt });
    command.accessTokenHash = ctx.hasher.hash(accessToken);
    // OpenID Connect §12.2: a refresh that keeps openid gets a new id token about the same sign-in
    // (same sub and auth_time; no nonce).
    if (state.identity) {
      identity = await idTokenFor(ctx, {
        familyId,
        clientId: client.clientId,
        subject: state.issued.subject,
        scopes: preview.data.scopes,
        accessToken,
        signIn: { authTime: new Date(state.identity.authTime), sessionId: state.identity.sessionId, nonce: null },
        iat,
        grantType: 'refresh_token',
      });
      if (identity) command.idToken = identity.event;
    }
  }
  let handled;
  try {
    // Reuse detection revokes before failing: the revocation is appended (and visible) before we answer.
    handled = await handle(ctx, stream, familyDecider, command, { actor: input.actor, loaded });
  } catch (error) {
    // Another refresh of this family won the race (expected revision): this one loses, cleanly.
    if (isWrongExpectedRevision(error)) throw new InvalidGrant('the refresh token is invalid, expired or revoked', 'lost a concurrent refresh');
    throw error;
  }
  const { decision } = handled;
  if (decision.events[0]?.type === 'TokenRevoked') ctx.metrics.revocations.inc({ reason: 'refresh_token_reuse' });
  if (decision.error) throw refreshError(decision.error);
  const refreshed = decision.events[0];
  if (refreshed?.type !== 'TokenRefreshed' || !accessToken) throw new InvalidGrant();
  ctx.metrics.refreshes.inc();
  return {
    access_token: accessToken,
    token_type: input.dpopJkt ? 'DPoP' : 'Bearer',
    expires_in: ttl.access,
    scope: refreshed.data.scopes.join(' '),
    refresh_token: refreshToken,
    ...(identity ? { id_token: identity.idToken } : {}),
  };
}
