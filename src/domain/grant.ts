// The authorization-code grant aggregate (stream `grant-<grantId>`): a code is issued once and
// redeemed at most once — redeeming appends at the revision, so of two concurrent
// redemptions exactly one succeeds (DESIGN §5).

import type { AuthorizationCodeIssued, AuthorizationCodeRedeemed, DomainEvent } from '../events/types.js';

export interface GrantState {
  revision: number;
  issued: AuthorizationCodeIssued | null;
  redeemed: AuthorizationCodeRedeemed | null;
}

export const initialGrantState: GrantState = { revision: -1, issued: null, redeemed: null };

export function evolveGrant(state: GrantState, event: { type: string; data: unknown }): GrantState {
  const revision = state.revision + 1;
  if (event.type === 'AuthorizationCodeIssued') return { ...state, revision, issued: event.data as AuthorizationCodeIssued };
  if (event.type === 'AuthorizationCodeRedeemed') return { ...state, revision, redeemed: event.data as AuthorizationCodeRedeemed };
  return { ...state, revision };
}

export type RedeemOutcome =
  | { ok: true; events: DomainEvent[] }
  | { ok: false; reason: 'unknown' | 'replayed' | 'expired' | 'wrong_client' | 'wrong_redirect_uri' | 'pkce_missing' | 'pkce_mismatch' | 'pkce_unexpected' };

/** RFC 6749 §4.1.3 and RFC 7636 §4.6, in order. `verifierChallenge` is S256(code_verifier), computed by the caller. */
export function decideRedeem(
  state: GrantState,
  input: { clientId: string; redirectUri: string | undefined; verifier: string | undefined; verifierChallenge: string | undefined; familyId: string; now: Date },
): RedeemOutcome {
  const issued = state.issued;
  if (!issued) return { ok: false, reason: 'unknown' };
  if (state.redeemed) return { ok: false, reason: 'replayed' };
  if (issued.clientId !== input.clientId) return { ok: false, reason: 'wrong_client' };
  if (new Date(issued.expiresAt) <= input.now) return { ok: false, reason: 'expired' };
  if (input.redirectUri !== issued.redirectUri) return { ok: false, reason: 'wrong_redirect_uri' };
  if (issued.codeChallenge) {
    if (!input.verifier) return { ok: false, reason: 'pkce_missing' };
    const presented = issued.codeChallengeMethod === 'plain' ? input.verifier : input.verifierChallenge;
    if (presented !== issued.codeChallenge) return { ok: false, reason: 'pkce_mismatch' };
  } else if (input.verifier) {
    return { ok: false, reason: 'pkce_unexpected' };
  }
  return { ok: true, events: [{ type: 'AuthorizationCodeRedeemed', data: { grantId: issued.grantId, clientId: issued.clientId, familyId: input.familyId } }] };
}
