// Client authentication's cache (src/oauth/client-cache.ts): served only while provably current.
// A second createAuthServer on the same database stands for another node: its own pool, its own
// LISTEN connection, its own cache.

import { expect } from 'chai';
import { silentLogger } from '../../src/logger.js';
import { revokeClient, rotateClientSecret } from '../../src/oauth/clients.js';
import { createAuthServer, type AuthServer } from '../../src/server.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

async function until(condition: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return Date.now() - started;
}

describe('client cache', function () {
  this.timeout(30_000);
  let server: TestServer;
  let other: AuthServer;
  before(async () => {
    server = await startTestServer();
    other = await createAuthServer({ config: server.auth.config, logger: silentLogger, runProjections: false });
  });
  after(async () => {
    await other.close();
    await server.stop();
  });

  it('serves a client from memory once the LISTEN connection is up, and never an unknown id', async () => {
    const c = await server.client();
    const cache = other.context.clients;
    await other.context.waiter.listen();
    const first = await cache.find(c.id);
    const second = await cache.find(c.id);
    expect(first?.clientId).to.equal(c.id);
    expect(second).to.equal(first); // the same object: no second read
    const before = cache.size;
    expect(await cache.find('00000000-0000-4000-8000-000000000000')).to.equal(undefined);
    expect(cache.size).to.equal(before);
  });

  it('in the process that rotated a secret, the old secret fails the moment the rotation answered', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const token = () => postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) });
    expect((await token()).status).to.equal(200); // now cached
    expect((await token()).status).to.equal(200);
    const rotated = await rotateClientSecret(server.auth.context, c.id, { actor: 'admin:test' });
    const old = await token();
    expect(old.status).to.equal(401);
    expect(old.body.error).to.equal('invalid_client');
    const fresh = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, rotated.clientSecret!) });
    expect(fresh.status).to.equal(200);
  });

  it('another process sees a revocation once its notification arrives, and at once in the revoking process', async () => {
    const c = await server.client();
    await other.context.waiter.listen();
    expect((await other.context.clients.find(c.id))?.revoked).to.equal(false);
    expect((await server.auth.context.clients.find(c.id))?.revoked).to.equal(false);
    await revokeClient(server.auth.context, c.id, { actor: 'admin:test' });
    expect((await server.auth.context.clients.find(c.id))?.revoked).to.equal(true);
    const delay = await until(async () => (await other.context.clients.find(c.id))?.revoked === true, 2000);
    expect(delay).to.be.below(2000);
  });

  it('without its LISTEN connection a process reads the database every time', async () => {
    const c = await server.client();
    const cache = other.context.clients;
    await other.context.waiter.listen();
    expect((await cache.find(c.id))?.revoked).to.equal(false); // cached under this epoch
    await server.auth.pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'warrant-wait' AND datname = current_database()",
    );
    await until(async () => other.context.waiter.known('clients').epoch === 0, 5000);
    await revokeClient(server.auth.context, c.id, { actor: 'admin:test' });
    // No waiting: the entry from the lost epoch is never served again.
    expect((await cache.find(c.id))?.revoked).to.equal(true);
  });
});
