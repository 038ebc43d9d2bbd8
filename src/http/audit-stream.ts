// GET /audit/stream (scope warrant:audit): the event log, live, as server-sent events (WHATWG HTML
// §9.2). Each event is one message: `id` = its position in the log, `event` = its type, `data` =
// the JSON /audit/events gives for it (keyed hashes left out). It follows the event store's own
// subscription (catch-up, then live on the store's notifications), never the read models.
//
// - Where it starts: after `Last-Event-ID` (what a reconnecting EventSource sends), else after
//   `?after=N` (`?after=0`: the whole log), else at the head: only what happens from now on.
//   Positions are gapless and in commit order, so a resumed stream neither skips nor repeats.
// - Filters: `type` (one or several, comma-separated), `client_id`, `subject`.
// - A comment heartbeat at least every WARRANT_AUDIT_STREAM_HEARTBEAT seconds (15).
// - Back-pressure: a listener that reads more slowly than events arrive stops the subscription
//   while its buffer is full; one that falls WARRANT_AUDIT_STREAM_BUFFER bytes behind is cut off
//   with a last `event: cutoff` message naming the position to resume after. The server's memory
//   per listener stays bounded either way.
// - At most WARRANT_AUDIT_STREAMS_PER_TOKEN open streams per access token (429 beyond); the
//   stream ends when the token expires (`event: end`), and the client reconnects with a new one.

import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { auditEvent } from '../audit/history.js';
import { schemas } from '../events/types.js';
import { matchesContent, type EventFilter, type RecordedEvent } from '../eventstore/port.js';
import type { WarrantContext } from '../oauth/context.js';
import { InvalidRequest } from '../oauth/errors.js';
import { TooManyRequests } from '../oauth/rate-limit.js';
import { hasControlCharacters } from '../oauth/text.js';
import type { AuthState, Policy } from '../policy/policy.js';
import { requirePrivileged } from './privileged.js';
import type { RequestState } from './request-id.js';

const EVENT_TYPES = new Set(Object.keys(schemas));
/** How long a listener a full buffer behind may take to catch up before it is cut off. */
const DRAIN_WAIT_MS = 5000;

function param(koa: Context, name: string): string | undefined {
  const value = koa.query[name];
  if (Array.isArray(value)) throw new InvalidRequest(`parameter ${name} is repeated`);
  if (typeof value === 'string' && (hasControlCharacters(value) || value.length > 2000)) throw new InvalidRequest(`parameter ${name} is malformed`);
  return value === undefined || value === '' ? undefined : value;
}

function position(raw: string, name: string): number {
  const value = Number(raw);
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(value)) throw new InvalidRequest(`${name} must be a position (a non-negative integer), as sent in an event's id`);
  return value;
}

/** One SSE message. JSON has no raw newlines, so `data` is one line. */
export function sseMessage(event: RecordedEvent): string {
  return `id: ${event.position}\nevent: ${event.type}\ndata: ${JSON.stringify(auditEvent(event))}\n\n`;
}

