// The append transactions, SQL next to its typed callers: a fast path for a batch that only starts
// new streams (one round trip), and the general path that checks each append's expected revision.
//
// Ordering guarantee: every append transaction takes one transaction-scoped advisory lock
// before it reads the head position, and keeps it until it commits. PostgreSQL releases
// transaction locks only after the commit is visible, so the transaction that gets the next
// positions cannot become visible before the one holding earlier positions. Positions are
// therefore gapless and in commit order, and a reader that sees position p sees every position
// below p: a subscriber reading `position > checkpoint` can never skip a late commit.
//
// A batch whose appends start new streams (token families, codes, device requests: the hot
// path) or expect a head this process knows (a refresh, a revocation: ./heads.ts) needs nothing
// read first and is sent as one round trip; the chain's hashes do not cover positions, so they
// are computed before the positions are known.

import pg from 'pg';
import { isConnectionError } from '../../db/errors.js';
import { LOCK_NAMESPACE, LockKey } from '../../db/locks.js';
import { corked, settle } from '../../db/pipeline.js';
import {
  EventStoreError,
  NO_STREAM,
  WrongExpectedRevisionError,
  revisionMatches,
  type AppendResult,
  type ExpectedRevision,
  type RecordedEvent,
} from '../port.js';
import { sealEvents, type PreparedEvent, type SealedEvent } from '../seal.js';
import type { KnownHeads } from './heads.js';
import { checkpointMove, type InlineProjector } from './inline.js';

/** The channel every append transaction notifies, with the log's new head, as it commits. */
export const EVENTS_CHANNEL = 'warrant_events';

/** One caller's append: its events, prepared but not yet placed. */
export interface AppendRequest {
  streamId: string;
  prepared: PreparedEvent[];
  expected: ExpectedRevision;
}

export type Outcome = { ok: true; result: AppendResult } | { ok: false; error: Error };

/** Test hook: runs inside the append transaction, after the insert, before COMMIT. */
export type BeforeCommit = (events: readonly RecordedEvent[]) => Promise<void>;

/**
 * One event as a row of the JSON document an append inserts with jsonb_to_recordset: the event
 * JSON goes in as it is, with no array-literal escaping, and PostgreSQL parses it once. `lead`
 * places it (its position, or its order in the batch).
 */
function eventRow(e: SealedEvent, lead: string): string {
  return `{${lead},"stream_id":${JSON.stringify(e.streamId)},"revision":${e.revision},"event_id":${JSON.stringify(e.metadata.eventId)},"type":${JSON.stringify(e.type)},"version":${e.version},"data":${e.dataJson},"metadata":${e.metadataJson},"hash":"${e.hash}"}`;
}

/** The inline work of one transaction: the statements and the checkpoint move, or nothing. */
function inlineWork(inline: InlineProjector | undefined, names: readonly string[], written: readonly SealedEvent[]) {
  if (!inline || names.length === 0) return undefined;
  const { statements, touched } = inline.project(written, names);
  return { names, statements: [checkpointMove(inline, names, written.length, touched), ...statements] };
}

/** Writes a batch of appends in one transaction on `client`: one outcome per append, in order. */
export async function transact(client: pg.Client, batch: readonly AppendRequest[], beforeCommit: BeforeCommit | undefined, inline?: InlineProjector, heads?: KnownHeads): Promise<Outcome[]> {
  // The hottest appends start new streams or follow a head this process knows: then nothing
  // needs reading first, and the batch is one round trip. If a stream turns out to exist (or to
  // have moved on), an inline projection is behind, or anything else fails, nothing was written
  // and the general path decides per append.
  const known = knownPrevious(batch, heads);
  if (known) {
    const outcomes = await transactKnownHeads(client, batch, known, beforeCommit, inline);
    if (outcomes) return outcomes;
    for (const append of batch) heads?.forget(append.streamId);
  }
  return transactGeneral(client, batch, beforeCommit, inline);
}

