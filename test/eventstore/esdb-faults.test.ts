// The EventStoreDB adapter when the server misbehaves, over the real client on the stand-in: every
// failure that means "not now" is ERR_EVENT_STORE_UNAVAILABLE (503 over HTTP), the store recovers
// when the server does, and subscriptions resume where they were without skipping or repeating.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { EsdbEventStore } from '../../src/eventstore/esdb.js';
import { ANY, type EventStore, type RecordedEvent } from '../../src/eventstore/port.js';
import { startStandin, type StandinNode, type StandinVersion } from '../support/esdb-standin/index.js';
import { delay, revokedEvent } from '../support/events.js';
import { basic, postForm, startTestServer } from '../support/server.js';

const DEADLINE_MS = 400;

describe('EventStoreDB adapter faults (stand-in)', () => {
  const nodes: StandinNode[] = [];
  const stores: EventStore[] = [];
  async function setup(version: StandinVersion = '23.10.0'): Promise<{ node: StandinNode; store: EsdbEventStore }> {
    const node = await startStandin({ version });
    nodes.push(node);
    const store = new EsdbEventStore({ connectionString: `${node.url}&defaultDeadline=${DEADLINE_MS}` });
    stores.push(store);
    return { node, store };
  }
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const node of nodes.splice(0)) node.kill();
  });

  /** Every kind of call the port has, each expected to fail as unavailable. */
  async function expectUnavailable(store: EventStore, label: string): Promise<void> {
    const calls = {
      append: () => store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: ANY }),
      readStream: () => store.readStream('token-x'),
      readAll: () => store.readAll(),
      headPosition: () => store.headPosition(),
    };
    for (const [name, call] of Object.entries(calls)) {
      const error = await call().then(() => 'no error', (e: unknown) => e);
      expect(error, `${label}: ${name}`).to.include({ name: 'EventStoreError', code: 'ERR_EVENT_STORE_UNAVAILABLE' });
    }
  }

  const append = (store: EventStore, stream = `token-${randomUUID()}`) => store.append(stream, [revokedEvent()], { expectedRevision: ANY });

  for (const version of ['23.10.0', '20.6.1'] as const) {
    it(`${version}: a node that died (connections cut, then refused) is unavailable, and the store works again once it is back`, async () => {
      const { node, store } = await setup(version);
      await append(store);
      node.kill();
      await expectUnavailable(store, 'dead');
      await node.start();
      expect((await append(store)).nextExpectedRevision).to.equal(0);
    });

    it(`${version}: a node that is not ready, one that hangs, and writes that time out on the server are unavailable within the deadline`, async () => {
      const { node, store } = await setup(version);
      await append(store);
      node.faults.notReady = true;
      await expectUnavailable(store, 'not ready');
      node.faults.notReady = false;
      node.faults.stall = true;
      const started = Date.now();
      await expectUnavailable(store, 'hung');
      expect(Date.now() - started).to.be.below(4 * DEADLINE_MS + 1500);
      node.faults.stall = false;
      node.faults.writeTimeout = true;
      const error = await append(store).catch((e: unknown) => e);
      expect(error, 'write timeout').to.include({ code: 'ERR_EVENT_STORE_UNAVAILABLE' });
      node.faults.writeTimeout = false;
      await append(store);
    });

    it(`${version}: a follower's not-leader answer is unavailable, and the next call goes to the leader`, async () => {
      const { node, store } = await setup(version);
      const leader = await startStandin({ log: node.log, version });
      nodes.push(leader);
      node.faults.leader = { host: '127.0.0.1', port: leader.port };
      const error = await append(store).catch((e: unknown) => e);
      expect(error).to.include({ code: 'ERR_EVENT_STORE_UNAVAILABLE' });
      expect((error as Error).message).to.contain('Leader info');
      const stream = `token-${randomUUID()}`;
      await append(store, stream);
      expect(node.log.revisionOf(stream)).to.equal(0);
      expect(leader.stats.calls['Read']).to.be.greaterThan(0);
    });
  }

  it('a node that hangs while the client asks for its features (at connect) does not wedge later appends', async () => {
    const { node, store } = await setup('23.10.0');
    node.faults.stall = ['GetSupportedMethods'];
    expect(await append(store).catch((e: unknown) => e)).to.include({ code: 'ERR_EVENT_STORE_UNAVAILABLE' });
    node.faults.stall = false;
    expect((await append(store)).nextExpectedRevision).to.equal(0);
  });

  it('reads that stop early cancel their calls: nothing stays open on the node, and close() returns at once', async () => {
    const { node, store } = await setup();
    for (let i = 0; i < 30; i += 1) await store.append(`token-${randomUUID()}`, [revokedEvent(), revokedEvent(), revokedEvent()], { expectedRevision: ANY });
    for (let i = 0; i < 20; i += 1) {
      await store.headPosition();
      await store.readAll({ maxCount: 2 });
    }
    await delay(50);
    expect(node.stats.active, 'streaming calls still open (the batch-append stream is one)').to.be.at.most(1);
    const started = Date.now();
    await stores.pop()!.close();
    expect(Date.now() - started).to.be.below(1000);
  });

  it('the head is the last event of Warrant, however many system events the server wrote after it', async () => {
    const { node, store } = await setup();
    const last = await append(store);
    for (let i = 0; i < 250; i += 1) node.log.appendSystem('$stats-127.0.0.1:2113', '$statsCollected', { i });
    expect(await store.headPosition()).to.equal(last.position);
  });

  it('system events the server filters out still move a subscription\'s position (its checkpoints), and it is caught up', async () => {
    const { node, store } = await setup();
    const wanted = await append(store);
    for (let i = 0; i < 100; i += 1) node.log.appendSystem('$stats-127.0.0.1:2113', '$statsCollected', { i });
    const lastSystem = node.log.headPosition;
    const controller = new AbortController();
    const seen: { events: number; position: number; caughtUp: boolean }[] = [];
    for await (const batch of store.subscribeToAll({ filter: { types: ['TokenRevoked'] }, signal: controller.signal })) {
      seen.push({ events: batch.events.length, position: batch.position, caughtUp: batch.caughtUp });
      if (batch.caughtUp && batch.position > wanted.position) break;
    }
    expect(seen.reduce((n, b) => n + b.events, 0)).to.equal(1);
    // Checkpoints come every 32 events considered: the position passes most of the system events.
    expect(seen.at(-1)!.position).to.be.greaterThan(wanted.position).and.at.most(lastSystem);
    expect(seen.at(-1)!.caughtUp).to.equal(true);
  });

  it('a subscription resumes from its last position after the node drops it, dies, or finds it too slow: every event once, in order', async function () {
    this.timeout(60_000);
    const { node, store } = await setup();
    const base = await store.headPosition();
    const total = 800;
    const received: RecordedEvent[] = [];
    const controller = new AbortController();
    const readsBefore = node.stats.calls['Read'] ?? 0;
    // The consumer stalls once, after 100 events, until a burst of appends is over: the node drops it as too slow.
    let stalled!: () => void;
    const consumerStalled = new Promise<void>((resolve) => (stalled = resolve));
    let resume!: () => void;
    const burstOver = new Promise<void>((resolve) => (resume = resolve));
    const subscriber = (async () => {
      for await (const batch of store.subscribeToAll({ after: base, signal: controller.signal, maxBatch: 50 })) {
        received.push(...batch.events);
        if (received.length >= 100 && received.length - batch.events.length < 100) {
          stalled();
          await burstOver;
        }
        if (received.length >= total) break;
      }
    })();
    const acknowledged: RecordedEvent[] = [];
    const write = async (count: number) => {
      for (let i = 0; i < count; ) {
        try {
          acknowledged.push(...(await append(store)).events);
          i += 1;
        } catch {
          await delay(50); // the node is away: retry the same append
        }
      }
    };
    await write(100);
    await consumerStalled;
    await Promise.all(Array.from({ length: 10 }, () => write(40)));
    resume();
    node.dropStreams();
    await write(100);
    node.kill();
    await delay(300);
    await node.start();
    await write(total - 600);
    await subscriber;
    controller.abort();
    expect(received.map((e) => e.metadata.eventId)).to.deep.equal([...acknowledged].sort((x, y) => x.position - y.position).map((e) => e.metadata.eventId));
    expect(node.stats.slowConsumerDrops, 'dropped as too slow').to.be.at.least(1);
    expect((node.stats.calls['Read'] ?? 0) - readsBefore, 'subscriptions opened (1 + resubscriptions) and head reads').to.be.greaterThan(3);
  });

  describe('over HTTP', () => {
    it('while the event store is down, a token request answers 503 with Retry-After; once it is back, 200', async function () {
      this.timeout(60_000);
      const { node } = await setup();
      const server = await startTestServer({ config: { eventStoreUrl: `${node.url}&defaultDeadline=${DEADLINE_MS}` } });
      try {
        const { id, secret } = await server.client();
        const request = () => postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: basic(id, secret) });
        expect((await request()).status).to.equal(200);
        node.kill();
        const down = await request();
        expect(down.status).to.equal(503);
        expect(down.body).to.include({ error: 'temporarily_unavailable' });
        expect(down.headers.get('retry-after')).to.match(/^\d+$/);
        node.faults.stall = true; // hung rather than dead: the same answer, within the deadline
        await node.start();
        const hung = await request();
        expect(hung.status).to.equal(503);
        node.faults.stall = false;
        let back = await request();
        for (let i = 0; back.status !== 200 && i < 40; i += 1) back = await delay(250).then(request);
        expect(back.status).to.equal(200);
      } finally {
        await server.stop();
      }
    });
  });
});
