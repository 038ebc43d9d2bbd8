// The EventStoreDB adapter against the shared contract: over the real client and gRPC wire
// protocol, on the in-process stand-in (test/support/esdb-standin) — or, when EVENTSTORE_URL is
// set, on that server, unchanged.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { EsdbEventStore } from '../../src/eventstore/esdb.js';
import { NO_STREAM } from '../../src/eventstore/port.js';
import { startStandin, type StandinNode } from '../support/esdb-standin/index.js';
import { revokedEvent } from '../support/events.js';
import { collect, eventStoreContract } from './contract.js';

const url = process.env['EVENTSTORE_URL'];

describe('EventStoreDB event store', () => {
  it('maps an unreachable server to ERR_EVENT_STORE_UNAVAILABLE without leaking client types', async () => {
    // Nothing listens on this port: the gRPC client fails with UNAVAILABLE.
    const store = new EsdbEventStore({ connectionString: 'esdb://127.0.0.1:1?tls=false' });
    try {
      const appendError = await store.append('token-x', [revokedEvent()], { expectedRevision: 'any' }).catch((e: unknown) => e);
      expect(appendError).to.include({ name: 'EventStoreError', code: 'ERR_EVENT_STORE_UNAVAILABLE' });
      const readError = await store.readAll().catch((e: unknown) => e);
      expect(readError).to.include({ code: 'ERR_EVENT_STORE_UNAVAILABLE' });
    } finally {
      await store.close();
    }
  });

  describe(url ? `contract (EVENTSTORE_URL ${url})` : 'contract (stand-in, EventStoreDB 23.10 protocol)', () => {
    let node: StandinNode | undefined;
    before(async () => {
      if (!url) node = await startStandin();
    });
    after(async () => {
      await node?.stop();
    });
    eventStoreContract({
      async create() {
        return new EsdbEventStore({ connectionString: url ?? node!.url });
      },
      async destroy() {
        // The log is shared and append-only; each test uses fresh stream names.
      },
    });
  });

  for (const version of ['20.6.1', '21.10.0'] as const) {
    it(`on a ${version} server (${version === '20.6.1' ? 'no server features: Append, ' : ''}no $all positions on stream reads, no CaughtUp) it appends, reads and subscribes`, async () => {
      const node = await startStandin({ version });
      const store = new EsdbEventStore({ connectionString: node.url });
      try {
        const stream = `token-${randomUUID()}`;
        const written = await store.append(stream, [revokedEvent(), revokedEvent()], { expectedRevision: NO_STREAM });
        expect(written.events.map((e) => e.position)).to.deep.equal([written.events[0]!.position, written.position]);
        expect(written.events[0]!.position).to.be.above(0).and.below(written.position);
        const read = await store.readStream(stream);
        expect(read.map((e) => [e.revision, e.position])).to.deep.equal([[0, -1], [1, -1]]);
        expect(read[1]!.metadata.prevHash).to.equal(read[0]!.hash);
        expect((await store.readAll()).map((e) => e.position)).to.deep.equal(written.events.map((e) => e.position));
        expect(await store.headPosition()).to.equal(written.position);
        expect((await collect(store, { count: 2 })).map((e) => e.position)).to.deep.equal(written.events.map((e) => e.position));
        expect(node.stats.calls).to.include(version === '20.6.1' ? { Append: 1 } : { BatchAppend: 1 });
      } finally {
        await store.close();
        node.kill();
      }
    });
  }
});
