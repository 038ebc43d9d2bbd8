// A separate resource-server process for the two-process revocation test: a Koa API protected by
// createPolicy({ issuer, databaseUrl }) — keys from the issuer's JWKS, revocation state from the
// shared database. Prints "listening <port>" when ready.

import http from 'node:http';
import Koa from 'koa';
import { createPolicy } from '../../src/policy/policy.js';

const issuer = process.env['ISSUER']!;
const databaseUrl = process.env['DATABASE_URL']!;
const policy = createPolicy({ issuer, databaseUrl });
const app = new Koa();
app.use(policy.requireToken());
app.use((ctx) => {
  ctx.body = { subject: (ctx.state['auth'] as { subject: string }).subject };
});
const server = http.createServer(app.callback()).listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void policy.close().then(() => process.exit(0));
});
