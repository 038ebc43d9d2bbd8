// Last line of defence: anything thrown and not handled becomes a JSON error. Errors Koa marks
// as exposable (4xx from body parsing, ctx.throw) keep their status and message; anything else
// is a 500 `server_error` whose details go to the log only (STYLE §2).

import type { Middleware } from 'koa';
import type { RequestState } from './request-id.js';

export function errorHandler(): Middleware<RequestState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
      }
    } catch (error) {
      const err = error as { status?: number; statusCode?: number; expose?: boolean; message?: string; headers?: Record<string, string> };
      const status = err.status ?? err.statusCode ?? 500;
      if (status < 500 && err.expose) {
        ctx.status = status;
        ctx.body = { error: status === 413 ? 'request_too_large' : 'invalid_request', error_description: err.message };
        return;
      }
      ctx.state.log?.error({ err: error }, 'unhandled error');
      ctx.status = status === 503 ? 503 : 500;
      ctx.body = { error: ctx.status === 503 ? 'temporarily_unavailable' : 'server_error' };
      if (ctx.status === 503) ctx.set('Retry-After', '1');
    }
  };
}
