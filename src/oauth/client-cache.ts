// Clients as client authentication sees them, cached in process memory while provably current.
//
// Every token, introspection and revocation request authenticates a client; reading its row each
// time was the largest share of a token request's database round trips (issue 7 profile). An
// entry here is tagged with the `clients` projection checkpoint this process knew *before* the
// row was read, and with the LISTEN epoch it was known under. It is served only while both are
// unchanged, so:
//   - in the process that changed a client, the change is seen at once: the writer waited for the
//     clients projection (waiter.waitFor), which raised the known checkpoint before it answered;
//   - in other processes, once the checkpoint's NOTIFY arrives (after the commit, usually well
//     under a millisecond on one host). Tokens a just-revoked client obtains in that window are
//     refused anyway: validation (introspection, policies) joins the client row in the database;
//   - with no LISTEN connection (epoch 0) nothing is cached: every lookup reads the database.
// Unknown client ids are never cached, so random ids cannot fill memory.

import type { ProjectionWaiter } from '../../projections/waiter.js';
import { clientsProjection } from '../../projections/index.js';
import type { ClientQueries, ClientRecord } from '../readmodels/clients.js';

interface Entry {
  client: ClientRecord;
  position: number;
  epoch: number;
}

export class ClientCache {
  readonly #clients: ClientQueries;
  readonly #waiter: ProjectionWaiter;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: { clients: ClientQueries; waiter: ProjectionWaiter; maxEntries?: number }) {
    this.#clients = options.clients;
    this.#waiter = options.waiter;
    this.#max = options.maxEntries ?? 10_000;
  }

  async find(clientId: string): Promise<ClientRecord | undefined> {
    const known = this.#waiter.known(clientsProjection.name);
    if (known.epoch === 0) {
      void this.#waiter.listen();
      return this.#clients.find(clientId);
    }
    const entry = this.#entries.get(clientId);
    if (entry && entry.position === known.position && entry.epoch === known.epoch) return entry.client;
    if (entry) this.#entries.delete(clientId);
    const client = await this.#clients.find(clientId);
    const now = this.#waiter.known(clientsProjection.name);
    if (client && now.position === known.position && now.epoch === known.epoch) {
      if (this.#entries.size >= this.#max) this.#entries.clear();
      this.#entries.set(clientId, { client, position: known.position, epoch: known.epoch });
    }
    return client;
  }

  get size(): number {
    return this.#entries.size;
  }
}
