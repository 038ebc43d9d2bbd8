// Subscriptions to the whole log from a checkpoint: catch up page by page, then follow live,
// woken by the NOTIFY every append sends (one LISTEN connection per store) or by polling.

import type pg from 'pg';
import { ChannelListener } from '../../db/listen.js';
import { EventStoreError, matchesFilter, type RecordedEvent, type SubscribeOptions, type SubscriptionBatch } from '../port.js';
import { EVENTS_CHANNEL } from './append.js';

export interface SubscriptionsOptions {
  /** Where the LISTEN connection connects: the pool's connection settings. */
  pool: pg.Pool;
  /** Subscribers re-read at least this often even without a notification. */
  pollIntervalMs: number;
  /** The unfiltered page after a position (shared between subscribers at the same checkpoint). */
  readPage: (after: number, maxCount: number) => Promise<RecordedEvent[]>;
  /** Whether the store is closed: subscriptions end, and stop waiting, once it is. */
  closed: () => boolean;
}

export class Subscriptions {
  readonly #pollIntervalMs: number;
  readonly #readPage: SubscriptionsOptions['readPage'];
  readonly #closed: () => boolean;

  // LISTEN connection shared by every subscription of this store.
  readonly #listener: ChannelListener;
  #notifications = 0;
  #wakers = new Set<() => void>();

  constructor(options: SubscriptionsOptions) {
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#readPage = options.readPage;
    this.#closed = options.closed;
    this.#listener = new ChannelListener({
      config: options.pool.options as pg.ClientConfig,
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
  }

  async *subscribeToAll(options: SubscribeOptions = {}): AsyncGenerator<SubscriptionBatch> {
    const maxBatch = options.maxBatch ?? 500;
    const signal = options.signal;
    let position = options.after ?? 0;
    let announcedCaughtUp = false;
    let lastHeartbeat = 0;
    let failures = 0;
    while (!this.#closed() && !signal?.aborted) {
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
    if (this.#notifications !== seen || this.#closed()) return Promise.resolve();
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

  /** Closes the LISTEN connection and wakes every waiting subscriber (the store is closed by now). */
  async close(): Promise<void> {
    await this.#listener.close();
    this.#wakeAll();
  }
}
