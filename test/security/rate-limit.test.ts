// Brute force (issue 8 §6, issue 13 §3): failed client authentications are limited per (client,
// address) and per address, sign-ins per (username, address) and per address, shared by every
// node; over the limit the answer is 429 with Retry-After — even for the right secret, so the
// refusal reveals nothing — until the window ends. None of it can lock out the real owner.

import { expect } from 'chai';
import { RateLimits } from '../../src/oauth/rate-limit.js';
import { createUser } from '../../src/users/directory.js';
import { createTestDatabase } from '../support/db.js';
import { Nodes } from '../support/nodes.js';
import { basic, postForm, startTestServer, type TestServer, useTestServer } from '../support/server.js';

describe('rate limits', function () {
  this.timeout(30_000);

  describe('counters (fake clock)', () => {
    let now = 1_000_000;
    const clock = () => now;
    const refused = (limits: RateLimits, keys: string[]) => {
      try {
        limits.admit(keys);
        return undefined;
      } catch (error) {
        return error as { status: number; headers: Record<string, string>; description: string };
      }
    };

    it('counts failures per (client, address) and per address, never per client alone, and forgets them when the window ends', async () => {
      const limits = new RateLimits({ failures: 3, requests: 0, windowSeconds: 60, clock });
      const a = RateLimits.clientKeys('client-a', '10.0.0.1');
      for (let i = 0; i < 3; i += 1) {
        expect(refused(limits, a)).to.equal(undefined);
        await limits.failed(a);
      }
      const blocked = refused(limits, a)!;
      expect(blocked.status).to.equal(429);
      expect(blocked.headers['Retry-After']).to.equal('60');
      expect(blocked.description).to.contain('for this client from this address');
      // Same address, other client: the address is over its limit too.
      expect(refused(limits, RateLimits.clientKeys('client-b', '10.0.0.1'))!.description).to.contain('from this address');
      // Same client from elsewhere: fine — the attacker's failures are not the owner's.
      expect(refused(limits, RateLimits.clientKeys('client-a', '10.0.0.2'))).to.equal(undefined);
      // Client ids are matched case-insensitively, so counted that way.
      expect(refused(limits, RateLimits.clientKeys('CLIENT-A', '10.0.0.1'))!.status).to.equal(429);
      now += 59_000;
      expect(refused(limits, a)!.headers['Retry-After']).to.equal('1');
      now += 1_000;
      expect(refused(limits, a)).to.equal(undefined);
    });

    it('limits plain request volume when asked to (per address before authentication, per client after), and does nothing with 0', async () => {
      const limits = new RateLimits({ failures: 0, requests: 2, windowSeconds: 10, clock });
      const keys = RateLimits.clientKeys('x', '10.0.0.9');
      expect(refused(limits, keys)).to.equal(undefined);
      expect(refused(limits, keys)).to.equal(undefined);
      expect(refused(limits, keys)!.description).to.contain('requests');
      limits.countRequest('client:x');
      limits.countRequest('client:x');
      expect(() => limits.countRequest('client:x')).to.throw(/requests for this client/);
      const off = new RateLimits({ failures: 0, requests: 0, windowSeconds: 10, clock });
      for (let i = 0; i < 1000; i += 1) {
        await off.failed(keys);
        expect(refused(off, keys)).to.equal(undefined);
      }
    });

    it('a username failing beyond the limit is slowed down with a growing delay, capped, never refused', async () => {
      const limits = new RateLimits({ failures: 2, requests: 0, windowSeconds: 60, clock, slowDownStepMs: 100 });
      const { slow } = RateLimits.userKeys('kim', '10.0.0.1');
      expect(limits.delayMs(slow)).to.equal(0);
      for (let i = 0; i < 2; i += 1) await limits.failed([slow]);
      expect(limits.delayMs(slow)).to.equal(100);
      await limits.failed([slow]);
      expect(limits.delayMs(slow)).to.equal(200);
      for (let i = 0; i < 100; i += 1) await limits.failed([slow]);
      expect(limits.delayMs(slow)).to.equal(5_000);
      // Signing in from an address under its own limit: waited, not refused.
      const fast = new RateLimits({ failures: 2, requests: 0, windowSeconds: 60, clock, slowDownStepMs: 1 });
      for (let i = 0; i < 5; i += 1) await (await fast.signInAttempt('kim', `10.0.1.${i}`))();
      expect(fast.delayMs(slow)).to.equal(4);
      await fast.signInAttempt('kim', '10.0.2.1');
    });
  });

  describe('the client address behind proxies (WARRANT_TRUSTED_PROXIES)', () => {
    const failAs = (server: TestServer, forwardedFor: string) =>
      postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, {
        authorization: basic(crypto.randomUUID(), 'guess'), // a new unknown client each time: only the address adds up
        'x-forwarded-for': forwardedFor,
      });

    it('with one trusted proxy, the address is the entry that proxy appended; entries before it are ignored', async () => {
      const server = await startTestServer({ config: { rateLimitFailures: 2, trustedProxies: 1 } });
      try {
        expect((await failAs(server, '10.0.0.1')).status).to.equal(401);
        expect((await failAs(server, '10.0.0.1')).status).to.equal(401);
        expect((await failAs(server, '10.0.0.1')).status).to.equal(429);
        // A client forging an earlier entry is still the address its proxy saw.
        expect((await failAs(server, '10.0.0.2, 10.0.0.1')).status).to.equal(429);
        expect((await failAs(server, '10.0.0.2')).status).to.equal(401);
      } finally {
        await server.stop();
      }
    });

    it('with none (the default), X-Forwarded-For is ignored: a forged header does not escape the limit', async () => {
      const server = await startTestServer({ config: { rateLimitFailures: 2 } });
      try {
        expect((await failAs(server, '10.0.0.1')).status).to.equal(401);
        expect((await failAs(server, '10.0.0.2')).status).to.equal(401);
        expect((await failAs(server, '10.0.0.3')).status).to.equal(429);
      } finally {
        await server.stop();
      }
    });
  });

  describe('at the token endpoint', () => {
    const server = useTestServer({ config: { rateLimitFailures: 5, rateLimitWindow: 2 } });

    it('after 5 wrong secrets: 429 with Retry-After and OAuth error JSON, even for the right secret; fine again after the window', async () => {
      const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
      const token = (secret: string) => postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, secret) });
      for (let i = 0; i < 5; i += 1) expect((await token(`guess-${i}`)).status).to.equal(401);
      const blocked = await token(c.secret);
      expect(blocked.status).to.equal(429);
      expect(Number(blocked.headers.get('retry-after'))).to.be.within(1, 2);
      expect(blocked.body.error).to.equal('temporarily_unavailable');
      expect(blocked.body.error_description).to.match(/too many failed attempts/);
      expect(blocked.headers.get('cache-control')).to.equal('no-store');
      // Introspection and revocation share the limit (they authenticate the same way).
      expect((await postForm(`${server.url}/oauth/introspect`, { token: 'x' }, { authorization: basic(c.id, c.secret) })).status).to.equal(429);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await token(c.secret)).status).to.equal(200);
    });

    it('the sign-in form: after 5 wrong passwords for a username from one address, a 429 page with Retry-After there, even for the right password', async () => {
      await createUser(server.auth.pool, 'mallory-target', 'the right password 1');
      const login = await fetch(`${server.url}/oauth/login`);
      const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const csrf = /name="csrf" value="([^"]*)"/.exec(await login.text())![1]!.replace(/&amp;/g, '&');
      const attempt = (password: string) => fetch(`${server.url}/oauth/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'mallory-target', password, csrf, return_to: '/oauth/login' }),
      });
      for (let i = 0; i < 5; i += 1) expect((await attempt(`guess ${i}`)).status).to.equal(401);
      const blocked = await attempt('the right password 1');
      expect(blocked.status).to.equal(429);
      expect(Number(blocked.headers.get('retry-after'))).to.be.within(1, 2);
      expect(blocked.headers.get('content-type')).to.match(/^text\/html/);
      expect(await blocked.text()).to.contain('Too many failed sign-ins');
      expect(blocked.headers.get('set-cookie') ?? '').not.to.contain('warrant_session=');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await attempt('the right password 1')).status).to.equal(302);
    });
  });

  describe('limits that cannot be turned against the owner (issue 13, finding 3)', () => {
    let server: TestServer;
    before(async () => {
      // One trusted proxy: X-Forwarded-For says which address each request comes from.
      server = await startTestServer({ config: { rateLimitFailures: 20, trustedProxies: 1 } });
    });
    after(async () => {
      await server.stop();
    });
    const token = (id: string, secret: string, from: string) =>
      postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret), 'x-forwarded-for': from });

    it('an attacker sending 100 wrong secrets for a client id cannot lock out the real client at another address', async () => {
      const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
      const statuses: number[] = [];
      for (let i = 0; i < 100; i += 1) statuses.push((await token(c.id, `guess-${i}`, '203.0.113.66')).status);
      expect(statuses.filter((s) => s === 401)).to.have.length(20);
      expect(statuses.filter((s) => s === 429)).to.have.length(80);
      // The attacker's address is stopped, even with the right secret …
      expect((await token(c.id, c.secret, '203.0.113.66')).status).to.equal(429);
      // … the client, from its own address, is not.
      const owner = await token(c.id, c.secret, '198.51.100.7');
      expect(owner.status).to.equal(200);
      expect(owner.body.access_token).to.be.a('string');
    });

    it('an upper-case client id shares the lower-case id\'s budget (ids are normalised before counting)', async () => {
      const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
      for (let i = 0; i < 20; i += 1) expect((await token(c.id, `guess-${i}`, '203.0.113.70')).status).to.equal(401);
      const upper = await token(c.id.toUpperCase(), 'another guess', '203.0.113.70');
      expect(upper.status).to.equal(429);
      expect(upper.body.error_description).to.match(/too many failed attempts for this client from this address/);
    });

    it('a username attacked from many addresses is slowed down, not locked: the owner signs in from their own address', async function () {
      // Dozens of scrypt sign-ins (32 MiB each): over 20 s even on a quiet machine.
      this.timeout(120_000);
      await createUser(server.auth.pool, 'victim', 'the victims password 1');
      const signIn = async (password: string, from: string) => {
        const login = await fetch(`${server.url}/oauth/login`, { headers: { 'x-forwarded-for': from } });
        const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
        const csrf = /name="csrf" value="([^"]*)"/.exec(await login.text())![1]!;
        const started = Date.now();
        const res = await fetch(`${server.url}/oauth/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from },
          body: new URLSearchParams({ username: 'victim', password, csrf, return_to: '/oauth/login' }),
        });
        return { status: res.status, ms: Date.now() - started };
      };
      // 30 wrong passwords from 10 addresses: no address reaches its own limit.
      for (let i = 0; i < 30; i += 1) expect((await signIn(`guess ${i}`, `203.0.113.${100 + (i % 10)}`)).status).to.equal(401);
      const owner = await signIn('the victims password 1', '198.51.100.20');
      expect(owner.status, 'signed in, not 429').to.equal(302);
      expect(owner.ms, 'but slowed down (11 failures over the limit of 20: 2.75 s)').to.be.greaterThan(2_000);
    });

    it('device user codes cannot be guessed without limit (RFC 8628 §5.1): per session and per address', async () => {
      await createUser(server.auth.pool, 'guesser', 'the guessers password 1');
      const login = await fetch(`${server.url}/oauth/login`, { headers: { 'x-forwarded-for': '203.0.113.90' } });
      const pre = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const csrf = /name="csrf" value="([^"]*)"/.exec(await login.text())![1]!;
      const done = await fetch(`${server.url}/oauth/login`, {
        method: 'POST', redirect: 'manual',
        headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.90' },
        body: new URLSearchParams({ username: 'guesser', password: 'the guessers password 1', csrf, return_to: '/oauth/login' }),
      });
      const cookie = done.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const page = await (await fetch(`${server.url}/oauth/device`, { headers: { cookie, 'x-forwarded-for': '203.0.113.90' } })).text();
      const formCsrf = /name="csrf" value="([^"]*)"/.exec(page)![1]!;
      const guess = (code: string, from: string) => fetch(`${server.url}/oauth/device`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from },
        body: new URLSearchParams({ user_code: code, csrf: formCsrf }),
      });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i += 1) statuses.push((await guess(`BCDF${String(i).padStart(4, '0')}`, '203.0.113.90')).status);
      expect(statuses.slice(0, 20).every((s) => s === 400)).to.equal(true);
      expect(statuses.slice(20).every((s) => s === 429)).to.equal(true);
      // Another address does not help the same session.
      const elsewhere = await guess('BCDFGHJK', '203.0.113.91');
      expect(elsewhere.status).to.equal(429);
      expect(elsewhere.headers.get('retry-after')).to.match(/^\d+$/);
    });
  });

  describe('across nodes', () => {
    it('three processes on one database hold the failure limit within 10 %', async function () {
      this.timeout(120_000);
      const db = await createTestDatabase();
      const nodes = await Nodes.create(db.url, { WARRANT_RATE_LIMIT_FAILURES: '30' });
      try {
        const live = [await nodes.start(), await nodes.start(), await nodes.start()];
        const c = await nodes.client();
        const checked: number[] = [];
        // Round-robin, sequential: an attacker spreading guesses over the nodes of a cluster.
        for (let i = 0; i < 120; i += 1) {
          const node = live[i % 3]!;
          const res = await postForm(`${node.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, `guess-${i}`) });
          if (res.status === 401) checked.push(i);
          else expect(res.status).to.equal(429);
        }
        // Per-node limits would let 3 × 30 = 90 guesses be checked; one shared limit, 30 (+ at most 2).
        expect(checked.length).to.be.within(30, 33);
        for (const node of live) expect((await postForm(`${node.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: c.authorization })).status).to.equal(429);
      } finally {
        await nodes.stop();
        await db.drop();
      }
    });
  });
});
