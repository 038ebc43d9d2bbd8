// The append queue: appends arriving while a transaction is in flight wait here and are written
// together in the next one, on one of the store's own append connections ("lanes").
//
// Throughput: one lock, one INSERT, one fsync for many callers. Each append keeps its own
// expected-revision check; one caller's conflict never fails another's events.

import pg from 'pg';
import { isConnectionError } from '../../db/errors.js';
import type { AppendResult } from '../port.js';
import { transact, type AppendRequest, type BeforeCommit, type Outcome } from './append.js';
import { appendError } from './errors.js';
import type { KnownHeads } from './heads.js';
import type { InlineProjector } from './inline.js';

interface PendingAppend extends AppendRequest {
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export interface AppendQueueOptions {
  /** Where the lanes connect: the pool's connection settings. */
  pool: pg.Pool;
  /** Most events written in one transaction. */
  maxBatch: number;
  /** How many append connections are used in turn. */
  lanes: number;
  beforeCommit: BeforeCommit | undefined;
  /** Read models applied in the append transaction itself (./inline.ts). */
  inline: InlineProjector | undefined;
  /** Stream heads seen lately: appends that follow one go in one round trip (./heads.ts). */
  heads?: KnownHeads;
}

export class AppendQueue {
  readonly #pool: pg.Pool;
  readonly #maxBatch: number;
  readonly #beforeCommit: BeforeCommit | undefined;
  readonly #inline: InlineProjector | undefined;
  readonly #heads: KnownHeads | undefined;

  #queue: PendingAppend[] = [];
  /** Append connections ("lanes") and whether each has a transaction in flight. */
  readonly #lanes: (pg.Client | undefined)[];
  readonly #busy: boolean[];
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: AppendQueueOptions) {
    this.#pool = options.pool;
    this.#maxBatch = options.maxBatch;
    this.#beforeCommit = options.beforeCommit;
    this.#inline = options.inline;
    this.#heads = options.heads;
    this.#lanes = Array.from({ length: options.lanes }, () => undefined);
    this.#busy = this.#lanes.map(() => false);
  }

  /** Queues one append; settles once the transaction that carries it has committed or failed. */
  enqueue(append: AppendRequest): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.#queue.push({ ...append, resolve, reject });
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
            outcomes.push({ ok: false, error: appendError(single) });
          }
        }
      } else {
        outcomes = batch.map(() => ({ ok: false, error: appendError(error) }));
      }
    }
    batch.forEach((append, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) {
        const last = outcome.result.events[outcome.result.events.length - 1];
        if (last) this.#heads?.set(append.streamId, { revision: last.revision, hash: last.hash });
        append.resolve(outcome.result);
      } else {
        this.#heads?.forget(append.streamId);
        append.reject(outcome.error);
      }
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
      return await transact(client, batch, this.#beforeCommit, this.#inline, this.#heads);
    } catch (error) {
      if (isConnectionError(error)) this.#dropLane(lane, client);
      throw error;
    }
  }

  /** Waits for every batch in flight (and those it leaves queued), then closes the lanes. */
  async close(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    const lanes = this.#lanes.splice(0, this.#lanes.length, ...this.#lanes.map(() => undefined));
    await Promise.all(lanes.map((client) => client?.end().catch(() => undefined)));
  }
}
