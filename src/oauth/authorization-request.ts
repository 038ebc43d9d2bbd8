// Validating an authorization request (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2.1), shared by
// the authorization endpoint (src/http/authorize.ts) and the PAR endpoint (src/http/par.ts, which
// must check a pushed request as the authorization endpoint would: RFC 9126 §2.1).
//
// Order of checks (RFC 6749 §4.1.2.1): until the client and its redirect URI are trusted, errors
// are UntrustedRequestError (never redirected: open-redirect protection); after that they are
// AuthorizationRequestError, which may go back to the client. PKCE: S256 only; required for
// public clients and FAPI 2.0 clients (./profiles.ts).

import type { ClientRecord } from '../readmodels/clients.js';
import { OIDC_SCOPES } from './accounts.js';
import type { WarrantContext } from './context.js';
import { OAuthError, type OAuthErrorCode } from './errors.js';
import { requiresPkce } from './profiles.js';
import { audienceFor, parseScope, privilegedScopes } from './scopes.js';
import { hasControlCharacters } from './text.js';

export interface AuthorizationRequest {
  client: ClientRecord;
  redirectUri: string;
  state: string | undefined;
  scopes: string[];
  codeChallenge: string | null;
  resource: string | null;
  /** OpenID Connect (OIDC Core §3.1.2.1). */
  nonce: string | null;
  prompt: Set<string>;
  maxAge: number | undefined;
  loginHint: string | undefined;
  /** A forced sign-in's marker, when this request resumes after one (Sessions.loginMarker). */
  loginAfter: string | undefined;
}

/**
 * The authorization parameters a pushed request keeps (RFC 9126 §2.1): the ones this server acts
 * on. Not login_hint: it is often an email address, and personal data stays out of events (DESIGN §2).
 */
export const PUSHED_PARAMETERS = ['response_type', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'resource', 'nonce', 'prompt', 'max_age', 'ui_locales'] as const;

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

/** Before the client and redirect URI are trusted: shown on a page, never redirected. */
export class UntrustedRequestError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/** After they are trusted: may go back to the client's redirect URI. */
export class AuthorizationRequestError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}

export interface Trusted {
  redirectUri: string;
  state: string | undefined;
}

export type Validated = { client: ClientRecord; trusted: Trusted } & ({ request: AuthorizationRequest; error?: undefined } | { request?: undefined; error: AuthorizationRequestError });

