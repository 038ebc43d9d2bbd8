// Reads from the log: one stream by revision, the whole log by position with filters, its head,
// and the shared unfiltered pages subscriptions read.

import type pg from 'pg';
import { BatchedLookup } from '../../db/batched-lookup.js';
import { isConnectionError } from '../../db/errors.js';
import type { EventCatalogue } from '../../events/catalogue.js';
import type { ReadAllOptions, ReadStreamOptions, RecordedEvent } from '../port.js';
import { unavailable } from './errors.js';

interface EventRow {
  position: string;
  stream_id: string;
  revision: string;
  type: string;
  version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  hash: string;
}

const EVENT_COLUMNS = 'position, stream_id, revision, type, version, data, metadata, hash';

export class EventReader {
  readonly #pool: pg.Pool;
  readonly #catalogue: EventCatalogue;
  readonly #pages = new Map<string, Promise<RecordedEvent[]>>();
  /** Whole-stream reads that arrive together share one round trip (`batched`; close() ends it). */
  readonly #streams: BatchedLookup<EventRow> | undefined;

  constructor(pool: pg.Pool, catalogue: EventCatalogue, options: { batched?: boolean } = {}) {
    this.#pool = pool;
    this.#catalogue = catalogue;
    this.#streams = options.batched
      ? new BatchedLookup<EventRow>({
          pool,
          name: 'warrant_read_streams',
          text: `SELECT ${EVENT_COLUMNS} FROM es_events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, revision`,
          keyOf: (row) => row.stream_id,
          applicationName: 'warrant-read',
        })
      : undefined;
  }

  async close(): Promise<void> {
    await this.#streams?.close();
  }

  #toRecorded(row: EventRow, upcast = true): RecordedEvent {
    const base = {
      streamId: row.stream_id,
      revision: Number(row.revision),
      position: Number(row.position),
      metadata: row.metadata,
      hash: row.hash,
      type: row.type,
    };
    if (!upcast) return { ...base, version: row.version, data: row.data };
    const { version, data } = this.#catalogue.upcast(row.type, row.version, row.data);
    return { ...base, version, data };
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      throw isConnectionError(error) ? unavailable(error) : error;
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (this.#streams && !options.fromRevision && options.maxCount === undefined) {
      let rows: EventRow[];
      try {
        rows = await this.#streams.lookupAll(streamId);
      } catch (error) {
        throw isConnectionError(error) ? unavailable(error) : error;
      }
      return rows.map((row) => this.#toRecorded(row, options.upcast !== false));
    }
    const { rows } = await this.#query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
      [streamId, options.fromRevision ?? 0, options.maxCount ?? null],
    );
    return rows.map((row) => this.#toRecorded(row, options.upcast !== false));
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const filter = options.filter;
    // jti, clientId and subject have indexes of their own (migrations/0011); any other data key
    // is matched by containment. Unnamed statements get a plan for their actual parameters, so a
    // NULL branch costs nothing.
    const { jti, clientId, subject, ...rest } = filter?.data ?? {};
    const { rows } = await this.#query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events
        WHERE position > $1
          AND ($2::text[] IS NULL OR type = ANY($2::text[]))
          AND ($3::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS p WHERE starts_with(stream_id, p)))
          AND ($5::jsonb IS NULL OR data @> $5::jsonb)
          AND ($6::text IS NULL OR metadata->>'occurredAt' >= $6::text)
          AND ($7::text IS NULL OR metadata->>'occurredAt' < $7::text)
          AND ($8::text IS NULL OR data->>'jti' = $8::text)
          AND ($9::text IS NULL OR data->>'clientId' = $9::text)
          AND ($10::text IS NULL OR data->>'subject' = $10::text)
        ORDER BY position
        LIMIT $4`,
      [
        options.after ?? 0,
        filter?.types ?? null,
        filter?.streamPrefixes ?? null,
        options.maxCount ?? 1000,
        Object.keys(rest).length > 0 ? JSON.stringify(rest) : null,
        filter?.since ?? null,
        filter?.until ?? null,
        jti ?? null,
        clientId ?? null,
        subject ?? null,
      ],
    );
    return rows.map((row) => this.#toRecorded(row, options.upcast !== false));
  }

  /**
   * Unfiltered page for subscriptions. Subscribers in one process usually stand at the same
   * checkpoint (they wake on the same notification), so identical reads in flight are shared:
   * one query and one decode serve every projection runner.
   */
  readPage(after: number, maxCount: number): Promise<RecordedEvent[]> {
    const key = `${after}:${maxCount}`;
    let page = this.#pages.get(key);
    if (!page) {
      page = this.readAll({ after, maxCount }).finally(() => this.#pages.delete(key));
      this.#pages.set(key, page);
    }
    return page;
  }

  async headPosition(): Promise<number> {
    const { rows } = await this.#query<{ head: string }>('SELECT coalesce(max(position), 0) AS head FROM es_events', []);
    return Number(rows[0]!.head);
  }
}
