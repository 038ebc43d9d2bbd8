// POST /oauth/token (RFC 6749 §3.2): authenticate the client, then its DPoP proof if any
// (RFC 9449 §5: the access token is then bound to the proof's key), then the grant.
//   authorization_code §4.1.3 (+ RFC 7636 PKCE) · client_credentials §4.4 · refresh_token §6 (rotation, reuse detection)
// Responses are never cached (§5.1: Cache-Control: no-store).

import type Router from '@koa/router';
import type { WarrantContext } from '../oauth/context.js';
import { authenticateClient } from '../oauth/client-auth.js';
import { dpopNonces, InvalidDpopProof, tokenRequestProof } from '../oauth/dpop.js';
import { UnsupportedGrantType } from '../oauth/errors.js';
import { redeemCode } from '../oauth/grants/authorization-code.js';
import { DEVICE_GRANT } from '../oauth/device.js';
import { clientCredentials } from '../oauth/grants/client-credentials.js';
import { pollDeviceCode } from '../oauth/grants/device-code.js';
import { passwordGrant } from '../oauth/grants/password.js';
import { refreshTokens } from '../oauth/grants/refresh-token.js';
import { exchangeToken, TOKEN_EXCHANGE_GRANT } from '../oauth/grants/token-exchange.js';
import { requiresDpop } from '../oauth/profiles.js';
import { readForm } from './form.js';
import { actorOf, type RequestState } from './request-id.js';
import { check, tokenRequestSchema } from './schemas.js';

export const TOKEN_GRANTS = ['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', TOKEN_EXCHANGE_GRANT] as const;

export function tokenEndpoint(router: Router<RequestState>, ctx: WarrantContext): void {
  router.post('/oauth/token', async (koa) => {
    koa.set('Cache-Control', 'no-store');
    koa.set('Pragma', 'no-cache');
    const params = await readForm(koa, ctx.config.bodyLimit);
    const body = check(tokenRequestSchema, params);
    const { client } = await authenticateClient(ctx, koa.get('authorization') || undefined, params, koa.ip, `${ctx.config.issuer}/oauth/token`);
    const actor = actorOf(koa, client.clientId);
    const proof = koa.req.headersDistinct['dpop'];
    const dpopJkt = proof ? await tokenRequestProof(ctx, proof) : undefined;
    if (!dpopJkt && requiresDpop(client)) throw new InvalidDpopProof('this client must send a DPoP proof with every token request');
    // §8.2: a fresh nonce with every answer to a proof, so the client never has to be refused for one.
    const nonces = proof && dpopNonces(ctx);
    if (nonces) koa.set('DPoP-Nonce', nonces.current());
    switch (body['grant_type']) {
      case 'client_credentials':
        koa.body = await clientCredentials(ctx, { client, scope: body['scope'], resource: body['resource'], actor, dpopJkt });
        return;
      case 'authorization_code':
        koa.body = await redeemCode(ctx, { client, code: body['code']!, redirectUri: body['redirect_uri'], codeVerifier: body['code_verifier'], actor, dpopJkt });
        return;
      case DEVICE_GRANT:
        koa.body = await pollDeviceCode(ctx, { client, deviceCode: body['device_code']!, actor, dpopJkt });
        return;
      case 'password':
        // RFC 6749 §4.3, legacy (RFC 9700 §2.4): only when the operator turned it on.
        if (!ctx.config.passwordGrant) throw new UnsupportedGrantType('the password grant is disabled');
        koa.body = await passwordGrant(ctx, { client, username: body['username'], password: body['password'], scope: body['scope'], actor, address: koa.ip, dpopJkt });
        return;
      case 'refresh_token':
        koa.body = await refreshTokens(ctx, { client, refreshToken: body['refresh_token']!, scope: body['scope'], resource: body['resource'], actor, dpopJkt });
        return;
      case TOKEN_EXCHANGE_GRANT:
        koa.body = await exchangeToken(ctx, {
          client, subjectToken: body['subject_token'], subjectTokenType: body['subject_token_type'], actorToken: body['actor_token'], actorTokenType: body['actor_token_type'],
          scope: body['scope'], resource: body['resource'], audience: body['audience'], requestedTokenType: body['requested_token_type'], actor, dpopJkt,
        });
        return;
      default:
        throw new UnsupportedGrantType();
    }
  });
}
