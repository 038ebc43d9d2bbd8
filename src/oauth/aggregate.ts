// Load → decide → append → wait: how every write reaches the event store (DESIGN §1, §5).
// `handle` runs a decider (src/domain/decider.ts) on a stream: it folds the stream, decides,
// appends at the revision the decision was made on (a concurrent writer makes that fail, and the
// command is decided again up to `retries` times), then waits until every projection that reads
// the appended event types has applied them, so the caller's answer is visible everywhere.

import { projectionsFor } from '../../projections/index.js';
import { fold, happened, type Decider, type Decision } from '../domain/decider.js';
import type { DomainEvent } from '../events/types.js';
import { isWrongExpectedRevision, NO_STREAM, type RecordedEvent } from '../eventstore/port.js';
import type { Actor, WarrantContext } from './context.js';

export interface Loaded<S> {
  state: S;
  /** Revision of the stream's last event; -1 for a stream that does not exist. */
  revision: number;
  events: RecordedEvent[];
}

export async function load<S>(ctx: WarrantContext, stream: string, decider: Pick<Decider<S, unknown>, 'initialState' | 'evolve'>): Promise<Loaded<S>> {
  const events = await ctx.store.readStream(stream);
  return { state: fold(decider, events.map(happened)), revision: events.at(-1)?.revision ?? -1, events };
}

export interface Appended {
  position: number;
  events: RecordedEvent[];
}

/**
 * Appends events at the revision they were decided on (a concurrent writer makes this throw
 * WrongExpectedRevisionError) and, unless told not to, waits for the projections that read them.
 */
export async function appendAndWait(ctx: WarrantContext, stream: string, revision: number, events: DomainEvent[], actor: Actor, options: { wait?: boolean } = {}): Promise<Appended | undefined> {
  if (events.length === 0) return undefined;
  const result = await ctx.store.append(stream, events, { expectedRevision: revision < 0 ? NO_STREAM : revision, metadata: actor });
  // Read models the append transaction applied itself (inline) are current as it commits; this
  // process learns it at once for the ones these events concern (a checkpoint-keyed cache of
  // another read model keeps its entries).
  const concerned = projectionsFor(events.map((event) => event.type));
  const applied = concerned.filter((name) => result.projected?.includes(name));
  if (result.projected?.length) ctx.metrics.inlineAppends.inc();
  if (applied.length > 0) ctx.waiter.applied(applied, result.position);
  const projections = options.wait === false ? [] : concerned.filter((name) => !applied.includes(name));
  if (projections.length > 0) {
    const stop = ctx.metrics.readModelWaitSeconds.startTimer();
    await ctx.waiter.waitFor(result.position, { projections });
    stop();
  }
  return { position: result.position, events: result.events };
}

export interface Handled<S> {
  /** The state the decision was made on. */
  state: S;
  decision: Decision;
  appended: Appended | undefined;
}

export interface HandleOptions<S = unknown> {
  actor: Actor;
  /** The stream as the caller already loaded it, for the first attempt (saves a read). */
  loaded?: Pick<Loaded<S>, 'state' | 'revision'>;
  /** How often a lost optimistic-concurrency race is decided again (default 0). */
  retries?: number;
  /** false: do not wait for the projections (nothing reads the read model before the next write). */
  wait?: boolean;
  /** The stream is named by a fresh random id: decide on the initial state without reading it (the append still refuses an existing stream). */
  fresh?: boolean;
}

/**
 * Decides `command` on the stream's current state and appends the decision's events — also when
 * the decision carries an error (a refused refresh may still revoke). The caller maps
 * `decision.error`. A lost race is retried `retries` times (default 0), then rethrown.
 */
export async function handle<S, C>(
  ctx: WarrantContext,
  stream: string,
  decider: Decider<S, C>,
  command: C,
  options: HandleOptions<S>,
): Promise<Handled<S>> {
  for (let attempt = 0; ; attempt += 1) {
    const { state, revision } =
      options.fresh ? { state: decider.initialState, revision: -1 }
      : attempt === 0 && options.loaded ? options.loaded
      : await load(ctx, stream, decider);
    const decision = decider.decide(command, state);
    try {
      const appended = await appendAndWait(ctx, stream, revision, decision.events, options.actor, options);
      return { state, decision, appended };
    } catch (error) {
      if (isWrongExpectedRevision(error) && attempt < (options.retries ?? 0)) continue;
      throw error;
    }
  }
}
