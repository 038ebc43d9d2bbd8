// How PostgreSQL failures reach callers of the event store: a lost connection as
// ERR_EVENT_STORE_UNAVAILABLE, an append the database refused as ERR_INVALID_APPEND.

import { isConnectionError } from '../../db/errors.js';
import { EventStoreError } from '../port.js';

export function unavailable(error: unknown): EventStoreError {
  return new EventStoreError('ERR_EVENT_STORE_UNAVAILABLE', `event store unavailable: ${(error as Error).message}`, { cause: error });
}

/** The error an append's caller sees for a failure of its transaction. */
export function appendError(error: unknown): Error {
  if (error instanceof EventStoreError) return error;
  if (isConnectionError(error)) return unavailable(error);
  const pgError = error as { code?: string; message?: string };
  if (pgError.code === '23505') return new EventStoreError('ERR_INVALID_APPEND', `append refused: ${pgError.message}`, { cause: error });
  if (pgError.code?.startsWith('22')) return new EventStoreError('ERR_INVALID_APPEND', `append refused: ${pgError.message}`, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}
