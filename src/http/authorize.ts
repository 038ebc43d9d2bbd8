// GET|POST /oauth/authorize (RFC 6749 §4.1, RFC 7636); the login pages are in login.ts.
//
// Order of checks (RFC 6749 §4.1.2.1): until the client and its redirect URI are trusted, errors
// are shown on a page and never redirected (open-redirect protection); after that, they go back
// to the client with `error`, `state` and `iss` (RFC 9207). PKCE: S256 only; required for public
// clients. Consent is remembered per user, client and scopes; first-party clients skip it.

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ClientRecord } from '../readmodels/clients.js';
import { issueCode } from '../oauth/codes.js';
import { grantConsent, hasConsent } from '../oauth/consents.js';
import type { WarrantContext } from '../oauth/context.js';
import { OAuthError } from '../oauth/errors.js';
import { OIDC_SCOPES } from '../oauth/accounts.js';
import { audienceFor, BUILT_IN_SCOPES, parseScope, privilegedScopes } from '../oauth/scopes.js';
import { hasControlCharacters } from '../oauth/text.js';
import { findUser } from '../users/directory.js';
import { readForm } from './form.js';
import { basePath, loginUrl } from './login.js';
import { consentPage, errorPage, showPage } from './pages.js';
import { actorOf, type RequestState } from './request-id.js';
import type { Authenticate, Session, Sessions } from './session.js';

interface AuthorizationRequest {
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

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);

class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

class RedirectError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

const CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

