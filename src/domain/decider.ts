// The one shape of every aggregate (the decider, as in Emmett): decide(command, state) → Decision
// and evolve(state, event) → state, pure — no database, clock or randomness (STYLE §6). The
// application layer loads a stream, folds it with evolve, decides and appends (src/oauth/aggregate.ts).

import type { DomainEvent } from '../events/types.js';
import type { RecordedEvent } from '../eventstore/port.js';
import type { DomainError } from './errors.js';

/**
 * The events to append and, when the command is refused, why. A refusal may still produce
 * events: reusing a rotated refresh token revokes the family *and* fails.
 */
export interface Decision {
  events: DomainEvent[];
  error?: DomainError;
}

/** A stored event as the domain sees it: typed by the catalogue, with when it happened. */
export type Happened = DomainEvent & { occurredAt: string };

export interface Decider<State, Command> {
  initialState: State;
  decide(command: Command, state: State): Decision;
  evolve(state: State, event: Happened): State;
}

export function accept(...events: DomainEvent[]): Decision {
  return { events };
}

export function refuse(error: DomainError, ...events: DomainEvent[]): Decision {
  return { events, error };
}

/** A recorded event as the domain sees it (the catalogue validated and upcast it on the way in). */
export function happened(event: RecordedEvent): Happened {
  return { type: event.type, data: event.data, occurredAt: event.metadata.occurredAt } as Happened;
}

/** Folds a stream's events into the state they leave. */
export function fold<State>(decider: Pick<Decider<State, unknown>, 'initialState' | 'evolve'>, events: readonly Happened[]): State {
  return events.reduce(decider.evolve, decider.initialState);
}
