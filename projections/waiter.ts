// Lets a writer wait until its event has been applied to the read models (DESIGN §5): a
// revocation answers only after every validation in every process would reject the token.
//
// Checkpoints are learned from NOTIFY `warrant_projections` (sent by the runner's transaction,
// so delivered only after it committed) and, as a fallback, by polling projection_checkpoints.

import pg from 'pg';
import { PROJECTIONS_CHANNEL } from './runner.js';

export class ProjectionTimeoutError extends Error {
  readonly code = 'ERR_PROJECTION_TIMEOUT';
  constructor(
    readonly position: number,
    readonly lagging: string[],
  ) {
    super(`read models did not reach position ${position} in time (lagging: ${lagging.join(', ')})`);
    this.name = 'ProjectionTimeoutError';
  }
}

export interface ProjectionWaiterOptions {
  pool: pg.Pool;
  /** Projections to wait for by default. */
  projections: readonly string[];
  pollIntervalMs?: number;
  timeoutMs?: number;
}

export class ProjectionWaiter {
  readonly #pool: pg.Pool;
  readonly #names: readonly string[];
  readonly #pollIntervalMs: number;
  readonly #timeoutMs: number;
  readonly #known = new Map<string, number>();
  readonly #wakers = new Set<() => void>();
  #listener: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(options: ProjectionWaiterOptions) {
    this.#pool = options.pool;
    this.#names = options.projections;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Resolves once every named projection has applied everything up to `position`. */
  async waitFor(position: number, options: { projections?: readonly string[]; timeoutMs?: number } = {}): Promise<void> {
    const names = options.projections ?? this.#names;
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    const lagging = () => names.filter((name) => (this.#known.get(name) ?? 0) < position);
    if (lagging().length === 0) return;
    await this.#ensureListener();
    await this.refresh();
    while (lagging().length > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed) throw new ProjectionTimeoutError(position, lagging());
      const woken = await this.#sleep(Math.min(left, this.#pollIntervalMs));
      // A notification already updated #known; the poll covers a lost LISTEN connection.
      if (!woken || !this.#listener) await this.refresh().catch(() => undefined);
    }
  }

  /** Reads every checkpoint from the database. */
  async refresh(): Promise<Map<string, number>> {
    const { rows } = await this.#pool.query<{ name: string; position: string }>('SELECT name, position FROM projection_checkpoints');
    // The table is the truth (a rebuild may even have moved a checkpoint).
    for (const row of rows) this.#known.set(row.name, Number(row.position));
    return new Map(this.#known);
  }

  /** From a notification: checkpoints of one runner arrive in commit order, so keep the highest. */
  #learn(name: string, position: number): void {
    if (Number.isSafeInteger(position) && position > (this.#known.get(name) ?? -1)) this.#known.set(name, position);
  }

  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (woken: boolean) => {
        clearTimeout(timer);
        this.#wakers.delete(onNotify);
        resolve(woken);
      };
      const onNotify = () => wake(true);
      const timer = setTimeout(() => wake(false), ms);
      this.#wakers.add(onNotify);
    });
  }

  #ensureListener(): Promise<void> {
    if (this.#listener || this.#closed) return Promise.resolve();
    this.#connecting ??= (async () => {
      const client = new pg.Client({ ...(this.#pool.options as pg.ClientConfig), application_name: 'warrant-wait' });
      client.on('notification', (message) => {
        const payload = message.payload ?? '';
        const at = payload.lastIndexOf(':');
        if (at > 0) this.#learn(payload.slice(0, at), Number(payload.slice(at + 1)));
        for (const wake of [...this.#wakers]) wake();
      });
      const drop = () => {
        if (this.#listener === client) this.#listener = undefined;
        client.end().catch(() => undefined);
      };
      client.on('error', drop);
      client.on('end', drop);
      try {
        await client.connect();
        await client.query(`LISTEN ${PROJECTIONS_CHANNEL}`);
        if (this.#closed) await client.end();
        else this.#listener = client;
      } catch {
        await client.end().catch(() => undefined);
      }
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
    for (const wake of [...this.#wakers]) wake();
  }
}
