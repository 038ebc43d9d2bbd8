// The event store as the rest of Warrant (and the package's users) see it: the port, the factory
// that picks an adapter, and the adapters themselves for those who wire one by hand. Nothing
// outside this folder imports an adapter file.

export {
  ANY,
  NO_STREAM,
  EventStoreError,
  WrongExpectedRevisionError,
  isWrongExpectedRevision,
  type AppendOptions,
  type AppendResult,
  type EventFilter,
  type EventMetadata,
  type EventStore,
  type EventStoreErrorCode,
  type ExpectedRevision,
  type MetadataInput,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type SubscriptionBatch,
} from './port.js';
export { createEventStore } from './factory.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/index.js';
export { EsdbEventStore, type EsdbEventStoreOptions } from './esdb.js';
