// POST /oauth/revoke (RFC 7009). §2.1: the client authenticates and may revoke only its own
// tokens; revoking either token of a grant revokes the whole family. §2.2: an unknown or
// already invalid token is 200. The answer comes only after the tokens read model shows the
// revocation (DESIGN §5); if that takes too long, 503 with Retry-After (§2.2.1).

import type Router from '@koa/router';
import { authenticateClient } from '../oauth/client-auth.js';
import type { WarrantContext } from '../oauth/context.js';
import { revokeToken } from '../oauth/revocation.js';
import { readForm } from './form.js';
import { actorOf, type RequestState } from './request-id.js';
import { check, tokenOperationSchema } from './schemas.js';

export function revocationEndpoint(router: Router<RequestState>, ctx: WarrantContext): void {
  router.post('/oauth/revoke', async (koa) => {
    koa.set('Cache-Control', 'no-store');
    const params = await readForm(koa, ctx.config.bodyLimit);
    const body = check(tokenOperationSchema, params);
    const { client } = await authenticateClient(ctx, koa.get('authorization') || undefined, params, koa.ip, `${ctx.config.issuer}/oauth/revoke`);
    await revokeToken(ctx, {
      client,
      token: body['token']!,
      hint: body['token_type_hint'],
      actor: actorOf(koa, client.clientId),
    });
    koa.status = 200;
    koa.body = '';
  });
}
