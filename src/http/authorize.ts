// GET|POST /oauth/authorize (RFC 6749 §4.1, RFC 7636, RFC 9126 §4); the login pages are in
// login.ts, the checks of the request in ../oauth/authorization-request.ts.
//
// Until the client and its redirect URI are trusted, errors are shown on a page and never
// redirected (open-redirect protection); after that, they go back to the client with `error`,
// `state` and `iss` (RFC 9207). Consent is remembered per user, client and scopes; first-party
// clients skip it.
//
// Pushed requests (RFC 9126 §4): with request_uri, the pushed parameters are the request; nothing
// else on the URL counts but client_id (which must be the pusher) and Warrant's own login_after.
// The request_uri carries the request through the sign-in and consent pages and is used once, when
// the request ends (a code, or an error or denial sent back to the client). An unknown, expired,
// used or other client's request_uri is invalid_request_uri on a page: without the pushed
// parameters no redirect URI can be trusted. A client that must push gets invalid_request.

import type Router from '@koa/router';
import type { Context } from 'koa';
import { OIDC_SCOPES } from '../oauth/accounts.js';
import { single, UntrustedRequestError, validateAuthorizationRequest, type AuthorizationRequest, type Trusted } from '../oauth/authorization-request.js';
import { issueCode } from '../oauth/codes.js';
import { grantConsent, hasConsent } from '../oauth/consents.js';
import type { WarrantContext } from '../oauth/context.js';
import { findPushedRequest, usePushedRequest, type PushedRequest } from '../oauth/par.js';
import { requiresPar } from '../oauth/profiles.js';
import { BUILT_IN_SCOPES } from '../oauth/scopes.js';
import { findUser } from '../users/directory.js';
import { readForm } from './form.js';
import { basePath, loginUrl } from './login.js';
import { consentPage, errorPage, showPage } from './pages.js';
import { actorOf, type RequestState } from './request-id.js';
import type { Authenticate, Session, Sessions } from './session.js';

type Koa = Context & { state: RequestState };

/** A request on its way: where it goes back to, and the pushed request it came as, if any. */
interface Flow {
  trusted: Trusted;
  pushed: { request: PushedRequest; uri: string } | undefined;
}

