// The catch-up subscription to $all, as oss-v23.10.6's Enumerators.AllSubscriptionFiltered (and,
// without a filter, AllSubscription) runs it.

import * as grpc from '@grpc/grpc-js';
import type { LogRecord } from './log.js';
import { streamsPb, type ReadResp } from './proto.js';
import { Session, defaultAllFilter, readEvent } from './session.js';

type Options = InstanceType<typeof streamsPb.ReadReq.Options>;

/** Enumerators.cs: ReadBatchSize, the default search window, and MaxLiveEventBufferCount. */
const READ_BATCH_SIZE = 32;
const MAX_LIVE_EVENT_BUFFER_COUNT = 32;

/**
 * The server-side filter (EventFilter.cs): on the event type or the stream name, a regex or a list
 * of prefixes, always on top of DefaultAllFilter. Without a filter: DefaultAllFilter alone, and
 * no checkpoints (AllSubscription).
 */
function filterOf(options: Options): { allows(record: LogRecord): boolean; window: number; interval: number } | undefined {
  if (!options.hasFilter()) return undefined;
  const filter = options.getFilter()!;
  const onType = filter.hasEventType();
  const expression = onType ? filter.getEventType()! : filter.getStreamIdentifier()!;
  const regex = expression.getRegex() ? new RegExp(expression.getRegex()) : undefined;
  const prefixes = expression.getPrefixList();
  const field = (record: LogRecord) => (onType ? record.type : record.streamId);
  const window = filter.hasMax() ? filter.getMax() : READ_BATCH_SIZE;
  const multiplier = filter.getCheckpointintervalmultiplier();
  return {
    allows: (record) => defaultAllFilter(record) && (regex ? regex.test(field(record)) : prefixes.some((prefix) => field(record).startsWith(prefix))),
    window,
    // AllSubscriptionFiltered: _checkpointInterval = checkpointIntervalMultiplier * _maxSearchWindow.
    interval: multiplier * window,
  };
}

const checkpoint = (record: { position: number }): ReadResp =>
  new streamsPb.ReadResp().setCheckpoint(new streamsPb.ReadResp.Checkpoint().setCommitPosition(String(record.position)).setPreparePosition(String(record.position)));

export async function subscribeToAll(session: Session, options: Options): Promise<void> {
  const log = session.node.log;
  const filter = filterOf(options);
  if (filter && filter.interval <= 0) return session.finish({ code: grpc.status.UNKNOWN, details: 'checkpointIntervalMultiplier', metadata: new grpc.Metadata() });
  const allows = filter?.allows ?? defaultAllFilter;
  const all = options.getAll()!;

  // The confirmation comes first (ConfirmSubscription, on the first page or the live confirmation).
  if (!(await session.send(new streamsPb.ReadResp().setConfirmation(new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(crypto.randomUUID()))))) return;

  // Subscribe(startPosition): from a position, ReadAllEventsForward(position, 1) and catch up from
  // its NextPos, so the event at the position itself is not delivered again; `end` goes live at once.
  let at: number;
  if (all.hasEnd()) at = log.records.length;
  else if (all.hasStart()) at = 0;
  else {
    at = log.indexAtOrAfter(Number(all.getPosition()!.getCommitPosition()));
    if (at < log.records.length) at += 1;
  }

  // Catch-up, page by page (FilteredReadAllEventsForward with the search window): the events the
  // filter allows, and after a page that did not reach the end, once the events considered since
  // the last checkpoint reach the interval, a checkpoint at the page's last delivered event (or
  // its first position when it delivered none).
  let counter = 0;
  while (at < log.records.length) {
    const page = log.records.slice(at, at + (filter?.window ?? READ_BATCH_SIZE));
    let last: LogRecord = page[0]!;
    for (const record of page) {
      if (!allows(record)) continue;
      last = record;
      if (!(await session.send(readEvent(record, true)))) return;
    }
    at += page.length;
    if (!filter || at >= log.records.length) continue;
    counter += page.length;
    if (counter >= filter.interval) {
      counter %= filter.interval;
      if (!(await session.send(checkpoint(last)))) return;
    }
  }

  // Live, from exactly where catch-up ended (no await between the last check and listening, so
  // nothing appended in between is missed). CaughtUp from 23.10 on. Live events are counted for
  // checkpoints whether or not the filter allows them (SubscriptionsService.ProcessEventCommited),
  // and a consumer that leaves more than MaxLiveEventBufferCount live events unread is dropped
  // with "Consumer too slow" (ConsumerTooSlow → RpcExceptions.Timeout: StatusCode.Aborted).
  const queue: LogRecord[] = [];
  let wake: (() => void) | undefined;
  const stop = log.listen((records) => {
    queue.push(...records);
    if (queue.length > MAX_LIVE_EVENT_BUFFER_COUNT && !session.done) {
      session.node.stats.slowConsumerDrops += 1;
      session.finish({ code: grpc.status.ABORTED, details: 'Operation timed out: Consumer too slow to handle event while live. Client resubscription required.', metadata: new grpc.Metadata() });
    }
    wake?.();
  });
  session.onEnd(() => {
    stop();
    wake?.();
  });
  if (session.node.capabilities.caughtUp && !(await session.send(new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp())))) return;
  while (!session.done) {
    const record = queue.shift();
    if (!record) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      continue;
    }
    if (allows(record) && !(await session.send(readEvent(record, true)))) return;
    if (!filter) continue;
    counter += 1;
    if (counter >= filter.interval) {
      counter = 0;
      if (!(await session.send(checkpoint(record)))) return;
    }
  }
}
