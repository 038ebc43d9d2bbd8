// Inline projections on the PostgreSQL store (Marten's inline projections): the append
// transaction applies the read-model statements of its own events and moves those projections'
// checkpoints (migrations/0010), so a token is in the read models the moment its event commits —
// no second transaction, no runner wake-up, no wait. Exactly once: the checkpoint move is a
// compare-and-set on "every checkpoint at the head before this append" in the same transaction.
// When a projection is behind (its runner is catching up) or its SQL fails, the append is done
// again without inline work, and the projection runner applies it (projections/runner.ts).
//
// The store knows nothing of projections: it is given an InlineProjector. Inline statements are
// rendered before positions are known (the fast path counts positions inside its INSERT), so an
// inline projection must not read an event's position.

import type { RecordedEvent } from '../port.js';

export interface InlineStatement {
  text: string;
  values: unknown[];
  /** A prepared statement's name, when the projector prepares its statements. */
  name?: string;
}

export interface InlineProjector {
  /** Checkpoint names of the projections kept inline. */
  readonly names: readonly string[];
  /** The channel projection checkpoint moves are notified on ('name:position'). */
  readonly channel: string;
  /** Statements applying `events` for the projections in `names`, and which of them the events concern. */
  project(events: readonly RecordedEvent[], names: readonly string[]): { statements: InlineStatement[]; touched: string[] };
}

/** The checkpoint compare-and-set raises this SQLSTATE when a projection is not at the head. */
export const INLINE_BEHIND = 'WR001';

export function checkpointMove(projector: InlineProjector, names: readonly string[], appended: number, touched: readonly string[]): { text: string; values: unknown[] } {
  return { text: 'SELECT warrant_advance_checkpoints($1::text[], $2::bigint, $3::text[], $4::text)', values: [names, appended, touched, projector.channel] };
}
