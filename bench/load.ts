// The load generator of `npm run bench`, in a process of its own so that the server's CPU can be
// measured alone. Reads a JSON file named by its one argument: { url, method, headers, body | bodies, connections,
// duration }. With `bodies`, each request takes the next one (a fresh token per request for
// refresh and revocation). Prints autocannon's summary and how many bodies were used.

import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface LoadSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  bodies?: string[];
  connections: number;
  duration: number;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
let next = 0;
const bodies = spec.bodies;
const result = await autocannon({
  url: spec.url,
  method: spec.method,
  connections: spec.connections,
  duration: spec.duration,
  headers: spec.headers,
  ...(bodies
    ? { requests: [{ setupRequest: (request: Record<string, unknown>) => ({ ...request, body: bodies[next++ % bodies.length] }) }] }
    : spec.body ? { body: spec.body } : {}),
} as never);
process.stdout.write(`${JSON.stringify({ rps: result.requests.mean, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, used: next })}\n`);
