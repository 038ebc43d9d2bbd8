// Authorization codes (RFC 6749 §4.1, RFC 7636): issued after consent, bound to client, redirect
// URI and PKCE challenge, short-lived, single-use. A replayed code revokes what it produced.

import { createHash, randomUUID } from 'node:crypto';
import { projectionsFor } from '../../projections/index.js';
import { decideRedeem, evolveGrant, initialGrantState, type GrantState } from '../domain/grant.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { appendAndWait, load } from './aggregate.js';
import type { ClientRecord } from './clients-read.js';
import type { Actor, WarrantContext } from './context.js';
import { InvalidGrant, InvalidRequest, UnauthorizedClient } from './errors.js';
import { randomSecret } from './secrets.js';
import { issueTokens, revokeFamily, type TokenResponse } from './tokens.js';

const CODES = projectionsFor(['AuthorizationCodeIssued']);
export const CODE_TTL_SECONDS = 60;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export async function issueCode(
  ctx: WarrantContext,
  input: { client: ClientRecord; subject: string; redirectUri: string; scopes: string[]; codeChallenge: string | null; codeChallengeMethod: 'S256' | null; resource: string | null; sessionId: string | null; actor: Actor },
): Promise<string> {
  const code = randomSecret();
  const grantId = randomUUID();
  await appendAndWait(
    ctx,
    `grant-${grantId}`,
    -1,
    [
      {
        type: 'AuthorizationCodeIssued',
        data: {
          grantId,
          clientId: input.client.clientId,
          subject: input.subject,
          codeHash: ctx.hasher.hash(code),
          redirectUri: input.redirectUri,
          scopes: input.scopes,
          codeChallenge: input.codeChallenge,
          codeChallengeMethod: input.codeChallengeMethod,
          resource: input.resource,
          expiresAt: new Date(ctx.clock().getTime() + (ctx.config.authorizationCodeTtl ?? CODE_TTL_SECONDS) * 1000).toISOString(),
          sessionId: input.sessionId,
        },
      },
    ],
    input.actor,
    CODES,
  );
  return code;
}

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** RFC 6749 §4.1.3: the token request for a code. */
export async function redeemCode(
  ctx: WarrantContext,
  input: { client: ClientRecord; code: string; redirectUri: string | undefined; codeVerifier: string | undefined; actor: Actor },
): Promise<TokenResponse> {
  const { client } = input;
  if (!client.grantTypes.includes('authorization_code')) throw new UnauthorizedClient('the client is not allowed the authorization_code grant');
  if (input.codeVerifier !== undefined && !VERIFIER.test(input.codeVerifier)) throw new InvalidRequest('code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)');
  if (input.code.length > 512) throw new InvalidGrant();
  const { rows } = await ctx.pool.query<{ grant_id: string }>('SELECT grant_id FROM authorization_codes WHERE code_hash = $1', [ctx.hasher.hash(input.code)]);
  const grantId = rows[0]?.grant_id;
  if (!grantId) throw new InvalidGrant('the authorization code is invalid, expired or used', 'unknown code');
  const stream = `grant-${grantId}`;
  const { state } = await load<GrantState>(ctx, stream, initialGrantState, evolveGrant);
  const familyId = randomUUID();
  const outcome = decideRedeem(state, {
    clientId: client.clientId,
    // RFC 6749 §4.1.3 requires redirect_uri only if the authorization request had it; with a
    // single registered URI, omitting it at both steps means that URI.
    redirectUri: input.redirectUri ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined),
    verifier: input.codeVerifier,
    verifierChallenge: input.codeVerifier ? s256(input.codeVerifier) : undefined,
    familyId,
    now: ctx.clock(),
  });
  if (!outcome.ok) {
    // RFC 6749 §4.1.2 / RFC 9700 §4.2.4: a code used twice revokes the tokens issued from it.
    if (outcome.reason === 'replayed' && state.redeemed && state.redeemed.clientId === client.clientId) {
      await revokeFamily(ctx, state.redeemed.familyId, 'code_replay', input.actor).catch(() => undefined);
    }
    throw new InvalidGrant('the authorization code is invalid, expired or used', outcome.reason);
  }
  try {
    await ctx.store.append(stream, outcome.events, { expectedRevision: state.revision, metadata: input.actor });
  } catch (error) {
    // Another redemption of the same code won the race: this one is the replay.
    if (isWrongExpectedRevision(error)) throw new InvalidGrant('the authorization code is invalid, expired or used', 'concurrent redemption');
    throw error;
  }
  const issued = state.issued!;
  const { familyId: _f, ...response } = await issueTokens(ctx, {
    client,
    subject: issued.subject,
    grantType: 'authorization_code',
    scopes: issued.scopes,
    audience: [issued.resource ?? ctx.config.audience],
    withRefresh: client.grantTypes.includes('refresh_token'),
    grantId,
    familyId,
    actor: input.actor,
  });
  return response;
}
