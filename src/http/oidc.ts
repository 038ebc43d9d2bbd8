// OpenID Connect's own endpoints: userinfo (OIDC Core §5.3) and RP-initiated logout
// (OpenID Connect RP-Initiated Logout 1.0) at the metadata's end_session_endpoint.
//
// Logout is a state change a third party can trigger by linking, so it is not done on a bare GET:
// only when the id_token_hint proves which application asks and names the person signed in here
// (or nobody is), does it end the session at once; otherwise the person confirms on a page
// (CSRF-protected form), as node-oidc-provider and Keycloak ask. A post_logout_redirect_uri is
// followed only when registered for the client the hint (or client_id) names, exactly as written.

import type Router from '@koa/router';
import type { Context } from 'koa';
import { claimsForScopes } from '../oauth/accounts.js';
import type { WarrantContext } from '../oauth/context.js';
import { BearerError } from '../oauth/errors.js';
import { readIdTokenHint, type IdTokenHint } from '../oauth/id-token.js';
import { hasControlCharacters } from '../oauth/text.js';
import type { ClientRecord } from '../readmodels/clients.js';
import type { AuthState, Policy } from '../policy/policy.js';
import { readForm } from './form.js';
import { errorPage, escape, hidden, messagePage, page, showPage } from './pages.js';
import { actorOf, type RequestState } from './request-id.js';
import type { Sessions } from './session.js';

export function userinfoEndpoint(router: Router<RequestState>, ctx: WarrantContext, policy: Policy): void {
  const realm = ctx.config.issuer;
  const answer = async (koa: Context) => {
    const auth = (koa.state as { auth: AuthState }).auth;
    koa.set('Cache-Control', 'no-store');
    if (!auth.scopes.includes('openid')) {
      throw new BearerError(403, 'insufficient_scope', 'userinfo needs a token with the openid scope', { realm, scope: 'openid' });
    }
    // A client's token for itself speaks of no person, whatever a findAccount would answer for its id.
    if (auth.grantType === 'client_credentials') throw new BearerError(401, 'invalid_token', 'userinfo is for tokens a person granted, not client credentials', { realm });
    const claims = await ctx.findAccount(auth.subject);
    // The account is gone (deleted since the token was issued): the token speaks of nobody.
    if (!claims) throw new BearerError(401, 'invalid_token', 'the subject of the access token no longer exists', { realm, detail: 'findAccount found no account' });
    koa.body = claimsForScopes(auth.subject, claims, auth.scopes);
  };
  const guard = policy.requireToken();
  router.get('/oauth/userinfo', guard, answer);
  router.post('/oauth/userinfo', guard, answer);
}

interface LogoutRequest {
  hint: IdTokenHint | undefined;
  client: ClientRecord | undefined;
  redirectUri: string | undefined;
  state: string | undefined;
}

class LogoutError extends Error {}

function text(params: Record<string, unknown>, name: string, max = 4096): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw new LogoutError(`parameter ${name} is repeated`);
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.length > max || hasControlCharacters(value)) throw new LogoutError(`parameter ${name} is malformed`);
  return value;
}

async function readLogout(ctx: WarrantContext, params: Record<string, unknown>): Promise<LogoutRequest> {
  const rawHint = text(params, 'id_token_hint', 8192);
  const clientId = text(params, 'client_id', 100);
  const redirectUri = text(params, 'post_logout_redirect_uri', 2000);
  const state = text(params, 'state', 2000);
  const hint = rawHint === undefined ? undefined : await readIdTokenHint(ctx.keys, rawHint, ctx.config.issuer);
  if (rawHint !== undefined && !hint) throw new LogoutError('The id_token_hint is not an id token issued here.');
  if (hint && clientId !== undefined && clientId !== hint.clientId) throw new LogoutError('client_id does not match the id_token_hint.');
  const id = hint?.clientId ?? clientId;
  const client = id === undefined ? undefined : await ctx.read.clients.find(id);
  if (id !== undefined && (!client || client.revoked)) throw new LogoutError('This application is not registered, or was revoked.');
  if (redirectUri !== undefined) {
    // §3: the RP must be identified (id_token_hint or client_id) and the URI registered for it, exactly.
    if (!client) throw new LogoutError('post_logout_redirect_uri needs id_token_hint or client_id.');
    if (!client.postLogoutRedirectUris.includes(redirectUri)) throw new LogoutError('The post_logout_redirect_uri is not registered for this application.');
  }
  return { hint, client, redirectUri, state };
}