function redirect(ctx: WarrantContext, koa: Context, trusted: Trusted, params: Record<string, string>): void {
  const url = new URL(trusted.redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (trusted.state !== undefined) url.searchParams.set('state', trusted.state);
  url.searchParams.set('iss', ctx.config.issuer);
  koa.set('Cache-Control', 'no-store');
  koa.redirect(url.toString());
}

function invalidRequestUri(koa: Koa, why: string): void {
  koa.state.log?.info({ detail: why }, 'request_uri refused');
  showPage(koa, 400, errorPage('Invalid request', 'invalid_request_uri: this sign-in link has expired, was already used, or is not this application\'s. Start again from the application.'));
}

export function authorizationEndpoint(router: Router<RequestState>, ctx: WarrantContext, sessions: Sessions, authenticate?: Authenticate): void {
  // Own properties only: a scope named `constructor` describes nothing.
  const describe = (scope: string) => [ctx.config.scopes, BUILT_IN_SCOPES, OIDC_SCOPES].map((table) => (Object.hasOwn(table, scope) ? table[scope] : undefined)).find((text) => text !== undefined) ?? '';

  /** Consent covers the scopes and the audience the token will be for (RFC 8707). */
  const audienceOf = (request: AuthorizationRequest) => [request.resource ?? ctx.config.audience];

  /** The request ends: a pushed one is used up first, exactly once (else the error page, and false). */
  async function end(koa: Koa, flow: Flow, actor: string): Promise<boolean> {
    if (!flow.pushed || (await usePushedRequest(ctx, flow.pushed.request, actorOf(koa, actor)))) return true;
    invalidRequestUri(koa, 'used meanwhile, or expired');
    return false;
  }

  async function back(koa: Koa, flow: Flow, params: Record<string, string>, actor: string): Promise<void> {
    if (await end(koa, flow, actor)) redirect(ctx, koa, flow.trusted, params);
  }

  async function grant(koa: Koa, flow: Flow, request: AuthorizationRequest, subject: string, session: Session | undefined): Promise<void> {
    if (!(await end(koa, flow, subject))) return;
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
      // One pushed request, one code: the grant is found from the request and back (../oauth/par.ts).
      ...(flow.pushed ? { grantId: flow.pushed.request.requestId } : {}),
      actor: actorOf(koa, subject),
    });
    redirect(ctx, koa, flow.trusted, { code });
  }

  /** RFC 9126 §4: a request_uri stands for the pushed parameters; undefined when it is refused (the page is shown). */
  async function pushedParameters(koa: Koa, params: Record<string, unknown>, uri: string): Promise<{ params: Record<string, unknown>; pushed: Flow['pushed'] } | undefined> {
    const clientId = single(params, 'client_id');
    if (!clientId) throw new UntrustedRequestError(400, 'Invalid request', 'client_id is missing.');
    const found = await findPushedRequest(ctx, clientId, uri);
    if ('refused' in found) return void invalidRequestUri(koa, found.refused);
    return { params: { ...found.pushed.params, client_id: clientId, login_after: single(params, 'login_after') }, pushed: { request: found.pushed, uri } };
  }

  async function handle(koa: Koa, given: Record<string, unknown>, decision?: string): Promise<void> {
    let checked;
    let params = given;
    let pushed: Flow['pushed'];
    try {
      const uri = single(given, 'request_uri');
      if (uri !== undefined) {
        const resolved = await pushedParameters(koa, given, uri);
        if (!resolved) return;
        ({ params, pushed } = resolved);
      }
      checked = await validateAuthorizationRequest(ctx, params);
    } catch (error) {
      if (error instanceof UntrustedRequestError) return showPage(koa, error.status, errorPage(error.title, error.message));
      throw error;
    }
    const { client, request, error } = checked;
    const flow: Flow = { trusted: checked.trusted, pushed };
    // RFC 9126 §5–6: a client (or a server) that requires PAR takes no request by the front channel.
    if (!pushed && requiresPar(ctx.config, client)) return back(koa, flow, { error: 'invalid_request', error_description: 'this client must push its authorization requests first (PAR, RFC 9126)' }, client.clientId);
    if (error) return back(koa, flow, { error: error.error, error_description: error.description }, client.clientId);
    const signedIn = await sessions.signedIn(koa, authenticate);
    const now = ctx.clock();
    // OIDC Core §3.1.2.1: prompt=login and max_age ask for a fresh sign-in (max_age=0 exactly as
    // prompt=login), unless this request is the one resuming after that sign-in.
    const tooOld = request.maxAge !== undefined && signedIn?.session !== undefined && (request.maxAge === 0 || now.getTime() - signedIn.session.authTime.getTime() > request.maxAge * 1000);
    // The marker is bound to this request (client, state, nonce, PKCE challenge), and checked on
    // the consent form's POST too: a fresh sign-in asked for one request covers no other.
    const binding = [client.clientId, request.redirectUri, request.state ?? '', request.nonce ?? '', request.codeChallenge ?? ''].join('\n');
    const wantsLogin = (request.prompt.has('login') || request.prompt.has('select_account') || tooOld) && !sessions.loginSatisfies(request.loginAfter, signedIn?.session, now, binding);
    const actor = signedIn?.subject ?? client.clientId;
    if (!signedIn || wantsLogin) {
      if (request.prompt.has('none')) return back(koa, flow, { error: 'login_required', error_description: 'the user is not signed in' }, actor);
      if (authenticate) {
        // The host app owns sign-in: Warrant cannot make it ask again.
        if (signedIn) return back(koa, flow, { error: 'login_required', error_description: 'a fresh sign-in was asked for; the application signs people in' }, actor);
        return showPage(koa, 401, errorPage('Sign-in required', 'Sign in to the application first, then try again.'));
      }
      // A pushed request comes back by its request_uri alone.
      const carried = pushed ? { client_id: client.clientId, request_uri: pushed.uri } : params;
      const query = new URLSearchParams(Object.entries(carried).filter(([k, v]) => typeof v === 'string' && k !== 'csrf' && k !== 'decision' && k !== 'login_after') as [string, string][]);
      if (wantsLogin) query.set('login_after', sessions.loginMarker(now, binding));
      return koa.redirect(loginUrl(ctx.config.issuer, `/oauth/authorize?${query.toString()}`, { force: wantsLogin, hint: request.loginHint }));
    }
    const { subject, session } = signedIn;
    if (decision === 'deny') return back(koa, flow, { error: 'access_denied', error_description: 'the user denied the request' }, subject);
    const consent = { subject, clientId: client.clientId, scopes: request.scopes, audience: audienceOf(request) };
    if (decision === 'approve') {
      await grantConsent(ctx, { ...consent, sessionId: session?.sid ?? null }, actorOf(koa, subject));
      return grant(koa, flow, request, subject, session);
    }
    const consented = !request.prompt.has('consent') && (client.firstParty || (await hasConsent(ctx, consent)));
    if (consented) return grant(koa, flow, request, subject, session);
    if (request.prompt.has('none')) return back(koa, flow, { error: 'consent_required', error_description: 'the user has not consented to this request' }, subject);
    const user = await findUser(ctx.pool, subject);
    const fields: Record<string, string | undefined> = pushed ? { client_id: client.clientId, request_uri: pushed.uri } : {
      client_id: client.clientId,
      redirect_uri: request.redirectUri,
      response_type: 'code',
      scope: request.scopes.join(' ') || undefined,
      state: request.state,
      code_challenge: request.codeChallenge ?? undefined,
      code_challenge_method: request.codeChallenge ? 'S256' : undefined,
      resource: request.resource ?? undefined,
      nonce: request.nonce ?? undefined,
    };
    const csrf = sessions.csrf(koa, session);
    // "Not you? Sign out" comes back here, so the right person signs in and sees this request again.
    const again = new URLSearchParams(Object.entries(fields).filter(([, v]) => v !== undefined) as [string, string][]);
    const signOut = authenticate ? undefined : { csrf, returnTo: `${basePath(ctx.config.issuer)}/oauth/authorize?${again.toString()}` };
    const audience = audienceOf(request).map((aud) => ({ uri: aud, isDefault: aud === ctx.config.audience }));
    return showPage(koa, 200, consentPage({ clientName: client.name, username: user?.username ?? subject, scopes: request.scopes.map((scope) => ({ scope, description: describe(scope) })), audience, fields: { ...fields, csrf }, ...(signOut ? { signOut } : {}) }), { redirectUri: request.redirectUri });
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
