// Sends many pipelined queries in one socket write. node-pg corks the socket around each query;
// an outer cork makes a whole batch (hundreds of statements) one writev instead of hundreds.

import type pg from 'pg';

interface Corkable {
  cork?: () => void;
  uncork?: () => void;
}

export function corked<T>(client: pg.Client, send: () => T): T {
  const stream = (client as unknown as { connection?: { stream?: Corkable } }).connection?.stream;
  stream?.cork?.();
  try {
    return send();
  } finally {
    stream?.uncork?.();
  }
}

/** Like Promise.all, but waits for every query to settle before rejecting with the first error
 * (in pipeline mode the later queries are already on the wire and must not reject unobserved). */
export async function settle<T extends readonly Promise<unknown>[]>(queries: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(queries);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
