// The event store contract (DESIGN §3, STYLE §7): every adapter must pass these tests.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { EventSchemaError } from '../../src/events/catalogue.js';
import { verifyChain } from '../../src/eventstore/chain.js';
import {
  ANY,
  NO_STREAM,
  WrongExpectedRevisionError,
  type EventStore,
  type RecordedEvent,
} from '../../src/eventstore/port.js';
import { clientRegistered, revokedEvent } from '../support/events.js';

export interface ContractTarget {
  /** A store on an empty log. */
  create(): Promise<EventStore>;
  destroy(): Promise<void>;
}

/** Reads the subscription until `count` events arrived (or the deadline passes). */
export async function collect(
  store: EventStore,
  options: { after?: number; count: number; timeoutMs?: number },
): Promise<RecordedEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 20_000);
  const received: RecordedEvent[] = [];
  try {
    for await (const batch of store.subscribeToAll({ after: options.after ?? 0, signal: controller.signal })) {
      received.push(...batch.events);
      if (received.length >= options.count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return received;
}

export function eventStoreContract(target: ContractTarget): void {
  let store: EventStore;
  // A shared log (EventStoreDB) is not empty: every read below starts after what was there.
  let base = 0;

  beforeEach(async () => {
    store = await target.create();
    base = await store.headPosition();
  });
  afterEach(async () => {
    await store.close();
    await target.destroy();
  });

  it('reads back what was appended, with revisions, metadata and a hash chain', async () => {
    const stream = `client-${randomUUID()}`;
    const first = clientRegistered();
    const result = await store.append(stream, [first, revokedEvent()], {
      expectedRevision: NO_STREAM,
      metadata: { actor: 'admin:test', requestId: 'req-1', correlationId: 'corr-1' },
    });
    expect(result.nextExpectedRevision).to.equal(1);

    const events = await store.readStream(stream);
    expect(events.map((e) => [e.type, e.revision])).to.deep.equal([
      ['ClientRegistered', 0],
      ['TokenRevoked', 1],
    ]);
    expect(events[0]!.data).to.deep.equal(first.data);
    expect(events[0]!.version).to.equal(1);
    expect(events[0]!.metadata).to.include({ actor: 'admin:test', requestId: 'req-1', correlationId: 'corr-1', prevHash: null });
    expect(events[1]!.metadata.prevHash).to.equal(events[0]!.hash);
    expect(events[0]!.position).to.be.below(events[1]!.position);
    expect(events[1]!.position).to.equal(result.position);
    expect(verifyChain(await store.readStream(stream, { upcast: false }))).to.deep.equal({ ok: true, checked: 2 });

    const all = await store.readAll({ after: base });
    expect(all.map((e) => e.metadata.eventId)).to.include.members(events.map((e) => e.metadata.eventId));
  });

  it('returns an empty list for a stream that does not exist', async () => {
    expect(await store.readStream(`token-${randomUUID()}`)).to.deep.equal([]);
  });

  it('refuses NO_STREAM on an existing stream with a typed error', async () => {
    const stream = `token-${randomUUID()}`;
    await store.append(stream, [revokedEvent()], { expectedRevision: NO_STREAM });
    const error = await store.append(stream, [revokedEvent()], { expectedRevision: NO_STREAM }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(WrongExpectedRevisionError);
    expect(error).to.include({ code: 'ERR_WRONG_EXPECTED_REVISION', streamId: stream, actual: 0 });
    expect(await store.readStream(stream)).to.have.length(1);
  });

  it('refuses a wrong expected revision and accepts the right one', async () => {
    const stream = `token-${randomUUID()}`;
    await store.append(stream, [revokedEvent(), revokedEvent()], { expectedRevision: NO_STREAM });
    for (const wrong of [0, 2, 7]) {
      const error = await store.append(stream, [revokedEvent()], { expectedRevision: wrong }).catch((e: unknown) => e);
      expect(error, `expected revision ${wrong}`).to.be.instanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).actual).to.equal(1);
    }
    const error = await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 0 }).catch((e: unknown) => e);
    expect(error).to.include({ code: 'ERR_WRONG_EXPECTED_REVISION', actual: -1 });
    const ok = await store.append(stream, [revokedEvent()], { expectedRevision: 1 });
    expect(ok.nextExpectedRevision).to.equal(2);
  });

  it('appends with ANY to new and existing streams', async () => {
    const stream = `token-${randomUUID()}`;
    await store.append(stream, [revokedEvent()], { expectedRevision: ANY });
    await store.append(stream, [revokedEvent()], { expectedRevision: ANY });
    const events = await store.readStream(stream);
    expect(events.map((e) => e.revision)).to.deep.equal([0, 1]);
    expect(events[1]!.metadata.prevHash).to.equal(events[0]!.hash);
  });

  it('refuses an event that fails its schema, naming the type and the field, and stores nothing', async () => {
    const stream = `client-${randomUUID()}`;
    const bad = clientRegistered(randomUUID(), { scopes: ['ok', 'has space'] });
    const error = await store.append(stream, [revokedEvent(), bad], { expectedRevision: ANY }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(EventSchemaError);
    expect(error).to.include({ code: 'ERR_EVENT_SCHEMA', eventType: 'ClientRegistered', field: '/scopes/1' });
    expect((error as Error).message).to.contain('ClientRegistered').and.to.contain('/scopes/1');

    const missing = { type: 'TokenRevoked', data: { familyId: randomUUID(), reason: 'admin' } };
    const error2 = await store.append(stream, [missing], { expectedRevision: ANY }).catch((e: unknown) => e);
    expect(error2).to.include({ eventType: 'TokenRevoked', field: '/clientId' });

    const unknown = await store.append(stream, [{ type: 'Nope', data: {} }], { expectedRevision: ANY }).catch((e: unknown) => e);
    expect(unknown).to.include({ code: 'ERR_EVENT_SCHEMA', eventType: 'Nope' });
    expect(await store.readStream(stream)).to.deep.equal([]);
  });

  it('reads all from a position, exclusive, in position order', async () => {
    const a = await store.append(`token-${randomUUID()}`, [revokedEvent(), revokedEvent()], { expectedRevision: ANY });
    const b = await store.append(`client-${randomUUID()}`, [clientRegistered()], { expectedRevision: ANY });
    const after = await store.readAll({ after: a.events[0]!.position });
    expect(after.map((e) => e.metadata.eventId)).to.deep.equal([a.events[1]!.metadata.eventId, b.events[0]!.metadata.eventId]);
    const clients = await store.readAll({ after: base, filter: { streamPrefixes: ['client-'] } });
    expect(clients.map((e) => e.type)).to.deep.equal(['ClientRegistered']);
    expect(await store.headPosition()).to.equal(b.position);
  });

  it('filters reads by data fields and by occurred-at bounds', async () => {
    const clientId = randomUUID();
    const mine = await store.append(`token-${randomUUID()}`, [{ type: 'TokenRevoked', data: { familyId: randomUUID(), clientId, reason: 'admin' } }], {
      expectedRevision: NO_STREAM,
      metadata: { occurredAt: '2026-01-01T10:00:00.000Z' },
    });
    await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: NO_STREAM, metadata: { occurredAt: '2026-01-01T11:00:00.000Z' } });
    const byClient = await store.readAll({ after: base, filter: { data: { clientId } } });
    expect(byClient.map((e) => e.metadata.eventId)).to.deep.equal([mine.events[0]!.metadata.eventId]);
    const early = await store.readAll({ after: base, filter: { since: '2026-01-01T09:00:00.000Z', until: '2026-01-01T10:30:00.000Z' } });
    expect(early.map((e) => e.metadata.eventId)).to.deep.equal([mine.events[0]!.metadata.eventId]);
    expect(await store.readAll({ after: base, filter: { until: '2026-01-01T10:00:00.000Z' } })).to.deep.equal([]);
  });

  it('subscribes from a checkpoint: catch-up, then live', async () => {
    const before = await store.append(`token-${randomUUID()}`, [revokedEvent(), revokedEvent(), revokedEvent()], { expectedRevision: ANY });
    const pending = collect(store, { after: before.events[0]!.position, count: 4 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const live = await store.append(`token-${randomUUID()}`, [revokedEvent(), revokedEvent()], { expectedRevision: ANY });
    const received = await pending;
    expect(received.map((e) => e.metadata.eventId)).to.deep.equal([
      ...before.events.slice(1).map((e) => e.metadata.eventId),
      ...live.events.map((e) => e.metadata.eventId),
    ]);
  });

  it('delivers every event exactly once, in position order, to a subscriber running during 20 × 200 concurrent appends', async function () {
    this.timeout(120_000);
    const writers = 20;
    const perWriter = 200;
    const shared = randomUUID();
    const subscriber = collect(store, { after: base, count: writers * perWriter, timeoutMs: 100_000 });
    const acknowledged: RecordedEvent[] = [];
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        // Half the writers use their own stream with exact revisions, half share streams with ANY.
        const own = `token-${randomUUID()}`;
        for (let i = 0; i < perWriter; i += 1) {
          const result =
            w % 2 === 0
              ? await store.append(own, [revokedEvent()], { expectedRevision: i === 0 ? NO_STREAM : i - 1 })
              : await store.append(`token-shared-${shared}-${i % 5}`, [revokedEvent()], { expectedRevision: ANY });
          acknowledged.push(...result.events);
        }
      }),
    );
    const received = await subscriber;
    expect(received).to.have.length(writers * perWriter);
    const positions = received.map((e) => e.position);
    for (let i = 1; i < positions.length; i += 1) {
      expect(positions[i]!, `position at index ${i}`).to.be.greaterThan(positions[i - 1]!);
    }
    expect(new Set(received.map((e) => e.metadata.eventId)).size).to.equal(received.length);
    const byPosition = [...acknowledged].sort((x, y) => x.position - y.position);
    expect(received.map((e) => e.metadata.eventId)).to.deep.equal(byPosition.map((e) => e.metadata.eventId));
    // Nothing else is in the log: what the subscriber saw is the whole log.
    const all = await store.readAll({ after: base, maxCount: 10_000 });
    expect(all.map((e) => e.position)).to.deep.equal(positions);
    // Shared streams stay chained despite concurrent writers.
    for (let s = 0; s < 5; s += 1) {
      expect(verifyChain(await store.readStream(`token-shared-${shared}-${s}`, { upcast: false })).ok).to.equal(true);
    }
  });
}
