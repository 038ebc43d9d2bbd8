// Nothing a client can send produces a 5xx (issue 3 §7): seeded random requests against every
// OAuth endpoint. Every answer must be a well-formed JSON error or a success.

import { expect } from 'chai';
import { basic, startTestServer, type TestServer } from '../support/server.js';

/** Mulberry32: small, seeded, reproducible. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('bad input never produces a 5xx', function () {
  this.timeout(120_000);
  let server: TestServer;
  let auth: string;
  before(async () => {
    server = await startTestServer();
    const client = await server.client();
    auth = basic(client.id, client.secret);
  });
  after(async () => {
    await server.stop();
  });

  it('answers 600 seeded random requests to /oauth/token, /oauth/revoke, /oauth/introspect and /oauth/clients with 2xx/4xx JSON', async () => {
    const random = prng(20261128);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const junk = (max: number) => {
      const alphabet = ['a', 'Z', '0', '%', '%zz', '%E0%A4', '&', '=', '+', ' ', '\u0000', 'é', '💥', '"', "'", '<', '\\', '.', '-', '_', '\n'];
      return Array.from({ length: Math.floor(random() * max) }, () => pick(alphabet)).join('');
    };
    const params = ['grant_type', 'scope', 'resource', 'refresh_token', 'client_id', 'client_secret', 'token', 'token_type_hint', 'code', junk(8)];
    const values = ['client_credentials', 'refresh_token', 'authorization_code', 'password', '', 'read', 'https://api.example', 'a.b.c', 'x'.repeat(600)];
    const failures: string[] = [];
    for (let i = 0; i < 600; i += 1) {
      const path = pick(['/oauth/token', '/oauth/revoke', '/oauth/introspect', '/oauth/clients', '/oauth/clients/x', '/oauth/token?x=1']);
      const method = random() < 0.85 ? 'POST' : pick(['GET', 'PUT', 'DELETE', 'PATCH']);
      const contentType = pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', '']);
      const body = Array.from({ length: Math.floor(random() * 6) }, () => `${random() < 0.2 ? junk(6) : encodeURIComponent(pick(params))}=${random() < 0.3 ? junk(20) : encodeURIComponent(pick(values))}`).join('&');
      const headers: Record<string, string> = {};
      if (contentType) headers['content-type'] = contentType;
      const authChoice = random();
      if (authChoice < 0.4) headers['authorization'] = auth;
      else if (authChoice < 0.6) headers['authorization'] = pick(['Basic', 'Basic !!!', `Basic ${Buffer.from(junk(30)).toString('base64')}`, 'Bearer x', 'Bearer', `Bearer ${Buffer.from(junk(50)).toString('base64')}.e30.${Buffer.from(junk(9)).toString('base64url')}`]);
      const response = await fetch(`${server.url}${path}`, { method, headers, ...(method === 'GET' ? {} : { body: random() < 0.1 ? Buffer.from(junk(200)) : body }) });
      const text = await response.text();
      if (response.status >= 500) failures.push(`${method} ${path} ${contentType} ${JSON.stringify(body).slice(0, 120)} → ${response.status} ${text.slice(0, 120)}`);
      if (response.status >= 400 && response.status !== 405) {
        const parsed = JSON.parse(text) as { error?: unknown };
        expect(parsed.error, `${method} ${path} → ${response.status} ${text}`).to.be.a('string');
      }
    }
    expect(failures).to.deep.equal([]);
  });
});
