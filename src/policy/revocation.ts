// Is this access token (by jti) still good? One query against the read models.
//
// Lookups that arrive while a query is in flight wait for the next one, which then answers all
// of them (`jti = ANY($1)`): under load one round trip serves many requests. Every lookup is
// answered by a query that *started after the lookup was asked for*, so a revocation that
// committed before a request arrived is always seen — the guarantee a cache would break.

import pg from 'pg';

export interface RevocationState {
  grantType: string;
  familyRevoked: boolean;
  clientRevoked: boolean;
}

interface Waiter {
  resolve: (state: RevocationState | undefined) => void;
  reject: (error: unknown) => void;
}

const QUERY = {
  name: 'warrant_policy_lookup',
  text: `SELECT a.jti, f.grant_type, f.revoked AS family_revoked, c.revoked AS client_revoked
           FROM access_tokens a
           JOIN token_families f ON f.family_id = a.family_id
           JOIN clients c ON c.client_id = a.client_id
          WHERE a.jti = ANY($1::text[])`,
};

export class RevocationLookup {
  #pending = new Map<string, Waiter[]>();
  #inFlight = 0;
  /** A connection of its own in pipeline mode: queries in flight share it without waiting for each other. */
  #client: Promise<pg.Client> | undefined;
  #closed = false;

  constructor(
    private readonly pool: pg.Pool,
    /** Queries allowed in flight at once. */
    private readonly concurrency = 2,
  ) {}

  #connection(): Promise<pg.Client> {
    this.#client ??= (async () => {
      const client = new pg.Client({ ...(this.pool.options as pg.ClientConfig), pipeline: true, application_name: 'warrant-policy' } as pg.ClientConfig);
      const drop = () => {
        this.#client = undefined;
        client.end().catch(() => undefined);
      };
      client.on('error', drop);
      client.on('end', drop);
      try {
        await client.connect();
      } catch (error) {
        drop();
        throw error;
      }
      return client;
    })();
    return this.#client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = await this.#client?.catch(() => undefined);
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  lookup(jti: string): Promise<RevocationState | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(jti);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(jti, [{ resolve, reject }]);
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#inFlight >= this.concurrency || this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#inFlight += 1;
    const query = this.#closed
      ? Promise.reject(new Error('the policy is closed'))
      : this.#connection().then((client) => client.query<{ jti: string; grant_type: string; family_revoked: boolean; client_revoked: boolean }>({ ...QUERY, values: [[...batch.keys()]] }));
    query
      .then(
        ({ rows }) => {
          const found = new Map(rows.map((row) => [row.jti, { grantType: row.grant_type, familyRevoked: row.family_revoked, clientRevoked: row.client_revoked }]));
          for (const [jti, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(jti));
        },
        (error: unknown) => {
          for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
  }
}
