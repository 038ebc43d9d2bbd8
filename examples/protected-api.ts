// A small Koa API protected by Warrant's policy middleware.
//
//   ISSUER=http://localhost:8080 DATABASE_URL=postgres://… node --import tsx examples/protected-api.ts
//
// Keys come from the issuer's JWKS (found through its RFC 8414 metadata); revocation state from
// the same database Warrant writes its read models to. Get a token with, for example:
//   npm run warrant -- client create --name notes --grant client_credentials --scope notes:read notes:write --json
//   curl -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials http://localhost:8080/oauth/token

import http from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { createPolicy, type AuthState } from '../src/index.js';

const issuer = process.env['ISSUER'] ?? 'http://localhost:8080';
const databaseUrl = process.env['DATABASE_URL'];
if (!databaseUrl) {
  process.stderr.write('examples/protected-api: set DATABASE_URL to the database Warrant uses\n');
  process.exit(1);
}

const policy = createPolicy({ issuer, databaseUrl });

// Rules beyond scopes: who may touch which note.
const notes = new Map<string, { owner: string; text: string }>([['1', { owner: 'alice', text: 'Buy milk' }]]);
policy.definePolicy('owns-note', (auth, ctx) => notes.get(ctx.params['id'] ?? '')?.owner === auth.subject);
policy.definePolicy('first-party-backoffice', (auth) => auth.clientId === process.env['BACKOFFICE_CLIENT_ID']);

const router = new Router();
router.get('/notes/:id', policy.requireScopes('notes:read'), policy.requirePolicy('owns-note'), (ctx) => {
  ctx.body = notes.get(ctx.params['id']!);
});
router.put('/notes/:id', policy.requireScopes('notes:write'), policy.requirePolicy('owns-note'), (ctx) => {
  ctx.status = 204;
});
router.get('/me', policy.requireToken(), (ctx) => {
  const auth = ctx.state['auth'] as AuthState;
  ctx.body = { subject: auth.subject, client: auth.clientId, scopes: auth.scopes };
});
// Machine-to-machine only (client_credentials tokens), Passport's EnsureClientIsResourceOwner.
router.post('/jobs/reindex', policy.requireClient('jobs:run'), (ctx) => {
  ctx.status = 202;
});
router.get('/admin/stats', policy.requireAnyScope('stats:read', 'admin'), policy.requirePolicy('first-party-backoffice'), (ctx) => {
  ctx.body = { notes: notes.size };
});

const app = new Koa();
app.use(router.routes()).use(router.allowedMethods());
const port = Number(process.env['PORT'] ?? 3000);
http.createServer(app.callback()).listen(port, () => process.stdout.write(`protected API on http://localhost:${port}\n`));
