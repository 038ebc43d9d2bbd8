// A projection is a pure mapping from an event to SQL (DESIGN §4): no I/O, no clock. The runner
// executes the statements and advances the checkpoint in the same transaction.

import { createHash } from 'node:crypto';
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
  /**
   * Optional: statements for several events in log order, with the same effect as handle() on
   * each in turn but fewer statements (a run of one type written as one bulk statement).
   */
  handleMany?(events: readonly RecordedEvent[]): SqlStatement[];
}

/** The statements for events in log order: handleMany when the projection has it, else handle() for each. */
export function statementsFor(projection: Projection, events: readonly RecordedEvent[]): SqlStatement[] {
  if (projection.handleMany) return projection.handleMany(events);
  const statements: SqlStatement[] = [];
  for (const event of events) statements.push(...projection.handle(event));
  return statements;
}

export function sql(text: string, ...values: unknown[]): SqlStatement {
  return { text, values };
}

/** A statement as a named prepared statement: PostgreSQL parses and plans it once per connection. */
const names = new Map<string, string>();
export function prepared(statement: SqlStatement): { name: string; text: string; values: unknown[] } {
  let name = names.get(statement.text);
  if (!name) {
    name = `warrant_${createHash('sha1').update(statement.text).digest('hex').slice(0, 20)}`;
    names.set(statement.text, name);
  }
  return { name, text: statement.text, values: statement.values };
}
