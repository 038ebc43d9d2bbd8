// Last line of defence (STYLE §2): OAuth errors go out as RFC 6749 §5.2 JSON with their status
// and headers; an unavailable database or event store, or read models that did not catch up in
// time, is 503 with Retry-After; a write that kept losing optimistic-concurrency races is 409;
// anything else is a 500 `server_error` with no internals (the
// details go to the log with the request id).

import type { Middleware } from 'koa';
import { EventStoreError, isWrongExpectedRevision } from '../eventstore/port.js';
import { isConnectionError } from '../db/errors.js';
import { KeyError } from '../keys/keystore.js';
import { OAuthError, TemporarilyUnavailable } from '../oauth/errors.js';
import type { Metrics } from '../metrics.js';
import type { RequestState } from './request-id.js';

function classify(error: unknown): OAuthError | undefined {
  if (error instanceof OAuthError) return error;
  // The projection waiter's timeout, recognised by its stable code (projections/waiter.ts).
  if ((error as { code?: unknown }).code === 'ERR_PROJECTION_TIMEOUT') return new TemporarilyUnavailable('the change is stored but not yet visible everywhere; retry shortly', 1);
  if (error instanceof EventStoreError && error.code === 'ERR_EVENT_STORE_UNAVAILABLE') return new TemporarilyUnavailable();
  if (isConnectionError(error)) return new TemporarilyUnavailable();
  // Writers retry a lost optimistic-concurrency race a few times; past that the caller retries.
  if (isWrongExpectedRevision(error)) return new OAuthError(409, 'invalid_request', 'changed concurrently by another request; retry', (error as Error).message);
  const status = (error as { status?: number; expose?: boolean }).status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
    return new OAuthError(status, status === 413 ? 'request_too_large' : status === 404 ? 'not_found' : 'invalid_request', (error as Error).message);
  }
  return undefined;
}

export function errorHandler(metrics?: Metrics): Middleware<RequestState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
      } else if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null) {
        // The router's answers to a method a path does not have (405) or an extension method
        // such as PROPFIND (501): one JSON error, 405, with the Allow header it set.
        const allow = ctx.response.get('Allow');
        ctx.status = 405;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { error: 'method_not_allowed', error_description: `${ctx.method} is not allowed here${allow ? `; use ${allow}` : ''}` };
        metrics?.oauthErrors.inc({ error: 'method_not_allowed' });
      }
    } catch (error) {
      const oauth = classify(error);
      if (oauth) {
        metrics?.oauthErrors.inc({ error: oauth.error });
        if (oauth.status >= 500 || oauth.detail) ctx.state.log?.warn({ err: error, oauthError: oauth.error, detail: oauth.detail }, 'request refused');
        ctx.status = oauth.status;
        ctx.set(oauth.headers);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = oauth.body();
        return;
      }
      metrics?.oauthErrors.inc({ error: 'server_error' });
      ctx.state.log?.error({ err: error, keys: error instanceof KeyError }, 'unhandled error');
      ctx.status = 500;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'server_error', error_description: 'internal error' };
    }
  };
}
