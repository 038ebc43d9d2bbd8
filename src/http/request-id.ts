// Gives every request an id (the client's X-Request-Id when it is sane, else a random UUID),
// echoes it, and binds it to the request's logger so every log line carries it.

import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logger.js';
import type { Actor } from '../oauth/context.js';

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestState {
  requestId: string;
  log: Logger;
}

export function requestId(logger: Logger): Middleware<RequestState> {
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    const id = SANE.test(given) ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.state.log = logger.child({ requestId: id });
    ctx.set('X-Request-Id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      ctx.state.log.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, ip: ctx.ip, ms: Math.round((performance.now() - started) * 10) / 10 },
        'request',
      );
    }
  };
}

/** Who did it, in which request: the metadata every event this request appends carries. */
export function actorOf(koa: { state: RequestState }, actor: string): Actor {
  return { actor, requestId: koa.state.requestId, correlationId: koa.state.requestId };
}

/** The admin APIs' actor: `admin:<subject of the bearer token>`. */
export function adminActorOf(koa: { state: RequestState }): Actor {
  return actorOf(koa, `admin:${(koa.state as { auth?: { subject: string } }).auth?.subject ?? 'unknown'}`);
}
