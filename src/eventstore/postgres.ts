// The PostgreSQL event store: the embedded default and what the tests run on (DESIGN §3).
//
// Ordering guarantee: every append transaction takes one transaction-scoped advisory lock
// before it reads the head position, and keeps it until it commits. PostgreSQL releases
// transaction locks only after the commit is visible, so the transaction that gets the next
// positions cannot become visible before the one holding earlier positions. Positions are
// therefore gapless and in commit order, and a reader that sees position p sees every position
// below p: a subscriber reading `position > checkpoint` can never skip a late commit.
//
// Throughput: appends arriving while a transaction is in flight are queued and written together
// in the next one (one lock, one INSERT, one fsync for many callers). Each append keeps its own
// expected-revision check; one caller's conflict never fails another's events.

import pg from 'pg';
import type { EventCatalogue } from '../events/catalogue.js';
import { warrantEvents } from '../events/catalogue.js';
import { LOCK_NAMESPACE, LockKey } from '../db/locks.js';
import {
  EventStoreError,
  WrongExpectedRevisionError,
  matchesFilter,
  revisionMatches,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type SubscriptionBatch,
} from './port.js';
import { prepareEvents, sealEvents, type Clock, type PreparedEvent } from './seal.js';

export const EVENTS_CHANNEL = 'warrant_events';

export interface PostgresEventStoreOptions {
  pool: pg.Pool;
  catalogue?: EventCatalogue;
  clock?: Clock;
  /** Most events written in one transaction (default 500). */
  maxBatch?: number;
  /** Subscribers re-read at least this often even without a notification (default 1000 ms). */
  pollIntervalMs?: number;
  /** Test hook: runs inside the append transaction, after the insert, before COMMIT. */
  beforeCommit?: (events: readonly RecordedEvent[]) => Promise<void>;
}

interface PendingAppend {
  streamId: string;
  prepared: PreparedEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: Error };

interface EventRow {
  position: string;
  stream_id: string;
  revision: string;
  type: string;
  version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  hash: string;
}

const EVENT_COLUMNS = 'position, stream_id, revision, type, version, data, metadata, hash';

/** SQLSTATE classes and errno codes that mean "the database is not reachable right now". */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    const message = (error as Error | null)?.message ?? '';
    return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
  }
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || code === '57P02' || code === '57P03' || // admin shutdown, crash shutdown, cannot connect now
    code === '53300' || // too many connections
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code)
  );
}

function unavailable(error: unknown): EventStoreError {
  return new EventStoreError('ERR_EVENT_STORE_UNAVAILABLE', `event store unavailable: ${(error as Error).message}`, { cause: error });
}

export class PostgresEventStore implements EventStore {
  readonly #pool: pg.Pool;
  readonly #catalogue: EventCatalogue;
  readonly #clock: Clock;
  readonly #maxBatch: number;
  readonly #pollIntervalMs: number;
  readonly #beforeCommit: PostgresEventStoreOptions['beforeCommit'];

  #queue: PendingAppend[] = [];
  #draining: Promise<void> | undefined;
  /** Set and cleared synchronously, so an append can never queue behind a finished drain. */
  #drainActive = false;
  #closed = false;

  // LISTEN connection shared by every subscription of this store.
  #listener: pg.Client | undefined;
  #listenerStarting: Promise<void> | undefined;
  #notifications = 0;
  #wakers = new Set<() => void>();

  constructor(options: PostgresEventStoreOptions) {
    this.#pool = options.pool;
    this.#catalogue = options.catalogue ?? warrantEvents;
    this.#clock = options.clock ?? (() => new Date());
    this.#maxBatch = options.maxBatch ?? 500;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#beforeCommit = options.beforeCommit;
  }

