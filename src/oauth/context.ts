// What the OAuth handlers share: settings, the database, the event store, keys and the hasher.
// Built once by createAuthServer; handlers receive it, never globals.

import type pg from 'pg';
import type { ProjectionWaiter } from '../../projections/waiter.js';
import type { Config } from '../config.js';
import type { EventStore, MetadataInput } from '../eventstore/port.js';
import type { KeyStore } from '../keys/keystore.js';
import type { Logger } from '../logger.js';
import type { ReadModels } from '../readmodels/index.js';
import type { Metrics } from '../metrics.js';
import type { FindAccount } from './accounts.js';
import type { ClientCache } from './client-cache.js';
import type { RateLimits } from './rate-limit.js';
import type { Hasher } from './secrets.js';

export interface WarrantContext {
  config: Config;
  /** For the event store and the waiter; handlers read read models through `read`. */
  pool: pg.Pool;
  /** Every read of a read model (src/readmodels/). */
  read: ReadModels;
  store: EventStore;
  waiter: ProjectionWaiter;
  /** Client authentication's view of the clients read model (src/oauth/client-cache.ts). */
  clients: ClientCache;
  keys: KeyStore;
  /** Failed-authentication and request limits (src/oauth/rate-limit.ts). */
  limits: RateLimits;
  hasher: Hasher;
  logger: Logger;
  clock: () => Date;
  metrics: Metrics;
  /** OpenID Connect: a subject's standard claims (src/oauth/accounts.ts). */
  findAccount: FindAccount;
}

/** Who did it and in which request: stamped on every event an action appends. */
export type Actor = MetadataInput;
