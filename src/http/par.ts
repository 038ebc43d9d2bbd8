// POST /oauth/par: pushed authorization requests (RFC 9126 §2). The client authenticates as at
// the token endpoint (public clients with client_id alone), pushes the authorization parameters,
// and gets 201 { request_uri, expires_in } to send the browser to /oauth/authorize with
// (client_id and request_uri only, §4). Errors are RFC 6749 §5.2 JSON (§2.3); never cached.

import type Router from '@koa/router';
import { authenticateClient } from '../oauth/client-auth.js';
import type { WarrantContext } from '../oauth/context.js';
import { pushAuthorizationRequest } from '../oauth/par.js';
import { readForm } from './form.js';
import { actorOf, type RequestState } from './request-id.js';

export function parEndpoint(router: Router<RequestState>, ctx: WarrantContext): void {
  router.post('/oauth/par', async (koa) => {
    koa.set('Cache-Control', 'no-store');
    const params = await readForm(koa, ctx.config.bodyLimit);
    const { client } = await authenticateClient(ctx, koa.get('authorization') || undefined, params, koa.ip, `${ctx.config.issuer}/oauth/par`);
    koa.body = await pushAuthorizationRequest(ctx, { client, params, actor: actorOf(koa, client.clientId) });
    koa.status = 201;
  });
}
