// Rate limits at the endpoints that authenticate clients (issue 8): against guessing secrets and
// passwords, and optionally against plain volume. Counted per client id and per address in fixed
// windows, in this process's memory — so per node: with n nodes behind a balancer an attacker
// gets up to n times the limit (still hopeless against a 256-bit secret; the limit matters for
// the password grant's human passwords).
//
// A key over its limit is refused *before* any secret is checked, so the refusal tells nothing
// about whether the next guess would have been right.

import { OAuthError } from './errors.js';

interface Window {
  count: number;
  resetsAt: number;
}

export class TooManyRequests extends OAuthError {
  constructor(retryAfterSeconds: number, what: string) {
    // RFC 6749 has no rate-limit code; temporarily_unavailable ("cannot currently handle the
    // request due to a temporary overloading") is the registered one closest to it.
    super(429, 'temporarily_unavailable', `too many ${what}; retry after ${retryAfterSeconds} s`);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** Fixed-window counters by key. At most `maxKeys` windows are kept; beyond that, expired ones go. */
class Counter {
  readonly #windows = new Map<string, Window>();
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly clock: () => number,
    readonly maxKeys = 100_000,
  ) {}

  /** Seconds until the key may try again, or 0 if it is under its limit. */
  retryAfter(key: string): number {
    if (this.limit <= 0) return 0;
    const window = this.#windows.get(key);
    const now = this.clock();
    if (!window || window.resetsAt <= now || window.count < this.limit) return 0;
    return Math.max(1, Math.ceil((window.resetsAt - now) / 1000));
  }

  add(key: string): void {
    if (this.limit <= 0) return;
    const now = this.clock();
    const window = this.#windows.get(key);
    if (window && window.resetsAt > now) {
      window.count += 1;
      return;
    }
    if (this.#windows.size >= this.maxKeys) this.#sweep(now);
    this.#windows.set(key, { count: 1, resetsAt: now + this.windowMs });
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetsAt <= now) this.#windows.delete(key);
    // Still full of live windows (a flood of distinct keys): start over rather than grow.
    if (this.#windows.size >= this.maxKeys) this.#windows.clear();
  }
}

function whose(key: string): string {
  if (key.startsWith('client:')) return 'for this client';
  if (key.startsWith('user:')) return 'for this username';
  return 'from this address';
}

export class RateLimits {
  readonly #failures: Counter;
  readonly #requests: Counter;

  constructor(options: { failures: number; requests: number; windowSeconds: number; clock?: () => number }) {
    const clock = options.clock ?? Date.now;
    this.#failures = new Counter(options.failures, options.windowSeconds * 1000, clock);
    this.#requests = new Counter(options.requests, options.windowSeconds * 1000, clock);
  }

  static keys(clientId: string, address: string): string[] {
    return [`client:${clientId}`, `address:${address}`];
  }

  /** Counts a request; throws 429 if any key is over the failure or request limit. */
  admit(keys: readonly string[]): void {
    for (const key of keys) {
      const failures = this.#failures.retryAfter(key);
      if (failures > 0) throw new TooManyRequests(failures, `failed attempts ${whose(key)}`);
    }
    for (const key of keys) {
      const requests = this.#requests.retryAfter(key);
      if (requests > 0) throw new TooManyRequests(requests, `requests ${whose(key)}`);
    }
    for (const key of keys) this.#requests.add(key);
  }

  failed(keys: readonly string[]): void {
    for (const key of keys) this.#failures.add(key);
  }
}
