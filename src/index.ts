// The public surface of the `warrant` package (STYLE §5: every export named).

export { createAuthServer, StartupError, type AuthServer, type AuthServerOptions } from './server.js';
export { createHttpServer, serve, type RunningServer, type ServeOptions } from './serve.js';
export { createPolicy, type AuthState, type Policy, type PolicyCheck, type PolicyContext, type PolicyOptions, type RequireOptions } from './policy/policy.js';
export { actingAs, actingAsClient, type ActingAsClientOptions, type ActingAsOptions, type TestToken } from './policy/testing.js';
export { OAuthError, BearerError } from './oauth/errors.js';
export { loadConfig, settings, insecureDefaults, redactedConfig, ConfigError, type Config } from './config.js';
export { migrate, MigrationError } from './db/migrate.js';
export { createPool } from './db/pool.js';
export { createLogger, type Logger } from './logger.js';
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
  type NewEvent,
  type RecordedEvent,
  type SubscriptionBatch,
} from './eventstore/port.js';
export { createEventStore, PostgresEventStore, EsdbEventStore, type PostgresEventStoreOptions, type EsdbEventStoreOptions } from './eventstore/index.js';
export { verifyChain, eventHash, canonicalJson, type ChainVerdict } from './eventstore/chain.js';
export { EventCatalogue, EventSchemaError, warrantEvents } from './events/catalogue.js';
export type { DomainEvent, EventDataMap, EventType } from './events/types.js';
export {
  ProjectionRunner,
  ProjectionWaiter,
  ProjectionTimeoutError,
  rebuildProjection,
  projections,
  type Projection,
} from '../projections/index.js';
