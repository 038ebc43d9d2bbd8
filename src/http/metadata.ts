// GET /.well-known/oauth-authorization-server (RFC 8414 §3), /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0) and GET /oauth/jwks. The metadata advertises only what works; its
// registration_endpoint is RFC 7591 registration, not the admin API under /oauth/clients.

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { WarrantContext } from '../oauth/context.js';
import { CLAIMS_SUPPORTED, OIDC_SCOPES } from '../oauth/accounts.js';
import { CLIENT_ASSERTION_ALGS } from '../oauth/client-assertion.js';
import { DPOP_ALGS } from '../oauth/dpop.js';
import { BUILT_IN_SCOPES } from '../oauth/scopes.js';
import { TOKEN_GRANTS } from './token.js';
import type { RequestState } from './request-id.js';

/**
 * The server's metadata, one document for both addresses: RFC 8414 at
 * /.well-known/oauth-authorization-server and OpenID Connect Discovery 1.0 at
 * /.well-known/openid-configuration (as node-oidc-provider serves them), so they cannot disagree.
 */
export async function serverMetadata(ctx: WarrantContext): Promise<Record<string, unknown>> {
  const issuer = ctx.config.issuer;
  // ES256 first (the default key), then whatever else signs here now (RS256, EdDSA after a rotation).
  const inUse = (await ctx.keys.verificationKeys()).map((key) => key.alg);
  const clientAuth = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    device_authorization_endpoint: `${issuer}/oauth/device/code`,
    jwks_uri: `${issuer}/oauth/jwks`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    end_session_endpoint: `${issuer}/oauth/end_session`,
    // RFC 7591 registration (its own endpoint; the admin API at /oauth/clients is not it).
    registration_endpoint: `${issuer}/oauth/register`,
    scopes_supported: [...new Set([...Object.keys(OIDC_SCOPES), ...Object.keys(ctx.config.scopes), ...Object.keys(BUILT_IN_SCOPES)])],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    authorization_response_iss_parameter_supported: true,
    grant_types_supported: [...TOKEN_GRANTS, ...(ctx.config.passwordGrant ? ['password'] : [])],
    token_endpoint_auth_methods_supported: [...clientAuth, 'none'],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    revocation_endpoint_auth_methods_supported: [...clientAuth, 'none'],
    revocation_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    // RFC 7662 §2.1: introspection needs a confidential client, so `none` is not offered.
    introspection_endpoint_auth_methods_supported: clientAuth,
    introspection_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    code_challenge_methods_supported: ['S256'],
    // RFC 9126 §5 (PAR): where to push, and whether every client must.
    pushed_authorization_request_endpoint: `${issuer}/oauth/par`,
    require_pushed_authorization_requests: ctx.config.requirePar,
    // RFC 9449 §5.1 (DPoP).
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    // OpenID Connect Discovery 1.0 §3.
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(['ES256', ...inUse])],
    claims_supported: CLAIMS_SUPPORTED,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    ui_locales_supported: ['en'],
    // Warrant's own: what each scope means, for consent pages and client developers.
    scope_descriptions: { ...OIDC_SCOPES, ...BUILT_IN_SCOPES, ...ctx.config.scopes },
  };
}

export function metadataEndpoints(router: Router<RequestState>, ctx: WarrantContext): void {
  const metadata = async (koa: Context) => {
    koa.set('Cache-Control', 'public, max-age=300');
    koa.body = await serverMetadata(ctx);
  };
  router.get('/.well-known/oauth-authorization-server', metadata);
  router.get('/.well-known/openid-configuration', metadata);

  router.get('/oauth/jwks', async (koa) => {
    koa.set('Cache-Control', 'public, max-age=60');
    koa.type = 'application/jwk-set+json';
    koa.body = await ctx.keys.jwks();
  });
}
