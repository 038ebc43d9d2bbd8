// Slow clients (issue 8 §5): a connection that dribbles its headers or its body is answered 408
// and closed once WARRANT_HEADERS_TIMEOUT / WARRANT_REQUEST_TIMEOUT pass, and meanwhile everyone
// else is served.

import net from 'node:net';
import { expect } from 'chai';
import { basic, postForm, useTestServer } from '../support/server.js';

/** Opens a raw connection, sends `first`, then one byte of `drip` every `everyMs`; resolves with what came back and when the server closed. */
function slowClient(url: string, first: string, drip: string, everyMs: number): Promise<{ response: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let response = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < drip.length && socket.writable) socket.write(drip[i++]!);
    }, everyMs);
    socket.on('connect', () => socket.write(first));
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.on('error', () => undefined); // a reset after the 408 is fine
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ response, closedAfterMs: Date.now() - started });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the server kept the slow connection open for 10 s'));
    }, 10_000);
  });
}

describe('slow clients', function () {
  this.timeout(30_000);
  const server = useTestServer({ config: { headersTimeoutMs: 600, requestTimeoutMs: 1500 } });

  it('headers sent a byte at a time: 408 and closed after the headers timeout, while others are served', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const slow = slowClient(server.url, 'POST /oauth/token HTTP/1.1\r\nHost: warrant\r\n', 'X-Slow: '.padEnd(200, 'a'), 100);
    const meanwhile = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) });
    expect(meanwhile.status).to.equal(200);
    const { response, closedAfterMs } = await slow;
    expect(response).to.match(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).to.be.within(600, 3000);
  });

  it('a body sent a byte at a time: 408 and closed after the request timeout', async () => {
    const body = 'grant_type=client_credentials'.padEnd(100, '&');
    const { response, closedAfterMs } = await slowClient(
      server.url,
      `POST /oauth/token HTTP/1.1\r\nHost: warrant\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
      200,
    );
    expect(response).to.match(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).to.be.within(1500, 4500);
  });
});