export function auditStreamEndpoint(router: Router<RequestState>, ctx: WarrantContext, policy: Policy): void {
  const auditor = requirePrivileged(policy, ctx.config, 'warrant:audit');
  const open = new Map<string, number>();
  const { auditStreamHeartbeatSeconds: heartbeatSeconds, auditStreamBufferBytes: bufferBytes, auditStreamsPerToken: perToken } = ctx.config;

  router.get('/audit/stream', auditor, async (koa) => {
    const auth = koa.state['auth'] as AuthState;
    const types = param(koa, 'type')?.split(',');
    const unknown = types?.filter((type) => !EVENT_TYPES.has(type));
    if (unknown?.length) throw new InvalidRequest(`type must be one or more (comma-separated) of ${[...EVENT_TYPES].join(', ')}`);
    const data: Record<string, string> = {};
    const clientId = param(koa, 'client_id');
    const subject = param(koa, 'subject');
    if (clientId !== undefined) data['clientId'] = clientId;
    if (subject !== undefined) data['subject'] = subject;
    const filter: EventFilter = { ...(types ? { types } : {}), ...(Object.keys(data).length > 0 ? { data } : {}) };
    const lastEventId = koa.get('last-event-id');
    const after = param(koa, 'after');
    let cursor = lastEventId !== '' ? position(lastEventId.trim(), 'Last-Event-ID') : after !== undefined ? position(after, 'after') : await ctx.store.headPosition();

    const mine = open.get(auth.jti) ?? 0;
    if (mine >= perToken) throw new TooManyRequests(5, `open audit streams for this token (at most ${perToken})`);
    open.set(auth.jti, mine + 1);
    ctx.metrics.auditStreamListeners.inc();

    // The allowance is the buffer's high-water mark: past it, the subscription waits for the listener.
    const out = new PassThrough({ highWaterMark: bufferBytes });
    const stop = new AbortController();
    let closed = false;
    const finish = () => {
      if (closed) return;
      closed = true;
      stop.abort();
      clearInterval(heartbeat);
      clearTimeout(expiry);
      const left = (open.get(auth.jti) ?? 1) - 1;
      if (left > 0) open.set(auth.jti, left);
      else open.delete(auth.jti);
      ctx.metrics.auditStreamListeners.dec();
    };
    koa.req.on('close', finish);
    out.on('close', finish);
    /** The last words, then the end; a listener that never reads them loses the socket after 30 s. */
    const last = (event: string, body: Record<string, unknown>) => {
      if (closed || out.writableEnded) return;
      out.end(`event: ${event}\ndata: ${JSON.stringify({ ...body, last_event_id: cursor })}\n\n`);
      finish();
      setTimeout(() => koa.req.socket.destroy(), 30_000).unref();
    };

    const heartbeat = setInterval(() => {
      if (!out.writableNeedDrain) out.write(': heartbeat\n\n');
    }, heartbeatSeconds * 1000);
    const expiresInMs = auth.claims.exp * 1000 - Date.now();
    const expiry = setTimeout(() => last('end', { reason: 'token_expired', message: 'the access token expired; reconnect with a new one and Last-Event-ID' }), Math.max(0, Math.min(expiresInMs, 2 ** 31 - 1)));

    koa.status = 200;
    koa.type = 'text/event-stream';
    koa.set('Cache-Control', 'no-store');
    koa.set('X-Accel-Buffering', 'no');
    koa.body = out;
    out.write(`retry: 2000\n: warrant audit stream after position ${cursor}\n\n`);

    const aborted = once(stop.signal, 'abort').then(() => false);
    void (async () => {
      try {
        for await (const batch of ctx.store.subscribeToAll({ after: cursor, filter, signal: stop.signal, maxBatch: 200 })) {
          if (closed) return;
          // The subscription filters by type; the data filters (client_id, subject) apply here.
          for (const event of batch.events) if (matchesContent(filter, event)) out.write(sseMessage(event));
          cursor = batch.position;
          if (!out.writableNeedDrain) continue;
          // The listener reads more slowly than events arrive and is a full buffer behind: the
          // subscription waits for it (nothing more is read), for a while, then lets it go.
          const drained = await Promise.race([
            once(out, 'drain').then(() => true),
            aborted,
            new Promise<boolean>((resolve) => setTimeout(resolve, DRAIN_WAIT_MS, false).unref()),
          ]).catch(() => false);
          if (closed) return;
          if (!drained) {
            ctx.metrics.auditStreamCutOffs.inc();
            return last('cutoff', { reason: 'too_slow', message: `fell more than ${bufferBytes} bytes behind for ${DRAIN_WAIT_MS / 1000} s; reconnect with Last-Event-ID to resume` });
          }
        }
      } catch (error) {
        koa.state.log?.warn({ err: error }, 'audit stream ended by an error');
        last('error', { reason: 'server_error', message: 'the stream stopped; reconnect with Last-Event-ID to resume' });
      }
    })();
  });
}
