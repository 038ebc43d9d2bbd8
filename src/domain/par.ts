// The pushed authorization request aggregate (stream `par-<requestId>`, RFC 9126): pushed once by
// its client, used at most once at the authorization endpoint, within its lifetime and only by
// that client (§4, §7.3). Using it appends at the push's revision, so of two concurrent uses
// exactly one wins. Decider shape (./decider.ts); no I/O. The request_uri's secret is compared by
// the caller (hashing is not the domain's business).

import type { AuthorizationRequestPushed } from '../events/types.js';
import { accept, refuse, type Decider, type Decision, type Happened } from './decider.js';
import { DomainError } from './errors.js';

export interface ParState {
  pushed: AuthorizationRequestPushed | null;
  used: boolean;
}

export type ParCommand =
  | { type: 'Push'; request: AuthorizationRequestPushed }
  | { type: 'Use'; clientId: string; now: Date };

function evolve(state: ParState, event: Happened): ParState {
  if (event.type === 'AuthorizationRequestPushed') return { pushed: event.data, used: false };
  if (event.type === 'PushedAuthorizationRequestUsed') return { ...state, used: true };
  return state;
}

const no = (code: ConstructorParameters<typeof DomainError>[0], message: string): Decision => refuse(new DomainError(code, message));

/** Why a pushed request cannot be used now by `clientId`, or undefined: it can. */
export function unusable(state: ParState, clientId: string, now: Date): DomainError | undefined {
  const pushed = state.pushed;
  if (!pushed) return new DomainError('par_unknown', 'unknown request_uri');
  if (pushed.clientId !== clientId) return new DomainError('par_wrong_client', 'the request_uri was pushed by another client');
  if (state.used) return new DomainError('par_used', 'the request_uri was already used');
  if (new Date(pushed.expiresAt) <= now) return new DomainError('par_expired', 'the request_uri has expired');
  return undefined;
}

function decide(command: ParCommand, state: ParState): Decision {
  if (command.type === 'Push') {
    if (state.pushed) return no('par_exists', `pushed request ${command.request.requestId} exists`);
    return accept({ type: 'AuthorizationRequestPushed', data: command.request });
  }
  const why = unusable(state, command.clientId, command.now);
  if (why) return refuse(why);
  return accept({ type: 'PushedAuthorizationRequestUsed', data: { requestId: state.pushed!.requestId, clientId: command.clientId } });
}

export const parDecider: Decider<ParState, ParCommand> = { initialState: { pushed: null, used: false }, decide, evolve };
