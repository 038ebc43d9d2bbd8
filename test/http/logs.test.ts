// Logs (issue 7 §4): structured JSON, and every line written while a request is handled carries
// its request id — the same id the response echoes in X-Request-Id and the events it appended
// carry in their metadata.

import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '../../src/logger.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

interface Line {
  level: number;
  msg: string;
  requestId?: string;
  [key: string]: unknown;
}

describe('logs', function () {
  this.timeout(30_000);
  let server: TestServer;
  const lines: Line[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
        done();
      },
    });
    server = await startTestServer({ logger: createLogger({ level: 'trace', destination: sink }) });
  });
  after(async () => {
    await server.stop();
  });

  it('every line written during a request carries its request id, which the response and its events carry too', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    await new Promise((resolve) => setTimeout(resolve, 100)); // let start-up lines settle
    const from = lines.length;
    const token = `${server.url}/oauth/token`;
    const ok = await postForm(token, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret), 'x-request-id': 'given-by-the-gateway.1' });
    const wrongSecret = await postForm(token, { grant_type: 'client_credentials' }, { authorization: basic(c.id, 'nope') });
    const malformed = await postForm(token, 'grant_type=client_credentials&scope=%ZZ', { authorization: basic(c.id, c.secret) });
    const notFound = await fetch(`${server.url}/no/such/route`, { headers: { 'x-request-id': 'bad id with spaces' } });
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(ok.status).to.equal(200);
    expect(ok.headers.get('x-request-id')).to.equal('given-by-the-gateway.1');
    expect(wrongSecret.status).to.equal(401);
    expect(malformed.status).to.equal(400);
    expect(notFound.status).to.equal(404);
    // An unsafe id from outside is replaced, not logged.
    expect(notFound.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);

    const during = lines.slice(from);
    const ids = [ok, wrongSecret, malformed].map((r) => r.headers.get('x-request-id')!).concat(notFound.headers.get('x-request-id')!);
    expect(new Set(ids).size).to.equal(4);
    // One access line per request, with method, path, status and time …
    const access = during.filter((line) => line.msg === 'request');
    expect(access.map((line) => [line.requestId, line['status']])).to.deep.equal([[ids[0], 200], [ids[1], 401], [ids[2], 400], [ids[3], 404]]);
    // … the refusals explained with their private detail …
    const refused = during.filter((line) => line.msg === 'request refused');
    expect(refused.map((line) => line.requestId)).to.include.members([ids[1]]);
    // … and no line of the request's own without the id (background work — projection runners —
    // logs under its own name and is not part of any request).
    const fromRequests = during.filter((line) => !('projection' in line));
    expect(fromRequests.length).to.be.at.least(5);
    for (const line of fromRequests) expect(ids, JSON.stringify(line)).to.include(line.requestId);

    // The event the successful request appended is stamped with the same id.
    const { rows } = await server.auth.pool.query<{ metadata: { requestId: string; actor: string } }>(
      "SELECT metadata FROM es_events WHERE type = 'TokenIssued' ORDER BY position DESC LIMIT 1",
    );
    expect(rows[0]!.metadata).to.include({ requestId: 'given-by-the-gateway.1', actor: c.id });
  });
});
