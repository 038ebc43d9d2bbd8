// Sign-in sessions (stream `session-<sessionId>`) and remembered consents (stream
// `consent-<clientId>-<digest of subject>`): small aggregates in the decider shape (./decider.ts).

import type { ConsentGranted, ConsentRevoked, SessionEndReason, SessionStarted } from '../events/types.js';
import { accept, refuse, type Decider, type Happened } from './decider.js';
import { DomainError } from './errors.js';

export interface SessionState {
  started: SessionStarted | null;
  ended: boolean;
}

export type SessionCommand = { type: 'Start'; session: SessionStarted } | { type: 'End'; reason: SessionEndReason };

export const sessionDecider: Decider<SessionState, SessionCommand> = {
  initialState: { started: null, ended: false },
  evolve(state: SessionState, event: Happened): SessionState {
    if (event.type === 'SessionStarted') return { started: event.data, ended: false };
    if (event.type === 'SessionEnded') return { ...state, ended: true };
    return state;
  },
  decide(command, state) {
    if (command.type === 'Start') {
      return state.started ? refuse(new DomainError('session_exists', `session ${command.session.sessionId} exists`)) : accept({ type: 'SessionStarted', data: command.session });
    }
    if (!state.started) return refuse(new DomainError('session_unknown', 'unknown session'));
    // Ended is terminal, with its first reason.
    if (state.ended) return accept();
    const { sessionId, subject } = state.started;
    return accept({ type: 'SessionEnded', data: { sessionId, subject, reason: command.reason } });
  },
};

export interface ConsentState {
  granted: boolean;
}

/** Consents only add up (the read model merges scopes and audiences); revoking forgets them all. */
export type ConsentCommand = { type: 'Grant'; consent: ConsentGranted } | { type: 'Revoke'; consent: ConsentRevoked };

export const consentDecider: Decider<ConsentState, ConsentCommand> = {
  initialState: { granted: false },
  evolve(state: ConsentState, event: Happened): ConsentState {
    if (event.type === 'ConsentGranted') return { granted: true };
    if (event.type === 'ConsentRevoked') return { granted: false };
    return state;
  },
  decide(command) {
    // A revoke is appended even without a granted event: consents from before they were events
    // exist only in the read model, and this forgets them there.
    return command.type === 'Grant' ? accept({ type: 'ConsentGranted', data: command.consent }) : accept({ type: 'ConsentRevoked', data: command.consent });
  },
};
