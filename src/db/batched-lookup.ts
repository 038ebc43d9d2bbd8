// Many lookups by key, few round trips: lookups that arrive while a query is in flight wait for
// the next one, which answers all of them with `key = ANY($1)`. Under load one round trip serves
// many requests. Every lookup is answered by a query that *started after it was asked for*, so a
// change committed before a request arrived is always seen — the guarantee a cache would break
// (a revocation is never missed).

import pg from 'pg';

interface Waiter<R> {
  resolve: (rows: R[]) => void;
  reject: (error: unknown) => void;
}

export interface BatchedLookupOptions<R> {
  pool: pg.Pool;
  /** Prepared-statement name and text; `$1` is the text[] of keys. */
  name: string;
  text: string;
  /** The key a returned row answers (several rows may answer one key: lookupAll). */
  keyOf: (row: R) => string;
  applicationName: string;
  /** Queries allowed in flight at once (default 2). */
  concurrency?: number;
}

export class BatchedLookup<R extends pg.QueryResultRow> {
  readonly #options: BatchedLookupOptions<R>;
  readonly #concurrency: number;
  #pending = new Map<string, Waiter<R>[]>();
  #inFlight = 0;
  /** A connection of its own in pipeline mode: queries in flight share it without waiting for each other. */
  #client: Promise<pg.Client> | undefined;
  #closed = false;

  constructor(options: BatchedLookupOptions<R>) {
    this.#options = options;
    this.#concurrency = options.concurrency ?? 2;
  }

  #connection(): Promise<pg.Client> {
    this.#client ??= (async () => {
      const client = new pg.Client({ ...(this.#options.pool.options as pg.ClientConfig), pipeline: true, application_name: this.#options.applicationName } as pg.ClientConfig);
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

  /** The row for this key, if any. */
  async lookup(key: string): Promise<R | undefined> {
    return (await this.lookupAll(key))[0];
  }

  /** Every row for this key, in the order the query returns them. */
  lookupAll(key: string): Promise<R[]> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(key, [{ resolve, reject }]);
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#inFlight >= this.#concurrency || this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#inFlight += 1;
    const { name, text, keyOf } = this.#options;
    const query = this.#closed
      ? Promise.reject(new Error('the lookup is closed'))
      : this.#connection().then((client) => client.query<R>({ name, text, values: [[...batch.keys()]] }));
    query
      .then(
        ({ rows }) => {
          const found = new Map<string, R[]>();
          for (const row of rows) {
            const key = keyOf(row);
            const list = found.get(key);
            if (list) list.push(row);
            else found.set(key, [row]);
          }
          for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key) ?? []);
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
