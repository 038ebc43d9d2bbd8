// Brute force on the token endpoint (issue 8 §6): failed client authentications are limited per
// client id and per address; over the limit the answer is 429 with Retry-After — even for the
// right secret, so the refusal reveals nothing — until the window ends.

import { expect } from 'chai';
import { RateLimits } from '../../src/oauth/rate-limit.js';
import { createUser } from '../../src/users/directory.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

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

    it('counts failures per client id and per address independently, and forgets them when the window ends', () => {
      const limits = new RateLimits({ failures: 3, requests: 0, windowSeconds: 60, clock });
      const a = RateLimits.keys('client-a', '10.0.0.1');
      for (let i = 0; i < 3; i += 1) {
        expect(refused(limits, a)).to.equal(undefined);
        limits.failed(a);
      }
      const blocked = refused(limits, a)!;
      expect(blocked.status).to.equal(429);
      expect(blocked.headers['Retry-After']).to.equal('60');
      expect(blocked.description).to.contain('for this client');
      // Same address, other client: the address is over its limit too.
      expect(refused(limits, RateLimits.keys('client-b', '10.0.0.1'))!.description).to.contain('from this address');
      // Same client from elsewhere: still refused (the client's own limit).
      expect(refused(limits, RateLimits.keys('client-a', '10.0.0.2'))!.status).to.equal(429);
      // Neither: fine.
      expect(refused(limits, RateLimits.keys('client-c', '10.0.0.3'))).to.equal(undefined);
      now += 59_000;
      expect(refused(limits, a)!.headers['Retry-After']).to.equal('1');
      now += 1_000;
      expect(refused(limits, a)).to.equal(undefined);
    });

    it('limits plain request volume when asked to, and does nothing with 0', () => {
      const limits = new RateLimits({ failures: 0, requests: 2, windowSeconds: 10, clock });
      const keys = RateLimits.keys('x', '10.0.0.9');
      expect(refused(limits, keys)).to.equal(undefined);
      expect(refused(limits, keys)).to.equal(undefined);
      expect(refused(limits, keys)!.description).to.contain('requests');
      const off = new RateLimits({ failures: 0, requests: 0, windowSeconds: 10, clock });
      for (let i = 0; i < 1000; i += 1) {
        off.failed(keys);
        expect(refused(off, keys)).to.equal(undefined);
      }
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
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ config: { rateLimitFailures: 5, rateLimitWindow: 2 } });
    });
    after(async () => {
      await server.stop();
    });

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

    it('the sign-in form: after 5 wrong passwords for a username, a 429 page with Retry-After, even for the right password', async () => {
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
});
