// What every Warrant response gets, wherever Warrant is mounted: a request id (echoed, bound to
// the request's logger), latency metrics, and the OAuth error format (src/http/errors.ts).
//
// It runs once per request. The standalone app puts it first, so it also covers paths no route
// matches (JSON 404/405). The router carries it too, so a host app that mounts `auth.router`
// behind its own error middleware still answers RFC 6749 §5.2 JSON: our errors never reach the
// host's handler.

import type { Middleware } from 'koa';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { errorHandler } from './errors.js';
import { requestMetrics } from './observability.js';
import { requestId, type RequestState } from './request-id.js';

const APPLIED = Symbol('warrant.protocol');

export function protocol(logger: Logger, metrics: Metrics): Middleware<RequestState> {
  const id = requestId(logger);
  const measure = requestMetrics(metrics);
  const errors = errorHandler(metrics);
  return (ctx, next) => {
    const state = ctx.state as RequestState & { [APPLIED]?: true };
    if (state[APPLIED]) return next();
    state[APPLIED] = true;
    return id(ctx, () => measure(ctx, () => errors(ctx, next)));
  };
}