/** Each append's previous head when all are known (a new stream, or exactly a known head) and the streams are distinct. */
function knownPrevious(batch: readonly AppendRequest[], heads: KnownHeads | undefined): { revision: number; hash: string | null }[] | undefined {
  const previous: { revision: number; hash: string | null }[] = [];
  const streams = new Set<string>();
  for (const append of batch) {
    if (streams.has(append.streamId)) return undefined;
    streams.add(append.streamId);
    if (append.expected === NO_STREAM) {
      previous.push({ revision: -1, hash: null });
      continue;
    }
    const head = typeof append.expected === 'number' ? heads?.get(append.streamId) : undefined;
    if (!head || head.revision !== append.expected) return undefined;
    previous.push(head);
  }
  return previous;
}

/** Runs the prepared statements of inline projections (each named, so prepared once per connection). */
function send(client: pg.Client, statement: { text: string; values: unknown[]; name?: string }) {
  return client.query(statement.name ? { name: statement.name, text: statement.text, values: statement.values } : { text: statement.text, values: statement.values });
}

/**
 * One round trip: begin, take the append lock, insert every event at positions counted on from
 * the log's head (read by the INSERT itself, after the lock is held: READ COMMITTED gives each
 * statement a fresh snapshot), create the new streams (a plain INSERT, so an existing stream
 * fails the transaction), move the known ones only if each is still at the expected revision and
 * hash (else a division by zero fails the transaction), notify, commit. Undefined when the
 * transaction did not commit.
 */
