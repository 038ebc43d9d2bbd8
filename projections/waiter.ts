// Lets a writer wait until its event has been applied to the read models (DESIGN §5): a
// revocation answers only after every validation in every process would reject the token.
//
// Checkpoints are learned from NOTIFY `warrant_projections` (sent by the runner's transaction,
// so delivered only after it committed) and, as a fallback, by polling projection_checkpoints.

import type pg from 'pg';
import { readCheckpoints } from './checkpoints.js';
import { ChannelListener } from '../src/db/listen.js';
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

interface Pending {
  position: number;
  names: readonly string[];
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class ProjectionWaiter {
  readonly #pool: pg.Pool;
  readonly #names: readonly string[];
  readonly #pollIntervalMs: number;
  readonly #timeoutMs: number;
  readonly #known = new Map<string, number>();
  /** Waiting writers, ascending by position: one notification settles a prefix of them. */
  readonly #pending: Pending[] = [];
  #poller: NodeJS.Timeout | undefined;
  #lastNotification = 0;
  readonly #listener: ChannelListener;
  #closed = false;

  constructor(options: ProjectionWaiterOptions) {
    this.#pool = options.pool;
    this.#names = options.projections;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#listener = new ChannelListener({
      config: options.pool.options as pg.ClientConfig,
      channel: PROJECTIONS_CHANNEL,
      applicationName: 'warrant-wait',
      onNotification: (payload) => {
        this.#lastNotification = Date.now();
        const at = payload.lastIndexOf(':');
        if (at > 0) this.#learn(payload.slice(0, at), Number(payload.slice(at + 1)));
        this.#settle();
      },
    });
  }

  #satisfied(position: number, names: readonly string[]): boolean {
    return names.every((name) => (this.#known.get(name) ?? 0) >= position);
  }

  /** Resolves once every named projection has applied everything up to `position`. */
  async waitFor(position: number, options: { projections?: readonly string[]; timeoutMs?: number } = {}): Promise<void> {
    const names = options.projections ?? this.#names;
    if (this.#satisfied(position, names)) return;
    if (this.#closed) throw new ProjectionTimeoutError(position, [...names]);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    // While the listener is connected every checkpoint move reaches #known by notification, so
    // the table need only be read when listening starts (or is not possible).
    const wasListening = this.#listener.listening;
    await this.#listener.ensure();
    if (!wasListening || !this.#listener.listening) await this.refresh().catch(() => undefined);
    if (this.#satisfied(position, names)) return;
    await new Promise<void>((resolve, reject) => {
      const entry: Pending = {
        position,
        names,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#remove(entry);
          reject(new ProjectionTimeoutError(position, names.filter((name) => (this.#known.get(name) ?? 0) < position)));
        }, timeoutMs),
      };
      let at = this.#pending.length;
      while (at > 0 && this.#pending[at - 1]!.position > position) at -= 1;
      this.#pending.splice(at, 0, entry);
      this.#startPolling();
    });
  }

  #remove(entry: Pending): void {
    const at = this.#pending.indexOf(entry);
    if (at >= 0) this.#pending.splice(at, 1);
    if (this.#pending.length === 0) this.#stopPolling();
  }

  #settle(): void {
    const highest = Math.max(0, ...this.#known.values());
    for (let i = 0; i < this.#pending.length; ) {
      const entry = this.#pending[i]!;
      if (entry.position > highest) break;
      if (this.#satisfied(entry.position, entry.names)) {
        this.#pending.splice(i, 1);
        clearTimeout(entry.timer);
        entry.resolve();
      } else {
        i += 1;
      }
    }
    if (this.#pending.length === 0) this.#stopPolling();
  }

  /** The fallback for a lost or silent LISTEN connection: read the table while anyone waits. */
  #startPolling(): void {
    this.#poller ??= setInterval(() => {
      if (this.#listener.listening && Date.now() - this.#lastNotification < this.#pollIntervalMs) return;
      void this.#listener.ensure();
      this.refresh().catch(() => undefined);
    }, this.#pollIntervalMs);
  }

  #stopPolling(): void {
    clearInterval(this.#poller);
    this.#poller = undefined;
  }

  /**
   * What this process knows of one projection's checkpoint, and under which LISTEN epoch (0 when
   * not listening: then nothing learned here is known to be current). While the epoch is
   * unchanged, every later commit of the projection raises the position once its notification
   * arrives — before any writer in this process that waited for it is answered.
   */
  known(name: string): { position: number; epoch: number } {
    return { position: this.#known.get(name) ?? -1, epoch: this.#listener.epoch };
  }

  /** Starts listening if not yet (waitFor does so too); never throws. */
  listen(): Promise<void> {
    return this.#closed ? Promise.resolve() : this.#listener.ensure();
  }

  /** Reads every checkpoint from the database. */
  async refresh(): Promise<Map<string, number>> {
    // The table is the truth (a rebuild may even have moved a checkpoint).
    for (const [name, checkpoint] of await readCheckpoints(this.#pool)) this.#known.set(name, checkpoint.position);
    this.#settle();
    return new Map(this.#known);
  }

  /** From a notification: checkpoints of one runner arrive in commit order, so keep the highest. */
  #learn(name: string, position: number): void {
    if (Number.isSafeInteger(position) && position > (this.#known.get(name) ?? -1)) this.#known.set(name, position);
  }

  /**
   * This process committed `position` with these projections applied in the same transaction
   * (inline): it knows before its own notification arrives, so a cache keyed on the checkpoint
   * (src/oauth/client-cache.ts) never serves what the writer just changed.
   */
  applied(names: readonly string[], position: number): void {
    for (const name of names) this.#learn(name, position);
    this.#settle();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopPolling();
    for (const entry of this.#pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(new ProjectionTimeoutError(entry.position, [...entry.names]));
    }
    await this.#listener.close();
  }
}
