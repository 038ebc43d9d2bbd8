// The EventStoreDB adapter (production, DESIGN §3). Every @eventstore/db-client type stays in
// this file, so moving to @kurrent/kurrentdb-client is a change here only.
//
// Mapping decisions (not verifiable on the build machines, which cannot run an EventStoreDB):
// - A Warrant position is the event's *prepare* position in $all. gRPC appends are implicit
//   transactions written contiguously by the single writer, so prepare positions are unique per
//   event and increase in $all order (commit positions are shared by all events of one append).
// - The hash chain needs the stream's last hash, so an append reads the last event first and
//   then appends at exactly that revision; with ANY it retries when another writer got in between.
// - Projections use catch-up subscribeToAll with system events excluded, never persistent
//   subscriptions (they do not keep order).

import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM as ESDB_NO_STREAM,
  START,
  StreamNotFoundError,
  UnavailableError,
  DeadlineExceededError,
  NotLeaderError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import type { EventCatalogue } from '../events/catalogue.js';
import { warrantEvents } from '../events/catalogue.js';
import {
  ANY,
  EventStoreError,
  NO_STREAM,
  WrongExpectedRevisionError,
  matchesContent,
  matchesFilter,
  revisionMatches,
  type AppendOptions,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type SubscriptionBatch,
} from './port.js';
import { prepareEvents, sealEvents, type Clock } from './seal.js';

export interface EsdbEventStoreOptions {
  connectionString: string;
  catalogue?: EventCatalogue;
  clock?: Clock;
}

interface StoredMetadata extends EventMetadata {
  version: number;
  hash: string;
}

const ANY_RETRIES = 5;

function toPosition(value: bigint | undefined): number {
  if (value === undefined) throw new EventStoreError('ERR_EVENT_STORE_UNAVAILABLE', 'EventStoreDB returned an event without a position');
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new EventStoreError('ERR_EVENT_STORE_UNAVAILABLE', `EventStoreDB position ${value} exceeds 2^53`);
  }
  return Number(value);
}

function mapError(error: unknown): unknown {
  if (error instanceof UnavailableError || error instanceof DeadlineExceededError || error instanceof NotLeaderError) {
    return new EventStoreError('ERR_EVENT_STORE_UNAVAILABLE', `event store unavailable: ${error.message}`, { cause: error });
  }
  return error;
}

export class EsdbEventStore implements EventStore {
  readonly #client: EventStoreDBClient;
  readonly #catalogue: EventCatalogue;
  readonly #clock: Clock;
  #closed = false;

  constructor(options: EsdbEventStoreOptions) {
    this.#client = EventStoreDBClient.connectionString(options.connectionString);
    this.#catalogue = options.catalogue ?? warrantEvents;
    this.#clock = options.clock ?? (() => new Date());
  }

