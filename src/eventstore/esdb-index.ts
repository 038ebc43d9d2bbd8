// Audit lookups on EventStoreDB without scanning the log (issue 19). The PostgreSQL store answers
// a data filter (a token id, a client, a subject) from indexes on its events table; EventStoreDB
// indexes streams, not data, and client 6.2.1 cannot filter reads on the server, so such a lookup
// read the whole log. Instead the adapter keeps index streams of its own: before it appends an
// event with an indexed field, it appends a link event to `warrant-index-<field>-<value>` (type
// `$>`, data `<revision>@<stream>`: the links EventStoreDB's own projections write), and a lookup
// reads that one stream with the links resolved.
//
// - Written before the event, so no event is ever missing from its index. A link whose event then
//   failed to append points at nothing, or at another event at that revision: every event a
//   lookup returns is checked against the whole filter, as a scan checks it, which drops those.
// - Links rather than EventStoreDB's projections: $by_category and $by_event_type index by stream
//   name and type, not by data, and a user projection needs the projections subsystem enabled
//   and an operator to install it; appending links works on any server, with no set-up.
// - In the event store, beside the events: the audit stays independent of the read models.
// - A log that existed before indexing began: `warrant-index-since` holds the head at the first
//   indexing append; a lookup scans the log up to there and reads the index for what follows.
//   (Events appended meanwhile by processes that do not index — an older Warrant during a rolling
//   upgrade — are not found.)
// - Servers before 22.10 give resolved events no position: the lookup falls back to the scan.

import { matchesContent, matchesFilter, type EventFilter, type ReadAllOptions, type RecordedEvent } from './port.js';

/** Which fields of which events are indexed: the lookups of src/audit/history.ts. */
const INDEXED: Readonly<Record<string, readonly string[]>> = {
  TokenIssued: ['jti', 'clientId', 'subject', 'parentFamilyId'],
  TokenRefreshed: ['jti'],
};

export const INDEX_SINCE_STREAM = 'warrant-index-since';
/** A `$` type is a system type: Warrant's reads, heads and subscriptions skip it (and the links, `$>`). */
export const INDEX_SINCE_TYPE = '$warrant-index-since';

export function indexStream(field: string, value: string): string {
  return `warrant-index-${field}-${value}`;
}

/** The index stream that holds every event this filter can match: one of its data fields, indexed for each of its types. */
export function indexFor(filter: EventFilter | undefined): string | undefined {
  if (!filter?.data || !filter.types?.length) return undefined;
  for (const [field, value] of Object.entries(filter.data)) {
    if (filter.types.every((type) => INDEXED[type]?.includes(field))) return indexStream(field, value);
  }
  return undefined;
}

/** What the index needs from the store. */
export interface IndexIo {
  /** Appends link events to `stream`, one per `<revision>@<stream>` target. */
  link(stream: string, targets: readonly string[]): Promise<void>;
  /** The events the links in `stream` point at (position -1 when the server gives none); [] when there is no stream. */
  resolve(stream: string, upcast: boolean): Promise<RecordedEvent[]>;
  readSince(): Promise<number | undefined>;
  /** Writes the marker unless another process already has. */
  writeSince(position: number): Promise<void>;
  head(): Promise<number>;
  scan(options: ReadAllOptions, until: number): Promise<RecordedEvent[]>;
}

export class EsdbIndex {
  #since: number | undefined;

  constructor(private readonly io: IndexIo) {}

  async #readSince(): Promise<number | undefined> {
    this.#since ??= await this.io.readSince();
    return this.#since;
  }

  /** Before appending these events: their links (and, the first time anything is indexed, the marker). */
  async beforeAppend(streamId: string, events: readonly Pick<RecordedEvent, 'type' | 'revision' | 'data'>[]): Promise<void> {
    const links = new Map<string, string[]>();
    for (const event of events) {
      for (const field of INDEXED[event.type] ?? []) {
        const value = (event.data as Record<string, unknown> | null)?.[field];
        if (typeof value !== 'string' || value === '') continue;
        const stream = indexStream(field, value);
        links.set(stream, [...(links.get(stream) ?? []), `${event.revision}@${streamId}`]);
      }
    }
    if (links.size === 0) return;
    if ((await this.#readSince()) === undefined) {
      await this.io.writeSince(await this.io.head());
      this.#since = await this.io.readSince();
    }
    await Promise.all([...links].map(([stream, targets]) => this.io.link(stream, targets)));
  }

  /** The events `readAll` would return, from the index; undefined when the filter has no index (then: scan). */
  async lookup(options: ReadAllOptions): Promise<RecordedEvent[] | undefined> {
    const stream = indexFor(options.filter);
    if (!stream) return undefined;
    const since = await this.#readSince();
    if (since === undefined) return undefined;
    const indexed = await this.io.resolve(stream, options.upcast !== false);
    if (indexed.some((event) => event.position < 0)) return undefined;
    const after = options.after ?? 0;
    const max = options.maxCount ?? 1000;
    const out = after < since ? await this.io.scan({ ...options, maxCount: max }, since) : [];
    const seen = new Set(out.map((event) => event.metadata.eventId));
    for (const event of indexed) {
      if (event.position <= after || seen.has(event.metadata.eventId)) continue;
      if (!matchesFilter(options.filter, event) || !matchesContent(options.filter, event)) continue;
      seen.add(event.metadata.eventId);
      out.push(event);
    }
    return out.sort((a, b) => a.position - b.position).slice(0, max);
  }
}
