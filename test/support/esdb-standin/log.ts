// The stand-in's transaction log: one in-memory log shared by every node that serves it, with
// positions assigned as EventStoreDB assigns them.
//
// - A position is the byte offset of the event's prepare record in the transaction file (its
//   pre-position): EventStoreDB's StorageWriterService.WritePrepares writes one record per event,
//   back to back, so positions grow by each record's size and leave gaps (oss-v23.10.6,
//   src/EventStore.Core/Services/Storage/StorageWriterService.cs).
// - Every gRPC append is an implicit transaction whose prepares carry PrepareFlags.IsCommitted, so
//   each event's commit position equals its prepare position (AllReader.cs reads such a record as
//   `new CommitEventRecord(eventRecord, prepare.LogPosition)`).
// - The append answers the position of its last event: the chaser acks the record flagged
//   TransactionEnd (StorageChaser.cs, CommitAck(record.LogPosition …); WriteEvents.cs reports it as
//   both commit and prepare position).
// - Record sizes follow the LogV2 PrepareLogRecord layout (fixed fields + stream id + event type +
//   data + metadata); only their growth matters to clients.

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface LogRecord {
  /** Pre-position: where the record starts. */
  position: number;
  /** Post-position: where the next record starts. */
  end: number;
  streamId: string;
  revision: number;
  id: string;
  type: string;
  contentType: string;
  data: Buffer;
  metadata: Buffer;
  /** .NET ticks (100 ns) since the Unix epoch, as the server's `created` metadata carries it. */
  created: bigint;
}

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Buffer;
  metadata: Buffer;
}

export type AppendOutcome =
  | { ok: true; records: LogRecord[]; currentRevision: number }
  | { ok: false; currentRevision: number };

const FIXED_PREPARE_SIZE = 90;

export class StandinLog {
  readonly records: LogRecord[] = [];
  readonly #streams = new Map<string, LogRecord[]>();
  readonly #listeners = new Set<(records: readonly LogRecord[]) => void>();
  #next: number;

  constructor(options: { firstPosition?: number; systemEvents?: boolean } = {}) {
    this.#next = options.firstPosition ?? 0;
    // A fresh EventStoreDB writes its own events before any client's: the default users and
    // settings, in streams and types that start with `$` (docs: "Event Store uses the $ prefix
    // for system streams and events").
    if (options.systemEvents !== false) {
      this.appendSystem('$users', '$UserCreated', { LoginName: 'admin' });
      this.appendSystem('$user-admin', '$user', { loginName: 'admin', fullName: 'Event Store Administrator', groups: ['$admins'] });
      this.appendSystem('$settings', '$update-default-acl', { $userStreamAcl: {}, $systemStreamAcl: {} });
    }
  }

  /** Revision of a stream's last event; -1 when it does not exist. */
  revisionOf(streamId: string): number {
    return (this.#streams.get(streamId)?.length ?? 0) - 1;
  }

  stream(streamId: string): readonly LogRecord[] | undefined {
    return this.#streams.get(streamId);
  }

  get headPosition(): number {
    return this.records.at(-1)?.position ?? -1;
  }

  /** Index of the first record that ends after `position` (records.length when none). */
  indexEndingAfter(position: number): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid]!.end <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first record at or after `position` (records.length when none). */
  indexAtOrAfter(position: number): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid]!.position < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Checks the expected version and writes, as IndexWriter.CheckCommit decides: any always,
   * no_stream only on an absent stream, stream_exists only on a present one, a number only at
   * that revision. (Idempotent re-appends of the same event ids are not modelled.)
   */
  append(streamId: string, expected: ExpectedRevision, events: readonly ProposedEvent[]): AppendOutcome {
    const current = this.revisionOf(streamId);
    const ok =
      expected === 'any' ? true
      : expected === 'no_stream' ? current === -1
      : expected === 'stream_exists' ? current >= 0
      : BigInt(current) === expected;
    if (!ok) return { ok: false, currentRevision: current };
    const created = BigInt(Date.now()) * 10_000n;
    const stream = this.#streams.get(streamId) ?? [];
    const records = events.map((event, i): LogRecord => {
      const position = this.#next;
      this.#next += FIXED_PREPARE_SIZE + Buffer.byteLength(streamId) + Buffer.byteLength(event.type) + event.data.length + event.metadata.length;
      return { ...event, streamId, revision: current + 1 + i, position, end: this.#next, created };
    });
    if (records.length === 0) return { ok: true, records, currentRevision: current };
    stream.push(...records);
    this.#streams.set(streamId, stream);
    this.records.push(...records);
    for (const listener of [...this.#listeners]) listener(records);
    return { ok: true, records, currentRevision: current + records.length };
  }

  /** Writes a system event (the server's own: `$`-prefixed stream and type). */
  appendSystem(streamId: string, type: string, data: unknown): LogRecord {
    const [record] = (this.append(streamId, 'any', [
      { id: crypto.randomUUID(), type, contentType: 'application/json', data: Buffer.from(JSON.stringify(data)), metadata: Buffer.alloc(0) },
    ]) as { records: LogRecord[] }).records;
    return record!;
  }

  /** Calls `listener` with every later append's records, in log order, synchronously. */
  listen(listener: (records: readonly LogRecord[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
