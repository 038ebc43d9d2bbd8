// Audit lookups on the EventStoreDB adapter read index streams of link events, not the whole log
// (src/eventstore/esdb-index.ts). The stand-in counts the events it sends, so the tests count
// what a lookup reads.

import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { families, findFamily } from '../../src/audit/history.js';
import { warrantEvents } from '../../src/events/catalogue.js';
import { EsdbEventStore } from '../../src/eventstore/esdb.js';
import type { NewEvent, RecordedEvent } from '../../src/eventstore/port.js';
import { startStandin, type StandinNode } from '../support/esdb-standin/index.js';
import { revokedEvent } from '../support/events.js';

const h = () => randomBytes(32).toString('base64url');

function tokenIssued(family: { familyId: string; clientId: string; subject: string; jti: string }): NewEvent {
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  return {
    type: 'TokenIssued',
    data: {
      ...family, grantType: 'authorization_code', scopes: ['read'], audience: ['https://api.example'], accessTokenHash: h(), accessTokenExpiresAt: expires,
      refreshTokenHash: h(), refreshTokenExpiresAt: expires, grantId: null, name: null,
    },
  };
}

const newFamily = (clientId: string, subject: string) => ({ familyId: randomUUID(), clientId, subject, jti: randomBytes(16).toString('base64url') });

