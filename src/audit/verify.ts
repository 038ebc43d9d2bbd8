// Hash-chain verification (DESIGN §2): one stream, or every stream in one pass over the log in
// position order, keeping only each stream's last hash and revision in memory.

import { brokenLink, verifyChain, type ChainVerdict } from '../eventstore/chain.js';
import type { EventStore } from '../eventstore/port.js';

export async function verifyStream(store: EventStore, streamId: string): Promise<ChainVerdict & { stream: string; exists: boolean }> {
  const events = await store.readStream(streamId, { upcast: false });
  return { stream: streamId, exists: events.length > 0, ...verifyChain(events) };
}

export interface LogVerdict {
  streams: number;
  events: number;
  broken: { stream: string; revision: number; reason: string }[];
}

export async function verifyAll(store: EventStore, onProgress?: (position: number, head: number) => void): Promise<LogVerdict> {
  const head = await store.headPosition();
  const last = new Map<string, { revision: number; hash: string } | null>(); // null: already broken
  const broken: LogVerdict['broken'] = [];
  let position = 0;
  let events = 0;
  for (;;) {
    const page = await store.readAll({ after: position, maxCount: 2000, upcast: false });
    if (page.length === 0) break;
    for (const event of page) {
      events += 1;
      const previous = last.get(event.streamId);
      if (previous === null) continue;
      const reason = brokenLink(event, previous ?? null);
      if (reason) {
        broken.push({ stream: event.streamId, revision: event.revision, reason });
        last.set(event.streamId, null);
      } else {
        last.set(event.streamId, { revision: event.revision, hash: event.hash });
      }
    }
    position = page[page.length - 1]!.position;
    onProgress?.(position, head);
  }
  return { streams: last.size, events, broken };
}
