// What the EventStoreDB adapter (./esdb.ts) needs besides the client: positions, deadlines,
// back-off, and a subscription's batches with its checkpoints kept in order with its events.
// Nothing here imports @eventstore/db-client.

import { EventStoreError, matchesContent, matchesFilter, type ReadAllOptions, type RecordedEvent, type SubscribeOptions, type SubscriptionBatch } from './port.js';

/** ulong.MaxValue: the position the server sends when it has none (Position.FromInt64(-1, -1)). */
export const NO_POSITION = 2n ** 64n - 1n;

/** Position of an event in $all; -1 when the server did not send one (ulong.MaxValue, before 22.10). */
export function positionOf(resolved: unknown): number {
  const event = (resolved as { event?: { position?: { prepare: bigint } } }).event;
  const prepare = event?.position?.prepare;
  if (prepare === undefined || prepare === NO_POSITION) return -1;
  if (prepare > BigInt(Number.MAX_SAFE_INTEGER)) throw unavailable(`EventStoreDB position ${prepare} exceeds 2^53`);
  return Number(prepare);
}

/** `run()`, or an unavailable error after `ms` (then `onTimeout` cancels the call; its late outcome is ignored). */
export async function withDeadline<T>(run: () => Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const running = run();
  running.catch(() => undefined);
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(unavailable(`EventStoreDB did not answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([running, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function unavailable(message: string, cause?: unknown): EventStoreError {
  return new EventStoreError('ERR_EVENT_STORE_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

export function isUnavailable(error: unknown): boolean {
  return error instanceof EventStoreError && error.code === 'ERR_EVENT_STORE_UNAVAILABLE';
}

/** The connection string's defaultDeadline (keys are case- and separator-insensitive, as the client parses them), else the client's 10 s. */
export function deadlineOf(connectionString: string): number {
  const query = connectionString.split('?')[1] ?? '';
  for (const pair of query.split('&')) {
    const [key, value] = pair.split('=');
    if (key?.trim().toLowerCase().replace(/[_-]/g, '') === 'defaultdeadline' && Number(value) > 0) return Number(value);
  }
  return 10_000;
}

/** A page of $all, system events included, from a position (undefined: the start, or backwards the end). */
export type AllPage = (direction: 'forwards' | 'backwards', from: number | undefined, count: number) => Promise<unknown[]>;
/** A resolved event as Warrant's RecordedEvent; undefined for system and foreign events. */
export type ToRecorded = (resolved: unknown, upcast?: boolean) => RecordedEvent | undefined;

const SCAN_PAGE = 500;

/**
 * $all after `options.after` (and, with `until`, up to it), a page at a time. Client 6.2.1 cannot
 * filter reads on the server, so every filter applies here, over every event read.
 */
export async function scanAll(page: AllPage, toRecorded: ToRecorded, options: ReadAllOptions, until = Number.POSITIVE_INFINITY): Promise<RecordedEvent[]> {
  const max = options.maxCount ?? 1000;
  const out: RecordedEvent[] = [];
  let after = options.after ?? 0;
  for (;;) {
    const events = await page('forwards', after > 0 ? after : undefined, SCAN_PAGE);
    for (const resolved of events) {
      const position = positionOf(resolved);
      if (position <= after) continue; // reading forwards from a position includes it
      if (position > until) return out;
      after = position;
      const event = toRecorded(resolved, options.upcast !== false);
      if (event && matchesFilter(options.filter, event) && matchesContent(options.filter, event)) out.push(event);
      if (out.length >= max) return out;
    }
    if (events.length < SCAN_PAGE) return out;
  }
}

/** The position of the last event `isWarrant` accepts, paging backwards from the end (0 when none). */
export async function findHead(page: AllPage, isWarrant: (resolved: unknown) => boolean): Promise<number> {
  let from: number | undefined;
  for (;;) {
    const events = await page('backwards', from, 100);
    for (const resolved of events) {
      from = positionOf(resolved);
      if (isWarrant(resolved)) return from;
    }
    if (events.length < 100) return 0;
  }
}

/** Milliseconds to wait before retry `attempt` of a lost race: short, growing, jittered. */
export function backoff(attempt: number): number {
  return Math.min(200, 2 ** Math.min(attempt, 8)) * Math.random();
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Checkpoints and the caught-up signal, in order with the events. The client reports both from
 * the stream's writable side while events it already decoded may still wait in its readable
 * buffer, so each is recorded with how many events must be read before it applies: the events
 * read so far plus the buffer's length at that moment.
 */
export class MarkerQueue {
  #read = 0;
  #pending: { at: number; checkpoint?: number }[] = [];
  #wake: (() => void) | undefined;
  serverCaughtUp = false;
  ended = false;
  failure: unknown;

  checkpoint(position: number, buffered: number): void {
    this.#pending.push({ at: this.#read + buffered, checkpoint: position });
    this.wake();
  }

  caughtUp(buffered: number): void {
    this.#pending.push({ at: this.#read + buffered });
    this.wake();
  }

  /** One event was read from the client's buffer. */
  read(): void {
    this.#read += 1;
  }

  /** Applies the markers that are due; returns the highest checkpoint among them (-1 if none). */
  apply(): number {
    let highest = -1;
    while (this.#pending.length > 0 && this.#pending[0]!.at <= this.#read) {
      const marker = this.#pending.shift()!;
      if (marker.checkpoint === undefined) this.serverCaughtUp = true;
      else highest = Math.max(highest, marker.checkpoint);
    }
    return highest;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure ??= error;
    this.wake();
  }

  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves true when woken, false after `timeoutMs` (never, without one). */
  wait(timeoutMs?: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => resolve(false), timeoutMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

/** What batches() needs of the client's subscription: a readable stream of resolved events. */
export interface BufferedSubscription {
  read(): unknown;
  readonly readableLength: number;
  on(event: 'readable' | 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  unsubscribe(): Promise<void>;
}

/** A caught-up subscription says so this often when nothing happens (PostgreSQL's store does the same). */
const HEARTBEAT_MS = 1000;

/**
 * A subscription's events as batches: whatever the client has buffered, up to maxBatch, after
 * `after` (the server starts after the checkpoint; anything at or before it is skipped anyway).
 * Checkpoints move the position over events the filter skipped. Ends when the store closes or the
 * signal aborts; a server that ends or breaks the call is reported as unavailable.
 */
export async function* batches(
  subscription: BufferedSubscription,
  markers: MarkerQueue,
  context: {
    after: number;
    /** The log's last event when subscribing: reaching it is being caught up. */
    head: number;
    options: SubscribeOptions;
    positionOf(resolved: unknown): number;
    toRecorded(resolved: unknown): RecordedEvent | undefined;
    closed(): boolean;
    mapError(error: unknown): unknown;
  },
): AsyncGenerator<SubscriptionBatch> {
  const { options } = context;
  const maxBatch = options.maxBatch ?? 500;
  const stopped = () => context.closed() || !!options.signal?.aborted;
  let position = context.after;
  let caughtUp = context.head <= position;
  if (caughtUp) yield { events: [], position, caughtUp };
  subscription.on('readable', () => markers.wake());
  subscription.on('end', () => markers.end());
  subscription.on('error', (error) => markers.fail(error));
  const stop = () => markers.end();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    while (!stopped()) {
      const events: RecordedEvent[] = [];
      let seen = position;
      for (let taken = 0; taken < maxBatch; taken += 1) {
        seen = Math.max(seen, markers.apply());
        const resolved = subscription.read();
        if (resolved === null) break;
        markers.read();
        const at = context.positionOf(resolved);
        if (at <= seen) continue;
        seen = at;
        const event = context.toRecorded(resolved);
        if (event && matchesFilter(options.filter, event)) events.push(event);
      }
      seen = Math.max(seen, markers.apply());
      caughtUp ||= seen >= context.head || markers.serverCaughtUp;
      if (seen > position || events.length > 0) {
        position = seen;
        yield { events, position, caughtUp };
        continue;
      }
      if (markers.failure) throw context.mapError(markers.failure);
      if (markers.ended) break;
      if (!(await markers.wait(caughtUp ? HEARTBEAT_MS : undefined)) && caughtUp) yield { events: [], position, caughtUp };
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await subscription.unsubscribe().catch(() => undefined);
  }
  if (!stopped()) throw unavailable('EventStoreDB ended the subscription');
}

/** Follows `follow(after)` from the checkpoint on; when it fails as unavailable, follows again from the last position delivered. */
export async function* resubscribing(
  follow: (after: number) => AsyncGenerator<SubscriptionBatch>,
  options: SubscribeOptions,
  closed: () => boolean,
): AsyncGenerator<SubscriptionBatch> {
  let position = options.after ?? 0;
  let failures = 0;
  while (!closed() && !options.signal?.aborted) {
    try {
      for await (const batch of follow(position)) {
        failures = 0;
        position = batch.position;
        yield batch;
      }
      return;
    } catch (error) {
      if (closed() || options.signal?.aborted) return;
      if (!isUnavailable(error)) throw error;
      failures += 1;
      await sleep(Math.min(5000, 100 * 2 ** failures), options.signal);
    }
  }
}