describe('audit lookups on EventStoreDB: index streams, not a scan of the log', function () {
  this.timeout(60_000);
  let node: StandinNode;
  let store: EsdbEventStore;
  beforeEach(async () => {
    node = await startStandin();
    store = new EsdbEventStore({ connectionString: node.url });
  });
  afterEach(async () => {
    await store.close();
    node.kill();
  });

  /** What `run` returns, and how many events the node sent while it ran. */
  async function counted<T>(run: () => Promise<T>): Promise<{ value: T; read: number }> {
    const before = node.stats.eventsSent;
    const value = await run();
    return { value, read: node.stats.eventsSent - before };
  }

  const ids = (events: RecordedEvent[]) => events.map((event) => event.metadata.eventId);

  it('finds a family by access-token id, a client\'s and a subject\'s families, reading only their own events; the same answers as a scan', async () => {
    const clientId = randomUUID();
    const mine = [newFamily(clientId, 'zoe'), newFamily(clientId, 'yan'), newFamily(clientId, 'zoe')];
    for (const family of mine) await store.append(`token-${family.familyId}`, [tokenIssued(family)], { expectedRevision: 'no_stream' });
    // A refreshed access token of the first family, then 2,000 events of other families.
    const refreshedJti = randomBytes(16).toString('base64url');
    await store.append(`token-${mine[0]!.familyId}`, [{
      type: 'TokenRefreshed',
      data: { familyId: mine[0]!.familyId, clientId, jti: refreshedJti, scopes: ['read'], accessTokenHash: h(), accessTokenExpiresAt: new Date(Date.now() + 60_000).toISOString(), previousRefreshTokenHash: h(), refreshTokenHash: h(), refreshTokenExpiresAt: new Date(Date.now() + 60_000).toISOString() },
    }], { expectedRevision: 0 });
    for (let i = 0; i < 20; i += 1) await store.append(`token-${randomUUID()}`, [tokenIssued(newFamily(randomUUID(), 'someone-else'))], { expectedRevision: 'no_stream' });
    for (let i = 0; i < 40; i += 1) await store.append(`token-${randomUUID()}`, Array.from({ length: 50 }, revokedEvent), { expectedRevision: 'no_stream' });

    const byJti = await counted(() => findFamily(store, mine[1]!.jti));
    expect(byJti.value).to.equal(mine[1]!.familyId);
    expect(byJti.read, 'events read to find a family by jti').to.be.at.most(2);
    expect((await counted(() => findFamily(store, refreshedJti))).value).to.equal(mine[0]!.familyId);

    const byClient = await counted(() => families(store, { clientId }, { after: 0, limit: 100 }, new Date()));
    expect(byClient.value.families.map((f) => f.family_id)).to.deep.equal(mine.map((f) => f.familyId));
    // The index (3 links) and each family's own stream (1–2 events): nothing else.
    expect(byClient.read, 'events read for a client\'s families').to.be.at.most(3 + 4 + 2);
    const bySubject = await counted(() => families(store, { subject: 'zoe' }, { after: 0, limit: 100 }, new Date()));
    expect(bySubject.value.families.map((f) => f.family_id)).to.deep.equal([mine[0]!.familyId, mine[2]!.familyId]);

    // The same questions answered by scanning (no type: no index) read the whole log and agree.
    const scan = await counted(() => store.readAll({ filter: { data: { clientId } }, maxCount: 10_000 }));
    expect(scan.read, 'events read by a scan').to.be.greaterThan(2000);
    const issuedByScan = scan.value.filter((event) => event.type === 'TokenIssued');
    expect(ids(await store.readAll({ filter: { types: ['TokenIssued'], data: { clientId } } }))).to.deep.equal(ids(issuedByScan));
    expect(ids(await store.readAll({ filter: { types: ['TokenIssued'], data: { clientId } }, after: issuedByScan[0]!.position, maxCount: 1 }))).to.deep.equal(ids(issuedByScan.slice(1, 2)));
  });

  it('a log written before indexing began: lookups scan it up to the marker and read the index for what follows', async () => {
    // Events appended by a Warrant that did not index, written straight into the stand-in's log.
    const old = newFamily(randomUUID(), 'olga');
    const event = tokenIssued(old);
    const metadata = { eventId: randomUUID(), occurredAt: new Date().toISOString(), actor: 'system', requestId: null, correlationId: randomUUID(), causationId: null, prevHash: null, version: warrantEvents.version('TokenIssued'), hash: h() };
    node.log.append(`token-${old.familyId}`, 'no_stream', [{ id: metadata.eventId, type: event.type, contentType: 'application/json', data: Buffer.from(JSON.stringify(event.data)), metadata: Buffer.from(JSON.stringify(metadata)) }]);
    for (let i = 0; i < 10; i += 1) await store.append(`token-${randomUUID()}`, [revokedEvent()], { expectedRevision: 'no_stream' });
    expect(node.log.stream('warrant-index-since')).to.equal(undefined);

    const fresh = newFamily(old.clientId, 'olga');
    await store.append(`token-${fresh.familyId}`, [tokenIssued(fresh)], { expectedRevision: 'no_stream' });
    expect(node.log.stream('warrant-index-since')).to.have.length(1);
    expect(await findFamily(store, old.jti)).to.equal(old.familyId);
    expect(await findFamily(store, fresh.jti)).to.equal(fresh.familyId);
    const both = await families(store, { clientId: old.clientId }, { after: 0, limit: 10 }, new Date());
    expect(both.families.map((f) => f.family_id)).to.deep.equal([old.familyId, fresh.familyId]);
  });

  it('a link whose event never got appended, or that points at another event, is not an answer', async () => {
    const family = newFamily(randomUUID(), 'pia');
    await store.append(`token-${family.familyId}`, [tokenIssued(family)], { expectedRevision: 'no_stream' });
    const other = newFamily(randomUUID(), 'quinn');
    await store.append(`token-${other.familyId}`, [tokenIssued(other)], { expectedRevision: 'no_stream' });
    // Links as an append that failed after its links would leave them.
    const link = (target: string) => ({ id: randomUUID(), type: '$>', contentType: 'application/octet-stream', data: Buffer.from(target), metadata: Buffer.alloc(0) });
    node.log.append(`warrant-index-jti-${family.jti}`, 'any', [link(`0@token-${other.familyId}`), link(`7@token-${family.familyId}`), link(`0@token-${randomUUID()}`)]);
    node.log.append(`warrant-index-clientId-${family.clientId}`, 'any', [link(`0@token-${other.familyId}`)]);
    expect(await findFamily(store, family.jti)).to.equal(family.familyId);
    expect(ids(await store.readAll({ filter: { types: ['TokenIssued'], data: { jti: family.jti } } }))).to.have.length(1);
    const summaries = await families(store, { clientId: family.clientId }, { after: 0, limit: 10 }, new Date());
    expect(summaries.families.map((f) => f.family_id)).to.deep.equal([family.familyId]);
  });
});
