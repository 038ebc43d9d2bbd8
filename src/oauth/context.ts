// What the OAuth handlers share: settings, the database, the event store, keys and the hasher.
// Built once by createAuthServer; handlers receive it, never globals.

import type pg from 'pg';
import type { ProjectionWaiter } from '../../projections/waiter.js';
import type { Config } from '../config.js';
import type { EventStore, MetadataInput } from '../eventstore/port.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ClientCache } from './client-cache.js';
import type { RateLimits } from './rate-limit.js';
import type { Hasher } from './secrets.js';

export interface WarrantContext {
  config: Config;
  pool: pg.Pool;
  store: EventStore;
  waiter: ProjectionWaiter;
  /** Client authentication's view of the clients read model (src/oauth/client-cache.ts). */
  clients: ClientCache;
  keys: KeyStore;
  /** Per-client and per-address limits at the endpoints that authenticate clients. */
  limits: RateLimits;
  hasher: Hasher;
  logger: Logger;
  clock: () => Date;
  metrics: Metrics;
}

/** Who did it and in which request: stamped on every event an action appends. */
export type Actor = MetadataInput;
