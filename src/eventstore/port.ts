// The event store port (DESIGN §3). Adapters: ./postgres/ (embedded default) and ./esdb.ts.
// Positions are global, strictly increasing in commit order; revisions count from 0 per stream.

export const NO_STREAM = 'no_stream';
export const ANY = 'any';
/** `no_stream`, `any`, or the revision of the stream's last event. */
export type ExpectedRevision = typeof NO_STREAM | typeof ANY | number;

export interface EventMetadata {
  eventId: string;
  occurredAt: string;
  /** Client id, subject, `admin:<who>` or `system`. */
  actor: string;
  requestId: string | null;
  correlationId: string;
  causationId: string | null;
  /** Hash of the previous event of the same stream; null for the first. */
  prevHash: string | null;
}

export type MetadataInput = Partial<Omit<EventMetadata, 'prevHash' | 'eventId'>>;

export interface NewEvent {
  type: string;
  data: unknown;
  /** Optional fixed id (idempotent retries); a random UUID otherwise. */
  eventId?: string;
}

export interface RecordedEvent<T = unknown> {
  streamId: string;
  revision: number;
  position: number;
  type: string;
  version: number;
  data: T;
  metadata: EventMetadata;
  /** SHA-256 over the event and its metadata, including prevHash (see ./chain.ts). */
  hash: string;
}

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
  metadata?: MetadataInput;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  nextExpectedRevision: number;
  /** Global position of the last appended event. */
  position: number;
  events: RecordedEvent[];
  /** Projections whose read models the append transaction itself updated (inline): nothing to wait for. */
  projected?: readonly string[];
}

export interface ReadStreamOptions {
  fromRevision?: number;
  maxCount?: number;
  /** false returns events exactly as stored (for hash-chain verification); default true. */
  upcast?: boolean;
}

export interface EventFilter {
  types?: readonly string[];
  streamPrefixes?: readonly string[];
  /** Top-level data fields that must equal these values (e.g. { clientId }). */
  data?: Readonly<Record<string, string>>;
  /** occurredAt bounds (ISO 8601), inclusive since, exclusive until. */
  since?: string;
  until?: string;
}

export interface ReadAllOptions {
  /** Exclusive; 0 reads from the beginning. */
  after?: number;
  maxCount?: number;
  filter?: EventFilter;
  /** false returns events exactly as stored (for hash-chain verification); default true. */
  upcast?: boolean;
}

export interface SubscribeOptions {
  /** Exclusive checkpoint; 0 starts from the beginning. */
  after?: number;
  filter?: EventFilter;
  signal?: AbortSignal;
  maxBatch?: number;
}

export interface SubscriptionBatch {
  /** Events that passed the filter, in position order (may be empty). */
  events: RecordedEvent[];
  /** Every position up to here has been seen: the checkpoint to store. */
  position: number;
  /** True when this batch reached the end of the log as it was when read. */
  caughtUp: boolean;
}

export interface EventStore {
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  /** The stream's events from `fromRevision` (default 0); [] for a stream that does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catch-up from the checkpoint, then live. Ends when `signal` aborts or the store closes. */
  subscribeToAll(options?: SubscribeOptions): AsyncIterable<SubscriptionBatch>;
  /** Position of the last event in the log (0 when empty). */
  headPosition(): Promise<number>;
  close(): Promise<void>;
}

// Errors with stable codes (STYLE §3) -------------------------------------------------------------

export type EventStoreErrorCode =
  | 'ERR_WRONG_EXPECTED_REVISION'
  | 'ERR_EVENT_STORE_UNAVAILABLE'
  | 'ERR_EVENT_STORE_CLOSED'
  | 'ERR_INVALID_APPEND';

export class EventStoreError extends Error {
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EventStoreError';
  }
}

export class WrongExpectedRevisionError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's current revision; -1 when it does not exist. */
    readonly actual: number,
  ) {
    super('ERR_WRONG_EXPECTED_REVISION', `stream ${streamId}: expected revision ${String(expected)}, actual ${actual === -1 ? 'no stream' : actual}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

export function isWrongExpectedRevision(error: unknown): error is WrongExpectedRevisionError {
  return error instanceof EventStoreError && error.code === 'ERR_WRONG_EXPECTED_REVISION';
}

/** Does a stream at `actual` (-1: absent) satisfy `expected`? Shared by every adapter. */
export function revisionMatches(expected: ExpectedRevision, actual: number): boolean {
  if (expected === ANY) return true;
  if (expected === NO_STREAM) return actual === -1;
  return expected === actual;
}

export function matchesFilter(filter: EventFilter | undefined, event: { type: string; streamId: string }): boolean {
  if (!filter) return true;
  if (filter.types && !filter.types.includes(event.type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))) return false;
  return true;
}

/** The filter parts that need the event's data and metadata (adapters that cannot query them). */
export function matchesContent(filter: EventFilter | undefined, event: { data: unknown; metadata: { occurredAt: string } }): boolean {
  if (!filter) return true;
  if (filter.since && event.metadata.occurredAt < filter.since) return false;
  if (filter.until && event.metadata.occurredAt >= filter.until) return false;
  if (filter.data) {
    const data = event.data as Record<string, unknown>;
    for (const [key, value] of Object.entries(filter.data)) if (data?.[key] !== value) return false;
  }
  return true;
}