async function transactKnownHeads(
  client: pg.Client,
  batch: readonly AppendRequest[],
  previous: readonly { revision: number; hash: string | null }[],
  beforeCommit: BeforeCommit | undefined,
  inline: InlineProjector | undefined,
): Promise<Outcome[] | undefined> {
  const sealed = batch.map((append, i) => sealEvents(append.streamId, append.prepared, previous[i]!, 0));
  const written = sealed.flat();
  // Assumes every inline projection is at the head (the steady state); the checkpoint move
  // refuses otherwise, and the general path looks first.
  const work = inlineWork(inline, inline?.names ?? [], written);
  const rows = written.map((e, i) => eventRow(e, `"ord":${i + 1}`));
  const fresh = sealed.filter((_, i) => previous[i]!.revision < 0).map((events) => events[events.length - 1]!);
  const moved = sealed.map((events, i) => ({ head: events[events.length - 1]!, from: previous[i]! })).filter(({ from }) => from.revision >= 0);
  const sent = corked(client, () => [
    client.query('BEGIN'),
    client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LockKey.append]),
    client.query<{ position: string; event_id: string }>(
      `INSERT INTO es_events (position, stream_id, revision, event_id, type, version, data, metadata, hash)
       SELECT (SELECT coalesce(max(position), 0) FROM es_events) + e.ord, e.stream_id, e.revision, e.event_id, e.type, e.version, e.data, e.metadata, e.hash
         FROM jsonb_to_recordset($1::jsonb) AS e(ord bigint, stream_id text, revision bigint, event_id uuid, type text,
                                                version int, data jsonb, metadata jsonb, hash text)
       RETURNING position, event_id`,
      [`[${rows.join(',')}]`],
    ),
    ...(fresh.length > 0
      ? [client.query(
          `INSERT INTO es_streams (stream_id, revision, last_hash, last_position)
           SELECT s.id, s.revision, s.hash, e.position
             FROM unnest($1::text[], $2::bigint[], $3::text[], $4::uuid[]) AS s(id, revision, hash, last_event)
             JOIN es_events e ON e.event_id = s.last_event`,
          [fresh.map((e) => e.streamId), fresh.map((e) => e.revision), fresh.map((e) => e.hash), fresh.map((e) => e.metadata.eventId)],
        )]
      : []),
    ...(moved.length > 0
      ? [client.query(
          `WITH moved AS (
             UPDATE es_streams s SET revision = m.revision, last_hash = m.hash, last_position = e.position
               FROM unnest($1::text[], $2::bigint[], $3::text[], $4::uuid[], $5::bigint[], $6::text[]) AS m(id, revision, hash, last_event, expected, expected_hash)
               JOIN es_events e ON e.event_id = m.last_event
              WHERE s.stream_id = m.id AND s.revision = m.expected AND s.last_hash = m.expected_hash
             RETURNING 1
           )
           SELECT 1 / (CASE WHEN count(*) = $7 THEN 1 ELSE 0 END) AS every_head_held FROM moved`,
          [
            moved.map(({ head }) => head.streamId), moved.map(({ head }) => head.revision), moved.map(({ head }) => head.hash),
            moved.map(({ head }) => head.metadata.eventId), moved.map(({ from }) => from.revision), moved.map(({ from }) => from.hash), moved.length,
          ],
        )]
      : []),
    client.query("SELECT pg_notify($1, (SELECT max(position) FROM es_events)::text)", [EVENTS_CHANNEL]),
    ...(work?.statements ?? []).map((statement) => send(client, statement)),
  ]);
  let inserted: pg.QueryResult<{ position: string; event_id: string }>;
  try {
    if (beforeCommit) {
      inserted = (await settle(sent))[2] as pg.QueryResult<{ position: string; event_id: string }>;
      // Positions are known now; the hook sees the events as they will be committed.
      const at = new Map(inserted.rows.map((row) => [row.event_id, Number(row.position)]));
      await beforeCommit(written.map((e) => ({ ...e, position: at.get(e.metadata.eventId)! })));
      const commit = await client.query('COMMIT');
      if (commit.command !== 'COMMIT') return undefined;
    } else {
      const results = await settle([...sent, client.query('COMMIT')]);
      inserted = results[2] as pg.QueryResult<{ position: string; event_id: string }>;
      if ((results[results.length - 1] as pg.QueryResult).command !== 'COMMIT') return undefined;
    }
  } catch (error) {
    if (isConnectionError(error)) throw error;
    await client.query('ROLLBACK').catch(() => undefined);
    return undefined;
  }
  const at = new Map(inserted.rows.map((row) => [row.event_id, Number(row.position)]));
  return sealed.map((events) => {
    const recorded = events.map(({ dataJson: _d, metadataJson: _m, ...event }) => ({ ...event, position: at.get(event.metadata.eventId)! }));
    const last = recorded[recorded.length - 1]!;
    return { ok: true, result: { nextExpectedRevision: last.revision, position: last.position, events: recorded, ...(work ? { projected: work.names } : {}) } };
  });
}

