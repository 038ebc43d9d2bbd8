// Random secrets and their keyed hashes. A secret is shown once; only HMAC-SHA-256(pepper, secret)
// is stored (DESIGN §6), and comparisons are constant-time.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 bits of randomness, base64url (43 characters), with an optional recognisable prefix. */
export function randomSecret(prefix = ''): string {
  return `${prefix}${pooledRandom(32).toString('base64url')}`;
}

// Random bytes drawn from the CSPRNG 4 KiB at a time and handed out once each (as node's own
// randomUUID does with its cache): one system call for hundreds of ids on the issuing path.
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_SIZE;
function pooledRandom(size: number): Buffer {
  if (offset + size > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + size);
  offset += size;
  return bytes;
}

/** A short random id, e.g. a JWT `jti` (128 bits). */
export function randomId(): string {
  return pooledRandom(16).toString('base64url');
}

export class Hasher {
  readonly #pepper: Buffer;

  constructor(pepper: Buffer) {
    if (pepper.length < 32) throw new Error('the pepper must be at least 32 bytes');
    this.#pepper = pepper;
  }

  /** HMAC-SHA-256 of the value, base64url (43 characters). */
  hash(value: string): string {
    return createHmac('sha256', this.#pepper).update(value, 'utf8').digest('base64url');
  }

  /** Constant-time: does `value` hash to `expected`? */
  matches(value: string, expected: string | null | undefined): boolean {
    const actual = Buffer.from(this.hash(value), 'base64url');
    // Compare against something of the same length even when there is nothing to compare with,
    // so a missing or malformed hash costs the same time as a wrong secret.
    const wanted = expected ? Buffer.from(expected, 'base64url') : Buffer.alloc(actual.length);
    if (wanted.length !== actual.length) {
      timingSafeEqual(actual, actual);
      return false;
    }
    return timingSafeEqual(actual, wanted) && expected !== null && expected !== undefined;
  }
}
