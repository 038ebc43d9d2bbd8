import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { EventCatalogue } from '../../src/events/catalogue.js';
import { verifyChain } from '../../src/eventstore/chain.js';
import { ANY, NO_STREAM, WrongExpectedRevisionError, type RecordedEvent } from '../../src/eventstore/port.js';
import { PostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { createPool } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { delay, revokedEvent } from '../support/events.js';
import { collect, eventStoreContract } from './contract.js';

describe('PostgreSQL event store', () => {
  for (const lanes of [1, 2]) {
    describe(`contract (${lanes} append lane${lanes > 1 ? 's' : ''})`, () => {
      let db: TestDatabase;
      eventStoreContract({
        async create() {
          db = await createTestDatabase();
          return new PostgresEventStore({ pool: db.pool, pollIntervalMs: 200, lanes });
        },
        async destroy() {
          await db.drop();
        },
      });
    });
  }

  describe('adapter specifics', () => {
    let db: TestDatabase;
    const stores: PostgresEventStore[] = [];
    const open = (options: Partial<ConstructorParameters<typeof PostgresEventStore>[0]> = {}) => {
      const store = new PostgresEventStore({ pool: db.pool, pollIntervalMs: 200, ...options });
      stores.push(store);
      return store;
    };

    beforeEach(async () => {
      db = await createTestDatabase();
    });
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      await db.drop();
    });

    it('assigns gapless positions 1..n under concurrent appends', async () => {
      const store = open();
      await Promise.all(Array.from({ length: 300 }, () => store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: NO_STREAM })));
      const { rows } = await db.pool.query<{ position: string }>('SELECT position FROM es_events ORDER BY position');
      expect(rows.map((r) => Number(r.position))).to.deep.equal(Array.from({ length: 300 }, (_, i) => i + 1));
    });

    it('groups concurrent appends into few transactions, and one conflict fails only its own append', async () => {
      let transactions = 0;
      const store = open({ beforeCommit: async () => { transactions += 1; } });
      const stream = `token-${randomUUID()}`;
      await store.append(stream, [revokedEvent()], { expectedRevision: NO_STREAM });
      transactions = 0;
      const results = await Promise.allSettled([
        ...Array.from({ length: 100 }, () => store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: NO_STREAM })),
        store.append(stream, [revokedEvent()], { expectedRevision: 5 }), // wrong
        store.append(stream, [revokedEvent()], { expectedRevision: 0 }), // right
        store.append(stream, [revokedEvent()], { expectedRevision: 1 }), // right only after the one before it
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(102);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).to.have.length(1);
      expect(rejected[0]!.reason).to.be.instanceOf(WrongExpectedRevisionError);
      expect(transactions).to.be.lessThan(20);
      expect(verifyChain(await store.readStream(stream, { upcast: false }))).to.deep.equal({ ok: true, checked: 3 });
    });

    it('a duplicate event id fails only that append, even inside a batch', async () => {
      const store = open();
      const eventId = randomUUID();
      await store.append(`token-${randomUUID()}`, [{ ...revokedEvent(), eventId }], { expectedRevision: ANY });
      const results = await Promise.allSettled([
        store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: ANY }),
        store.append(`token-${randomUUID()}`, [{ ...revokedEvent(), eventId }], { expectedRevision: ANY }),
        store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: ANY }),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).to.include({ code: 'ERR_INVALID_APPEND' });
      expect(await store.headPosition()).to.equal(3);
    });

    it('a batch of new streams is one round trip; a stream that exists or a duplicate event id in it fails only its own append', async () => {
      let transactions = 0;
      const store = open({ beforeCommit: async () => { transactions += 1; } });
      const existing = `token-${randomUUID()}`;
      const eventId = randomUUID();
      await store.append(existing, [{ ...revokedEvent(), eventId }], { expectedRevision: NO_STREAM });
      transactions = 0;
      // All new streams: every append in a batch, positions gapless and in order within each append.
      const clean = await Promise.all(Array.from({ length: 50 }, () => store.append(`token-${randomUUID()}`, [revokedEvent(), revokedEvent()], { expectedRevision: NO_STREAM })));
      expect(transactions).to.be.lessThan(10);
      const positions = clean.flatMap((r) => r.events.map((e) => e.position)).sort((a, b) => a - b);
      expect(positions).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 2));
      for (const result of clean) {
        expect(result.events.map((e) => e.revision)).to.deep.equal([0, 1]);
        expect(result.events[1]!.position).to.equal(result.events[0]!.position + 1);
        expect(result.position).to.equal(result.events[1]!.position);
        expect(result.nextExpectedRevision).to.equal(1);
      }
      // The same with a stream that already exists and a reused event id among them.
      const mixed = await Promise.allSettled([
        ...Array.from({ length: 20 }, () => store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: NO_STREAM })),
        store.append(existing, [revokedEvent()], { expectedRevision: NO_STREAM }),
        store.append(`token-${randomUUID()}`, [{ ...revokedEvent(), eventId }], { expectedRevision: NO_STREAM }),
        ...Array.from({ length: 20 }, () => store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: NO_STREAM })),
      ]);
      expect(mixed.map((r) => r.status).filter((s) => s === 'fulfilled')).to.have.length(40);
      expect((mixed[20] as PromiseRejectedResult).reason).to.be.instanceOf(WrongExpectedRevisionError);
      expect((mixed[21] as PromiseRejectedResult).reason).to.include({ code: 'ERR_INVALID_APPEND' });
      const { rows } = await db.pool.query<{ position: string }>('SELECT position FROM es_events ORDER BY position');
      expect(rows.map((r) => Number(r.position))).to.deep.equal(Array.from({ length: 141 }, (_, i) => i + 1));
      const streams = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM es_streams s JOIN es_events e ON e.position = s.last_position AND e.stream_id = s.stream_id');
      expect(streams.rows[0]!.n).to.equal(1 + 50 + 40);
      expect(verifyChain(await store.readStream(existing, { upcast: false }))).to.deep.equal({ ok: true, checked: 1 });
    });

    it('an append that follows a head this process knows is checked by the transaction itself: a head moved by another writer, or a different hash, sends it to the general path', async () => {
      const a = open();
      const b = open();
      const stream = `token-${randomUUID()}`;
      await a.append(stream, [revokedEvent()], { expectedRevision: NO_STREAM }); // a knows revision 0
      await b.readStream(stream);
      await b.append(stream, [revokedEvent()], { expectedRevision: 0 }); // b moves it to 1
      // a still believes revision 0 is the head: the one-round-trip attempt must not win.
      const stale = await a.append(stream, [revokedEvent()], { expectedRevision: 0 }).then(() => 'appended', (error: unknown) => error);
      expect(stale).to.be.instanceOf(WrongExpectedRevisionError);
      const third = await a.append(stream, [revokedEvent()], { expectedRevision: 1 });
      const fourth = await a.append(stream, [revokedEvent()], { expectedRevision: 2 }); // a knows this head now
      expect([third.nextExpectedRevision, fourth.nextExpectedRevision]).to.deep.equal([2, 3]);
      expect(fourth.events[0]!.metadata.prevHash).to.equal(third.events[0]!.hash);
      expect(verifyChain(await a.readStream(stream, { upcast: false }))).to.deep.equal({ ok: true, checked: 4 });

      // Same revision, different hash in the database: the append links to what the database
      // holds (found by the general path), not to the head this process remembered.
      const other = 'f'.repeat(64);
      await db.pool.query('UPDATE es_streams SET last_hash = $2 WHERE stream_id = $1', [stream, other]);
      const fifth = await a.append(stream, [revokedEvent()], { expectedRevision: 3 });
      expect(fifth.events[0]!.metadata.prevHash).to.equal(other);
    });

    it('a slow transaction that starts first and commits last is not skipped by a subscriber', async () => {
      let slowed = false;
      // Writer A holds its transaction open for 1.5 s after inserting; writer B starts later.
      const slow = open({
        beforeCommit: async () => {
          if (!slowed) {
            slowed = true;
            await delay(1500);
          }
        },
      });
      const fast = open();
      const reader = open();
      const subscriber = collect(reader, { count: 3, timeoutMs: 15_000 });

      const finished: string[] = [];
      const a = slow.append('token-slow', [revokedEvent()], { expectedRevision: NO_STREAM }).then((r) => {
        finished.push('slow');
        return r;
      });
      await delay(200);
      const b = fast.append('token-fast', [revokedEvent(), revokedEvent()], { expectedRevision: NO_STREAM }).then((r) => {
        finished.push('fast');
        return r;
      });
      // While A is open, nothing it wrote and nothing after it is visible.
      await delay(300);
      expect(await reader.readAll()).to.deep.equal([]);

      const [ra, rb] = await Promise.all([a, b]);
      expect(finished).to.deep.equal(['slow', 'fast']);
      expect(ra.position).to.be.lessThan(rb.events[0]!.position);
      const received = await subscriber;
      expect(received.map((e: RecordedEvent) => e.streamId)).to.deep.equal(['token-slow', 'token-fast', 'token-fast']);
      expect(received.map((e) => e.position)).to.deep.equal([1, 2, 3]);
    });

    it('upcasts events stored at an older version when reading', async () => {
      const v1 = new EventCatalogue({
        Greeting: { version: 1, schema: { type: 'object', required: ['text'], properties: { text: { type: 'string' } }, additionalProperties: false } },
      });
      const v2 = new EventCatalogue({
        Greeting: {
          version: 2,
          schema: { type: 'object', required: ['text', 'lang'], properties: { text: { type: 'string' }, lang: { type: 'string' } }, additionalProperties: false },
          upcasters: { 1: (data) => ({ ...(data as object), lang: 'en' }) },
        },
      });
      await open({ catalogue: v1 }).append('greeting-1', [{ type: 'Greeting', data: { text: 'hi' } }], { expectedRevision: NO_STREAM });
      const current = open({ catalogue: v2 });
      const [event] = await current.readStream('greeting-1');
      expect(event).to.include({ version: 2 });
      expect(event!.data).to.deep.equal({ text: 'hi', lang: 'en' });
      const [raw] = await current.readStream('greeting-1', { upcast: false });
      expect(raw).to.include({ version: 1 });
      expect(verifyChain([raw!]).ok).to.equal(true);
    });

    it('detects an edited event through the hash chain', async () => {
      const store = open();
      await store.append('token-x', [revokedEvent(), revokedEvent(), revokedEvent()], { expectedRevision: NO_STREAM });
      await db.pool.query(`UPDATE es_events SET data = jsonb_set(data, '{reason}', '"code_replay"') WHERE stream_id = 'token-x' AND revision = 1`);
      expect(verifyChain(await store.readStream('token-x', { upcast: false }))).to.deep.include({ ok: false, brokenAt: 1, reason: 'hash_mismatch' });
    });

    it('answers ERR_EVENT_STORE_UNAVAILABLE when the database cannot be reached', async () => {
      const pool = createPool('postgres://postgres@127.0.0.1:1/none', { max: 1 });
      const store = new PostgresEventStore({ pool });
      try {
        const error = await store.append('token-y', [revokedEvent()], { expectedRevision: ANY }).catch((e: unknown) => e);
        expect(error).to.include({ code: 'ERR_EVENT_STORE_UNAVAILABLE' });
        const readError = await store.readAll().catch((e: unknown) => e);
        expect(readError).to.include({ code: 'ERR_EVENT_STORE_UNAVAILABLE' });
      } finally {
        await store.close();
        await pool.end();
      }
    });
  });
});
