// RFC 6749 §4.1.3 (+ RFC 7636 PKCE): the token request for an authorization code. A code is
// redeemed once (the redemption appends at the issue's revision); a code presented again
// revokes what it produced (RFC 6749 §4.1.2, RFC 9700 §4.2.4).

import { createHash, randomUUID } from 'node:crypto';
import { grantDecider } from '../../domain/grant.js';
import { isWrongExpectedRevision } from '../../eventstore/port.js';
import type { ClientRecord } from '../../readmodels/clients.js';
import { handle } from '../aggregate.js';
import type { Actor, WarrantContext } from '../context.js';
import { InvalidGrant, InvalidRequest } from '../errors.js';
import { issueTokens, type TokenResponse } from '../issue.js';
import { revokeFamily } from '../revocation.js';
import { requireGrant } from '../scopes.js';

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export async function redeemCode(
  ctx: WarrantContext,
  input: { client: ClientRecord; code: string; redirectUri: string | undefined; codeVerifier: string | undefined; actor: Actor; dpopJkt?: string | undefined },
): Promise<TokenResponse> {
  const { client } = input;
  requireGrant(client, 'authorization_code');
  if (input.codeVerifier !== undefined && !VERIFIER.test(input.codeVerifier)) throw new InvalidRequest('code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)');
  if (input.code.length > 512) throw new InvalidGrant();
  const grantId = await ctx.read.codes.grantOf(ctx.hasher.hash(input.code));
  if (!grantId) throw new InvalidGrant('the authorization code is invalid, expired or used', 'unknown code');
  const stream = `grant-${grantId}`;
  const familyId = randomUUID();
  let handled;
  try {
    handled = await handle(ctx, stream, grantDecider, {
      type: 'Redeem',
      clientId: client.clientId,
      // RFC 6749 §4.1.3 requires redirect_uri only if the authorization request had it; with a
      // single registered URI, omitting it at both steps means that URI.
      redirectUri: input.redirectUri ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined),
      verifier: input.codeVerifier,
      verifierChallenge: input.codeVerifier ? s256(input.codeVerifier) : undefined,
      familyId,
      now: ctx.clock(),
      // The tokens' family is the next write: nothing reads the codes read model in between.
    }, { actor: input.actor, wait: false });
  } catch (error) {
    // Another redemption of the same code won the race: this one is the replay.
    if (isWrongExpectedRevision(error)) throw new InvalidGrant('the authorization code is invalid, expired or used', 'concurrent redemption');
    throw error;
  }
  const { state, decision } = handled;
  if (decision.error) {
    if (decision.error.code === 'code_replayed' && state.redeemed && state.redeemed.clientId === client.clientId) {
      await revokeFamily(ctx, state.redeemed.familyId, 'code_replay', input.actor).catch(() => undefined);
    }
    throw new InvalidGrant('the authorization code is invalid, expired or used', decision.error.code);
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
    dpopJkt: input.dpopJkt,
    // OpenID Connect: the sign-in the code was issued in (a code from before OIDC has none: now stands in).
    signIn: { authTime: issued.authTime ? new Date(issued.authTime) : ctx.clock(), sessionId: issued.sessionId, nonce: issued.nonce },
  });
  return response;
}
