// Limits at the endpoints that authenticate clients and people: against guessing secrets,
// passwords and device user codes — without handing an attacker a way to lock the owner out.
//
// - Failures are counted per (client, address) and per address; sign-ins per (username, address)
//   and per address. Never per client or per username alone: anyone can send a wrong secret for
//   any client id, and the owner would pay. A 256-bit secret needs no per-client lockout.
// - A username under attack from many addresses is slowed down (a growing delay before the
//   password is checked), not locked: the real user still gets in, a little later.
// - Failure counts live in PostgreSQL (`rate_limit_failures`, keys stored as keyed hashes), so n
//   nodes hold one limit: each failure adds to the shared count and learns the total. A node
//   learns that a key went over the limit elsewhere at its own next failure for that key, so n
//   nodes allow at most n − 1 extra attempts per window. A key's window starts at its first
//   failure (as a per-key timer would), not at a clock boundary.
// - A key over its limit is refused *before* any secret is checked, so the refusal tells nothing
//   about whether the next guess would have been right.
// - Plain request volume (WARRANT_RATE_LIMIT_REQUESTS, off by default) is a per-node throttle:
//   per address before authentication, per client only after it succeeded.

import type pg from 'pg';
import { OAuthError } from './errors.js';

export class TooManyRequests extends OAuthError {
  constructor(retryAfterSeconds: number, what: string) {
    // RFC 6749 has no rate-limit code; temporarily_unavailable ("cannot currently handle the
    // request due to a temporary overloading") is the registered one closest to it.
    super(429, 'temporarily_unavailable', `too many ${what}; retry after ${retryAfterSeconds} s`);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** A key's failures in its current window, which began at its first failure. */
export interface Known {
  count: number;
  resetsAt: number;
}

/** Shared failure counts: adds one to each key's count (a new window if its last one ended) and answers the totals. */
export interface FailureStore {
  add(keys: readonly string[], now: Date, windowMs: number): Promise<Map<string, Known>>;
}

/** Failure counts in the PostgreSQL Warrant already uses; keys as keyed hashes (addresses and usernames are personal data). */
export class PostgresFailureStore implements FailureStore {
  #lastSweep = 0;
  constructor(
    private readonly pool: pg.Pool,
    private readonly hash: (key: string) => string,
    private readonly windowMs: number,
  ) {}

  async add(keys: readonly string[], now: Date, windowMs: number): Promise<Map<string, Known>> {
    const hashes = keys.map((key) => this.hash(key));
    // One statement per failure, atomic per key: a window that ended starts again at 1.
    const { rows } = await this.pool.query<{ key_hash: string; count: number; resets_at: Date }>(
      `INSERT INTO rate_limit_failures AS f (key_hash, resets_at, count)
       SELECT k, $2, 1 FROM unnest($1::text[]) AS k
       ON CONFLICT (key_hash) DO UPDATE SET
         count = CASE WHEN f.resets_at <= $3 THEN 1 ELSE f.count + 1 END,
         resets_at = CASE WHEN f.resets_at <= $3 THEN EXCLUDED.resets_at ELSE f.resets_at END
       RETURNING key_hash, count, resets_at`,
      [hashes, new Date(now.getTime() + windowMs), now],
    );
    const byHash = new Map(rows.map((row) => [row.key_hash, { count: row.count, resetsAt: row.resets_at.getTime() }]));
    if (now.getTime() - this.#lastSweep > this.windowMs) {
      this.#lastSweep = now.getTime();
      await this.pool.query('DELETE FROM rate_limit_failures WHERE resets_at < $1', [now]);
    }
    return new Map(keys.flatMap((key, i) => {
      const known = byHash.get(hashes[i]!);
      return known ? [[key, known] as const] : [];
    }));
  }
}

function whose(key: string): string {
  if (key.startsWith('client-address:')) return 'for this client from this address';
  if (key.startsWith('user-address:')) return 'for this username from this address';
  if (key.startsWith('device:')) return 'for device codes in this session';
  return 'from this address';
}

export interface RateLimitOptions {
  failures: number;
  requests: number;
  windowSeconds: number;
  clock?: () => number;
  /** Shared counts (PostgreSQL); without one, counts are this process's only (unit tests). */
  store?: FailureStore;
  /** Per failure beyond the limit, how much longer a slowed-down key waits (default 250 ms, at most 5 s). */
  slowDownStepMs?: number;
}

export class RateLimits {
  readonly #failures: number;
  readonly #requests: number;
  readonly #windowMs: number;
  readonly #clock: () => number;
  readonly #store: FailureStore | undefined;
  readonly #stepMs: number;
  readonly #known = new Map<string, Known>();
  readonly #volume = new Map<string, Known>();

  constructor(options: RateLimitOptions) {
    this.#failures = options.failures;
    this.#requests = options.requests;
    this.#windowMs = options.windowSeconds * 1000;
    this.#clock = options.clock ?? Date.now;
    this.#store = options.store;
    this.#stepMs = options.slowDownStepMs ?? 250;
  }

  /** Client authentication: per (client, address) and per address. Client ids are matched case-insensitively, so counted that way. */
  static clientKeys(clientId: string, address: string): string[] {
    return [`client-address:${clientId.trim().toLowerCase()}|${address}`, `address:${address}`];
  }

  /** Sign-ins (login form, password grant): hard limits per (username, address) and per address; a slow-down per username. */
  static userKeys(username: string, address: string): { keys: string[]; slow: string } {
    return { keys: [`user-address:${username}|${address}`, `address:${address}`], slow: `user:${username}` };
  }

  #count(map: Map<string, Known>, key: string, now: number): number {
    const known = map.get(key);
    return known && known.resetsAt > now ? known.count : 0;
  }

  #retryAfter(map: Map<string, Known>, key: string, now: number): number {
    return Math.max(1, Math.ceil(((map.get(key)?.resetsAt ?? now) - now) / 1000));
  }

