// A projection is a pure mapping from an event to SQL (DESIGN §4): no I/O, no clock. The runner
// executes the statements and advances the checkpoint in the same transaction.

import type { RecordedEvent } from '../src/eventstore/port.js';

export interface SqlStatement {
  text: string;
  values: unknown[];
}

export interface Projection {
  /** Checkpoint name; also names the advisory lock that elects its single runner. */
  name: string;
  /** Read-model tables this projection alone writes (rebuilt and swapped together). */
  tables: readonly string[];
  /** Event types it handles; others only advance its checkpoint. */
  eventTypes: readonly string[];
  handle(event: RecordedEvent): SqlStatement[];
}

export function sql(text: string, ...values: unknown[]): SqlStatement {
  return { text, values };
}
