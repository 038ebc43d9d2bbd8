// GET /audit/stream (issue 18): the event log as server-sent events over real HTTP streaming —
// from the head, resumed with Last-Event-ID across a reconnect while events were appended,
// filters, heartbeats, limits, a slow listener cut off and resumed, and bad input.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { NO_STREAM } from '../../src/eventstore/port.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

interface Message {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A streaming SSE reader over node:http (no buffering of the whole body). */
class SseClient {
  readonly messages: Message[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  body = '';
  #buffer = '';
  #waiters: (() => void)[] = [];
  #request: http.ClientRequest;
  response?: http.IncomingMessage;
  ended = false;

  constructor(url: string, headers: Record<string, string>, options: { paused?: boolean } = {}) {
    this.#request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      this.response = response;
      this.status = response.statusCode ?? 0;
      this.headers = response.headers;
      response.setEncoding('utf8');
      if (options.paused) response.pause();
      response.on('data', (chunk: string) => this.#feed(chunk));
      response.on('end', () => {
        this.ended = true;
        this.#wake();
      });
      this.#wake();
    });
    this.#request.on('error', () => {
      this.ended = true;
      this.#wake();
    });
  }

  #feed(chunk: string): void {
    if (this.status !== 200) {
      this.body += chunk;
      return;
    }
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const message: Message = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) message.comment = line.slice(1).trim();
        else {
          const colon = line.indexOf(':');
          const field = line.slice(0, colon);
          const value = line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id' || field === 'event' || field === 'data') message[field] = value;
        }
      }
      this.messages.push(message);
    }
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits until `test` holds (checked on every chunk), or fails after `ms`. */
  async until(test: () => boolean, ms = 3000, what = 'the expected messages'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.slice(-5))} status ${this.status} ${this.body}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  events(): Message[] {
    return this.messages.filter((m) => m.id !== undefined);
  }

  close(): void {
    this.#request.destroy();
  }
}

