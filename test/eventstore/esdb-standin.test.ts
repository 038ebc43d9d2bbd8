// The stand-in answers @eventstore/db-client as EventStoreDB does (each expectation cites where the
// real behaviour is written down). These tests talk to it through the real client only.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  BACKWARDS, CancelledError, binaryEvent, DeadlineExceededError, END, EventStoreDBClient, FORWARDS, NO_STREAM, NotLeaderError, START,
  StreamNotFoundError, TimeoutError, UnavailableError, WrongExpectedVersionError, eventTypeFilter, excludeSystemEvents, jsonEvent,
  type AllStreamResolvedEvent, type Position, type ResolvedEvent,
} from '@eventstore/db-client';
import { startStandin, type StandinNode, type StandinVersion } from '../support/esdb-standin/index.js';

const event = (type = 'Something') => jsonEvent({ type, data: { at: randomUUID() } });

async function all<E>(iterable: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => 'no error', (error: unknown) => error);
}

describe('EventStoreDB stand-in (through @eventstore/db-client 6.2.1)', () => {
  const nodes: StandinNode[] = [];
  const clients: EventStoreDBClient[] = [];
  async function connect(version?: StandinVersion, query = ''): Promise<{ node: StandinNode; client: EventStoreDBClient }> {
    const node = await startStandin(version ? { version } : {});
    nodes.push(node);
    const client = EventStoreDBClient.connectionString(`${node.url}${query}`);
    clients.push(client);
    return { node, client };
  }
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    for (const node of nodes.splice(0)) node.kill();
  });

  it('23.10: the client asks for server features, then appends with BatchAppend; 20.6 has neither, so it uses Append', async () => {
    const modern = await connect('23.10.0');
    await modern.client.appendToStream('s', event());
    expect(modern.node.stats.calls).to.include({ GetSupportedMethods: 1, BatchAppend: 1 }).and.not.have.property('Append');
    const old = await connect('20.6.1');
    await old.client.appendToStream('s', event());
    expect(old.node.stats.calls).to.include({ Append: 1 }).and.not.have.property('BatchAppend');
  });

  for (const version of ['23.10.0', '20.6.1'] as const) {
    it(`${version}: an append answers its last event's position (commit = prepare) and the stream's revision; $all shows those positions`, async () => {
      const { client } = await connect(version);
      const first = await client.appendToStream('a', [event(), event()], { expectedRevision: NO_STREAM });
      const second = await client.appendToStream('b', event());
      expect(first.nextExpectedRevision).to.equal(1n);
      expect(first.position!.commit).to.equal(first.position!.prepare);
      const log = (await all(client.readAll())).filter((e) => !e.event!.streamId.startsWith('$'));
      expect(log.map((e) => [e.event!.streamId, e.event!.position!.prepare])).to.deep.equal([
        ['a', log[0]!.event!.position!.prepare],
        ['a', first.position!.prepare],
        ['b', second.position!.prepare],
      ]);
      // Byte offsets of prepare records: strictly increasing, with gaps.
      expect(Number(log[1]!.event!.position!.prepare - log[0]!.event!.position!.prepare)).to.be.greaterThan(1);
    });

    it(`${version}: a wrong expected version is WrongExpectedVersionError with the current and the expected revision`, async () => {
      const { client } = await connect(version);
      await client.appendToStream('s', [event(), event()], { expectedRevision: NO_STREAM });
      const noStream = await failure(client.appendToStream('s', event(), { expectedRevision: NO_STREAM }));
      expect(noStream).to.be.instanceOf(WrongExpectedVersionError).and.include({ actualVersion: 1n, expectedVersion: 'no_stream' });
      const exact = await failure(client.appendToStream('t', event(), { expectedRevision: 3n }));
      expect(exact).to.be.instanceOf(WrongExpectedVersionError).and.include({ actualVersion: 'no_stream', expectedVersion: 3n });
    });
  }

  it('reads a stream forwards and backwards from revisions and ends with counts; a missing stream is StreamNotFoundError', async () => {
    const { client } = await connect();
    await client.appendToStream('s', [event('A'), event('B'), event('C')]);
    const revisions = (read: AsyncIterable<ResolvedEvent>) => all(read).then((events) => events.map((e) => e.event!.revision));
    expect(await revisions(client.readStream('s', { fromRevision: 1n }))).to.deep.equal([1n, 2n]);
    expect(await revisions(client.readStream('s', { direction: BACKWARDS, fromRevision: END, maxCount: 2 }))).to.deep.equal([2n, 1n]);
    expect(await revisions(client.readStream('s', { direction: BACKWARDS, fromRevision: 1n }))).to.deep.equal([1n, 0n]);
    expect(await failure(all(client.readStream('missing')))).to.be.instanceOf(StreamNotFoundError);
  });

  it('resolves link events ($>, "<revision>@<stream>") on stream reads with resolveLinkTos; a link to nothing has no event', async () => {
    const { client } = await connect();
    const target = await client.appendToStream('target', [event('First'), event('Second')]);
    await client.appendToStream('links', [binaryEvent({ type: '$>', data: Buffer.from('1@target') }), binaryEvent({ type: '$>', data: Buffer.from('9@target') })]);
    const [resolved, dangling] = await all(client.readStream('links', { resolveLinkTos: true }));
    expect(resolved!.event).to.include({ streamId: 'target', type: 'Second', revision: 1n });
    expect(resolved!.event!.position!.prepare).to.equal(target.position!.prepare);
    expect(resolved!.link).to.include({ streamId: 'links', type: '$>', revision: 0n });
    expect(dangling!.event).to.equal(undefined);
    expect(dangling!.link).to.include({ revision: 1n });
    const [unresolved] = await all(client.readStream('links', { maxCount: 1 }));
    expect(unresolved!.event).to.include({ type: '$>' });
  });

  it('stream reads carry $all positions from 22.10 on; before, ulong.MaxValue', async () => {
    for (const [version, expected] of [['23.10.0', 'known'], ['21.10.0', 'unknown']] as const) {
      const { client } = await connect(version);
      const written = await client.appendToStream('s', event());
      const [read] = await all(client.readStream('s'));
      expect(read!.event!.position!.prepare).to.equal(expected === 'known' ? written.position!.prepare : 2n ** 64n - 1n);
    }
  });

  it('reads $all forwards from a position including it, backwards excluding it, after the server\'s own $ events', async () => {
    const { client } = await connect();
    const [a, b, c] = [(await client.appendToStream('s-1', event())).position, (await client.appendToStream('s-2', event())).position, (await client.appendToStream('s-3', event())).position];
    const log = await all(client.readAll());
    expect(log[0]!.event!.streamId).to.match(/^\$/);
    const positions = (events: AllStreamResolvedEvent[]) => events.map((e) => e.event!.position!.prepare);
    expect(positions(await all(client.readAll({ fromPosition: b!, maxCount: 5 })))).to.deep.equal([b!.prepare, c!.prepare]);
    expect(positions(await all(client.readAll({ direction: BACKWARDS, fromPosition: b!, maxCount: 1 })))).to.deep.equal([a!.prepare]);
    expect(positions(await all(client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })))).to.deep.equal([c!.prepare]);
    expect(await all(client.readAll({ direction: FORWARDS, fromPosition: END }))).to.deep.equal([]);
  });

  it('subscribes to $all after a position (excluding it), filtered on the server, with checkpoints every 32 events considered and CaughtUp on 23.10', async () => {
    for (const version of ['23.10.0', '21.10.0'] as const) {
      const { client } = await connect(version);
      const start = await client.appendToStream('start', event('Wanted'));
      for (let i = 0; i < 70; i += 1) await client.appendToStream(`other-${i}`, event('Other'));
      const last = await client.appendToStream('end', event('Wanted'));
      const checkpoints: Position[] = [];
      let caughtUp = false;
      const subscription = client.subscribeToAll({
        fromPosition: start.position!,
        filter: eventTypeFilter({ prefixes: ['Wanted'], checkpointReached: (_, position) => void checkpoints.push(position) }),
      });
      const received: bigint[] = [];
      subscription.on('data', (resolved: AllStreamResolvedEvent) => received.push(resolved.event!.position!.prepare));
      await new Promise((resolve) => {
        subscription.on('caughtUp', () => resolve((caughtUp = true)));
        setTimeout(resolve, 500);
      });
      await subscription.unsubscribe();
      expect(received, version).to.deep.equal([last.position!.prepare]);
      // 72 events after the start: two full pages of 32 end in a checkpoint each (the last page reaches the end: none).
      expect(checkpoints, version).to.have.length(2);
      expect(caughtUp, version).to.equal(version === '23.10.0');
    }
  });

  it('subscriptions exclude system events with excludeSystemEvents, and follow live appends', async () => {
    const { client } = await connect();
    const subscription = client.subscribeToAll({ fromPosition: START, filter: excludeSystemEvents() });
    setTimeout(() => void client.appendToStream('live', event('Live')), 50);
    for await (const resolved of subscription) {
      expect(resolved.event!.type).to.equal('Live');
      break;
    }
    await subscription.unsubscribe();
  });

  it('drops a live subscriber that leaves more than 32 events unread: "consumer too slow" (TimeoutError)', async () => {
    const { client } = await connect();
    const subscription = client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    const ended = new Promise<unknown>((resolve) => subscription.on('error', resolve));
    subscription.pause();
    await new Promise((resolve) => subscription.once('confirmation', resolve));
    // Enough bytes to fill HTTP/2's flow-control window, so the node's writes must wait and its live buffer fills.
    const big = () => jsonEvent({ type: 'Big', data: { padding: 'x'.repeat(4096) } });
    for (let i = 0; i < 60; i += 1) await client.appendToStream('busy', [big(), big(), big(), big(), big()]);
    // The drop reaches the client behind what was already sent to it, once it reads again.
    let read = 0;
    subscription.on('data', () => (read += 1));
    subscription.resume();
    expect(await ended).to.be.instanceOf(TimeoutError);
    expect(read).to.be.below(300);
  });

  describe('faults', () => {
    it('a killed node cuts streams mid-call (CancelledError), refuses connections (UnavailableError), and serves again after start()', async () => {
      const { node, client } = await connect();
      await client.appendToStream('s', event());
      const subscription = client.subscribeToAll({ fromPosition: START });
      const cut = new Promise<unknown>((resolve) => subscription.on('error', resolve));
      await new Promise((resolve) => subscription.once('data', resolve));
      node.kill();
      expect(await cut).to.be.instanceOf(CancelledError);
      expect(await failure(all(client.readStream('s')))).to.be.instanceOf(UnavailableError);
      await node.start();
      expect(await all(client.readStream('s'))).to.have.length(1);
    });

    it('dropStreams ends streaming calls with UNAVAILABLE; notReady answers "Server Is Not Ready"', async () => {
      const { node, client } = await connect();
      const subscription = client.subscribeToAll({ fromPosition: START });
      const dropped = new Promise<unknown>((resolve) => subscription.on('error', resolve));
      await new Promise((resolve) => subscription.once('data', resolve));
      expect(node.dropStreams()).to.be.greaterThan(0);
      expect(await dropped).to.be.instanceOf(UnavailableError);
      node.faults.notReady = true;
      expect(await failure(all(client.readAll()))).to.be.instanceOf(UnavailableError).and.have.property('message').that.contains('Server Is Not Ready');
    });

    it('a follower refuses calls that require the leader with NotLeaderError naming it; the client reconnects there', async () => {
      const { node, client } = await connect('20.6.1');
      const leader = await startStandin({ log: node.log, version: '20.6.1' });
      nodes.push(leader);
      node.faults.leader = { host: '127.0.0.1', port: leader.port };
      await client.appendToStream('s', event()); // forwarded: it does not require the leader
      const refused = await failure(client.appendToStream('s', event(), { requiresLeader: true }));
      expect(refused).to.be.instanceOf(NotLeaderError).and.deep.include({ leader: { address: '127.0.0.1', port: leader.port } });
      await client.appendToStream('s', event(), { requiresLeader: true });
      expect(leader.stats.calls).to.include({ Append: 1 });
      expect(node.log.revisionOf('s')).to.equal(1);
    });

    it('a stalled node lets the client deadline fire (Append: DeadlineExceededError); a batch append waits for ever', async () => {
      const old = await connect('20.6.1', '&defaultDeadline=300');
      old.node.faults.stall = true;
      expect(await failure(old.client.appendToStream('s', event()))).to.be.instanceOf(DeadlineExceededError);
      const modern = await connect('23.10.0', '&defaultDeadline=300');
      await modern.client.appendToStream('s', event());
      modern.node.faults.stall = true;
      const pending = await Promise.race([modern.client.appendToStream('s', event()).then(() => 'answered', () => 'failed'), new Promise((resolve) => setTimeout(resolve, 800, 'pending'))]);
      expect(pending).to.equal('pending');
    });

    it('writes that time out on the server: Timeout in the batch answer (DeadlineExceededError), Aborted on Append (TimeoutError)', async () => {
      const modern = await connect('23.10.0', '&defaultDeadline=300');
      modern.node.faults.writeTimeout = true;
      expect(await failure(modern.client.appendToStream('s', event()))).to.be.instanceOf(DeadlineExceededError);
      const old = await connect('20.6.1');
      old.node.faults.writeTimeout = true;
      expect(await failure(old.client.appendToStream('s', event()))).to.be.instanceOf(TimeoutError);
    });
  });
});
