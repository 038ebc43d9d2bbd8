// The event store's adapters as the rest of Warrant (and the package's users) reach them: the
// factory that picks one, and the adapters themselves for those who wire one by hand. Nothing
// outside this folder imports an adapter file; the port (./port.ts) is imported directly.

export { createEventStore } from './factory.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/index.js';
export { EsdbEventStore, type EsdbEventStoreOptions } from './esdb.js';
export type { InlineProjector, InlineStatement } from './postgres/inline.js';
