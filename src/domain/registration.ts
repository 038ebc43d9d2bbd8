// Dynamic client registration's two small aggregates (RFC 7591, RFC 7592), in the decider shape
// (./decider.ts): an initial access token (stream `registration-token-<tokenId>`), good for a
// number of registrations until it expires — each use appends at the stream's revision, so two
// registrations racing for the last use cannot both win — and a client's registration access
// token (stream `client-registration-<clientId>`), of which only the latest counts.

import type { RegistrationAccessTokenIssued, RegistrationTokenIssued } from '../events/types.js';
import { accept, refuse, type Decider, type Happened } from './decider.js';
import { DomainError } from './errors.js';

export interface RegistrationTokenState {
  issued: RegistrationTokenIssued | null;
  used: number;
}

export type RegistrationTokenCommand =
  | { type: 'Issue'; token: RegistrationTokenIssued }
  | { type: 'Use'; clientId: string; now: Date };

export const registrationTokenDecider: Decider<RegistrationTokenState, RegistrationTokenCommand> = {
  initialState: { issued: null, used: 0 },
  evolve(state, event: Happened) {
    if (event.type === 'RegistrationTokenIssued') return { issued: event.data, used: 0 };
    if (event.type === 'RegistrationTokenUsed') return { ...state, used: state.used + 1 };
    return state;
  },
  decide(command, state) {
    if (command.type === 'Issue') {
      return state.issued ? refuse(new DomainError('registration_token_exists', 'exists')) : accept({ type: 'RegistrationTokenIssued', data: command.token });
    }
    const issued = state.issued;
    if (!issued) return refuse(new DomainError('registration_token_unknown', 'unknown initial access token'));
    if (issued.expiresAt && new Date(issued.expiresAt) <= command.now) return refuse(new DomainError('registration_token_expired', 'the initial access token has expired'));
    if (state.used >= issued.uses) return refuse(new DomainError('registration_token_used', 'the initial access token has been used up'));
    return accept({ type: 'RegistrationTokenUsed', data: { tokenId: issued.tokenId, clientId: command.clientId } });
  },
};

export interface RegistrationAccessState {
  current: RegistrationAccessTokenIssued | null;
}

export const registrationAccessDecider: Decider<RegistrationAccessState, { type: 'Issue'; token: RegistrationAccessTokenIssued }> = {
  initialState: { current: null },
  evolve(state, event: Happened) {
    return event.type === 'RegistrationAccessTokenIssued' ? { current: event.data } : state;
  },
  decide(command) {
    return accept({ type: 'RegistrationAccessTokenIssued', data: command.token });
  },
};