describe('GET /audit/stream: the log, live, as server-sent events', function () {
  this.timeout(90_000);
  let server: TestServer;
  let auditor: string;
  let machine: { id: string; secret: string };
  const open: SseClient[] = [];
  const stream = (query = '', headers: Record<string, string> = {}, options: { paused?: boolean; token?: string } = {}) => {
    const client = new SseClient(`${server.url}/audit/stream${query}`, { authorization: `Bearer ${options.token ?? auditor}`, ...headers }, options);
    open.push(client);
    return client;
  };
  const token = async (client = machine) => (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: basic(client.id, client.secret) })).body.access_token as string;
  const auditToken = async () => {
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
    return (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(ops.id, ops.secret) })).body.access_token as string;
  };

  before(async () => {
    server = await startTestServer({ config: { auditStreamHeartbeatSeconds: 1, auditStreamBufferBytes: 16 * 1024 } });
    auditor = await auditToken();
    machine = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  after(async () => {
    await server?.stop();
  });

  it('starts at the head: only new events, each within a second of its append, with id = position, event = type and the /audit/events JSON as data', async () => {
    const sse = stream();
    await sse.until(() => sse.messages.length > 0);
    expect(sse.status).to.equal(200);
    expect(sse.headers['content-type']).to.match(/^text\/event-stream/);
    expect(sse.headers['cache-control']).to.equal('no-store');
    expect(sse.events()).to.deep.equal([]);
    const started = Date.now();
    await token();
    await sse.until(() => sse.events().some((m) => m.event === 'TokenIssued'), 1000, 'TokenIssued within 1 s');
    expect(Date.now() - started).to.be.below(1000);
    const message = sse.events().find((m) => m.event === 'TokenIssued')!;
    const feed = await (await fetch(`${server.url}/audit/events?type=TokenIssued&after=${Number(message.id) - 1}&limit=1`, { headers: { authorization: `Bearer ${auditor}` } })).json() as { events: unknown[] };
    expect(JSON.parse(message.data!)).to.deep.equal(feed.events[0]);
    expect(message.data).not.to.match(/Hash"/);
    expect(JSON.parse(message.data!).position).to.equal(Number(message.id));
  });

  it('resumes after Last-Event-ID (or ?after=N) across a reconnect, with events appended while away: nothing lost, nothing repeated', async () => {
    const first = stream('?after=0');
    await first.until(() => first.events().length >= 3);
    const seen = first.events().map((m) => Number(m.id));
    first.close();
    const lastSeen = seen.at(-1)!;
    // While away: more events.
    for (let i = 0; i < 5; i += 1) await token();
    const second = stream('', { 'last-event-id': String(lastSeen) });
    const all = await (await fetch(`${server.url}/audit/events?limit=1000`, { headers: { authorization: `Bearer ${auditor}` } })).json() as { events: { position: number }[] };
    const expected = all.events.map((e) => e.position).filter((p) => p > lastSeen);
    await second.until(() => second.events().length >= expected.length, 3000, `${expected.length} events after ${lastSeen}`);
    expect(second.events().map((m) => Number(m.id)).slice(0, expected.length)).to.deep.equal(expected);
    // ?after=N says the same.
    const third = stream(`?after=${lastSeen}`);
    await third.until(() => third.events().length >= expected.length);
    expect(third.events().map((m) => Number(m.id)).slice(0, expected.length)).to.deep.equal(expected);
  });

  it('filters by type (several, comma-separated), client_id and subject', async () => {
    const other = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const sse = stream(`?type=TokenIssued,TokenRevoked&client_id=${other.id}`);
    await sse.until(() => sse.messages.length > 0);
    await token(); // another client: filtered out
    const access = await token(other);
    await postForm(`${server.url}/oauth/revoke`, { token: access }, { authorization: basic(other.id, other.secret) });
    await sse.until(() => sse.events().length >= 2);
    expect(sse.events().map((m) => m.event), JSON.stringify(sse.events().map((m) => JSON.parse(m.data!).data))).to.deep.equal(['TokenIssued', 'TokenRevoked']);
    expect(sse.events().every((m) => JSON.parse(m.data!).data.clientId === other.id)).to.equal(true);
    const bySubject = stream(`?after=0&subject=${other.id}&type=TokenIssued`);
    await bySubject.until(() => bySubject.events().length >= 1);
    expect(bySubject.events().every((m) => JSON.parse(m.data!).data.subject === other.id)).to.equal(true);
  });

  it('sends a comment heartbeat at the configured interval (here 1 s) while nothing happens', async () => {
    const sse = stream('?type=ClientRevoked');
    await sse.until(() => sse.messages.filter((m) => m.comment === 'heartbeat').length >= 2, 3500, 'two heartbeats');
  });

  it('limits open streams per token (429 JSON with Retry-After) and shows the listeners in /metrics', async () => {
    const limited = await auditToken();
    const streams = [0, 1, 2].map(() => stream('', {}, { token: limited }));
    for (const sse of streams) await sse.until(() => sse.status === 200);
    const fourth = stream('', {}, { token: limited });
    await fourth.until(() => fourth.ended || fourth.body.length > 0);
    expect(fourth.status).to.equal(429);
    expect(fourth.headers['retry-after']).to.be.a('string');
    expect(JSON.parse(fourth.body)).to.include({ error: 'temporarily_unavailable' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/^warrant_audit_stream_listeners (\d+)/m.exec(metrics)?.[1])).to.be.at.least(3);
    for (const sse of streams) sse.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = stream('', {}, { token: limited });
    await again.until(() => again.status !== 0);
    expect(again.status).to.equal(200);
  });

  it('needs a token with warrant:audit, and answers bad input with OAuth JSON errors', async () => {
    const none = await fetch(`${server.url}/audit/stream`);
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer /);
    const plain = await fetch(`${server.url}/audit/stream`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(plain.status).to.equal(403);
    for (const [query, headers] of [['?after=-1', {}], ['?after=1e3', {}], ['?type=NoSuchEvent', {}], ['?type=TokenIssued&type=TokenRevoked', {}], ['', { 'last-event-id': 'abc' }]] as [string, Record<string, string>][]) {
      const answer = await fetch(`${server.url}/audit/stream${query}`, { headers: { authorization: `Bearer ${auditor}`, ...headers } });
      expect(answer.status, query + JSON.stringify(headers)).to.equal(400);
      expect(((await answer.json()) as { error: string }).error).to.equal('invalid_request');
    }
  });

  it('ends with event: end when the access token expires', async () => {
    const short = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'], accessTokenTtl: 2 });
    const shortToken = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(short.id, short.secret) })).body.access_token as string;
    const sse = stream('', {}, { token: shortToken });
    await sse.until(() => sse.ended, 5000, 'the end of the stream');
    const end = sse.messages.find((m) => m.event === 'end')!;
    expect(JSON.parse(end.data!)).to.include({ reason: 'token_expired' });
  });

  it('a listener that stops reading is cut off with a last message naming where to resume; the server does not buffer without bound, and the listener resumes from there', async () => {
    const slow = stream('?type=ConsentGranted', {}, { paused: true });
    await slow.until(() => slow.status === 200);
    // Far more than the socket buffers and the 16 KiB allowance: about 12 MB of messages.
    const subject = `slow-${randomUUID()}`;
    const clientId = machine.id;
    for (let batch = 0; batch < 40; batch += 1) {
      const events = Array.from({ length: 500 }, () => ({ type: 'ConsentGranted', data: { subject, clientId, scopes: ['read'], audience: ['https://api.example/'], sessionId: null } }));
      await server.auth.store.append(`consent-${clientId}-${randomUUID()}`, events, { expectedRevision: NO_STREAM, metadata: { actor: 'test' } });
    }
    const metrics = async () => Number(/^warrant_audit_stream_cutoffs_total (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
    const deadline = Date.now() + 20_000;
    while ((await metrics()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await metrics()).to.equal(1);
    slow.response!.resume();
    await slow.until(() => slow.ended, 20_000, 'the end after the cut-off');
    const cutoff = slow.messages.at(-1)!;
    expect(cutoff.event).to.equal('cutoff');
    const { last_event_id: resumeAfter } = JSON.parse(cutoff.data!) as { last_event_id: number };
    const received = slow.events().filter((m) => m.event === 'ConsentGranted');
    expect(received.length).to.be.below(20_000);
    expect(Number(received.at(-1)!.id)).to.be.at.most(resumeAfter);
    // Resume from there: the rest, in order, without a gap.
    const rest = stream(`?type=ConsentGranted&subject=${subject}`, { 'last-event-id': String(received.at(-1)!.id) });
    await rest.until(() => received.length + rest.events().length >= 20_000, 30_000, 'the rest of the events');
    const ids = [...received, ...rest.events()].map((m) => Number(m.id));
    expect(new Set(ids).size).to.equal(20_000);
    expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
  });
});
