// Runs one projection (DESIGN §4).
//
// - Exactly once: each batch of events and the new checkpoint are written in one transaction,
//   and the checkpoint is advanced by compare-and-set on its old value. A crash before COMMIT
//   leaves both unchanged; a second writer (or a rebuild) that moved the checkpoint makes the
//   CAS fail, and the runner starts again from the stored checkpoint.
// - One active runner per projection across processes: the runner holds a session advisory
//   lock on its own connection. When that process dies, PostgreSQL drops the connection and the
//   lock; a runner elsewhere polling pg_try_advisory_lock takes over.
// - After each commit it NOTIFYs `warrant_projections` so writers waiting for their event
//   (ProjectionWaiter) wake at once.

import type pg from 'pg';
import { LOCK_NAMESPACE } from '../src/db/locks.js';
import type { EventStore, SubscriptionBatch } from '../src/eventstore/port.js';
import type { Logger } from '../src/logger.js';
import { silentLogger } from '../src/logger.js';
import type { Projection } from './types.js';

export const PROJECTIONS_CHANNEL = 'warrant_projections';

export interface RunnerStatus {
  name: string;
  /** This runner holds the projection's lock and applies events. */
  active: boolean;
  position: number;
  caughtUp: boolean;
  lastError: string | null;
}

export interface ProjectionRunnerOptions {
  projection: Projection;
  store: EventStore;
  /** The read-model database. */
  pool: pg.Pool;
  logger?: Logger;
  /** How often a standby runner tries to take over (default 1000 ms). */
  takeoverIntervalMs?: number;
  /** First retry delay after a failed batch; doubles up to 30 s (default 500 ms). */
  retryDelayMs?: number;
  maxBatch?: number;
}

class CheckpointMovedError extends Error {
  readonly code = 'ERR_CHECKPOINT_MOVED';
}

export class ProjectionRunner {
  readonly #projection: Projection;
  readonly #store: EventStore;
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #takeoverIntervalMs: number;
  readonly #retryDelayMs: number;
  readonly #maxBatch: number;
  readonly #types: Set<string>;

  #controller = new AbortController();
  #loop: Promise<void> | undefined;
  #status: RunnerStatus;

  constructor(options: ProjectionRunnerOptions) {
    this.#projection = options.projection;
    this.#store = options.store;
    this.#pool = options.pool;
    this.#logger = (options.logger ?? silentLogger).child({ projection: options.projection.name });
    this.#takeoverIntervalMs = options.takeoverIntervalMs ?? 1000;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#types = new Set(options.projection.eventTypes);
    this.#status = { name: options.projection.name, active: false, position: 0, caughtUp: false, lastError: null };
  }

  get name(): string {
    return this.#projection.name;
  }

  status(): RunnerStatus {
    return { ...this.#status };
  }

  start(): void {
    if (this.#loop) return;
    this.#controller = new AbortController();
    this.#loop = this.#run(this.#controller.signal);
  }

  async stop(): Promise<void> {
    this.#controller.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let client: pg.PoolClient | undefined;
      let broken = false;
      try {
        client = await this.#pool.connect();
        // An error on a checked-out idle client would otherwise crash the process.
        client.on('error', (error) => this.#logger.warn({ err: error }, 'projection connection failed'));
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [
          LOCK_NAMESPACE,
          `projection:${this.#projection.name}`,
        ]);
        if (!rows[0]!.locked) {
          this.#status.active = false;
          client.release();
          client = undefined;
          await sleep(this.#takeoverIntervalMs, signal);
          continue;
        }
        this.#status.active = true;
        this.#logger.info('projection runner active');
        await this.#follow(client, signal, () => {
          failures = 0;
        });
      } catch (error) {
        broken = true;
        if (signal.aborted) break;
        failures += 1;
        this.#status.lastError = (error as Error).message;
        const level = error instanceof CheckpointMovedError ? 'info' : 'error';
        this.#logger[level]({ err: error, failures }, 'projection batch failed; retrying from the stored checkpoint');
        await sleep(Math.min(30_000, this.#retryDelayMs * 2 ** Math.min(failures - 1, 10)), signal);
      } finally {
        this.#status.active = false;
        if (client) {
          // Closing the session releases the advisory lock even if unlock cannot be sent.
          if (!broken) {
            await client
              .query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, `projection:${this.#projection.name}`])
              .catch(() => {
                broken = true;
              });
          }
          client.release(broken ? true : undefined);
        }
      }
    }
  }

  async #follow(client: pg.PoolClient, signal: AbortSignal, onSuccess: () => void): Promise<void> {
    const name = this.#projection.name;
    await client.query('INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING', [name]);
    const { rows } = await client.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [name]);
    let position = Number(rows[0]!.position);
    this.#status.position = position;
    for await (const batch of this.#store.subscribeToAll({
      after: position,
      filter: { types: [...this.#types] },
      signal,
      maxBatch: this.#maxBatch,
    })) {
      if (batch.position > position) {
        await this.#apply(client, batch, position);
        position = batch.position;
        this.#status.position = position;
        this.#status.lastError = null;
        onSuccess();
      }
      this.#status.caughtUp = batch.caughtUp;
    }
  }

  async #apply(client: pg.PoolClient, batch: SubscriptionBatch, from: number): Promise<void> {
    const name = this.#projection.name;
    await client.query('BEGIN');
    try {
      const moved = await client.query(
        'UPDATE projection_checkpoints SET position = $3, updated_at = now(), last_error = NULL WHERE name = $1 AND position = $2',
        [name, from, batch.position],
      );
      if (moved.rowCount !== 1) throw new CheckpointMovedError(`checkpoint of ${name} moved away from ${from}`);
      for (const event of batch.events) {
        for (const statement of this.#projection.handle(event)) {
          await client.query(statement.text, statement.values);
        }
      }
      await client.query('SELECT pg_notify($1, $2)', [PROJECTIONS_CHANNEL, `${name}:${batch.position}`]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