  #toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent, upcast = true): RecordedEvent | undefined {
    const event = resolved.event;
    if (!event || !event.isJson || event.type.startsWith('$') || event.streamId.startsWith('$')) return undefined;
    const { version: storedVersion, hash, ...metadata } = event.metadata as unknown as StoredMetadata;
    const position = 'position' in event && event.position ? toPosition(event.position.prepare) : -1;
    const base = { streamId: event.streamId, revision: Number(event.revision), position, type: event.type, metadata, hash };
    if (!upcast) return { ...base, version: storedVersion, data: event.data };
    const { version, data } = this.#catalogue.upcast(event.type, storedVersion, event.data);
    return { ...base, version, data };
  }

  async #last(streamId: string): Promise<{ revision: number; hash: string | null }> {
    try {
      for await (const resolved of this.#client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        const event = this.#toRecorded(resolved, false);
        if (event) return { revision: event.revision, hash: event.hash };
      }
      return { revision: -1, hash: null };
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { revision: -1, hash: null };
      throw mapError(error);
    }
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.#closed) throw new EventStoreError('ERR_EVENT_STORE_CLOSED', 'event store is closed');
    const prepared = prepareEvents(this.#catalogue, events, options.metadata, this.#clock);
    const attempts = options.expectedRevision === ANY ? ANY_RETRIES : 1;
    for (let attempt = 1; ; attempt += 1) {
      const last = await this.#last(streamId);
      if (!revisionMatches(options.expectedRevision, last.revision)) {
        throw new WrongExpectedRevisionError(streamId, options.expectedRevision, last.revision);
      }
      const sealed = sealEvents(streamId, prepared, last, 0);
      try {
        await this.#client.appendToStream(
          streamId,
          sealed.map(({ dataJson: _d, metadataJson: _m, ...event }) =>
            jsonEvent({
              id: event.metadata.eventId,
              type: event.type,
              data: event.data as Record<string, unknown>,
              metadata: { ...event.metadata, version: event.version, hash: event.hash } satisfies StoredMetadata,
            }),
          ),
          { expectedRevision: last.revision === -1 ? ESDB_NO_STREAM : BigInt(last.revision) },
        );
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          if (attempt < attempts) continue;
          const actual = typeof error.actualVersion === 'bigint' ? Number(error.actualVersion) : -1;
          throw new WrongExpectedRevisionError(streamId, options.expectedRevision === NO_STREAM ? NO_STREAM : options.expectedRevision, actual);
        }
        throw mapError(error);
      }
      // Positions are only known from $all-aware reads: read the appended events back.
      const stored = await this.readStream(streamId, { fromRevision: sealed[0]!.revision, maxCount: sealed.length });
      const withPositions = await this.#positionsOf(stored);
      const lastEvent = withPositions[withPositions.length - 1]!;
      return { nextExpectedRevision: lastEvent.revision, position: lastEvent.position, events: withPositions };
    }
  }

  /** Stream reads do not carry $all positions; find them by reading $all backwards from the end. */
  async #positionsOf(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    const wanted = new Map(events.map((event) => [event.metadata.eventId, event]));
    for await (const resolved of this.#client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1000 })) {
      const event = this.#toRecorded(resolved);
      if (event && wanted.has(event.metadata.eventId)) {
        wanted.set(event.metadata.eventId, { ...wanted.get(event.metadata.eventId)!, position: event.position });
        if ([...wanted.values()].every((e) => e.position >= 0)) break;
      }
    }
    return events.map((event) => wanted.get(event.metadata.eventId)!);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    try {
      for await (const resolved of this.#client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: options.fromRevision ? BigInt(options.fromRevision) : START,
        ...(options.maxCount ? { maxCount: options.maxCount } : {}),
      })) {
        const event = this.#toRecorded(resolved, options.upcast !== false);
        if (event) out.push(event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw mapError(error);
    }
    return out;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? 0;
    const max = options.maxCount ?? 1000;
    const out: RecordedEvent[] = [];
    try {
      const from = after > 0 ? { commit: BigInt(after), prepare: BigInt(after) } : START;
      for await (const resolved of this.#client.readAll({ direction: FORWARDS, fromPosition: from })) {
        const event = this.#toRecorded(resolved, options.upcast !== false);
        if (!event || event.position <= after || !matchesFilter(options.filter, event) || !matchesContent(options.filter, event)) continue;
        out.push(event);
        if (out.length >= max) break;
      }
    } catch (error) {
      throw mapError(error);
    }
    return out;
  }

  async headPosition(): Promise<number> {
    try {
      for await (const resolved of this.#client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 50 })) {
        const event = this.#toRecorded(resolved);
        if (event) return event.position;
      }
      return 0;
    } catch (error) {
      throw mapError(error);
    }
  }

  async *subscribeToAll(options: SubscribeOptions = {}): AsyncGenerator<SubscriptionBatch> {
    const after = options.after ?? 0;
    const head = await this.headPosition();
    const subscription = this.#client.subscribeToAll({
      fromPosition: after > 0 ? { commit: BigInt(after), prepare: BigInt(after) } : START,
      filter: excludeSystemEvents(),
    });
    const stop = () => void subscription.unsubscribe();
    options.signal?.addEventListener('abort', stop, { once: true });
    let caughtUp = head <= after;
    if (caughtUp) yield { events: [], position: after, caughtUp: true };
    try {
      for await (const resolved of subscription) {
        if (this.#closed || options.signal?.aborted) break;
        const event = this.#toRecorded(resolved);
        if (!event || event.position <= after) continue;
        caughtUp ||= event.position >= head;
        yield { events: matchesFilter(options.filter, event) ? [event] : [], position: event.position, caughtUp };
      }
    } catch (error) {
      throw mapError(error);
    } finally {
      options.signal?.removeEventListener('abort', stop);
      await subscription.unsubscribe().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#client.dispose();
  }
}
