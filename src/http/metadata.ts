// GET /.well-known/oauth-authorization-server (RFC 8414 §3) and GET /oauth/jwks. The metadata
// advertises only what works: no registration_endpoint until RFC 7591 registration exists (the
// admin API under /oauth/clients is not it).

import type Router from '@koa/router';
import type { WarrantContext } from '../oauth/context.js';
import { BUILT_IN_SCOPES } from '../oauth/scopes.js';
import { TOKEN_GRANTS } from './token.js';
import type { RequestState } from './request-id.js';

export function metadataEndpoints(router: Router<RequestState>, ctx: WarrantContext): void {
  router.get('/.well-known/oauth-authorization-server', (koa) => {
    const issuer = ctx.config.issuer;
    koa.set('Cache-Control', 'public, max-age=300');
    koa.body = {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      device_authorization_endpoint: `${issuer}/oauth/device/code`,
      jwks_uri: `${issuer}/oauth/jwks`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      scopes_supported: [...new Set([...Object.keys(ctx.config.scopes), ...Object.keys(BUILT_IN_SCOPES)])],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      authorization_response_iss_parameter_supported: true,
      grant_types_supported: [...TOKEN_GRANTS, ...(ctx.config.passwordGrant ? ['password'] : [])],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      // RFC 7662 §2.1: introspection needs a confidential client, so `none` is not offered.
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      // Warrant's own: what each scope means, for consent pages and client developers.
      scope_descriptions: { ...BUILT_IN_SCOPES, ...ctx.config.scopes },
    };
  });

  router.get('/oauth/jwks', async (koa) => {
    koa.set('Cache-Control', 'public, max-age=60');
    koa.type = 'application/jwk-set+json';
    koa.body = await ctx.keys.jwks();
  });
}