async function transactGeneral(client: pg.Client, batch: readonly AppendRequest[], beforeCommit: BeforeCommit | undefined, inline: InlineProjector | undefined): Promise<Outcome[]> {
  // Round trip 1: begin, take the append lock, read the streams' heads, the log's head and (for
  // inline projections) their checkpoints, locked: no runner moves them under this append.
  const streamIds = [...new Set(batch.map((append) => append.streamId))];
  const [, , streams, head, checkpoints] = await settle(corked(client, () => [
    client.query('BEGIN'),
    client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LockKey.append]),
    client.query<{ stream_id: string; revision: string; last_hash: string }>(
      'SELECT stream_id, revision, last_hash FROM es_streams WHERE stream_id = ANY($1::text[])',
      [streamIds],
    ),
    client.query<{ head: string }>('SELECT coalesce(max(position), 0) AS head FROM es_events'),
    client.query<{ name: string; position: string }>('SELECT name, position FROM projection_checkpoints WHERE name = ANY($1::text[]) FOR UPDATE', [inline?.names ?? []]),
  ] as const)).catch(async (error: unknown) => {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  });

  const state = new Map(streams.rows.map((row) => [row.stream_id, { revision: Number(row.revision), hash: row.last_hash as string | null, position: 0 }]));
  const touched = new Set<string>();
  let position = Number(head.rows[0]!.head);
  const outcomes: Outcome[] = [];
  const written: SealedEvent[] = [];
  for (const append of batch) {
    const current = state.get(append.streamId) ?? { revision: -1, hash: null, position: 0 };
    if (!revisionMatches(append.expected, current.revision)) {
      outcomes.push({ ok: false, error: new WrongExpectedRevisionError(append.streamId, append.expected, current.revision) });
      continue;
    }
    const sealed = sealEvents(append.streamId, append.prepared, current, position + 1);
    const last = sealed[sealed.length - 1]!;
    position = last.position;
    state.set(append.streamId, { revision: last.revision, hash: last.hash, position: last.position });
    touched.add(append.streamId);
    written.push(...sealed);
    const events = sealed.map(({ dataJson: _d, metadataJson: _m, ...event }) => event);
    outcomes.push({ ok: true, result: { nextExpectedRevision: last.revision, position: last.position, events } });
  }
  if (written.length === 0) {
    await client.query('ROLLBACK');
    return outcomes;
  }

  // Round trip 2 (and 3): insert events, move stream heads, notify subscribers, commit. COMMIT
  // of a transaction in which anything failed rolls back, so nothing is half-written.
  const streamRows = [...touched].map((id) => ({ id, ...state.get(id)! }));
  // Inline only for the projections that stand at the log's head; the others' runners catch up.
  const atHead = checkpoints.rows.filter((row) => Number(row.position) === Number(head.rows[0]!.head)).map((row) => row.name);
  const work = inlineWork(inline, atHead, written);
  const writes = corked(client, () => [
    client.query(
      `INSERT INTO es_events (position, stream_id, revision, event_id, type, version, data, metadata, hash)
       SELECT position, stream_id, revision, event_id, type, version, data, metadata, hash
         FROM jsonb_to_recordset($1::jsonb) AS e(position bigint, stream_id text, revision bigint, event_id uuid, type text,
                                                version int, data jsonb, metadata jsonb, hash text)`,
      [
        `[${written.map((e) => eventRow(e, `"position":${e.position}`)).join(',')}]`,
      ],
    ),
    client.query(
      `INSERT INTO es_streams (stream_id, revision, last_hash, last_position)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
       ON CONFLICT (stream_id) DO UPDATE
         SET revision = EXCLUDED.revision, last_hash = EXCLUDED.last_hash, last_position = EXCLUDED.last_position`,
      [streamRows.map((r) => r.id), streamRows.map((r) => r.revision), streamRows.map((r) => r.hash), streamRows.map((r) => r.position)],
    ),
    client.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, String(position)]),
    ...(work?.statements ?? []).map((statement) => send(client, statement)),
  ]);
  if (beforeCommit) {
    await settle(writes).catch(async (error: unknown) => {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    });
    try {
      await beforeCommit(written);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    writes.length = 0;
  }
  let results: unknown[];
  try {
    results = await settle([...writes, client.query('COMMIT')]);
  } catch (error) {
    // An inline projection's SQL failed (or was behind): the events must not wait on it. The
    // transaction is rolled back; append again without inline work, for the runners to apply.
    if (work && !isConnectionError(error)) {
      await client.query('ROLLBACK').catch(() => undefined);
      return transactGeneral(client, batch, beforeCommit, undefined);
    }
    throw error;
  }
  const commit = results[results.length - 1] as pg.QueryResult;
  if (commit.command !== 'COMMIT') {
    if (work) return transactGeneral(client, batch, beforeCommit, undefined);
    throw new EventStoreError('ERR_INVALID_APPEND', 'append transaction was rolled back');
  }
  return work ? outcomes.map((outcome) => (outcome.ok ? { ok: true, result: { ...outcome.result, projected: work.names } } : outcome)) : outcomes;
}