  // Appending ------------------------------------------------------------------------------------

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
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ streamId, prepared, expected: options.expectedRevision, resolve, reject });
      if (!this.#drainActive) {
        this.#drainActive = true;
        this.#draining = this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#writeNextBatch();
    } finally {
      // No await between the empty-queue check and this line: an append queued after it starts a new drain.
      this.#drainActive = false;
    }
  }

  async #writeNextBatch(): Promise<void> {
    const batch = this.#takeBatch();
    let outcomes: Outcome[];
    try {
      outcomes = await this.#write(batch);
    } catch (error) {
      if (batch.length > 1 && !isConnectionError(error)) {
        // Something in one append broke the whole transaction (e.g. a duplicate event id):
        // write them one by one so only the faulty append fails.
        outcomes = [];
        for (const append of batch) {
          try {
            outcomes.push(...(await this.#write([append])));
          } catch (single) {
            outcomes.push({ ok: false, error: this.#mapError(single) });
          }
        }
      } else {
        outcomes = batch.map(() => ({ ok: false, error: this.#mapError(error) }));
      }
    }
    batch.forEach((append, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) append.resolve(outcome.result);
      else append.reject(outcome.error);
    });
  }

  #takeBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    let count = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (batch.length > 0 && count + next.prepared.length > this.#maxBatch) break;
      batch.push(this.#queue.shift()!);
      count += next.prepared.length;
    }
    return batch;
  }

  #mapError(error: unknown): Error {
    if (error instanceof EventStoreError) return error;
    if (isConnectionError(error)) return unavailable(error);
    const pgError = error as { code?: string; message?: string };
    if (pgError.code === '23505') return new EventStoreError('ERR_INVALID_APPEND', `append refused: ${pgError.message}`, { cause: error });
    if (pgError.code?.startsWith('22')) return new EventStoreError('ERR_INVALID_APPEND', `append refused: ${pgError.message}`, { cause: error });
    return error instanceof Error ? error : new Error(String(error));
  }

  async #write(batch: readonly PendingAppend[]): Promise<Outcome[]> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LockKey.append]);
      const streamIds = [...new Set(batch.map((append) => append.streamId))];
      const streams = await client.query<{ stream_id: string; revision: string; last_hash: string }>(
        'SELECT stream_id, revision, last_hash FROM es_streams WHERE stream_id = ANY($1::text[])',
        [streamIds],
      );
      const head = await client.query<{ head: string }>('SELECT coalesce(max(position), 0) AS head FROM es_events');

      const state = new Map(streams.rows.map((row) => [row.stream_id, { revision: Number(row.revision), hash: row.last_hash as string | null, position: 0 }]));
      const touched = new Set<string>();
      let position = Number(head.rows[0]!.head);
      const outcomes: Outcome[] = [];
      const written: RecordedEvent[] = [];
      for (const append of batch) {
        const current = state.get(append.streamId) ?? { revision: -1, hash: null, position: 0 };
        if (!revisionMatches(append.expected, current.revision)) {
          outcomes.push({ ok: false, error: new WrongExpectedRevisionError(append.streamId, append.expected, current.revision) });
          continue;
        }
        const sealed = sealEvents(append.streamId, append.prepared, current, position + 1);
        const last = sealed[sealed.length - 1]!;
        position = last.position;
        state.set(append.streamId, { revision: last.revision, hash: last.hash, position: last.position });
        touched.add(append.streamId);
        written.push(...sealed);
        outcomes.push({ ok: true, result: { nextExpectedRevision: last.revision, position: last.position, events: sealed } });
      }

      if (written.length > 0) {
        await client.query(
          `INSERT INTO es_events (position, stream_id, revision, event_id, type, version, data, metadata, hash)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::text[])`,
          [
            written.map((e) => e.position),
            written.map((e) => e.streamId),
            written.map((e) => e.revision),
            written.map((e) => e.metadata.eventId),
            written.map((e) => e.type),
            written.map((e) => e.version),
            written.map((e) => JSON.stringify(e.data)),
            written.map((e) => JSON.stringify(e.metadata)),
            written.map((e) => e.hash),
          ],
        );
        const streamRows = [...touched].map((id) => ({ id, ...state.get(id)! }));
        await client.query(
          `INSERT INTO es_streams (stream_id, revision, last_hash, last_position)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
           ON CONFLICT (stream_id) DO UPDATE
             SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash, last_position = EXCLUDED.last_position`,
          [streamRows.map((s) => s.id), streamRows.map((s) => s.revision), streamRows.map((s) => s.hash), streamRows.map((s) => s.position)],
        );
        await client.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, String(position)]);
        if (this.#beforeCommit) await this.#beforeCommit(written);
      }
      await client.query('COMMIT');
      return outcomes;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  // Reading --------------------------------------------------------------------------------------

  #toRecorded(row: EventRow, upcast = true): RecordedEvent {
    const base = {
      streamId: row.stream_id,
      revision: Number(row.revision),
      position: Number(row.position),
      metadata: row.metadata,
      hash: row.hash,
      type: row.type,
    };
    if (!upcast) return { ...base, version: row.version, data: row.data };
    const { version, data } = this.#catalogue.upcast(row.type, row.version, row.data);
    return { ...base, version, data };
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      throw isConnectionError(error) ? unavailable(error) : error;
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.#query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
      [streamId, options.fromRevision ?? 0, options.maxCount ?? null],
    );
    return rows.map((row) => this.#toRecorded(row, options.upcast !== false));
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.#query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events
        WHERE position > $1
          AND ($2::text[] IS NULL OR type = ANY($2::text[]))
          AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS p WHERE starts_with(stream_id, p)))
        ORDER BY position
        LIMIT $4`,
      [options.after ?? 0, options.filter?.types ?? null, options.filter?.streamPrefixes ?? null, options.maxCount ?? 1000],
    );
    return rows.map((row) => this.#toRecorded(row));
  }

  async headPosition(): Promise<number> {
    const { rows } = await this.#query<{ head: string }>('SELECT coalesce(max(position), 0) AS head FROM es_events', []);
    return Number(rows[0]!.head);
  }

  // Subscribing ----------------------------------------------------------------------------------

  async *subscribeToAll(options: SubscribeOptions = {}): AsyncGenerator<SubscriptionBatch> {
    const maxBatch = options.maxBatch ?? 500;
    const signal = options.signal;
    let position = options.after ?? 0;
    let announcedCaughtUp = false;
    let failures = 0;
    while (!this.#closed && !signal?.aborted) {
      const seen = this.#notifications;
      let events: RecordedEvent[];
      try {
        void this.#ensureListener();
        events = await this.readAll({ after: position, maxCount: maxBatch });
        failures = 0;
      } catch (error) {
        if (!(error instanceof EventStoreError && error.code === 'ERR_EVENT_STORE_UNAVAILABLE')) throw error;
        // The database is away: keep the checkpoint and try again, backing off to 5 s.
        failures += 1;
        await this.#sleep(Math.min(5000, 100 * 2 ** failures), signal);
        continue;
      }
      if (events.length > 0) {
        position = events[events.length - 1]!.position;
        const caughtUp = events.length < maxBatch;
        announcedCaughtUp = caughtUp;
        yield { events: events.filter((event) => matchesFilter(options.filter, event)), position, caughtUp };
        continue;
      }
      if (!announcedCaughtUp) {
        announcedCaughtUp = true;
        yield { events: [], position, caughtUp: true };
        continue;
      }
      await this.#waitForAppend(seen, signal);
    }
  }

  /** Resolves on the next NOTIFY after `seen`, on the poll interval, or on abort. */
  #waitForAppend(seen: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#notifications !== seen || this.#closed) return Promise.resolve();
    return this.#sleep(this.#pollIntervalMs, signal, true);
  }

  #sleep(ms: number, signal: AbortSignal | undefined, wakeOnNotify = false): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (wakeOnNotify) this.#wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  #ensureListener(): Promise<void> {
    if (this.#listener || this.#closed) return Promise.resolve();
    this.#listenerStarting ??= (async () => {
      const client = new pg.Client({ ...(this.#pool.options as pg.ClientConfig), application_name: 'warrant-listen' });
      client.on('notification', () => {
        this.#notifications += 1;
        this.#wakeAll();
      });
      const drop = () => {
        if (this.#listener === client) this.#listener = undefined;
        client.end().catch(() => undefined);
      };
      client.on('error', drop);
      client.on('end', drop);
      try {
        await client.connect();
        await client.query(`LISTEN ${EVENTS_CHANNEL}`);
        if (this.#closed) {
          await client.end();
          return;
        }
        this.#listener = client;
        // Anything appended while we were connecting was missed: wake readers to look.
        this.#notifications += 1;
        this.#wakeAll();
      } catch {
        await client.end().catch(() => undefined);
        // Polling covers the gap; the next read tries to listen again.
      }
    })().finally(() => {
      this.#listenerStarting = undefined;
    });
    return this.#listenerStarting;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#draining;
    await this.#listenerStarting;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
    this.#wakeAll();
  }
}
