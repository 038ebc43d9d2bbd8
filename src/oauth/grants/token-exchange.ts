// RFC 8693 token exchange: a service trades the access token it was called with (the subject
// token) for one scoped to the next API it calls, for the same person. The new token starts a
// family that records its parent (TokenIssued.parentFamilyId) and dies with it: revoking the
// parent's family marks every family exchanged from it revoked in the same transaction
// (projections/tokens.ts). With an actor token, the new token says who acts: `act: { sub }`,
// nested when the subject token was itself exchanged with an actor (§4.1).

import { decodeJwt } from 'jose';
import type { ActClaim } from '../../events/types.js';
import type { ClientRecord } from '../../readmodels/clients.js';
import type { Actor, WarrantContext } from '../context.js';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js';
import { issueTokens, lifetimes, type TokenResponse } from '../issue.js';
import { audienceFor, parseScope, requireGrant } from '../scopes.js';
import { lookupToken, type TokenLookup } from '../token-lookup.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface TokenExchangeRequest {
  client: ClientRecord;
  subjectToken: string | undefined;
  subjectTokenType: string | undefined;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
  scope: string | undefined;
  /** RFC 8693 §2.1 `resource` and `audience`: both name the API the new token is for. */
  resource: string | undefined;
  audience: string | undefined;
  requestedTokenType: string | undefined;
  actor: Actor;
  dpopJkt?: string | undefined;
}

/** A live Warrant access token, or invalid_grant (§2.2.2): revoked, expired, foreign or not a token. */
async function liveAccessToken(ctx: WarrantContext, token: string, what: string): Promise<TokenLookup & { act: ActClaim | undefined }> {
  const found = token.length <= 8192 ? await lookupToken(ctx, token, 'access_token') : undefined;
  if (!found || found.type !== 'access_token' || !found.active) throw new InvalidGrant(`the ${what} is not an active access token issued here`);
  const act = decodeJwt(token)['act'] as ActClaim | undefined;
  return { ...found, act: act && typeof act.sub === 'string' ? act : undefined };
}

export async function exchangeToken(ctx: WarrantContext, input: TokenExchangeRequest): Promise<TokenResponse & { issued_token_type: string }> {
  const { client } = input;
  requireGrant(client, TOKEN_EXCHANGE_GRANT);
  if (!input.subjectToken) throw new InvalidRequest('subject_token is required');
  if (input.subjectTokenType !== ACCESS_TOKEN_TYPE) throw new InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE} (Warrant exchanges its own access tokens)`);
  if (input.actorToken !== undefined && input.actorTokenType !== ACCESS_TOKEN_TYPE) throw new InvalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE} when actor_token is given`);
  if (input.actorToken === undefined && input.actorTokenType !== undefined) throw new InvalidRequest('actor_token_type without actor_token');
  if (input.requestedTokenType !== undefined && input.requestedTokenType !== ACCESS_TOKEN_TYPE) throw new InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
  if (input.resource !== undefined && input.audience !== undefined && input.resource !== input.audience) throw new InvalidRequest('resource and audience name different APIs; give one');

  const subject = await liveAccessToken(ctx, input.subjectToken, 'subject_token');
  const actorToken = input.actorToken === undefined ? undefined : await liveAccessToken(ctx, input.actorToken, 'actor_token');

  // The API the new token is for: one of the exchanging client's registered resources (or the
  // default audience), else invalid_target.
  const audience = audienceFor(ctx.config, client, input.resource ?? input.audience);
  // The scopes: what is asked for, never more than the subject token carries (nor than the
  // exchanging client may receive); by default, what the two have in common.
  const requested = parseScope(input.scope);
  const scopes = requested ?? subject.scopes.filter((scope) => client.scopes.includes(scope));
  const beyond = scopes.filter((scope) => !subject.scopes.includes(scope) || !client.scopes.includes(scope));
  if (beyond.length > 0) throw new InvalidScope('the requested scope exceeds the subject token\'s (or what this client may receive)', `beyond: ${beyond.join(' ')}`);

  // Never outlives the subject token.
  const remaining = Math.floor((subject.expiresAt.getTime() - ctx.clock().getTime()) / 1000);
  if (remaining < 1) throw new InvalidGrant('the subject_token is about to expire');
  const ttl = Math.min(lifetimes(ctx, client).access, remaining);
  // §4.1: the actor, on top of whoever already acted in the subject token.
  const act: ActClaim | undefined = actorToken ? { sub: actorToken.subject, ...(subject.act ? { act: subject.act } : {}) } : subject.act;

  const { familyId: _family, ...response } = await issueTokens(ctx, {
    client,
    subject: subject.subject,
    grantType: TOKEN_EXCHANGE_GRANT,
    scopes,
    audience,
    withRefresh: false,
    accessTokenTtl: ttl,
    parentFamilyId: subject.familyId,
    act: act ?? null,
    actor: input.actor,
    ...(input.dpopJkt ? { dpopJkt: input.dpopJkt } : {}),
  });
  return { ...response, issued_token_type: ACCESS_TOKEN_TYPE };
}
