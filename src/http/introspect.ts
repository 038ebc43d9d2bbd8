// POST /oauth/introspect (RFC 7662). §2.1: the caller authenticates as a confidential client. §2.2: an active
// token is described (a refresh token only to its own client); anything else is only {"active": false}.
// One indexed read-model lookup.

import type Router from '@koa/router';
import { authenticateClient } from '../oauth/client-auth.js';
import type { WarrantContext } from '../oauth/context.js';
import { InvalidClient } from '../oauth/errors.js';
import { introspect } from '../oauth/introspection.js';
import { readForm } from './form.js';
import type { RequestState } from './request-id.js';
import { check, tokenOperationSchema } from './schemas.js';

export function introspectionEndpoint(router: Router<RequestState>, ctx: WarrantContext): void {
  router.post('/oauth/introspect', async (koa) => {
    koa.set('Cache-Control', 'no-store');
    const params = await readForm(koa, ctx.config.bodyLimit);
    const body = check(tokenOperationSchema, params);
    const { client, method } = await authenticateClient(ctx, koa.get('authorization') || undefined, params, koa.ip, `${ctx.config.issuer}/oauth/introspect`);
    // RFC 7662 §2.1/§4: a public client id is no credential; otherwise anyone could scan tokens.
    if (method === 'none') throw new InvalidClient('introspection needs a confidential client');
    // Access tokens are described to any confidential client (resource servers); refresh tokens only to their own.
    koa.body = await introspect(ctx, { token: body['token']!, hint: body['token_type_hint'], callerId: client.clientId });
  });
}
