// Koa middleware that protects APIs with Warrant's access tokens (RFC 6750, RFC 9068).
// Verification: signature (algorithm allow-list, key chosen by kid), typ at+jwt, iss, aud, exp
// with a small clock tolerance; then ONE indexed read-model lookup: the token's family and its
// client are not revoked. No cache: revocation is visible as soon as /oauth/revoke answers.

import { createRemoteJWKSet } from 'jose';
import type { Middleware } from 'koa';
import pg from 'pg';
import type { KeyStore } from '../keys/keystore.js';
import { AccessTokenError, verifyAccessToken, type AccessTokenClaims, type KeySource } from '../oauth/access-token.js';
import { BearerError } from '../oauth/errors.js';

export interface AuthState {
  subject: string;
  clientId: string;
  scopes: string[];
  jti: string;
  grantType: string;
  claims: AccessTokenClaims;
}

export interface PolicyOptions {
  issuer: string;
  /** Accepted `aud`; defaults to the issuer (the server's default audience). */
  audience?: string | string[];
  /** The read models holding revocation state: a pool, or a URL to open one. */
  pool?: pg.Pool;
  databaseUrl?: string;
  /** Local keys (inside the auth server) … */
  keys?: KeyStore;
  /** … or a JWKS URL (cached; refetched on an unknown kid, at most every 30 s). Default: from the issuer's metadata. */
  jwksUri?: string;
  clockToleranceSeconds?: number;
  realm?: string;
}

export interface RequireOptions {
  /** All of these scopes. */
  scopes?: readonly string[];
  /** At least one of these scopes. */
  anyScope?: readonly string[];
  /** Only tokens a client obtained for itself (client_credentials). */
  clientOnly?: boolean;
}

export interface Policy {
  requireToken(options?: RequireOptions): Middleware;
  requireScopes(...scopes: string[]): Middleware;
  requireAnyScope(...scopes: string[]): Middleware;
  requireClient(...scopes: string[]): Middleware;
  /** Verifies a bearer token without Koa (for other frameworks and tests). */
  authenticate(authorization: string | undefined): Promise<AuthState>;
  close(): Promise<void>;
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

async function discoverJwks(issuer: string): Promise<URL> {
  const response = await fetch(`${issuer}/.well-known/oauth-authorization-server`);
  if (!response.ok) throw new Error(`cannot read ${issuer}/.well-known/oauth-authorization-server: HTTP ${response.status}`);
  const metadata = (await response.json()) as { jwks_uri?: string; issuer?: string };
  if (metadata.issuer !== issuer || !metadata.jwks_uri) throw new Error('issuer metadata does not match the issuer or has no jwks_uri');
  return new URL(metadata.jwks_uri);
}

export function createPolicy(options: PolicyOptions): Policy {
  const realm = options.realm ?? 'warrant';
  const audience = options.audience ?? options.issuer;
  const ownsPool = !options.pool;
  const pool = options.pool ?? new pg.Pool({ connectionString: options.databaseUrl, max: 10 });
  if (!options.pool && !options.databaseUrl) throw new Error('createPolicy needs pool or databaseUrl');

  let keySource: KeySource | Promise<KeySource>;
  if (options.keys) keySource = options.keys;
  else {
    const remote = (url: URL) => createRemoteJWKSet(url, { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    keySource = options.jwksUri ? remote(new URL(options.jwksUri)) : discoverJwks(options.issuer).then(remote);
  }

  const fail = (error: 'invalid_request' | 'invalid_token' | null, description: string, detail?: string) =>
    new BearerError(401, error, description, { realm, ...(detail ? { detail } : {}) });

  async function authenticate(authorization: string | undefined): Promise<AuthState> {
    if (!authorization) throw fail(null, 'a bearer token is required');
    const match = BEARER.exec(authorization);
    if (!match) throw fail('invalid_request', 'the Authorization header is not a Bearer token');
    let claims: AccessTokenClaims;
    try {
      claims = await verifyAccessToken(await keySource, match[1]!, {
        issuer: options.issuer,
        audience,
        clockToleranceSeconds: options.clockToleranceSeconds ?? 5,
      });
    } catch (error) {
      if (error instanceof AccessTokenError) {
        throw fail('invalid_token', error.reason === 'expired' ? 'the access token has expired' : 'the access token is invalid', error.message);
      }
      throw error;
    }
    const { rows } = await pool.query<{ grant_type: string; family_revoked: boolean; client_revoked: boolean }>(
      `SELECT f.grant_type, f.revoked AS family_revoked, c.revoked AS client_revoked
         FROM access_tokens a
         JOIN token_families f ON f.family_id = a.family_id
         JOIN clients c ON c.client_id = a.client_id
        WHERE a.jti = $1`,
      [claims.jti],
    );
    const row = rows[0];
    if (!row) throw fail('invalid_token', 'the access token is invalid', 'unknown jti');
    if (row.family_revoked || row.client_revoked) throw fail('invalid_token', 'the access token was revoked', row.client_revoked ? 'client revoked' : 'family revoked');
    return {
      subject: claims.sub,
      clientId: claims.client_id,
      scopes: typeof claims.scope === 'string' && claims.scope !== '' ? claims.scope.split(' ') : [],
      jti: claims.jti,
      grantType: row.grant_type,
      claims,
    };
  }

  function requireToken(require: RequireOptions = {}): Middleware {
    return async (ctx, next) => {
      let auth: AuthState;
      try {
        auth = await check(ctx.get('authorization') || undefined, require);
      } catch (error) {
        // Answer here, so the host app's error handling cannot turn a 401 into something else.
        if (!(error instanceof BearerError)) throw error;
        ctx.status = error.status;
        ctx.set(error.headers);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = error.body();
        return;
      }
      ctx.state['auth'] = auth;
      await next();
    };
  }

  async function check(authorization: string | undefined, require: RequireOptions): Promise<AuthState> {
    const auth = await authenticate(authorization);
    if (require.clientOnly && auth.grantType !== 'client_credentials') {
      throw new BearerError(403, 'insufficient_scope', 'this endpoint accepts only client tokens', { realm });
    }
    const missing = (require.scopes ?? []).filter((scope) => !auth.scopes.includes(scope));
    if (missing.length > 0) {
      throw new BearerError(403, 'insufficient_scope', 'the access token lacks a required scope', { realm, scope: (require.scopes ?? []).join(' ') });
    }
    if (require.anyScope && require.anyScope.length > 0 && !require.anyScope.some((scope) => auth.scopes.includes(scope))) {
      throw new BearerError(403, 'insufficient_scope', 'the access token has none of the accepted scopes', { realm, scope: require.anyScope.join(' ') });
    }
    return auth;
  }

  return {
    requireToken,
    requireScopes: (...scopes) => requireToken({ scopes }),
    requireAnyScope: (...scopes) => requireToken({ anyScope: scopes }),
    requireClient: (...scopes) => requireToken({ scopes, clientOnly: true }),
    authenticate,
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}
