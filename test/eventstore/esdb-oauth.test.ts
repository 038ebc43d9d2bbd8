// The OAuth flows with the EventStoreDB adapter as the event store (DESIGN §3): a real Warrant whose
// EVENTSTORE_URL points at the stand-in (or at the server in EVENTSTORE_URL when set), read models
// in PostgreSQL written by the projection runners from their subscriptions.

import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { dumpTables, ProjectionWaiter, projections, rebuildProjection } from '../../projections/index.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { startStandin, type StandinNode } from '../support/esdb-standin/index.js';
import { delay } from '../support/events.js';
import { basic, insecure, postForm, startTestServer, type TestServer } from '../support/server.js';

const url = process.env['EVENTSTORE_URL'];

describe(`OAuth on the EventStoreDB adapter (${url ? 'EVENTSTORE_URL' : 'stand-in'}; read models in PostgreSQL)`, function () {
  this.timeout(60_000);
  let node: StandinNode | undefined;
  let server: TestServer;

  before(async () => {
    if (!url) node = await startStandin();
    server = await startTestServer({ config: { eventStoreUrl: url ?? node!.url } });
  });
  after(async () => {
    await server?.stop();
    await node?.stop();
  });

  const token = (form: Record<string, string>, who: { id: string; secret: string }) => postForm(`${server.url}/oauth/token`, form, { authorization: basic(who.id, who.secret) });
  const introspect = async (value: string, who: { client: oauth.Client; secret: string }) =>
    oauth.processIntrospectionResponse(server.as, who.client, await oauth.introspectionRequest(server.as, who.client, oauth.ClientSecretBasic(who.secret), value, insecure));

  /** A family with a refresh token, as the authorization-code grant issues it. */
  async function family() {
    const registered = await server.client({ grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read', 'write'] });
    const record = (await server.auth.context.read.clients.find(registered.id))!;
    const issued = await issueTokens(server.auth.context, {
      client: record, subject: 'dora', grantType: 'authorization_code', scopes: ['read', 'write'], audience: [server.url], withRefresh: true, actor: { actor: 'dora' },
    });
    return { ...registered, issued };
  }

  it('client_credentials: the client and the token are events in EventStoreDB (none in PostgreSQL), and the policy accepts the token', async () => {
    const app = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const issued = await token({ grant_type: 'client_credentials', scope: 'read' }, app);
    expect(issued.status).to.equal(200);
    expect(issued.body).to.include({ token_type: 'Bearer', scope: 'read' });
    const claims = await server.auth.policy.authenticate(`Bearer ${issued.body.access_token}`);
    expect(claims).to.include({ clientId: app.id, grantType: 'client_credentials' });
    const { rows } = await server.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM es_events');
    expect(Number(rows[0]!.n)).to.equal(0);
    expect((await server.auth.store.readStream(`client-${app.id}`)).map((e) => e.type)).to.deep.equal(['ClientRegistered']);
    if (node) expect(node.log.stream(`client-${app.id}`)).to.have.length(1);
  });

  it('refresh rotates the token; reusing a rotated refresh token revokes the whole family before the error answer', async () => {
    const g = await family();
    const first = await token({ grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, g);
    expect(first.status).to.equal(200);
    expect(first.body.refresh_token).to.be.a('string').and.not.equal(g.issued.refresh_token);
    expect((await introspect(first.body.access_token, g)).active).to.equal(true);
    const reuse = await token({ grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, g);
    expect(reuse.status).to.equal(400);
    expect(reuse.body.error).to.equal('invalid_grant');
    expect(await introspect(first.body.access_token, g)).to.deep.equal({ active: false });
    expect(await introspect(first.body.refresh_token, g)).to.deep.equal({ active: false });
    const events = await server.auth.store.readStream(`token-${g.issued.familyId}`);
    expect(events.map((e) => e.type)).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRevoked']);
    expect(events[2]!.data).to.include({ reason: 'refresh_token_reuse' });
  });

  it('of 10 concurrent refreshes with one refresh token exactly one succeeds (expected revision on EventStoreDB), none answers 5xx', async () => {
    const g = await family();
    const results = await Promise.all(Array.from({ length: 10 }, () => token({ grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, g)));
    expect(results.filter((r) => r.status === 200)).to.have.length(1);
    expect(results.filter((r) => r.status >= 500)).to.deep.equal([]);
  });

  it('revocation is visible at once: introspection and the policy refuse the token as soon as /oauth/revoke answers', async () => {
    const g = await family();
    expect((await server.auth.policy.authenticate(`Bearer ${g.issued.access_token}`)).subject).to.equal('dora');
    const revoked = await postForm(`${server.url}/oauth/revoke`, { token: g.issued.access_token }, { authorization: basic(g.id, g.secret) });
    expect(revoked.status).to.equal(200);
    expect(await introspect(g.issued.access_token, g)).to.deep.equal({ active: false });
    expect(await introspect(g.issued.refresh_token!, g)).to.deep.equal({ active: false });
    expect(await server.auth.policy.authenticate(`Bearer ${g.issued.access_token}`).catch((e: unknown) => e)).to.include({ status: 401, error: 'invalid_token' });
    expect((await token({ grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, g)).body.error).to.equal('invalid_grant');
  });

  it('GET /audit/tokens/{jti} replays a family from EventStoreDB: its events in order, positions increasing, the state after each', async () => {
    const auditorApp = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
    const auditor = (await token({ grant_type: 'client_credentials', scope: 'warrant:audit' }, auditorApp)).body.access_token as string;
    const g = await family();
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: g.issued.refresh_token! }, g);
    await postForm(`${server.url}/oauth/revoke`, { token: refreshed.body.access_token }, { authorization: basic(g.id, g.secret) });
    const jti = decodeJwt(refreshed.body.access_token).jti!;
    const response = await fetch(`${server.url}/audit/tokens/${jti}`, { headers: { authorization: `Bearer ${auditor}` } });
    expect(response.status).to.equal(200);
    const body = (await response.json()) as { family_id: string; events: { type: string; revision: number; position: number; state: { status: string } }[] };
    expect(body.family_id).to.equal(g.issued.familyId);
    expect(body.events.map((e) => [e.type, e.revision, e.state.status])).to.deep.equal([
      ['TokenIssued', 0, 'active'],
      ['TokenRefreshed', 1, 'refreshed'],
      ['TokenRevoked', 2, 'revoked'],
    ]);
    const positions = body.events.map((e) => e.position);
    expect(positions[0]).to.be.above(0);
    expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).to.equal(3);
  });

  it('after the runners\' subscriptions are dropped and the node dies for a while, rebuilding every read model from EventStoreDB gives exactly the rows the live runners wrote', async () => {
    if (node) {
      // Subscriptions cut mid-stream, then the node gone (refused), then back: the runners
      // resubscribe from their checkpoints; tokens issued in between must each be applied once.
      expect(node.dropStreams()).to.be.greaterThan(0);
      await family();
      node.kill();
      await delay(300);
      await node.start();
      const app = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
      for (let i = 0; i < 5; i += 1) expect((await token({ grant_type: 'client_credentials', scope: 'read' }, app)).status).to.equal(200);
    }
    const waiter = new ProjectionWaiter({ pool: server.db.pool, projections: projections.map((p) => p.name), timeoutMs: 20_000 });
    try {
      await waiter.waitFor(await server.auth.store.headPosition());
    } finally {
      await waiter.close();
    }
    for (const projection of projections) {
      const rebuilt = await rebuildProjection({ pool: server.db.pool, store: server.auth.store, projection, swap: false });
      const live = await dumpTables(server.db.pool, projection.tables);
      expect(await dumpTables(server.db.pool, projection.tables, rebuilt.schema), projection.name).to.deep.equal(live);
      await server.db.pool.query(`DROP SCHEMA ${rebuilt.schema} CASCADE`);
    }
    const families = await dumpTables(server.db.pool, ['token_families']);
    expect(families['token_families']!.length).to.be.at.least(node ? 11 : 4);
  });
});
