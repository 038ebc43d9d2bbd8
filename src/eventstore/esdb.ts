// The EventStoreDB adapter (production, DESIGN §3). Every @eventstore/db-client type stays in
// this file, so moving to @kurrent/kurrentdb-client is a change here only. It runs in CI over the
// real client and wire protocol against test/support/esdb-standin (see its README for what that
// proves and what it does not).
//
// - A Warrant position is the event's prepare position in $all: every event of a gRPC append
//   commits itself, so commit = prepare, unique and increasing (StorageWriterService, AllReader).
// - Servers before 22.10 send no $all position with events read from a stream (ulong.MaxValue):
//   such events carry position -1. Appends, $all reads and subscriptions always have positions.
// - The hash chain needs the stream's last hash, so an append reads the last event first and
//   appends at exactly that revision; with ANY it retries when another writer got in between.
// - Every call has a deadline (the connection string's defaultDeadline, else the client's 10 s):
//   the client sets none on reads and batch appends, which wait for ever on a hung node.
// - Projections use catch-up subscribeToAll, never persistent subscriptions (they do not keep
//   order); a dropped subscription resubscribes from the last position it delivered.

import {
  BACKWARDS, CancelledError, DeadlineExceededError, END, EventStoreDBClient, FORWARDS, NO_STREAM as ESDB_NO_STREAM, NotLeaderError, START,
  StreamNotFoundError, TimeoutError, UnavailableError, UnknownError, WrongExpectedVersionError, convertToCommandError, isCommandError,
  binaryEvent, excludeSystemEvents, jsonEvent, type AllStreamResolvedEvent, type ResolvedEvent, type StreamingRead,
} from '@eventstore/db-client';
import { warrantEvents, type EventCatalogue } from '../events/catalogue.js';
import { EsdbIndex, INDEX_SINCE_STREAM, INDEX_SINCE_TYPE } from './esdb-index.js';
import { backoff, batches, deadlineOf, findHead, MarkerQueue, positionOf, resubscribing, scanAll, sleep, unavailable, withDeadline, type AllPage, type ToRecorded } from './esdb-support.js';
import {
  ANY, EventStoreError, WrongExpectedRevisionError, revisionMatches, type AppendOptions, type AppendResult,
  type EventMetadata, type EventStore, type NewEvent, type ReadAllOptions, type ReadStreamOptions, type RecordedEvent,
  type SubscribeOptions, type SubscriptionBatch,
} from './port.js';
import { prepareEvents, sealEvents, type Clock } from './seal.js';

export interface EsdbEventStoreOptions {
  connectionString: string;
  catalogue?: EventCatalogue;
  clock?: Clock;
  /** Longest wait for one call before the store counts as unavailable (default: the connection string's defaultDeadline, else 10 s). */
  deadlineMs?: number;
}

interface StoredMetadata extends EventMetadata {
  version: number;
  hash: string;
}

type Resolved = ResolvedEvent | AllStreamResolvedEvent;
const DEADLINE_EXCEEDED = 4; // gRPC status code
/** How many times an ANY append re-reads the head after losing a race (each retry waits a little longer). */
const ANY_RETRIES = 50;

/**
 * The client's errors for a server that cannot answer now. Raw gRPC errors are converted first:
 * appends reject with them when the connection is refused. CancelledError is what a call sees when
 * the node dies under it (the client's own mid-stream reconnect test expects it) and TimeoutError a
 * server-side write or "consumer too slow" timeout (RpcExceptions.Timeout: StatusCode.Aborted).
 * A batch append refused as not ready or busy comes back as an UnknownError naming the reason
 * (Streams.BatchAppend.cs packs it in a Status with an Empty detail).
 */
function mapError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof EventStoreError) return error;
  const converted = convertToCommandError(error);
  const down =
    converted instanceof UnavailableError || converted instanceof DeadlineExceededError || converted instanceof NotLeaderError ||
    converted instanceof CancelledError || converted instanceof TimeoutError ||
    (converted instanceof UnknownError && /Not Ready|Busy|No leader info/i.test(converted.message));
  return down ? unavailable(`event store unavailable: ${converted.message}`, converted) : converted;
}

