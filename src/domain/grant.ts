// The authorization-code grant aggregate (stream `grant-<grantId>`): a code is issued once and
// redeemed at most once — redeeming appends at the revision, so of two concurrent
// redemptions exactly one succeeds (DESIGN §5). Decider shape (./decider.ts); no I/O.

import type { AuthorizationCodeIssued, AuthorizationCodeRedeemed } from '../events/types.js';
import { accept, refuse, type Decider, type Decision, type Happened } from './decider.js';
import { DomainError } from './errors.js';

export interface GrantState {
  issued: AuthorizationCodeIssued | null;
  redeemed: AuthorizationCodeRedeemed | null;
}

export type GrantCommand =
  | { type: 'IssueCode'; code: AuthorizationCodeIssued }
  | {
      type: 'Redeem';
      clientId: string;
      redirectUri: string | undefined;
      verifier: string | undefined;
      /** S256(code_verifier), computed by the caller (hashing is not the domain's business). */
      verifierChallenge: string | undefined;
      familyId: string;
      now: Date;
    };

function evolve(state: GrantState, event: Happened): GrantState {
  if (event.type === 'AuthorizationCodeIssued') return { ...state, issued: event.data };
  if (event.type === 'AuthorizationCodeRedeemed') return { ...state, redeemed: event.data };
  return state;
}

const no = (code: ConstructorParameters<typeof DomainError>[0], message: string): Decision => refuse(new DomainError(code, message));

/** RFC 6749 §4.1.3 and RFC 7636 §4.6, in order. */
function decide(command: GrantCommand, state: GrantState): Decision {
  if (command.type === 'IssueCode') {
    if (state.issued) return no('code_exists', `grant ${command.code.grantId} exists`);
    return accept({ type: 'AuthorizationCodeIssued', data: command.code });
  }
  const issued = state.issued;
  if (!issued) return no('code_unknown', 'unknown code');
  if (state.redeemed) return no('code_replayed', 'the code was already redeemed');
  if (issued.clientId !== command.clientId) return no('code_wrong_client', 'the code was issued to another client');
  if (new Date(issued.expiresAt) <= command.now) return no('code_expired', 'the code has expired');
  if (command.redirectUri !== issued.redirectUri) return no('code_wrong_redirect_uri', 'redirect_uri differs from the authorization request');
  if (issued.codeChallenge) {
    if (!command.verifier) return no('pkce_missing', 'code_verifier is missing');
    const presented = issued.codeChallengeMethod === 'plain' ? command.verifier : command.verifierChallenge;
    if (presented !== issued.codeChallenge) return no('pkce_mismatch', 'code_verifier does not match the challenge');
  } else if (command.verifier) {
    return no('pkce_unexpected', 'a code_verifier for a code issued without PKCE');
  }
  return accept({ type: 'AuthorizationCodeRedeemed', data: { grantId: issued.grantId, clientId: issued.clientId, familyId: command.familyId } });
}

export const grantDecider: Decider<GrantState, GrantCommand> = { initialState: { issued: null, redeemed: null }, decide, evolve };
