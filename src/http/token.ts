// POST /oauth/token (RFC 6749 §3.2): authenticate the client, then the grant.
//   authorization_code §4.1.3 (+ RFC 7636 PKCE) · client_credentials §4.4 · refresh_token §6 (rotation, reuse detection)
// Responses are never cached (§5.1: Cache-Control: no-store).

import type Router from '@koa/router';
import type { WarrantContext } from '../oauth/context.js';
import { authenticateClient } from '../oauth/client-auth.js';
import { UnsupportedGrantType } from '../oauth/errors.js';
import { redeemCode } from '../oauth/grants/authorization-code.js';
import { DEVICE_GRANT } from '../oauth/device.js';
import { clientCredentials } from '../oauth/grants/client-credentials.js';
import { pollDeviceCode } from '../oauth/grants/device-code.js';
import { passwordGrant } from '../oauth/grants/password.js';
import { refreshTokens } from '../oauth/grants/refresh-token.js';
import { readForm } from './form.js';
import { actorOf, type RequestState } from './request-id.js';
import { check, tokenRequestSchema } from './schemas.js';

export const TOKEN_GRANTS = ['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'] as const;

export function tokenEndpoint(router: Router<RequestState>, ctx: WarrantContext): void {
  router.post('/oauth/token', async (koa) => {
    koa.set('Cache-Control', 'no-store');
    koa.set('Pragma', 'no-cache');
    const params = await readForm(koa, ctx.config.bodyLimit);
    const body = check(tokenRequestSchema, params);
    const { client } = await authenticateClient(ctx, koa.get('authorization') || undefined, params, koa.ip, `${ctx.config.issuer}/oauth/token`);
    const actor = actorOf(koa, client.clientId);
    switch (body['grant_type']) {
      case 'client_credentials':
        koa.body = await clientCredentials(ctx, { client, scope: body['scope'], resource: body['resource'], actor });
        return;
      case 'authorization_code':
        koa.body = await redeemCode(ctx, { client, code: body['code']!, redirectUri: body['redirect_uri'], codeVerifier: body['code_verifier'], actor });
        return;
      case DEVICE_GRANT:
        koa.body = await pollDeviceCode(ctx, { client, deviceCode: body['device_code']!, actor });
        return;
      case 'password':
        // RFC 6749 §4.3, legacy (RFC 9700 §2.4): only when the operator turned it on.
        if (!ctx.config.passwordGrant) throw new UnsupportedGrantType('the password grant is disabled');
        koa.body = await passwordGrant(ctx, { client, username: body['username'], password: body['password'], scope: body['scope'], actor, address: koa.ip });
        return;
      case 'refresh_token':
        koa.body = await refreshTokens(ctx, { client, refreshToken: body['refresh_token']!, scope: body['scope'], resource: body['resource'], actor });
        return;
      default:
        throw new UnsupportedGrantType();
    }
  });
}
