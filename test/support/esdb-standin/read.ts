// Streams.Read: a stream or $all, forwards or backwards, from a revision / position or an end,
// with a count (Streams.Read.cs picks the enumerator from exactly these options); subscriptions
// are ./subscribe.ts.

import * as grpc from '@grpc/grpc-js';
import type { LogRecord } from './log.js';
import type { StandinNode } from './node.js';
import { streamName, streamsPb, type ReadReq, type ReadResp } from './proto.js';
import { Session, defaultAllFilter, readEvent, resolveLink } from './session.js';
import { subscribeToAll } from './subscribe.js';

type Options = InstanceType<typeof streamsPb.ReadReq.Options>;

const BACKWARDS = 1; // ReadReq.Options.ReadDirection.Backwards

export function readHandler(node: StandinNode): grpc.handleServerStreamingCall<ReadReq, ReadResp> {
  return (call) => {
    node.count('Read');
    const session = new Session(node, call);
    const gate = node.gate(call.metadata, 'Read');
    if (gate === 'stall') return; // held open, still ended by dropStreams or kill
    if (gate) return session.finish(gate);
    const options = call.request.getOptions()!;
    const run = options.hasSubscription()
      ? options.hasAll()
        ? subscribeToAll(session, options)
        : Promise.resolve(session.finish({ code: grpc.status.UNIMPLEMENTED, details: 'stream subscriptions are not modelled by the stand-in', metadata: new grpc.Metadata() }))
      : options.hasFilter()
        ? Promise.resolve(session.finish({ code: grpc.status.UNIMPLEMENTED, details: 'filtered reads are not modelled by the stand-in (client 6.2.1 never sends them)', metadata: new grpc.Metadata() }))
        : options.hasStream()
          ? readStream(session, options)
          : readAll(session, options);
    run.catch((error: Error) => session.finish({ code: grpc.status.UNKNOWN, details: error.message, metadata: new grpc.Metadata() }));
  };
}

function countOf(options: Options): number {
  const count = BigInt(options.getCount());
  return count > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(count);
}

/**
 * Enumerators.ReadStreamForwards / ReadStreamBackwards: from the revision (inclusive), `start`
 * or `end`, at most `count` events; a stream that does not exist is one StreamNotFound message
 * (ReadStreamResult.NoStream), not an error status. Appends made while the read pages through the
 * stream are read too, as the server's page-by-page read does. With resolve_links, link events
 * come with the events they point at ($all reads and subscriptions do not resolve links here).
 */
async function readStream(session: Session, options: Options): Promise<void> {
  const stream = options.getStream()!;
  const name = streamName(stream.getStreamIdentifier());
  const records = session.node.log.stream(name);
  if (!records) {
    const notFound = new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(stream.getStreamIdentifier());
    await session.send(new streamsPb.ReadResp().setStreamNotFound(notFound));
    return session.finish();
  }
  const withPosition = session.node.capabilities.streamReadPositions;
  const resolve = options.getResolveLinks();
  const message = (record: LogRecord) => readEvent(record, withPosition, resolve ? resolveLink(session.node.log, record) : undefined);
  let left = countOf(options);
  if (options.getReadDirection() === BACKWARDS) {
    let at = stream.hasStart() ? 0 : stream.hasEnd() ? records.length - 1 : Math.min(Number(stream.getRevision()), records.length - 1);
    // Reading backwards from `start` reads revision 0 only.
    for (; at >= 0 && left > 0; at -= 1, left -= 1) if (!(await session.send(message(records[at]!)))) return;
  } else {
    let at = stream.hasStart() ? 0 : stream.hasEnd() ? Number.MAX_SAFE_INTEGER : Number(stream.getRevision());
    for (; at < records.length && left > 0; at += 1, left -= 1) if (!(await session.send(message(records[at]!)))) return;
  }
  session.finish();
}

/**
 * Enumerators.ReadAllForwards / ReadAllBackwards over AllReader: forwards from a position includes
 * the event at it (TFPos >= pos); backwards from a position includes only records that end at or
 * before it (post-positions), so the event at that position is excluded. $all hides what
 * DefaultAllFilter hides.
 */
async function readAll(session: Session, options: Options): Promise<void> {
  const all = options.getAll()!;
  const log = session.node.log;
  let left = countOf(options);
  if (options.getReadDirection() === BACKWARDS) {
    let at = all.hasEnd() ? log.records.length - 1 : all.hasStart() ? -1 : log.indexEndingAfter(Number(all.getPosition()!.getCommitPosition())) - 1;
    for (; at >= 0 && left > 0; at -= 1) {
      const record = log.records[at]!;
      if (!defaultAllFilter(record)) continue;
      left -= 1;
      if (!(await session.send(readEvent(record, true)))) return;
    }
  } else {
    let at = all.hasStart() ? 0 : all.hasEnd() ? log.records.length : log.indexAtOrAfter(Number(all.getPosition()!.getCommitPosition()));
    for (; at < log.records.length && left > 0; at += 1) {
      const record = log.records[at]!;
      if (!defaultAllFilter(record)) continue;
      left -= 1;
      if (!(await session.send(readEvent(record, true)))) return;
    }
  }
  session.finish();
}
