// Load → decide → append → wait: how every write reaches the event store (DESIGN §1, §5).
// The append is guarded by the stream revision the decision was made on.

import { NO_STREAM, type RecordedEvent } from '../eventstore/port.js';
import type { DomainEvent } from '../events/types.js';
import type { Actor, WarrantContext } from './context.js';

export interface Loaded<S> {
  state: S;
  events: RecordedEvent[];
}

export async function load<S>(ctx: WarrantContext, stream: string, initial: S, evolve: (state: S, event: RecordedEvent) => S): Promise<Loaded<S>> {
  const events = await ctx.store.readStream(stream);
  return { state: events.reduce(evolve, initial), events };
}

export interface Appended {
  position: number;
  events: RecordedEvent[];
}

/**
 * Appends the decided events at the revision they were decided on (a concurrent writer makes
 * this throw WrongExpectedRevisionError), then waits until the named projections applied them.
 */
export async function appendAndWait(
  ctx: WarrantContext,
  stream: string,
  revision: number,
  events: DomainEvent[],
  actor: Actor,
  projections: readonly string[],
): Promise<Appended | undefined> {
  if (events.length === 0) return undefined;
  const result = await ctx.store.append(stream, events, { expectedRevision: revision < 0 ? NO_STREAM : revision, metadata: actor });
  if (projections.length > 0) {
    const stop = ctx.metrics.readModelWaitSeconds.startTimer();
    await ctx.waiter.waitFor(result.position, { projections });
    stop();
  }
  return { position: result.position, events: result.events };
}
