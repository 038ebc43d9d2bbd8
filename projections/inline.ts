// The projections as the PostgreSQL store applies them inline, in the append transaction
// (src/eventstore/postgres/inline.ts): the same pure event→SQL mappings the runners apply, as
// prepared statements. None of Warrant's projections reads an event's position.

import type { InlineProjector, InlineStatement } from '../src/eventstore/index.js';
import { PROJECTIONS_CHANNEL } from './runner.js';
import { prepared, statementsFor, type Projection } from './types.js';

export function inlineProjector(list: readonly Projection[]): InlineProjector {
  const byName = new Map(list.map((projection) => [projection.name, projection]));
  return {
    names: list.map((projection) => projection.name),
    channel: PROJECTIONS_CHANNEL,
    project(events, names) {
      const statements: InlineStatement[] = [];
      const touched: string[] = [];
      for (const name of names) {
        const projection = byName.get(name)!;
        const relevant = events.filter((event) => projection.eventTypes.includes(event.type));
        if (relevant.length === 0) continue;
        touched.push(name);
        for (const statement of statementsFor(projection, relevant)) statements.push(prepared(statement));
      }
      return { statements, touched };
    },
  };
}
