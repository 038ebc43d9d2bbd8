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
// expected-revision check; one caller's conflict never fails another's events. A batch that only
// starts new streams (token families, codes, device requests: the hot path) needs nothing read
// first and is sent as one round trip; the chain's hashes do not cover positions, so they are
// computed before the positions are known.

import pg from 'pg';
import type { EventCatalogue } from '../events/catalogue.js';
import { warrantEvents } from '../events/catalogue.js';
import { LOCK_NAMESPACE, LockKey } from '../db/locks.js';
import { ChannelListener } from '../db/listen.js';
import { corked, settle } from '../db/pipeline.js';
import {
  EventStoreError,
  NO_STREAM,
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
import { prepareEvents, sealEvents, type Clock, type PreparedEvent, type SealedEvent } from './seal.js';

export const EVENTS_CHANNEL = 'warrant_events';

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

/**
 * One event as a row of the JSON document an append inserts with jsonb_to_recordset: the event
 * JSON goes in as it is, with no array-literal escaping, and PostgreSQL parses it once. `lead`
 * places it (its position, or its order in the batch).
 */
function eventRow(e: SealedEvent, lead: string): string {
  return `{${lead},"stream_id":${JSON.stringify(e.streamId)},"revision":${e.revision},"event_id":${JSON.stringify(e.metadata.eventId)},"type":${JSON.stringify(e.type)},"version":${e.version},"data":${e.dataJson},"metadata":${e.metadataJson},"hash":"${e.hash}"}`;
}

export class PostgresEventStore implements EventStore {
  readonly #pool: pg.Pool;
  readonly #catalogue: EventCatalogue;
  readonly #clock: Clock;
  readonly #maxBatch: number;
  readonly #pollIntervalMs: number;
  readonly #beforeCommit: PostgresEventStoreOptions['beforeCommit'];

  #queue: PendingAppend[] = [];
  /** Append connections ("lanes") and whether each has a transaction in flight. */
  readonly #lanes: (pg.Client | undefined)[];
  readonly #busy: boolean[];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #pages = new Map<string, Promise<RecordedEvent[]>>();
  #closed = false;

  // LISTEN connection shared by every subscription of this store.
  readonly #listener: ChannelListener;
  #notifications = 0;
  #wakers = new Set<() => void>();

  constructor(options: PostgresEventStoreOptions) {
    this.#pool = options.pool;
    this.#catalogue = options.catalogue ?? warrantEvents;
    this.#clock = options.clock ?? (() => new Date());
    this.#maxBatch = options.maxBatch ?? 500;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#beforeCommit = options.beforeCommit;
    this.#listener = new ChannelListener({
      config: this.#pool.options as pg.ClientConfig,
      channel: EVENTS_CHANNEL,
      applicationName: 'warrant-listen',
      onNotification: () => {
        this.#notifications += 1;
        this.#wakeAll();
      },
      // Anything appended while connecting was missed: wake readers to look.
      onListening: () => {
        this.#notifications += 1;
        this.#wakeAll();
      },
    });
    this.#lanes = Array.from({ length: options.lanes ?? 1 }, () => undefined);
    this.#busy = this.#lanes.map(() => false);
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
      this.#pump();
    });
  }

  /**
   * Starts a batch on every idle lane. Two lanes (connections) keep the next transaction waiting
   * on the append lock inside PostgreSQL while the current one commits, so the lock is never
   * idle for a round trip; the lock still serializes them, so ordering is unchanged.
   */
  #pump(): void {
    for (let lane = 0; lane < this.#lanes.length && this.#queue.length > 0; lane += 1) {
      if (this.#busy[lane]) continue;
      this.#busy[lane] = true;
      const done: Promise<void> = this.#writeNextBatch(lane).finally(() => {
        this.#busy[lane] = false;
        this.#inFlight.delete(done);
        this.#pump();
      });
      this.#inFlight.add(done);
    }
  }

  async #writeNextBatch(lane: number): Promise<void> {
    const batch = this.#takeBatch();
    let outcomes: Outcome[];
    try {
      outcomes = await this.#write(lane, batch);
    } catch (error) {
      if (batch.length > 1 && !isConnectionError(error)) {
        // Something in one append broke the whole transaction (e.g. a duplicate event id):
        // write them one by one so only the faulty append fails.
        outcomes = [];
        for (const append of batch) {
          try {
            outcomes.push(...(await this.#write(lane, [append])));
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

  /** A lane's connection, in pipeline mode (a batch of new streams is one round trip, any other batch two). */
  async #laneClient(lane: number): Promise<pg.Client> {
    const existing = this.#lanes[lane];
    if (existing) return existing;
    const client = new pg.Client({ ...(this.#pool.options as pg.ClientConfig), pipeline: true, application_name: 'warrant-append' } as pg.ClientConfig);
    client.on('error', () => this.#dropLane(lane, client));
    client.on('end', () => this.#dropLane(lane, client));
    await client.connect();
    this.#lanes[lane] = client;
    return client;
  }

  #dropLane(lane: number, client: pg.Client): void {
    if (this.#lanes[lane] === client) this.#lanes[lane] = undefined;
    client.end().catch(() => undefined);
  }

  async #write(lane: number, batch: readonly PendingAppend[]): Promise<Outcome[]> {
    const client = await this.#laneClient(lane);
    try {
      return await this.#transact(client, batch);
    } catch (error) {
      if (isConnectionError(error)) this.#dropLane(lane, client);
      throw error;
    }
  }

  async #transact(client: pg.Client, batch: readonly PendingAppend[]): Promise<Outcome[]> {
    // The hottest appends start new streams (a token family, a code, a device request): then
    // nothing needs reading first, and the batch is one round trip. If a stream turns out to
    // exist, or anything else fails, nothing was written and the general path decides per append.
    if (batch.every((append) => append.expected === NO_STREAM) && new Set(batch.map((append) => append.streamId)).size === batch.length) {
      const outcomes = await this.#transactNewStreams(client, batch);
      if (outcomes) return outcomes;
    }
    return this.#transactGeneral(client, batch);
  }

  /**
   * One round trip: begin, take the append lock, insert every event at positions counted on from
   * the log's head (read by the INSERT itself, after the lock is held: READ COMMITTED gives each
   * statement a fresh snapshot), create the streams (a plain INSERT, so an existing stream fails
   * the transaction), notify, commit. Undefined when the transaction did not commit.
   */
  async #transactNewStreams(client: pg.Client, batch: readonly PendingAppend[]): Promise<Outcome[] | undefined> {
    const sealed = batch.map((append) => sealEvents(append.streamId, append.prepared, { revision: -1, hash: null }, 0));
    const written = sealed.flat();
    const rows = written.map((e, i) => eventRow(e, `"ord":${i + 1}`));
    const heads = sealed.map((events) => events[events.length - 1]!);
    const sent = corked(client, () => [
      client.query('BEGIN'),
      client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LockKey.append]),
      client.query<{ position: string; event_id: string }>(
        `INSERT INTO es_events (position, stream_id, revision, event_id, type, version, data, metadata, hash)
         SELECT (SELECT coalesce(max(position), 0) FROM es_events) + e.ord, e.stream_id, e.revision, e.event_id, e.type, e.version, e.data, e.metadata, e.hash
           FROM jsonb_to_recordset($1::jsonb) AS e(ord bigint, stream_id text, revision bigint, event_id uuid, type text,
                                                  version int, data jsonb, metadata jsonb, hash text)
         RETURNING position, event_id`,
        [`[${rows.join(',')}]`],
      ),
      client.query(
        `INSERT INTO es_streams (stream_id, revision, last_hash, last_position)
         SELECT s.id, s.revision, s.hash, e.position
           FROM unnest($1::text[], $2::bigint[], $3::text[], $4::uuid[]) AS s(id, revision, hash, last_event)
           JOIN es_events e ON e.event_id = s.last_event`,
        [heads.map((e) => e.streamId), heads.map((e) => e.revision), heads.map((e) => e.hash), heads.map((e) => e.metadata.eventId)],
      ),
      client.query("SELECT pg_notify($1, (SELECT max(position) FROM es_events)::text)", [EVENTS_CHANNEL]),
    ] as const);
    let inserted: pg.QueryResult<{ position: string; event_id: string }>;
    try {
      if (this.#beforeCommit) {
        [, , inserted] = await settle(sent);
        // Positions are known now; the hook sees the events as they will be committed.
        const at = new Map(inserted.rows.map((row) => [row.event_id, Number(row.position)]));
        await this.#beforeCommit(written.map((e) => ({ ...e, position: at.get(e.metadata.eventId)! })));
        const commit = await client.query('COMMIT');
        if (commit.command !== 'COMMIT') return undefined;
      } else {
        const results = await settle([...sent, client.query('COMMIT')]);
        inserted = results[2] as pg.QueryResult<{ position: string; event_id: string }>;
        if ((results[5] as pg.QueryResult).command !== 'COMMIT') return undefined;
      }
    } catch (error) {
      if (isConnectionError(error)) throw error;
      await client.query('ROLLBACK').catch(() => undefined);
      return undefined;
    }
    const at = new Map(inserted.rows.map((row) => [row.event_id, Number(row.position)]));
    return sealed.map((events) => {
      const recorded = events.map(({ dataJson: _d, metadataJson: _m, ...event }) => ({ ...event, position: at.get(event.metadata.eventId)! }));
      const last = recorded[recorded.length - 1]!;
      return { ok: true, result: { nextExpectedRevision: last.revision, position: last.position, events: recorded } };
    });
  }

  async #transactGeneral(client: pg.Client, batch: readonly PendingAppend[]): Promise<Outcome[]> {
    // Round trip 1: begin, take the append lock, read the streams' heads and the log's head.
    const streamIds = [...new Set(batch.map((append) => append.streamId))];
    const [, , streams, head] = await settle(corked(client, () => [
      client.query('BEGIN'),
      client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LockKey.append]),
      client.query<{ stream_id: string; revision: string; last_hash: string }>(
        'SELECT stream_id, revision, last_hash FROM es_streams WHERE stream_id = ANY($1::text[])',
        [streamIds],
      ),
      client.query<{ head: string }>('SELECT coalesce(max(position), 0) AS head FROM es_events'),
    ] as const)).catch(async (error: unknown) => {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    });

    const state = new Map(streams.rows.map((row) => [row.stream_id, { revision: Number(row.revision), hash: row.last_hash as string | null, position: 0 }]));
    const touched = new Set<string>();
    let position = Number(head.rows[0]!.head);
    const outcomes: Outcome[] = [];
    const written: SealedEvent[] = [];
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
      const events = sealed.map(({ dataJson: _d, metadataJson: _m, ...event }) => event);
      outcomes.push({ ok: true, result: { nextExpectedRevision: last.revision, position: last.position, events } });
    }
    if (written.length === 0) {
      await client.query('ROLLBACK');
      return outcomes;
    }

    // Round trip 2 (and 3): insert events, move stream heads, notify subscribers, commit. COMMIT
    // of a transaction in which anything failed rolls back, so nothing is half-written.
    const streamRows = [...touched].map((id) => ({ id, ...state.get(id)! }));
    const writes = corked(client, () => [
      client.query(
        `INSERT INTO es_events (position, stream_id, revision, event_id, type, version, data, metadata, hash)
         SELECT position, stream_id, revision, event_id, type, version, data, metadata, hash
           FROM jsonb_to_recordset($1::jsonb) AS e(position bigint, stream_id text, revision bigint, event_id uuid, type text,
                                                  version int, data jsonb, metadata jsonb, hash text)`,
        [
          `[${written.map((e) => eventRow(e, `"position":${e.position}`)).join(',')}]`,
        ],
      ),
      client.query(
        `INSERT INTO es_streams (stream_id, revision, last_hash, last_position)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
         ON CONFLICT (stream_id) DO UPDATE
           SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash, last_position = EXCLUDED.last_position`,
        [streamRows.map((r) => r.id), streamRows.map((r) => r.revision), streamRows.map((r) => r.hash), streamRows.map((r) => r.position)],
      ),
      client.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, String(position)]),
    ]);
    if (this.#beforeCommit) {
      await settle(writes).catch(async (error: unknown) => {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      });
      try {
        await this.#beforeCommit(written);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      writes.length = 0;
    }
    const results = await settle([...writes, client.query('COMMIT')]);
    const commit = results[results.length - 1] as pg.QueryResult;
    if (commit.command !== 'COMMIT') throw new EventStoreError('ERR_INVALID_APPEND', 'append transaction was rolled back');
    return outcomes;
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
    const filter = options.filter;
    const { rows } = await this.#query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events
        WHERE position > $1
          AND ($2::text[] IS NULL OR type = ANY($2::text[]))
          AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS p WHERE starts_with(stream_id, p)))
          AND ($5::jsonb IS NULL OR data @> $5::jsonb)
          AND ($6::text IS NULL OR metadata->>'occurredAt' >= $6::text)
          AND ($7::text IS NULL OR metadata->>'occurredAt' < $7::text)
        ORDER BY position
        LIMIT $4`,
      [
        options.after ?? 0,
        filter?.types ?? null,
        filter?.streamPrefixes ?? null,
        options.maxCount ?? 1000,
        filter?.data ? JSON.stringify(filter.data) : null,
        filter?.since ?? null,
        filter?.until ?? null,
      ],
    );
    return rows.map((row) => this.#toRecorded(row, options.upcast !== false));
  }

  /**
   * Unfiltered page for subscriptions. Subscribers in one process usually stand at the same
   * checkpoint (they wake on the same notification), so identical reads in flight are shared:
   * one query and one decode serve every projection runner.
   */
  #readPage(after: number, maxCount: number): Promise<RecordedEvent[]> {
    const key = `${after}:${maxCount}`;
    let page = this.#pages.get(key);
    if (!page) {
      page = this.readAll({ after, maxCount }).finally(() => this.#pages.delete(key));
      this.#pages.set(key, page);
    }
    return page;
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
    let lastHeartbeat = 0;
    let failures = 0;
    while (!this.#closed && !signal?.aborted) {
      const seen = this.#notifications;
      let events: RecordedEvent[];
      try {
        void this.#listener.ensure();
        events = await this.#readPage(position, maxBatch);
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
      // Caught up: say so once, then as a heartbeat at most every poll interval (a consumer may
      // have bookkeeping to do while the log is quiet).
      if (!announcedCaughtUp || Date.now() - lastHeartbeat >= this.#pollIntervalMs) {
        announcedCaughtUp = true;
        lastHeartbeat = Date.now();
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
      if (signal?.aborted) return resolve();
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

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    const lanes = this.#lanes.splice(0, this.#lanes.length, ...this.#lanes.map(() => undefined));
    await Promise.all(lanes.map((client) => client?.end().catch(() => undefined)));
    await this.#listener.close();
    this.#wakeAll();
  }
}
