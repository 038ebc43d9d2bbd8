// The audit API under /audit (bearer tokens with scope warrant:audit). Everything here reads the
// event store, except usernames: personal data is kept out of events, in the user directory.

import { Readable } from 'node:stream';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { auditEvent, families, familyHistory, familyStateAt, findFamily } from '../audit/history.js';
import { AuditNames } from '../audit/names.js';
import { verifyStream } from '../audit/verify.js';
import { schemas } from '../events/types.js';
import type { EventFilter } from '../eventstore/port.js';
import { isUuid } from '../oauth/text.js';
import type { WarrantContext } from '../oauth/context.js';
import { InvalidRequest, NotFound } from '../oauth/errors.js';
import { hasControlCharacters, hasUnstorableText } from '../oauth/text.js';
import type { Policy } from '../policy/policy.js';
import { findUserByName } from '../users/directory.js';
import { auditStreamEndpoint } from './audit-stream.js';
import { requirePrivileged } from './privileged.js';
import type { RequestState } from './request-id.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const EVENT_TYPES = Object.keys(schemas);

function query(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new InvalidRequest(`parameter ${name} is repeated`);
  if (typeof value === 'string' && hasControlCharacters(value)) throw new InvalidRequest(`parameter ${name} contains control characters`);
  return value === undefined || value === '' ? undefined : value;
}

function instant(ctx: Context, name: string): string | undefined {
  const raw = query(ctx, name);
  if (raw === undefined) return undefined;
  const date = new Date(raw);
  if (!RFC3339.test(raw) || Number.isNaN(date.getTime())) throw new InvalidRequest(`${name} must be an RFC 3339 date-time, e.g. 2026-11-28T14:02:00Z`);
  return date.toISOString();
}

function page(ctx: Context, defaultLimit: number, maxLimit: number): { after: number; limit: number } {
  const after = Number(query(ctx, 'after') ?? 0);
  const limit = Number(query(ctx, 'limit') ?? defaultLimit);
  if (!Number.isSafeInteger(after) || after < 0) throw new InvalidRequest('after must be a position (a non-negative integer) from a previous page');
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) throw new InvalidRequest(`limit must be an integer from 1 to ${maxLimit}`);
  return { after, limit };
}

export function subjectParam(ctx: Context & { params: Record<string, string> }): string {
  const subject = ctx.params['sub'] ?? '';
  if (subject.length === 0 || subject.length > 255 || hasControlCharacters(subject)) throw new NotFound('no such subject');
  return subject;
}

export function auditApi(router: Router<RequestState>, ctx: WarrantContext, policy: Policy): void {
  const auditor = requirePrivileged(policy, ctx.config, 'warrant:audit');
  auditStreamEndpoint(router, ctx, policy);

  router.get('/audit/tokens/:id', auditor, async (koa) => {
    const familyId = await findFamily(ctx.store, koa.params['id']!);
    if (!familyId) throw new NotFound('no token or token family with this id');
    const [history] = await new AuditNames(ctx.store, ctx.pool).add([await familyHistory(ctx.store, familyId, ctx.clock())]);
    koa.body = history;
  });

  router.get('/audit/tokens/:id/state', auditor, async (koa) => {
    const at = instant(koa, 'at');
    if (!at) throw new InvalidRequest('missing required parameter at');
    const id = koa.params['id']!;
    const familyId = await findFamily(ctx.store, id);
    if (!familyId) throw new NotFound('no token or token family with this id');
    koa.body = await familyStateAt(ctx.store, familyId, new Date(at), familyId === id ? undefined : id);
  });

  router.get('/audit/clients/:clientId', auditor, async (koa) => {
    const clientId = koa.params['clientId']!;
    if (!isUuid(clientId)) throw new NotFound('no such client');
    const cursor = page(koa, 50, 500);
    const names = new AuditNames(ctx.store, ctx.pool);
    const history = await names.client(clientId);
    if (!history.exists) throw new NotFound('no such client');
    const found = await families(ctx.store, { clientId }, cursor, ctx.clock());
    koa.body = { client_id: clientId, client_name: history.name, revoked: history.revoked, events: history.events, families: await names.add(found.families), next: found.next };
  });

  router.get('/audit/subjects/:sub/tokens', auditor, async (koa) => {
    const subject = subjectParam(koa);
    const names = new AuditNames(ctx.store, ctx.pool);
    const found = await families(ctx.store, { subject }, page(koa, 50, 500), ctx.clock());
    koa.body = { subject, username: await names.username(subject), families: await names.add(found.families), next: found.next };
  });

  // Usernames are not in events: this turns the name an auditor was given into the subject to search.
  router.get('/audit/users', auditor, async (koa) => {
    const username = query(koa, 'username');
    if (!username) throw new InvalidRequest('missing required parameter username');
    const user = await findUserByName(ctx.pool, username);
    if (!user) throw new NotFound('no user with this username');
    koa.body = { user_id: user.userId, username: user.username };
  });

  router.get('/audit/events', auditor, async (koa) => {
    const type = query(koa, 'type');
    if (type !== undefined && !EVENT_TYPES.includes(type)) throw new InvalidRequest(`type must be one of ${EVENT_TYPES.join(', ')}`);
    const clientId = query(koa, 'client_id');
    const subject = query(koa, 'subject');
    const data: Record<string, string> = {};
    if (clientId !== undefined) data['clientId'] = clientId;
    if (subject !== undefined) data['subject'] = subject;
    const since = instant(koa, 'since');
    const until = instant(koa, 'until');
    const filter: EventFilter = {
      ...(type ? { types: [type] } : {}),
      ...(Object.keys(data).length > 0 ? { data } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    };
    const ndjson = koa.accepts('application/json', 'application/x-ndjson') === 'application/x-ndjson' && koa.get('accept').includes('ndjson');
    if (ndjson) {
      // Export: the whole matching feed, streamed page by page (memory stays flat).
      const { after, limit } = page(koa, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      koa.type = 'application/x-ndjson';
      koa.set('Cache-Control', 'no-store');
      koa.body = Readable.from(
        (async function* () {
          let position = after;
          let sent = 0;
          while (sent < limit) {
            const events = await ctx.store.readAll({ after: position, maxCount: Math.min(1000, limit - sent), filter });
            if (events.length === 0) return;
            yield `${events.map((event) => JSON.stringify(auditEvent(event))).join('\n')}\n`;
            sent += events.length;
            position = events.at(-1)!.position;
          }
        })(),
      );
      return;
    }
    const cursor = page(koa, 100, 1000);
    const events = await ctx.store.readAll({ after: cursor.after, maxCount: cursor.limit, filter });
    koa.body = { events: events.map(auditEvent), next: events.length === cursor.limit ? events.at(-1)!.position : null };
  });

  router.get('/audit/streams/:stream/verify', auditor, async (koa) => {
    const stream = koa.params['stream']!;
    if (stream.length > 200 || hasControlCharacters(stream) || hasUnstorableText(stream)) throw new NotFound('no such stream');
    const verdict = await verifyStream(ctx.store, stream);
    if (!verdict.exists) throw new NotFound('no such stream');
    koa.body = {
      stream,
      ok: verdict.ok,
      checked: verdict.checked,
      ...(verdict.ok ? {} : { broken_at_revision: verdict.brokenAt, reason: verdict.reason }),
    };
  });
}