/** A parameter given at most once, without control characters; '' counts as absent. */
export function single(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw new UntrustedRequestError(400, 'Invalid request', `parameter ${name} is repeated`);
  if (typeof value === 'string' && hasControlCharacters(value)) throw new UntrustedRequestError(400, 'Invalid request', `parameter ${name} contains control characters`);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Steps 1–2 (thrown) then 3+ (returned as `error`). `client`: already authenticated (PAR). */
export async function validateAuthorizationRequest(ctx: WarrantContext, params: Record<string, unknown>, authenticated?: ClientRecord): Promise<Validated> {
  let client = authenticated;
  if (!client) {
    const clientId = single(params, 'client_id');
    if (!clientId) throw new UntrustedRequestError(400, 'Invalid request', 'client_id is missing.');
    client = await ctx.read.clients.find(clientId);
  }
  if (!client || client.revoked) throw new UntrustedRequestError(400, 'Unknown application', 'This application is not registered, or was revoked.');
  const given = single(params, 'redirect_uri');
  let redirectUri: string;
  if (given !== undefined) {
    // Exact string match (RFC 9700 §4.1.3): no prefix, case, path or fragment games.
    if (!client.redirectUris.includes(given)) throw new UntrustedRequestError(400, 'Invalid redirect URI', 'The redirect_uri is not registered for this application.');
    redirectUri = given;
  } else if (client.redirectUris.length === 1) {
    redirectUri = client.redirectUris[0]!;
  } else {
    throw new UntrustedRequestError(400, 'Invalid request', 'redirect_uri is missing.');
  }
  const state = single(params, 'state');
  const trusted = { redirectUri, state };
  const fail = (error: OAuthErrorCode, description: string): Validated => ({ client, trusted, error: new AuthorizationRequestError(error, description) });

  if (!client.grantTypes.includes('authorization_code')) return fail('unauthorized_client', 'the client is not allowed the authorization_code grant');
  if (single(params, 'response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  if (state !== undefined && state.length > 2000) return fail('invalid_request', 'state is too long');
  const challenge = single(params, 'code_challenge');
  const method = single(params, 'code_challenge_method');
  if (challenge === undefined && method !== undefined) return fail('invalid_request', 'code_challenge_method without code_challenge');
  if (challenge !== undefined) {
    if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
    if (!CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge is malformed');
  } else if (requiresPkce(client)) {
    return fail('invalid_request', `PKCE (code_challenge with S256) is required for ${client.confidential ? 'FAPI 2.0 clients' : 'public clients'}`);
  }
  let scopes: string[];
  let resource: string | null = null;
  try {
    scopes = parseScope(single(params, 'scope')) ?? [];
    const rawResource = single(params, 'resource');
    if (rawResource !== undefined) resource = audienceFor(ctx.config, client, rawResource)[0]!;
  } catch (error) {
    if (error instanceof OAuthError) return fail(error.error, error.description);
    throw error;
  }
  // OpenID Connect's own scopes are the server's, open to every client that signs people in
  // (as in node-oidc-provider); the person still consents to them.
  const refused = scopes.filter((scope) => !client.scopes.includes(scope) && !Object.hasOwn(OIDC_SCOPES, scope));
  if (refused.length > 0) return fail('invalid_scope', 'the application may not ask for this scope');
  // warrant:* never reaches a user's token, whatever the client is registered or configured for.
  const privileged = privilegedScopes(scopes);
  if (privileged.length > 0) return fail('invalid_scope', `${privileged.join(' ')} is only for a client acting for itself (client_credentials)`);
  // OpenID Connect request parameters (OIDC Core §3.1.2.1).
  const nonce = single(params, 'nonce');
  if (nonce !== undefined && nonce.length > 512) return fail('invalid_request', 'nonce is too long (at most 512 characters)');
  const prompt = new Set((single(params, 'prompt') ?? '').split(' ').filter(Boolean));
  const unknownPrompt = [...prompt].filter((value) => !PROMPTS.has(value));
  if (unknownPrompt.length > 0) return fail('invalid_request', `prompt ${unknownPrompt.join(' ').slice(0, 40)} is not supported (none, login, consent, select_account)`);
  if (prompt.has('none') && prompt.size > 1) return fail('invalid_request', 'prompt=none cannot be combined with other values');
  const rawMaxAge = single(params, 'max_age');
  if (rawMaxAge !== undefined && !/^\d{1,9}$/.test(rawMaxAge)) return fail('invalid_request', 'max_age must be a non-negative integer of seconds');
  const loginHint = single(params, 'login_hint');
  if (loginHint !== undefined && loginHint.length > 255) return fail('invalid_request', 'login_hint is too long');
  const uiLocales = single(params, 'ui_locales');
  if (uiLocales !== undefined && uiLocales.length > 200) return fail('invalid_request', 'ui_locales is too long');
  // Request objects (JAR) are not supported, by value or by reference; pushed requests are PAR's.
  if (single(params, 'request') !== undefined) return fail('request_not_supported', 'request objects are not supported');
  return {
    client,
    trusted,
    request: {
      client, redirectUri, state, scopes, codeChallenge: challenge ?? null, resource,
      nonce: nonce ?? null, prompt, maxAge: rawMaxAge === undefined ? undefined : Number(rawMaxAge), loginHint, loginAfter: single(params, 'login_after'),
    },
  };
}
