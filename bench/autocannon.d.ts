// Minimal typing of autocannon 9 (it ships none): only what bench/oauth.ts uses.

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  /** A histogram summary: mean/average, spread, and percentiles named p50, p97_5, p99 … */
  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total?: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    [percentile: string]: number | undefined;
  }

  export interface Options {
    url: string;
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
    headers?: Record<string, string>;
    body?: string | Buffer;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    /** A first run whose results are discarded (kept only under `result.warmup`). */
    warmup?: { connections?: number; duration?: number };
    /** Seconds before a request counts as a timeout. */
    timeout?: number;
    title?: string;
  }

  export interface Result {
    title?: string;
    url: string;
    connections: number;
    /** Seconds. */
    duration: number;
    start: Date;
    finish: Date;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    '1xx': number;
    '2xx': number;
    '3xx': number;
    '4xx': number;
    '5xx': number;
    statusCodeStats: Record<string, { count: number }>;
    /** Milliseconds. */
    latency: Histogram & { totalCount: number };
    /** Requests per second, sampled once a second. */
    requests: Histogram & { sent: number };
    /** Bytes per second. */
    throughput: Histogram;
    warmup?: Result;
  }

  export type Instance = EventEmitter & PromiseLike<Result>;

  export default function autocannon(options: Options): Instance;
}

// node-oidc-provider ships no types; the benchmark uses only its constructor and callback().
declare module 'oidc-provider' {
  import type { RequestListener } from 'node:http';

  export default class Provider {
    constructor(issuer: string, configuration: object);
    callback(): RequestListener;
  }
}
