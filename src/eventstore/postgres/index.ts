// The PostgreSQL event store: the embedded default and what the tests run on (DESIGN §3). It
// composes the append queue (./append-queue.ts), the append transactions and their ordering
// guarantee (./append.ts), reads (./read.ts) and subscriptions (./subscribe.ts).

import type pg from 'pg';
import type { EventCatalogue } from '../../events/catalogue.js';
import { warrantEvents } from '../../events/catalogue.js';
import { EventStoreError, type AppendOptions, type AppendResult, type EventStore, type NewEvent, type ReadAllOptions, type ReadStreamOptions, type RecordedEvent, type SubscribeOptions, type SubscriptionBatch } from '../port.js';
import { prepareEvents, type Clock, type PreparedEvent } from '../seal.js';
import { KnownHeads } from './heads.js';
import { AppendQueue } from './append-queue.js';
import type { BeforeCommit } from './append.js';
import type { InlineProjector } from './inline.js';
import { EventReader } from './read.js';
import { Subscriptions } from './subscribe.js';

export interface PostgresEventStoreOptions {
  pool: pg.Pool;
  catalogue?: EventCatalogue;
  clock?: Clock;
  /** Most events written in one transaction (default 500). */
  maxBatch?: number;
  /** Subscribers re-read at least this often even without a notification (default 1000 ms). */
  pollIntervalMs?: number;
  /** Append connections used in turn (default 1). Two keep the next transaction queued on the
   * append lock inside PostgreSQL; measured slower on the 2-core machine (bench/eventstore.ts). */
  lanes?: number;
  /** Test hook: runs inside the append transaction, after the insert, before COMMIT. */
  beforeCommit?: BeforeCommit;
  /** Read models to apply in the append transaction itself (./inline.ts); unset: runners only. */
  inline?: InlineProjector;
  /** Whole-stream reads arriving together share one round trip on a connection of their own (the server's hot path). */
  batchedReads?: boolean;
}

export class PostgresEventStore implements EventStore {
  readonly #catalogue: EventCatalogue;
  readonly #clock: Clock;
  readonly #appends: AppendQueue;
  readonly #reader: EventReader;
  readonly #heads = new KnownHeads();
  readonly #subscriptions: Subscriptions;
  #closed = false;

  constructor(options: PostgresEventStoreOptions) {
    this.#catalogue = options.catalogue ?? warrantEvents;
    this.#clock = options.clock ?? (() => new Date());
    this.#reader = new EventReader(options.pool, this.#catalogue, { batched: options.batchedReads ?? false });
    this.#subscriptions = new Subscriptions({
      pool: options.pool,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      readPage: (after, maxCount) => this.#reader.readPage(after, maxCount),
      closed: () => this.#closed,
    });
    this.#appends = new AppendQueue({
      pool: options.pool,
      maxBatch: options.maxBatch ?? 500,
      lanes: options.lanes ?? 1,
      beforeCommit: options.beforeCommit,
      inline: options.inline,
      heads: this.#heads,
    });
  }

  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new EventStoreError('ERR_EVENT_STORE_CLOSED', 'event store is closed'));
    let prepared: PreparedEvent[];
    try {
      if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200) {
        throw new EventStoreError('ERR_INVALID_APPEND', 'stream id must be a string of 1 to 200 characters');
      }
      prepared = prepareEvents(this.#catalogue, events, options.metadata, this.#clock);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#appends.enqueue({ streamId, prepared, expected: options.expectedRevision });
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    const events = await this.#reader.readStream(streamId, options);
    // A whole stream read ends at its head: an append that follows it can go in one round trip.
    const last = events[events.length - 1];
    if (last && options?.maxCount === undefined) this.#heads.set(streamId, { revision: last.revision, hash: last.hash });
    return events;
  }

  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.#reader.readAll(options);
  }

  headPosition(): Promise<number> {
    return this.#reader.headPosition();
  }

  subscribeToAll(options?: SubscribeOptions): AsyncGenerator<SubscriptionBatch> {
    return this.#subscriptions.subscribeToAll(options);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#appends.close();
    await this.#subscriptions.close();
    await this.#reader.close();
  }
}
