// A resource server protected by Warrant's policy, in a process of its own as a user runs one:
// `node --import tsx bench/policy-app.ts <issuer> <databaseUrl>` prints {url, pid} and serves
// GET / (scope `read`) until SIGTERM.

import http from 'node:http';
import Koa from 'koa';
import type * as Policy from '../src/policy/policy.js';

// The compiled build, as a user's app runs it (bench/warrant-server.ts says why).
const { createPolicy } = (await import(new URL('../dist/src/policy/policy.js', import.meta.url).href)) as typeof Policy;

const [issuer, databaseUrl] = process.argv.slice(2) as [string, string];
const policy = createPolicy({ issuer, databaseUrl });
const app = new Koa();
app.use(policy.requireScopes('read'));
app.use((ctx) => {
  ctx.body = { ok: true };
});
const server = http.createServer(app.callback());
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, pid: process.pid })}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => {
    server.close();
    void policy.close().finally(() => process.exit(0));
  });
}
