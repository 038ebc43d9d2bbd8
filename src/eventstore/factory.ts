// The one place that chooses the event store (DESIGN §3): EventStoreDB when EVENTSTORE_URL is set,
// else PostgreSQL in the database the read models use. The server and the CLI both call it.

import type pg from 'pg';
import type { Config } from '../config.js';
import { EsdbEventStore } from './esdb.js';
import type { EventStore } from './port.js';
import type { InlineProjector } from './postgres/inline.js';
import { PostgresEventStore } from './postgres/index.js';

/**
 * `inline`: read models the PostgreSQL store applies in its append transactions (EventStoreDB has
 * runners only). `batchedReads`: stream reads share round trips (the server; not worth a connection for the CLI).
 */
export function createEventStore(config: Pick<Config, 'eventStoreUrl' | 'appendBatchSize'>, pool: pg.Pool, options: { inline?: InlineProjector; batchedReads?: boolean } = {}): EventStore {
  return config.eventStoreUrl
    ? new EsdbEventStore({ connectionString: config.eventStoreUrl })
    : new PostgresEventStore({ pool, maxBatch: config.appendBatchSize, batchedReads: options.batchedReads ?? false, ...(options.inline ? { inline: options.inline } : {}) });
}
