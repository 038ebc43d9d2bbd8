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
