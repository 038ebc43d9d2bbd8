// Every read of a read model goes through here: one query module per read model, beside the
// projection that writes it (projections/). Handlers get `ctx.read`, never a pool.

import type pg from 'pg';
import { ClientQueries } from './clients.js';
import { CodeQueries } from './authorization-codes.js';
import { DeviceQueries } from './device-authorizations.js';
import { ConsentQueries } from './consents.js';
import { SessionQueries } from './sessions.js';
import { TokenQueries } from './tokens.js';

export class ReadModels {
  readonly clients: ClientQueries;
  readonly tokens: TokenQueries;
  readonly codes: CodeQueries;
  readonly devices: DeviceQueries;
  readonly sessions: SessionQueries;
  readonly consents: ConsentQueries;

  /** `batched` (the server): token lookups share round trips; close() ends their connections. */
  constructor(pool: pg.Pool, options: { batched?: boolean } = {}) {
    this.clients = new ClientQueries(pool);
    this.tokens = new TokenQueries(pool, options);
    this.codes = new CodeQueries(pool);
    this.devices = new DeviceQueries(pool);
    this.sessions = new SessionQueries(pool);
    this.consents = new ConsentQueries(pool);
  }

  close(): Promise<void> {
    return this.tokens.close();
  }
}

export { clientView, type ClientRecord } from './clients.js';
export type { PersonalTokenRow, TokenRow } from './tokens.js';
export type { PendingDevice } from './device-authorizations.js';
