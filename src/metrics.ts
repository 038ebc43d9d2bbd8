// Prometheus metrics (prom-client), one registry per server so several servers in one process
// (tests, embedding) do not share counters.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly tokensIssued = new Counter({ name: 'warrant_tokens_issued_total', help: 'Token families started, by grant type', labelNames: ['grant_type'], registers: [this.registry] });
  readonly refreshes = new Counter({ name: 'warrant_token_refreshes_total', help: 'Successful refresh-token rotations', registers: [this.registry] });
  readonly revocations = new Counter({ name: 'warrant_token_revocations_total', help: 'Token families revoked, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly oauthErrors = new Counter({ name: 'warrant_oauth_errors_total', help: 'OAuth error answers, by error code', labelNames: ['error'], registers: [this.registry] });
  readonly requestSeconds = new Histogram({
    name: 'warrant_http_request_duration_seconds',
    help: 'HTTP request latency by route and status class',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly appendSeconds = new Histogram({
    name: 'warrant_eventstore_append_duration_seconds',
    help: 'Event-store append latency (including batching)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly readModelWaitSeconds = new Histogram({
    name: 'warrant_projection_wait_seconds',
    help: 'Time from an acknowledged append until the read models a writer needs have applied it (projection lag as writers see it)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly inlineAppends = new Counter({
    name: 'warrant_projection_inline_appends_total',
    help: 'Appends whose read models were written in the append transaction itself (PostgreSQL store): nothing to wait for',
    registers: [this.registry],
  });
  readonly projectionPosition = new Gauge({ name: 'warrant_projection_position', help: 'Checkpoint of each projection', labelNames: ['projection'], registers: [this.registry] });
  readonly projectionLag = new Gauge({ name: 'warrant_projection_lag_events', help: 'Events in the log not yet applied by each projection', labelNames: ['projection'], registers: [this.registry] });
  readonly auditStreamListeners = new Gauge({ name: 'warrant_audit_stream_listeners', help: 'Open GET /audit/stream connections', registers: [this.registry] });
  readonly auditStreamCutOffs = new Counter({ name: 'warrant_audit_stream_cutoffs_total', help: 'Audit-stream listeners cut off for falling too far behind', registers: [this.registry] });
  readonly logHead = new Gauge({ name: 'warrant_eventstore_head_position', help: 'Position of the last event in the log', registers: [this.registry] });

  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'warrant_' });
  }
}
