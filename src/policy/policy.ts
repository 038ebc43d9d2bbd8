// Koa middleware that protects APIs with Warrant's access tokens (RFC 6750, RFC 9068), sent as
// Bearer tokens or, when bound to a key, with DPoP proofs (RFC 9449 §7, ./dpop.ts).
//
// Verification: signature (algorithm allow-list; the key, chosen by kid, decides the algorithm),
// typ at+jwt, iss, aud, exp/nbf/iat with a small clock tolerance; then the read model: the
// token's family and its client are not revoked. That lookup is never cached — revocation is
// visible to every process as soon as /oauth/revoke answers — but lookups arriving together
// share one query (see ./revocation.ts), which keeps the cost of the guarantee small.
// An issuer whose metadata or JWKS does not answer within discoveryTimeoutMs is a 503 with
// Retry-After, never a hang nor a 401 that blames the token.

import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { Context, Middleware } from 'koa';
import pg from 'pg';
import type { KeyStore } from '../keys/keystore.js';
import { silentLogger, type Logger } from '../logger.js';
import { AccessTokenError, verifyAccessToken, type AccessTokenClaims, type KeySource } from '../oauth/access-token.js';
import { BearerError, OAuthError, TemporarilyUnavailable } from '../oauth/errors.js';
import { isConnectionError } from '../db/errors.js';
import { RevocationLookup } from '../readmodels/revocation-lookup.js';
import { discoverJwks, isKeyFetchFailure } from './discovery.js';
import { checkedOrigin, proofChecker, requestUrl, type DpopRequest } from './dpop.js';

export interface AuthState {
  subject: string;
  clientId: string;
  scopes: string[];
  jti: string;
  /** How the grant began: client_credentials, authorization_code, … */
  grantType: string;
  claims: AccessTokenClaims;
  /** RFC 9449: the thumbprint of the key the token is bound to, proven by the request's DPoP proof. */
  jkt?: string;
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
  /** … or a JWKS URL (cached; refetched on an unknown kid at most every 30 s). Default: the issuer's metadata `jwks_uri`. */
  jwksUri?: string;
  /** Milliseconds to wait for the issuer's metadata and JWKS before answering 503 (default 5000). */
  discoveryTimeoutMs?: number;
  /** Leeway for exp/nbf/iat, in seconds (default 5). */
  clockToleranceSeconds?: number;
  /** `realm` of WWW-Authenticate challenges (default: the issuer). */
  realm?: string;
  /** Accept `access_token` from a form body the host app has parsed (RFC 6750 §2.2). Default false. */
  allowBodyToken?: boolean;
  /** Accept `?access_token=` (RFC 6750 §2.3; leaks into logs and history). Default false. */
  allowQueryToken?: boolean;
  /** DPoP: the scheme and host clients call (e.g. https://api.example.com), which proofs' htu must name. Default: the Host header. */
  publicOrigin?: string;
  /** DPoP without publicOrigin: believe X-Forwarded-Proto and X-Forwarded-Host (only behind a proxy that sets them). Default false. */
  trustProxy?: boolean;
  logger?: Logger;
}

export interface RequireOptions {
  /** All of these scopes. */
  scopes?: readonly string[];
  /** At least one of these scopes. */
  anyScope?: readonly string[];
  /** Only tokens a client obtained for itself (client_credentials), like Passport's EnsureClientIsResourceOwner. */
  clientOnly?: boolean;
}

/** The request a policy judges: Koa's context, with the route's parameters when a router set them. */
export type PolicyContext = Context & { params: Record<string, string> };
export type PolicyCheck = (auth: AuthState, ctx: PolicyContext) => boolean | Promise<boolean>;

