// The load generator of `npm run bench`, in a process of its own so that the server's CPU can be
// measured alone. Reads a JSON file named by its one argument: { url, method, headers, body | bodies,
// header?, connections, duration }. With `bodies`, each request takes the next one (a fresh token per
// request for refresh and revocation); with `header` ({ name, values }), each request takes the next
// value of that header (a fresh DPoP proof per request). Prints autocannon's summary and how many
// bodies or header values were used.

import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface LoadSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  bodies?: string[];
  header?: { name: string; values: string[] };
  connections: number;
  duration: number;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
let next = 0;
const { bodies, header } = spec;
const result = await autocannon({
  url: spec.url,
  method: spec.method,
  connections: spec.connections,
  duration: spec.duration,
  headers: spec.headers,
  ...(bodies
    ? { requests: [{ setupRequest: (request: Record<string, unknown>) => ({ ...request, body: bodies[next++ % bodies.length] }) }] }
    : header
      ? { requests: [{ setupRequest: (request: { headers?: Record<string, string> }) => ({ ...request, headers: { ...request.headers, [header.name]: header.values[next++ % header.values.length] } }) }] }
      : spec.body ? { body: spec.body } : {}),
} as never);
process.stdout.write(`${JSON.stringify({ rps: result.requests.mean, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, used: next })}\n`);
