// The tamper-evident chain (DESIGN §2): each event's hash covers its content and the previous
// event's hash, so editing any stored event breaks every hash after it in the stream.

import { createHash } from 'node:crypto';
import type { EventMetadata, RecordedEvent } from './port.js';

/** JSON with object keys sorted, so the hash does not depend on how a store orders keys (jsonb does). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('canonicalJson: value is not representable in JSON');
    return text;
  }
  // Loops and concatenation rather than entries/map/join: this runs for every event appended.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) out += (i ? ',' : '') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  for (const key of keys) {
    const v = object[key];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

export interface HashedFields {
  streamId: string;
  revision: number;
  type: string;
  version: number;
  data: unknown;
  metadata: EventMetadata;
}

/**
 * The hashed text: canonicalJson({ streamId, revision, type, version, data, metadata }), built
 * from already-canonical JSON of data and metadata so an append serializes each event once.
 */
export function hashInput(streamId: string, revision: number, type: string, version: number, dataJson: string, metadataJson: string): string {
  return `{"data":${dataJson},"metadata":${metadataJson},"revision":${revision},"streamId":${JSON.stringify(streamId)},"type":${JSON.stringify(type)},"version":${version}}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function eventHash(event: HashedFields): string {
  const { streamId, revision, type, version, data, metadata } = event;
  return sha256(hashInput(streamId, revision, type, version, canonicalJson(data), canonicalJson(metadata)));
}

export interface ChainVerdict {
  ok: boolean;
  checked: number;
  /** First revision whose hash or link does not hold. */
  brokenAt?: number;
  reason?: 'hash_mismatch' | 'link_mismatch' | 'revision_gap';
}

/** The one link of the chain: does `event` follow `previous` (null: it opens the stream)? Undefined when it holds. */
export function brokenLink(event: RecordedEvent, previous: { revision: number; hash: string } | null): ChainVerdict['reason'] {
  if (event.revision !== (previous ? previous.revision + 1 : 0)) return 'revision_gap';
  if (event.metadata.prevHash !== (previous?.hash ?? null)) return 'link_mismatch';
  if (eventHash(event) !== event.hash) return 'hash_mismatch';
  return undefined;
}

/** Verifies a whole stream read in order from revision 0 (events as stored, before upcasting). */
export function verifyChain(events: readonly RecordedEvent[]): ChainVerdict {
  let previous: RecordedEvent | null = null;
  for (const [index, event] of events.entries()) {
    const reason = brokenLink(event, previous);
    if (reason) return { ok: false, checked: index, brokenAt: reason === 'revision_gap' ? index : event.revision, reason };
    previous = event;
  }
  return { ok: true, checked: events.length };
}