export class EsdbEventStore implements EventStore {
  readonly #connectionString: string;
  #client: EventStoreDBClient;
  /** Clients replaced by #renew, disposed 30 s later (or by close()). */
  readonly #retired: EventStoreDBClient[] = [];
  readonly #catalogue: EventCatalogue;
  readonly #clock: Clock;
  readonly #deadlineMs: number;
  #closed = false;
  readonly #page: AllPage = (direction, from, count) => this.#all(direction, from, count);
  readonly #recorded: ToRecorded = (resolved, upcast) => this.#toRecorded(resolved as Resolved, upcast);
  readonly #index = new EsdbIndex({
    link: (stream, targets) => this.#call(() => this.#client.appendToStream(stream, targets.map((target) => binaryEvent({ type: '$>', data: Buffer.from(target) })), { requiresLeader: true })).then(() => undefined),
    resolve: async (stream, upcast) => {
      const events: RecordedEvent[] = [];
      await this.#readOrNone(() => this.#client.readStream(stream, { resolveLinkTos: true, requiresLeader: true }), (resolved) => {
        const event = resolved.event && this.#toRecorded({ event: resolved.event } as Resolved, upcast);
        if (event) events.push(event);
      });
      return events;
    },
    readSince: async () => {
      let since: number | undefined;
      await this.#readOrNone(() => this.#client.readStream(INDEX_SINCE_STREAM, { maxCount: 1, requiresLeader: true }), (resolved) => void (since = (resolved.event?.data as { position?: number }).position));
      return since;
    },
    writeSince: (position) =>
      this.#call(() => this.#client.appendToStream(INDEX_SINCE_STREAM, jsonEvent({ type: INDEX_SINCE_TYPE, data: { position } }), { expectedRevision: ESDB_NO_STREAM, requiresLeader: true }))
        .then(() => undefined, (error: unknown) => (error instanceof WrongExpectedVersionError ? undefined : Promise.reject(error))),
    head: () => this.headPosition(),
    scan: (options, until) => scanAll(this.#page, this.#recorded, options, until),
  });

  constructor(options: EsdbEventStoreOptions) {
    this.#connectionString = options.connectionString;
    this.#client = EventStoreDBClient.connectionString(options.connectionString);
    this.#catalogue = options.catalogue ?? warrantEvents;
    this.#clock = options.clock ?? (() => new Date());
    this.#deadlineMs = options.deadlineMs ?? deadlineOf(options.connectionString);
  }

  /**
   * A new client after an append ran out of time. Client 6.2.1 asks for the server's features
   * once, before its first append, and keeps the answer — a failed one too, unless the failure
   * made it reconnect (Client/index.js shouldReconnect: unavailable, cancelled, not leader). A
   * node that hung at that moment would otherwise fail every later append with the same deadline.
   */
  #renew(): void {
    const old = this.#client;
    this.#retired.push(old);
    this.#client = EventStoreDBClient.connectionString(this.#connectionString);
    // Later, once calls in flight on it are over: its subscriptions then end and resubscribe here.
    setTimeout(() => {
      const at = this.#retired.indexOf(old);
      if (at >= 0) void this.#retired.splice(at, 1)[0]!.dispose();
    }, 30_000).unref();
  }

  #toRecorded(resolved: Resolved, upcast = true): RecordedEvent | undefined {
    const event = resolved.event;
    if (!event || !event.isJson || event.type.startsWith('$') || event.streamId.startsWith('$')) return undefined;
    const { version: storedVersion, hash, ...metadata } = event.metadata as unknown as StoredMetadata;
    const base = { streamId: event.streamId, revision: Number(event.revision), position: positionOf(resolved), type: event.type, metadata, hash };
    if (!upcast) return { ...base, version: storedVersion, data: event.data };
    const { version, data } = this.#catalogue.upcast(event.type, storedVersion, event.data);
    return { ...base, version, data };
  }

  /** Runs one call under the deadline, with the client's errors mapped. */
  async #call<T>(run: () => Promise<T>, onTimeout?: () => void): Promise<T> {
    if (this.#closed) throw new EventStoreError('ERR_EVENT_STORE_CLOSED', 'event store is closed');
    return withDeadline(run, this.#deadlineMs, onTimeout).catch((error: unknown) => Promise.reject(mapError(error)));
  }

  /** Reads until `visit` returns false or the read ends; an early stop cancels the gRPC call (else it stays open on the server). */
  #read(open: () => StreamingRead<Resolved>, visit: (resolved: Resolved) => boolean | void): Promise<void> {
    let stream: StreamingRead<Resolved> | undefined;
    return this.#call(
      async () => {
        stream = open();
        for await (const resolved of stream) {
          if (visit(resolved) === false) {
            await stream.cancel();
            break;
          }
        }
      },
      () => void stream?.cancel(),
    );
  }

  /** #read, where a stream that does not exist reads as empty. */
  #readOrNone(open: () => StreamingRead<Resolved>, visit: (resolved: Resolved) => boolean | void): Promise<void> {
    return this.#read(open, visit).catch((error: unknown) => (error instanceof StreamNotFoundError ? undefined : Promise.reject(error)));
  }

  async #last(streamId: string): Promise<{ revision: number; hash: string | null }> {
    let last = { revision: -1, hash: null as string | null };
    await this.#readOrNone(
      () => this.#client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1, requiresLeader: true }),
      (resolved) => {
        const event = this.#toRecorded(resolved, false);
        if (event) last = { revision: event.revision, hash: event.hash };
      },
    );
    return last;
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.#closed) throw new EventStoreError('ERR_EVENT_STORE_CLOSED', 'event store is closed');
    const prepared = prepareEvents(this.#catalogue, events, options.metadata, this.#clock);
    for (let attempt = 1; ; attempt += 1) {
      const last = await this.#last(streamId);
      if (!revisionMatches(options.expectedRevision, last.revision)) throw new WrongExpectedRevisionError(streamId, options.expectedRevision, last.revision);
      const sealed = sealEvents(streamId, prepared, last, 0).map(({ dataJson: _d, metadataJson: _m, ...event }) => event);
      await this.#index.beforeAppend(streamId, sealed);
      let written;
      try {
        const client = this.#client;
        const renew = () => client === this.#client && this.#renew();
        written = await this.#call(() =>
          client.appendToStream(
            streamId,
            sealed.map(({ metadata, version, hash, type, data }) => jsonEvent({ id: metadata.eventId, type, data: data as Record<string, unknown>, metadata: { ...metadata, version, hash } satisfies StoredMetadata })),
            // requiresLeader: a follower refuses (NotLeaderError) and the client reconnects to the leader.
            { expectedRevision: last.revision === -1 ? ESDB_NO_STREAM : BigInt(last.revision), requiresLeader: true },
          ).catch((error: { code?: unknown }) => {
            if (error?.code === DEADLINE_EXCEEDED && !isCommandError(error as Error)) renew(); // the features call's raw error
            throw error;
          }),
          renew,
        );
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        // Another writer got in between the read and the append.
        if (options.expectedRevision === ANY && attempt < ANY_RETRIES) {
          await sleep(backoff(attempt));
          continue;
        }
        throw new WrongExpectedRevisionError(streamId, options.expectedRevision, (await this.#last(streamId)).revision);
      }
      // The answer carries the position of the append's last event (the server acks the record
      // that ends the implicit transaction); the events before it are the ones just before it in $all.
      const position = written.position ? Number(written.position.prepare) : -1;
      const positions = position >= 0 && sealed.length > 1 ? await this.#positionsBefore(position, sealed.length - 1) : [];
      const recorded = sealed.map((event, i) => ({ ...event, position: i === sealed.length - 1 ? position : (positions[i] ?? -1) }));
      return { nextExpectedRevision: Number(written.nextExpectedRevision), position, events: recorded };
    }
  }

  /** A page of $all (system events included) from a position, or from the start / the end. */
  async #all(direction: 'forwards' | 'backwards', from: number | undefined, maxCount: number): Promise<Resolved[]> {
    const page: Resolved[] = [];
    const fromPosition = from === undefined ? (direction === 'forwards' ? START : END) : { commit: BigInt(from), prepare: BigInt(from) };
    await this.#read(() => this.#client.readAll({ direction: direction === 'forwards' ? FORWARDS : BACKWARDS, fromPosition, maxCount }), (resolved) => void page.push(resolved));
    return page;
  }

  /** Positions of the `count` events just before `position` in $all, oldest first (reading backwards excludes `position` itself). */
  async #positionsBefore(position: number, count: number): Promise<number[]> {
    return (await this.#all('backwards', position, count)).map(positionOf).reverse();
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    const from = options.fromRevision ? BigInt(options.fromRevision) : START;
    await this.#readOrNone(
      () => this.#client.readStream(streamId, { direction: FORWARDS, fromRevision: from, ...(options.maxCount ? { maxCount: options.maxCount } : {}), requiresLeader: true }),
      (resolved) => {
        const event = this.#toRecorded(resolved, options.upcast !== false);
        if (event) out.push(event);
      },
    );
    return out;
  }

  /** $all after a position; served from an index stream when the filter has one (./esdb-index.ts), else by a scan. */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return (await this.#index.lookup(options)) ?? scanAll(this.#page, this.#recorded, options);
  }

  /** The last non-system event's position, reading $all backwards past any system events at its end. */
  headPosition(): Promise<number> {
    return findHead(this.#page, (resolved) => this.#toRecorded(resolved as Resolved, false) !== undefined);
  }

  /**
   * Catch-up from the checkpoint, then live: each batch is what the client had buffered (up to
   * maxBatch), with the server's checkpoints moving the position over events the filter skips.
   * When the server drops the subscription (a node dies, "consumer too slow") it resubscribes
   * from the last position it delivered, backing off to 5 s, as the PostgreSQL store does.
   */
  subscribeToAll(options: SubscribeOptions = {}): AsyncGenerator<SubscriptionBatch> {
    return resubscribing((after) => this.#follow(after, options), options, () => this.#closed);
  }

  async *#follow(after: number, options: SubscribeOptions): AsyncGenerator<SubscriptionBatch> {
    const head = await this.headPosition();
    const markers = new MarkerQueue();
    const subscription = this.#client.subscribeToAll({
      fromPosition: after > 0 ? { commit: BigInt(after), prepare: BigInt(after) } : START,
      // System events are filtered out on the server, Warrant's type filters here: a position then
      // follows the whole log (checkpoints, waits and readiness compare it with the head).
      filter: excludeSystemEvents({ checkpointReached: (_, checkpoint) => markers.checkpoint(Number(checkpoint.prepare), subscription.readableLength) }),
    });
    subscription.on('caughtUp', () => markers.caughtUp(subscription.readableLength));
    yield* batches(subscription, markers, { after, head, options, positionOf, toRecorded: this.#recorded, closed: () => this.#closed, mapError });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#retired.splice(0), this.#client].map((client) => client.dispose()));
  }
}