function signedOutPage(): string {
  return messagePage('Signed out', 'You are signed out. You can close this page.');
}

function confirmPage(options: { clientName: string | undefined; csrf: string; fields: Record<string, string | undefined> }): string {
  const who = options.clientName ? `<strong>${escape(options.clientName)}</strong> asks to sign you out.` : 'An application asks to sign you out.';
  return page(
    'Sign out',
    `<h1>Sign out?</h1><p>${who}</p>
<form method="post" action="end_session">${hidden({ ...options.fields, csrf: options.csrf })}
<button type="submit" name="decision" value="logout">Sign out</button><button type="submit" name="decision" value="stay" class="secondary">Stay signed in</button></form>`,
  );
}

export function endSessionEndpoint(router: Router<RequestState>, ctx: WarrantContext, sessions: Sessions): void {
  const finish = (koa: Context, request: LogoutRequest) => {
    koa.set('Cache-Control', 'no-store');
    if (!request.redirectUri) return showPage(koa, 200, signedOutPage());
    const url = new URL(request.redirectUri);
    if (request.state !== undefined) url.searchParams.set('state', request.state);
    return koa.redirect(url.toString());
  };

  const handle = async (koa: Context & { state: RequestState }, params: Record<string, unknown>, decision: string | undefined) => {
    let request: LogoutRequest;
    try {
      request = await readLogout(ctx, params);
    } catch (error) {
      if (error instanceof LogoutError) return showPage(koa, 400, errorPage('Cannot sign out', error.message));
      throw error;
    }
    const session = await sessions.get(koa);
    if (decision === 'stay') return showPage(koa, 200, messagePage('Still signed in', 'You are still signed in. You can close this page.'));
    // The hint proves which application asks, and that the person signed in here is the one it
    // signed in (or that nobody is left to sign out): no need to ask.
    const proven = request.hint !== undefined && (!session || session.sub === request.hint.sub);
    if (decision === 'logout' || proven) {
      if (session) await sessions.end(koa, session, actorOf(koa, session.sub), { reason: 'rp_logout' });
      return finish(koa, request);
    }
    if (!session) return finish(koa, request);
    const fields = {
      client_id: request.client?.clientId,
      post_logout_redirect_uri: request.redirectUri,
      state: request.state,
    };
    return showPage(koa, 200, confirmPage({ clientName: request.client?.name, csrf: sessions.csrf(koa, session), fields }), request.redirectUri ? { redirectUri: request.redirectUri } : undefined);
  };

  router.get('/oauth/end_session', (koa) => handle(koa, koa.query, undefined));
  router.post('/oauth/end_session', async (koa) => {
    const params = Object.fromEntries(await readForm(koa, ctx.config.bodyLimit));
    const decision = params['decision'];
    if (decision === 'logout' || decision === 'stay') {
      // The confirmation form: rendered by this server for this browser's session.
      const session = await sessions.get(koa);
      if (session && !sessions.checkCsrf(koa, params['csrf'], session)) {
        return showPage(koa, 403, errorPage('Request refused', 'The form expired or did not come from this site (missing or invalid CSRF token).'));
      }
      return handle(koa, params, decision);
    }
    // RP-Initiated Logout §2: the RP may also POST the request itself (form-encoded), with no decision.
    return handle(koa, params, undefined);
  });
}