function single(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw new PageError(400, 'Invalid request', `parameter ${name} is repeated`);
  if (typeof value === 'string' && hasControlCharacters(value)) throw new PageError(400, 'Invalid request', `parameter ${name} contains control characters`);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Steps 1–2 (shown on a page) then 3+ (redirected). */
async function validate(ctx: WarrantContext, params: Record<string, unknown>): Promise<{ trusted: { redirectUri: string; state: string | undefined }; request?: AuthorizationRequest; error?: RedirectError }> {
  const clientId = single(params, 'client_id');
  if (!clientId) throw new PageError(400, 'Invalid request', 'client_id is missing.');
  const client = await ctx.read.clients.find(clientId);
  if (!client || client.revoked) throw new PageError(400, 'Unknown application', 'This application is not registered, or was revoked.');
  const given = single(params, 'redirect_uri');
  let redirectUri: string;
  if (given !== undefined) {
    // Exact string match (RFC 9700 §4.1.3): no prefix, case, path or fragment games.
    if (!client.redirectUris.includes(given)) throw new PageError(400, 'Invalid redirect URI', 'The redirect_uri is not registered for this application.');
    redirectUri = given;
  } else if (client.redirectUris.length === 1) {
    redirectUri = client.redirectUris[0]!;
  } else {
    throw new PageError(400, 'Invalid request', 'redirect_uri is missing.');
  }
  const state = single(params, 'state');
  const trusted = { redirectUri, state };
  const fail = (error: string, description: string) => ({ trusted, error: new RedirectError(error, description) });

  if (!client.grantTypes.includes('authorization_code')) return fail('unauthorized_client', 'the client is not allowed the authorization_code grant');
  if (single(params, 'response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  if (state !== undefined && state.length > 2000) return fail('invalid_request', 'state is too long');
  const challenge = single(params, 'code_challenge');
  const method = single(params, 'code_challenge_method');
  if (challenge === undefined && method !== undefined) return fail('invalid_request', 'code_challenge_method without code_challenge');
  if (challenge !== undefined) {
    if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
    if (!CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge is malformed');
  } else if (!client.confidential) {
    return fail('invalid_request', 'PKCE (code_challenge with S256) is required for public clients');
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
  // Request objects (JAR) are not supported; pushed requests come with PAR.
  if (single(params, 'request') !== undefined) return fail('request_not_supported', 'request objects are not supported');
  if (single(params, 'request_uri') !== undefined) return fail('request_uri_not_supported', 'request_uri is not supported');
  return {
    trusted,
    request: {
      client, redirectUri, state, scopes, codeChallenge: challenge ?? null, resource,
      nonce: nonce ?? null, prompt, maxAge: rawMaxAge === undefined ? undefined : Number(rawMaxAge), loginHint, loginAfter: single(params, 'login_after'),
    },
  };
}

function back(ctx: WarrantContext, koa: Context, trusted: { redirectUri: string; state: string | undefined }, params: Record<string, string>): void {
  const url = new URL(trusted.redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (trusted.state !== undefined) url.searchParams.set('state', trusted.state);
  url.searchParams.set('iss', ctx.config.issuer);
  koa.set('Cache-Control', 'no-store');
  koa.redirect(url.toString());
}

export function authorizationEndpoint(router: Router<RequestState>, ctx: WarrantContext, sessions: Sessions, authenticate?: Authenticate): void {
  // Own properties only: a scope named `constructor` describes nothing.
  const describe = (scope: string) => [ctx.config.scopes, BUILT_IN_SCOPES, OIDC_SCOPES].map((table) => (Object.hasOwn(table, scope) ? table[scope] : undefined)).find((text) => text !== undefined) ?? '';

  /** Consent covers the scopes and the audience the token will be for (RFC 8707). */
  const audienceOf = (request: AuthorizationRequest) => [request.resource ?? ctx.config.audience];

  async function grant(koa: Context & { state: RequestState }, request: AuthorizationRequest, trusted: { redirectUri: string; state: string | undefined }, subject: string, session: Session | undefined): Promise<void> {
    const code = await issueCode(ctx, {
      client: request.client,
      subject,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: request.codeChallenge ? 'S256' : null,
      resource: request.resource,
      sessionId: session?.sid ?? null,
      nonce: request.nonce,
      // In library mode the host app signed the person in; when is its business: now stands in.
      authTime: session?.authTime ?? ctx.clock(),
      actor: actorOf(koa, subject),
    });
    back(ctx, koa, trusted, { code });
  }

  async function handle(koa: Context & { state: RequestState }, params: Record<string, unknown>, decision?: string): Promise<void> {
    let checked;
    try {
      checked = await validate(ctx, params);
    } catch (error) {
      if (error instanceof PageError) return showPage(koa, error.status, errorPage(error.title, error.message));
      throw error;
    }
    const { trusted, request, error } = checked;
    if (error || !request) return back(ctx, koa, trusted, { error: error!.error, error_description: error!.description });
    const signedIn = await sessions.signedIn(koa, authenticate);
    const now = ctx.clock();
    // OIDC Core §3.1.2.1: prompt=login and max_age ask for a fresh sign-in (max_age=0 exactly as
    // prompt=login), unless this request is the one resuming after that sign-in.
    const tooOld = request.maxAge !== undefined && signedIn?.session !== undefined && (request.maxAge === 0 || now.getTime() - signedIn.session.authTime.getTime() > request.maxAge * 1000);
    // The marker is bound to this request (client, state, nonce, PKCE challenge), and checked on
    // the consent form's POST too: a fresh sign-in asked for one request covers no other.
    const binding = [request.client.clientId, request.redirectUri, request.state ?? '', request.nonce ?? '', request.codeChallenge ?? ''].join('\n');
    const wantsLogin = (request.prompt.has('login') || request.prompt.has('select_account') || tooOld) && !sessions.loginSatisfies(request.loginAfter, signedIn?.session, now, binding);
    if (!signedIn || wantsLogin) {
      if (request.prompt.has('none')) return back(ctx, koa, trusted, { error: 'login_required', error_description: 'the user is not signed in' });
      if (authenticate) {
        // The host app owns sign-in: Warrant cannot make it ask again.
        if (signedIn) return back(ctx, koa, trusted, { error: 'login_required', error_description: 'a fresh sign-in was asked for; the application signs people in' });
        return showPage(koa, 401, errorPage('Sign-in required', 'Sign in to the application first, then try again.'));
      }
      const query = new URLSearchParams(Object.entries(params).filter(([k, v]) => typeof v === 'string' && k !== 'csrf' && k !== 'decision' && k !== 'login_after') as [string, string][]);
      if (wantsLogin) query.set('login_after', sessions.loginMarker(now, binding));
      return koa.redirect(loginUrl(ctx.config.issuer, `/oauth/authorize?${query.toString()}`, { force: wantsLogin, hint: request.loginHint }));
    }
    const { subject, session } = signedIn;
    if (decision === 'deny') return back(ctx, koa, trusted, { error: 'access_denied', error_description: 'the user denied the request' });
    const consent = { subject, clientId: request.client.clientId, scopes: request.scopes, audience: audienceOf(request) };
    if (decision === 'approve') {
      await grantConsent(ctx, { ...consent, sessionId: session?.sid ?? null }, actorOf(koa, subject));
      return grant(koa, request, trusted, subject, session);
    }
    const consented = !request.prompt.has('consent') && (request.client.firstParty || (await hasConsent(ctx, consent)));
    if (consented) return grant(koa, request, trusted, subject, session);
    if (request.prompt.has('none')) return back(ctx, koa, trusted, { error: 'consent_required', error_description: 'the user has not consented to this request' });
    const user = await findUser(ctx.pool, subject);
    const fields: Record<string, string | undefined> = {
      client_id: request.client.clientId,
      redirect_uri: request.redirectUri,
      response_type: 'code',
      scope: request.scopes.join(' ') || undefined,
      state: request.state,
      code_challenge: request.codeChallenge ?? undefined,
      code_challenge_method: request.codeChallenge ? 'S256' : undefined,
      resource: request.resource ?? undefined,
      nonce: request.nonce ?? undefined,
      csrf: sessions.csrf(koa, session),
    };
    // "Not you? Sign out" comes back here, so the right person signs in and sees this request again.
    const again = new URLSearchParams(Object.entries(fields).filter(([k, v]) => v !== undefined && k !== 'csrf') as [string, string][]);
    const signOut = authenticate ? undefined : { csrf: fields['csrf']!, returnTo: `${basePath(ctx.config.issuer)}/oauth/authorize?${again.toString()}` };
    const audience = audienceOf(request).map((aud) => ({ uri: aud, isDefault: aud === ctx.config.audience }));
    return showPage(koa, 200, consentPage({ clientName: request.client.name, username: user?.username ?? subject, scopes: request.scopes.map((scope) => ({ scope, description: describe(scope) })), audience, fields, ...(signOut ? { signOut } : {}) }), { redirectUri: request.redirectUri });
  }

  router.get('/oauth/authorize', (koa) => handle(koa, koa.query));

  router.post('/oauth/authorize', async (koa) => {
    const params = Object.fromEntries(await readForm(koa, ctx.config.bodyLimit));
    // The decision comes from a form this server rendered for this browser: no token, no decision
    // (also in library mode, where the host app's session cookie alone would otherwise suffice).
    const session = (await sessions.signedIn(koa, authenticate))?.session;
    if (!sessions.checkCsrf(koa, params['csrf'], session)) {
      return showPage(koa, 403, errorPage('Request refused', 'The form expired or did not come from this site (missing or invalid CSRF token). Start again from the application.'));
    }
    const decision = params['decision'];
    return handle(koa, params, decision === 'approve' || decision === 'deny' ? decision : undefined);
  });
}
