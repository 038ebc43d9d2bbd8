// What every adapter does to an append before storing it: validate each event against its
// schema, stamp metadata, and link it into the stream's hash chain.

import { randomUUID } from 'node:crypto';
import type { EventCatalogue } from '../events/catalogue.js';
import { canonicalJson, hashInput, sha256 } from './chain.js';
import { EventStoreError, type EventMetadata, type MetadataInput, type NewEvent, type RecordedEvent } from './port.js';

export type Clock = () => Date;

export interface PreparedEvent {
  type: string;
  version: number;
  data: unknown;
  /** Canonical JSON of data, taken when the append was called: what is hashed and stored. */
  dataJson: string;
  metadata: Omit<EventMetadata, 'prevHash'>;
}

/** Validates and stamps; throws EventSchemaError before anything is stored. */
export function prepareEvents(
  catalogue: EventCatalogue,
  events: readonly NewEvent[],
  input: MetadataInput | undefined,
  clock: Clock,
): PreparedEvent[] {
  if (events.length === 0) throw new EventStoreError('ERR_INVALID_APPEND', 'append needs at least one event');
  const occurredAt = input?.occurredAt ?? clock().toISOString();
  const prepared: PreparedEvent[] = [];
  for (const event of events) {
    catalogue.validate(event.type, event.data);
    const eventId = event.eventId ?? randomUUID();
    prepared.push({
      type: event.type,
      version: catalogue.version(event.type),
      data: event.data,
      // Serialized now, so a caller mutating its object later cannot change what was validated.
      dataJson: canonicalJson(event.data),
      metadata: {
        eventId,
        occurredAt,
        actor: input?.actor ?? 'system',
        requestId: input?.requestId ?? null,
        correlationId: input?.correlationId ?? eventId,
        causationId: input?.causationId ?? null,
      },
    });
  }
  return prepared;
}

export interface SealedEvent extends RecordedEvent {
  dataJson: string;
  metadataJson: string;
}

/** Gives prepared events their revisions, positions and chained hashes. */
export function sealEvents(
  streamId: string,
  prepared: readonly PreparedEvent[],
  previous: { revision: number; hash: string | null },
  firstPosition: number,
): SealedEvent[] {
  let prevHash = previous.hash;
  return prepared.map((event, index) => {
    const metadata: EventMetadata = { ...event.metadata, prevHash };
    const metadataJson = canonicalJson(metadata);
    const revision = previous.revision + 1 + index;
    const hash = sha256(hashInput(streamId, revision, event.type, event.version, event.dataJson, metadataJson));
    prevHash = hash;
    return {
      streamId, revision, position: firstPosition + index, type: event.type, version: event.version,
      data: event.data, metadata, hash, dataJson: event.dataJson, metadataJson,
    };
  });
}