  /** Adds one to a key's count in its window (a new window, from now, if the last one ended). */
  #bump(map: Map<string, Known>, key: string, now: number): Known {
    const current = map.get(key);
    const next = current && current.resetsAt > now ? { count: current.count + 1, resetsAt: current.resetsAt } : { count: 1, resetsAt: now + this.#windowMs };
    if (map.size > 100_000) map.clear(); // a flood of distinct keys: start over rather than grow
    map.set(key, next);
    return next;
  }

  /** Throws 429 if a key is over its failure limit, or the address over its request volume; counts the request. */
  admit(keys: readonly string[]): void {
    const now = this.#clock();
    if (this.#failures > 0) {
      for (const key of keys) {
        if (this.#count(this.#known, key, now) >= this.#failures) throw new TooManyRequests(this.#retryAfter(this.#known, key, now), `failed attempts ${whose(key)}`);
      }
    }
    for (const key of keys) if (key.startsWith('address:')) this.countRequest(key);
  }

  /** Request volume of one key (an address before authentication, a client after it). */
  countRequest(key: string): void {
    if (this.#requests <= 0) return;
    const now = this.#clock();
    if (this.#count(this.#volume, key, now) >= this.#requests) throw new TooManyRequests(this.#retryAfter(this.#volume, key, now), `requests ${key.startsWith('client:') ? 'for this client' : 'from this address'}`);
    this.#bump(this.#volume, key, now);
  }

  /** Records a failure for each key: shared with every node through the store, learning the totals. */
  async failed(keys: readonly string[]): Promise<void> {
    if (this.#failures <= 0 || keys.length === 0) return;
    const now = this.#clock();
    // Locally at once (a burst in this process is counted even before the database answers) …
    for (const key of keys) this.#bump(this.#known, key, now);
    if (!this.#store) return;
    // … then the shared totals, which include every other node's failures. Without the
    // database (it is down), the local counts still hold this node's share.
    const totals = await this.#store.add(keys, new Date(now), this.#windowMs).catch(() => undefined);
    for (const [key, shared] of totals ?? []) {
      const local = this.#known.get(key);
      this.#known.set(key, local && local.resetsAt > now && local.count > shared.count ? local : shared);
    }
  }

  /** How long an attempt for this key waits first: nothing under the limit, then a growing delay. */
  delayMs(key: string): number {
    if (this.#failures <= 0) return 0;
    const over = this.#count(this.#known, key, this.#clock()) - this.#failures;
    return over < 0 ? 0 : Math.min(5_000, (over + 1) * this.#stepMs);
  }

  /**
   * Before a password is checked (login form, password grant): 429 over the hard limits, then the
   * username's slow-down. Answers the function to call if the password turns out wrong.
   */
  async signInAttempt(username: string, address: string): Promise<() => Promise<void>> {
    const { keys, slow } = RateLimits.userKeys(username, address);
    this.admit(keys);
    const wait = this.delayMs(slow);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return () => this.failed([...keys, slow]);
  }

}
