// A server-streaming call as the stand-in writes it: writes wait for the client to read (HTTP/2
// flow control, like the server's `await responseStream.WriteAsync`), and the call ends once —
// normally, with a status, or because the client cancelled it.

import type * as grpc from '@grpc/grpc-js';
import type { LogRecord, StandinLog } from './log.js';
import type { StandinNode } from './node.js';
import { sharedPb, streamIdentifier, streamsPb, uuidOut, type ReadResp } from './proto.js';

export class Session {
  #done = false;
  #onEnd: (() => void)[] = [];
  readonly #untrack: () => void;
  readonly ended: Promise<void>;
  #resolveEnded!: () => void;

  constructor(
    readonly node: StandinNode,
    readonly call: grpc.ServerWritableStream<unknown, ReadResp>,
  ) {
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.#untrack = node.track((status) => this.finish(status));
    call.on('cancelled', () => this.finish());
    call.on('error', () => this.finish());
  }

  get done(): boolean {
    return this.#done || this.call.cancelled;
  }

  /** Runs when the call ends, however it ends. */
  onEnd(cleanup: () => void): void {
    if (this.#done) cleanup();
    else this.#onEnd.push(cleanup);
  }

  /** Writes one message; resolves false once the call has ended. */
  async send(message: ReadResp): Promise<boolean> {
    if (this.done) return false;
    if (message.hasEvent()) this.node.stats.eventsSent += 1;
    if (!this.call.write(message)) {
      await Promise.race([new Promise((resolve) => this.call.once('drain', resolve)), this.ended]);
    }
    return !this.done;
  }

  /** Messages waiting in the call's buffer for the client to read them. */
  get buffered(): number {
    return this.call.writableLength;
  }

  finish(status?: grpc.StatusObject): void {
    if (this.#done) return;
    this.#done = true;
    this.#untrack();
    for (const cleanup of this.#onEnd.splice(0)) cleanup();
    this.#resolveEnded();
    if (this.call.cancelled) return;
    if (status) this.call.emit('error', status);
    else this.call.end();
  }
}

const NO_POSITION = '18446744073709551615';

function recordedEvent(record: LogRecord, position: string) {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(uuidOut(record.id))
    .setStreamIdentifier(streamIdentifier(record.streamId))
    .setStreamRevision(String(record.revision))
    .setCommitPosition(position)
    .setPreparePosition(position)
    .setCustomMetadata(record.metadata)
    .setData(record.data);
  recorded.getMetadataMap().set('type', record.type).set('created', String(record.created)).set('content-type', record.contentType);
  return recorded;
}

/**
 * ReadResp.ReadEvent as Enumerators.ConvertToReadEvent builds it: the event with its id (as a
 * string: the client asks UUIDOption.string), stream, revision, `type` / `created` (ticks) /
 * `content-type` metadata, custom metadata and data; the positions when known, else
 * ulong.MaxValue in the record and `no_position` on the read event (Position.FromInt64(-1, -1)).
 * With `resolved` (a link event read with resolve_links): the linked event as `event` (null when
 * the link points nowhere: ForFailedResolvedLink) and the link as `link`, whose position is the
 * read event's (OriginalPosition).
 */
export function readEvent(record: LogRecord, withPosition: boolean, resolved?: LogRecord | null): ReadResp {
  const position = withPosition ? String(record.position) : NO_POSITION;
  const event = new streamsPb.ReadResp.ReadEvent();
  if (resolved === undefined) event.setEvent(recordedEvent(record, position));
  else {
    event.setLink(recordedEvent(record, position));
    if (resolved) event.setEvent(recordedEvent(resolved, withPosition ? String(resolved.position) : NO_POSITION));
  }
  if (withPosition) event.setCommitPosition(position);
  else event.setNoPosition(new sharedPb.Empty());
  return new streamsPb.ReadResp().setEvent(event);
}

/**
 * A link event (type `$>`, data `<revision>@<stream>`) resolved as StorageReaderWorker.ResolveLinkToEvent
 * does: the linked record, or null when there is none; undefined for any other event.
 */
export function resolveLink(log: StandinLog, record: LogRecord): LogRecord | null | undefined {
  if (record.type !== '$>') return undefined;
  const [revision, stream] = record.data.toString('utf8').split('@', 2);
  if (!stream || !/^\d+$/.test(revision ?? '')) return undefined;
  return log.stream(stream)?.[Number(revision)] ?? null;
}

/**
 * EventFilter.DefaultAllFilterStrategy: $all shows every event except the epoch records and the
 * checkpoints and parked messages of persistent subscriptions to $all.
 */
export function defaultAllFilter(record: LogRecord): boolean {
  if (!record.streamId.startsWith('$')) return true;
  if (record.streamId === '$epoch-information') return false;
  return !(record.streamId.startsWith('$persistentsubscription-$all::') && (record.streamId.endsWith('-checkpoint') || record.streamId.endsWith('-parked')));
}
