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
// - Inline mode (the PostgreSQL store, which applies projections in its append transactions,
//   src/eventstore/postgres/inline.ts): the runner does not follow the log; it checks now and then
//   that its checkpoint is at the head, and when it is not (an append could not apply it inline),
//   applies what is missing, by the same compare-and-set.

import pg from 'pg';
import { LOCK_NAMESPACE } from '../src/db/locks.js';
import { corked } from '../src/db/pipeline.js';
import type { EventStore, SubscriptionBatch } from '../src/eventstore/port.js';
import type { Logger } from '../src/logger.js';
import { silentLogger } from '../src/logger.js';
import { prepared, statementsFor, type Projection } from './types.js';

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
  /** How long the checkpoint may trail over events this projection ignores (default 1000 ms). */
  idleCheckpointMs?: number;
  /** Appends apply this projection inline: only catch up when the checkpoint falls behind. */
  inline?: boolean;
  /** Inline mode: how often the checkpoint is compared with the head (default 200 ms). */
  checkIntervalMs?: number;
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
  readonly #idleCheckpointMs: number;
  readonly #types: Set<string>;
  readonly #inline: boolean;
  readonly #checkIntervalMs: number;

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
    this.#idleCheckpointMs = options.idleCheckpointMs ?? 1000;
    this.#types = new Set(options.projection.eventTypes);
    this.#inline = options.inline ?? false;
    this.#checkIntervalMs = options.checkIntervalMs ?? 200;
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
      // Its own connection, not a pooled one: the session holds the election lock (closing it
      // releases the lock, even when the process dies), and pipeline mode sends a whole batch
      // of statements in one round trip.
      const client = new pg.Client({
        ...(this.#pool.options as pg.ClientConfig),
        pipeline: true,
        application_name: `warrant-projection-${this.#projection.name}`,
      } as pg.ClientConfig);
      // An error on an idle connection would otherwise crash the process.
      client.on('error', (error) => this.#logger.warn({ err: error }, 'projection connection failed'));
      let wait = this.#takeoverIntervalMs;
      try {
        await client.connect();
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [
          LOCK_NAMESPACE,
          `projection:${this.#projection.name}`,
        ]);
        if (rows[0]!.locked) {
          this.#status.active = true;
          this.#logger.info('projection runner active');
          const onSuccess = () => {
            failures = 0;
          };
          await (this.#inline ? this.#catchUp(client, signal, onSuccess) : this.#follow(client, signal, onSuccess));
        }
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        this.#status.lastError = (error as Error).message;
        const level = error instanceof CheckpointMovedError ? 'info' : 'error';
        this.#logger[level]({ err: error, failures }, 'projection batch failed; retrying from the stored checkpoint');
        wait = Math.min(30_000, this.#retryDelayMs * 2 ** Math.min(failures - 1, 10));
      } finally {
        this.#status.active = false;
        await client.end().catch(() => undefined);
      }
      await sleep(wait, signal);
    }
  }

  /** Inline mode: apply only what appends could not, whenever the checkpoint trails the head. */
  async #catchUp(client: pg.Client, signal: AbortSignal, onSuccess: () => void): Promise<void> {
    const name = this.#projection.name;
    await client.query('INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING', [name]);
    while (!signal.aborted) {
      // The head first: an append moves the head and (inline) the checkpoint in one commit, so a
      // checkpoint read after the head is at least that head unless this projection is truly behind.
      const head = await this.#store.headPosition();
      const { rows } = await client.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [name]);
      const position = Number(rows[0]!.position);
      this.#status.position = Math.max(this.#status.position, position);
      if (position >= head) {
        this.#status.caughtUp = true;
        this.#status.lastError = null;
        onSuccess();
        await sleep(this.#checkIntervalMs, signal);
        continue;
      }
      this.#status.caughtUp = false;
      const events = await this.#store.readAll({ after: position, maxCount: this.#maxBatch, filter: { types: [...this.#types] } });
      const upTo = events.length === this.#maxBatch ? events.at(-1)!.position : head;
      try {
        await this.#apply(client, { events: events.filter((event) => event.position <= upTo), position: upTo, caughtUp: upTo >= head }, position);
      } catch (error) {
        // An append applied it inline meanwhile: look again.
        if (error instanceof CheckpointMovedError) continue;
        throw error;
      }
      this.#status.position = upTo;
      this.#status.lastError = null;
      onSuccess();
    }
  }

  async #follow(client: pg.Client, signal: AbortSignal, onSuccess: () => void): Promise<void> {
    const name = this.#projection.name;
    await client.query('INSERT INTO projection_checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING', [name]);
    const { rows } = await client.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [name]);
    let position = Number(rows[0]!.position);
    this.#status.position = position;
    // `stored` is the checkpoint in the table (the compare-and-set value); `seen` may run ahead of
    // it over events this projection ignores, which need no transaction of their own: they are
    // written with the next relevant batch, or after idleCheckpointMs (re-reading ignored events
    // after a crash is harmless). Writers wait only for projections that handle their events.
    let stored = position;
    let seen = position;
    let lastWrite = Date.now();
    for await (const batch of this.#store.subscribeToAll({
      after: position,
      filter: { types: [...this.#types] },
      signal,
      maxBatch: this.#maxBatch,
    })) {
      if (batch.position > seen) {
        seen = batch.position;
        if (batch.events.length > 0) {
          await this.#apply(client, batch, stored);
          stored = seen;
          lastWrite = Date.now();
        }
      }
      if (seen > stored && Date.now() - lastWrite >= this.#idleCheckpointMs) {
        await this.#apply(client, { events: [], position: seen, caughtUp: batch.caughtUp }, stored);
        stored = seen;
        lastWrite = Date.now();
      }
      if (stored > this.#status.position) {
        this.#status.position = stored;
        this.#status.lastError = null;
        onSuccess();
      }
      this.#status.caughtUp = batch.caughtUp && seen === stored;
    }
  }

  async #apply(client: pg.Client, batch: SubscriptionBatch, from: number): Promise<void> {
    const name = this.#projection.name;
    // Everything up to the checkpoint check goes out at once (pipeline mode); COMMIT is sent
    // only after the compare-and-set is known to have moved exactly one row.
    const statements = statementsFor(this.#projection, batch.events);
    const sent = corked(client, () => [
      client.query('BEGIN'),
      client.query(
        'UPDATE projection_checkpoints SET position = $3, updated_at = now(), last_error = NULL WHERE name = $1 AND position = $2',
        [name, from, batch.position],
      ),
      ...statements.map((statement) => client.query(prepared(statement))),
      client.query('SELECT pg_notify($1, $2)', [PROJECTIONS_CHANNEL, `${name}:${batch.position}`]),
    ]);
    const results = await Promise.allSettled(sent);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const checkpoint = results[1]!;
    const moved = checkpoint.status === 'fulfilled' ? checkpoint.value.rowCount : 0;
    if (failed || moved !== 1) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw failed ? failed.reason : new CheckpointMovedError(`checkpoint of ${name} moved away from ${from}`);
    }
    await client.query('COMMIT');
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
