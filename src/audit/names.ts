// Names beside the ids in audit answers, for one request: client names replayed from the clients'
// event streams, usernames from the built-in user directory (personal data stays out of events).

import type pg from 'pg';
import type { EventStore } from '../eventstore/port.js';
import { isUuid } from '../oauth/text.js';
import { clientHistory, type ClientHistory } from './history.js';

export interface Names {
  client_name: string | null;
  /** Null when the subject is not a built-in user (e.g. a client id, for client_credentials). */
  username: string | null;
}

export class AuditNames {
  // Per request, so a list replays each client's stream once (and never serves a stale name).
  readonly #clients = new Map<string, Promise<ClientHistory>>();
  readonly #usernames = new Map<string, string | null>();

  constructor(
    private readonly store: EventStore,
    private readonly pool: pg.Pool,
  ) {}

  client(clientId: string): Promise<ClientHistory> {
    let history = this.#clients.get(clientId);
    if (!history) {
      history = clientHistory(this.store, clientId);
      this.#clients.set(clientId, history);
    }
    return history;
  }

  async username(subject: string): Promise<string | null> {
    await this.#lookUp([subject]);
    return this.#usernames.get(subject) ?? null;
  }

  /** Each record with its client's name and its subject's username beside the ids. */
  async add<T extends { client_id: string | null; subject: string | null }>(records: T[]): Promise<(T & Names)[]> {
    await this.#lookUp(records.flatMap((record) => (record.subject === null ? [] : [record.subject])));
    return Promise.all(
      records.map(async (record) => ({
        ...record,
        client_name: record.client_id === null ? null : (await this.client(record.client_id)).name,
        username: record.subject === null ? null : (this.#usernames.get(record.subject) ?? null),
      })),
    );
  }

  /** One query for all the subjects not looked up yet; only a UUID can be a built-in user's id. */
  async #lookUp(subjects: string[]): Promise<void> {
    const ids = [...new Set(subjects)].filter((subject) => isUuid(subject) && !this.#usernames.has(subject));
    if (ids.length === 0) return;
    const { rows } = await this.pool.query<{ user_id: string; username: string }>('SELECT user_id, username FROM users WHERE user_id = ANY($1::uuid[])', [ids]);
    for (const id of ids) this.#usernames.set(id, null);
    for (const row of rows) this.#usernames.set(row.user_id, row.username);
  }
}