export interface Policy {
  requireToken(options?: RequireOptions): Middleware;
  requireScopes(...scopes: string[]): Middleware;
  requireAnyScope(...scopes: string[]): Middleware;
  requireClient(...scopes: string[]): Middleware;
  /** Names an access rule beyond scopes, e.g. "the subject owns ctx.params.id". */
  definePolicy(name: string, check: PolicyCheck): Policy;
  /** Enforces a named rule (authenticating first if no earlier middleware did). 403 when it says no. */
  requirePolicy(name: string): Middleware;
  /** Verifies an Authorization header value without Koa (for other frameworks and tests); a DPoP token needs its request. */
  authenticate(authorization: string | undefined, request?: DpopRequest): Promise<AuthState>;
  close(): Promise<void>;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const DPOP = /^DPoP +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Retry-After of answers given while the issuer cannot be reached. */
const ISSUER_RETRY_AFTER_SECONDS = 5;
/** After a failed discovery, requests are refused at once for this long rather than each waiting out the timeout. */
const DISCOVERY_BACKOFF_MS = 1_000;

function respond(ctx: Context, error: OAuthError): void {
  // Answer here, so the host app's error handling cannot turn a 401 into something else.
  ctx.status = error.status;
  ctx.set(error.headers);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = error.body();
}

export function createPolicy(options: PolicyOptions): Policy {
  if (!options.pool && !options.databaseUrl) throw new Error('createPolicy needs pool or databaseUrl');
  const timeoutMs = options.discoveryTimeoutMs ?? 5_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error('discoveryTimeoutMs must be a positive integer');
  const realm = (options.realm ?? options.issuer).replace(/["\\]/g, '');
  const audience = options.audience ?? options.issuer;
  const logger = options.logger ?? silentLogger;
  const ownsPool = !options.pool;
  const pool = options.pool ?? new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  const revocations = new RevocationLookup(pool);
  const proofs = proofChecker(pool, realm);
  const origin = { publicOrigin: options.publicOrigin === undefined ? undefined : checkedOrigin(options.publicOrigin), trustProxy: options.trustProxy };
  const policies = new Map<string, PolicyCheck>();

  // Keys: local, or a remote JWKS found lazily (a resource server may start before its issuer).
  let remote: Promise<KeySource> | undefined;
  let resolved: KeySource | undefined = options.keys;
  let failed: { until: number; detail: string } | undefined;
  const unreachable = (detail: string) => new TemporarilyUnavailable('the token issuer cannot be reached', ISSUER_RETRY_AFTER_SECONDS, detail);
  const keySource = async (): Promise<KeySource> => {
    if (resolved) return resolved;
    if (failed && Date.now() < failed.until) throw unreachable(failed.detail);
    remote ??= (options.jwksUri ? Promise.resolve(new URL(options.jwksUri)) : discoverJwks(options.issuer, timeoutMs))
      .then((url) => (resolved = createRemoteJWKSet(url, { timeoutDuration: timeoutMs, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 })))
      .catch((error: unknown) => {
        // Not kept: after the back-off the next request discovers again.
        remote = undefined;
        failed = { until: Date.now() + DISCOVERY_BACKOFF_MS, detail: (error as Error).message };
        logger.warn({ issuer: options.issuer, detail: failed.detail }, 'token issuer unreachable');
        throw unreachable(failed.detail);
      });
    return remote;
  };

  const invalid = (error: 'invalid_request' | 'invalid_token' | null, description: string, detail?: string) =>
    new BearerError(401, error, description, { realm, ...(detail ? { detail } : {}) });

  /** `koa`: the request a DPoP proof is checked against when no `request` is given. */
  async function authenticate(authorization: string | undefined, request?: DpopRequest, koa?: Context): Promise<AuthState> {
    if (!authorization) throw invalid(null, 'a bearer token is required');
    const match = BEARER.exec(authorization);
    if (match) return verify(match[1]!);
    const dpop = DPOP.exec(authorization);
    if (!dpop) throw invalid('invalid_request', 'the Authorization header is not a Bearer or DPoP token');
    // A client that used DPoP is answered with a DPoP challenge, whatever was wrong (§7.1).
    const judged = request ?? (koa ? { method: koa.method, url: requestUrl(koa, origin), proof: koa.req.headersDistinct['dpop'] } : { method: '', url: '', proof: undefined });
    return verify(dpop[1]!, judged)
      .catch((error: unknown) => Promise.reject(error instanceof BearerError && error.status === 401 ? proofs.challenge(error) : error));
  }

  async function verify(token: string, dpop?: DpopRequest): Promise<AuthState> {
    const source = resolved ?? (await keySource());
    // verifyAccessToken reports every key-resolution error as a bad token; a JWKS fetch that failed
    // is the issuer's trouble, not the token's, so it is noted here and answered with 503.
    let fetchFailure: Error | undefined;
    const keys: KeySource = typeof source !== 'function' ? source : (async (header, jws) => {
      try {
        return await source(header, jws);
      } catch (error) {
        if (isKeyFetchFailure(error)) fetchFailure = error;
        throw error;
      }
    }) satisfies JWTVerifyGetKey;
    let claims: AccessTokenClaims;
    try {
      claims = await verifyAccessToken(keys, token, {
        issuer: options.issuer,
        audience,
        clockToleranceSeconds: options.clockToleranceSeconds ?? 5,
      });
    } catch (error) {
      if (fetchFailure) {
        logger.warn({ issuer: options.issuer, detail: fetchFailure.message }, 'token issuer keys unreachable');
        throw unreachable(fetchFailure.message);
      }
      if (error instanceof AccessTokenError) {
        throw invalid('invalid_token', error.reason === 'expired' ? 'the access token has expired' : 'the access token is invalid', error.message);
      }
      throw error;
    }
    // RFC 9449 §7.2: a token bound to a key is no bearer token.
    if (!dpop && claims['cnf'] !== undefined) throw proofs.unbound();
    let state;
    let jkt: string | undefined;
    try {
      if (dpop) ({ state, jkt } = await proofs.verify(dpop, token, claims));
      else state = await revocations.lookup(claims.jti);
    } catch (error) {
      if (isConnectionError(error)) throw new TemporarilyUnavailable('token validation is temporarily unavailable', 1, (error as Error).message);
      throw error;
    }
    if (!state) throw invalid('invalid_token', 'the access token is invalid', 'unknown jti');
    if (state.familyRevoked || state.clientRevoked) {
      throw invalid('invalid_token', 'the access token was revoked', state.clientRevoked ? 'client revoked' : 'grant revoked');
    }
    const auth: AuthState = {
      subject: claims.sub,
      clientId: claims.client_id,
      scopes: typeof claims.scope === 'string' && claims.scope !== '' ? claims.scope.split(' ') : [],
      jti: claims.jti,
      grantType: state.grantType,
      claims,
    };
    if (jkt) auth.jkt = jkt;
    return auth;
  }

  /** RFC 6750 §2: header, or (when enabled) form body or query — and never more than one. */
  async function fromRequest(ctx: Context): Promise<AuthState> {
    const header = ctx.get('authorization') || undefined;
    const bodyToken = options.allowBodyToken ? (ctx.request as { body?: { access_token?: unknown } }).body?.access_token : undefined;
    const queryToken = options.allowQueryToken ? ctx.query['access_token'] : undefined;
    const found = [header, bodyToken, queryToken].filter((value) => value !== undefined);
    if (found.length > 1) throw invalid('invalid_request', 'send the access token in one place only');
    if (bodyToken !== undefined || queryToken !== undefined) {
      const token = bodyToken ?? queryToken;
      if (typeof token !== 'string' || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) throw invalid('invalid_request', 'the access token is malformed');
      return verify(token);
    }
    return authenticate(header, undefined, ctx);
  }

  function checkScopes(auth: AuthState, require: RequireOptions): void {
    if (require.clientOnly && auth.grantType !== 'client_credentials') {
      throw new BearerError(403, 'insufficient_scope', 'this endpoint accepts only client tokens', { realm, ...(require.scopes?.length ? { scope: require.scopes.join(' ') } : {}) });
    }
    if ((require.scopes ?? []).some((scope) => !auth.scopes.includes(scope))) {
      throw new BearerError(403, 'insufficient_scope', 'the access token lacks a required scope', { realm, scope: require.scopes!.join(' ') });
    }
    if (require.anyScope?.length && !require.anyScope.some((scope) => auth.scopes.includes(scope))) {
      throw new BearerError(403, 'insufficient_scope', 'the access token has none of the accepted scopes', { realm, scope: require.anyScope.join(' ') });
    }
  }

  function requireToken(require: RequireOptions = {}): Middleware {
    return async (ctx, next) => {
      try {
        const auth = await fromRequest(ctx);
        checkScopes(auth, require);
        ctx.state['auth'] = auth;
      } catch (error) {
        if (error instanceof OAuthError) return respond(ctx, error);
        throw error;
      }
      await next();
    };
  }

  const policy: Policy = {
    requireToken,
    requireScopes: (...scopes) => requireToken({ scopes }),
    requireAnyScope: (...scopes) => requireToken({ anyScope: scopes }),
    requireClient: (...scopes) => requireToken({ scopes, clientOnly: true }),
    definePolicy(name, check) {
      if (policies.has(name)) throw new Error(`policy ${name} is already defined`);
      policies.set(name, check);
      return policy;
    },
    requirePolicy(name) {
      return async (ctx, next) => {
        // Looked up per request so a policy may be defined after the routes that use it.
        const check = policies.get(name);
        if (!check) throw new Error(`no policy named ${name}: call definePolicy first`);
        let auth = ctx.state['auth'] as AuthState | undefined;
        try {
          auth ??= await fromRequest(ctx);
        } catch (error) {
          if (error instanceof OAuthError) return respond(ctx, error);
          throw error;
        }
        ctx.state['auth'] = auth;
        const withParams = ctx as PolicyContext;
        withParams.params ??= {};
        if (!(await check(auth, withParams))) {
          logger.info({ policy: name, subject: auth.subject, clientId: auth.clientId, jti: auth.jti }, 'denied by policy');
          return respond(ctx, new OAuthError(403, 'access_denied', `denied by policy "${name}"`));
        }
        await next();
      };
    },
    authenticate,
    async close() {
      await revocations.close();
      await proofs.close();
      if (ownsPool) await pool.end();
    },
  };
  return policy;
}
