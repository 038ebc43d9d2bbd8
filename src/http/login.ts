// The built-in sign-in of the standalone server: GET|POST /oauth/login, POST /oauth/logout and the
// pages' stylesheet. Users come from `warrant user create` (src/users/directory.ts). Forms carry a
// CSRF token; failed sign-ins are limited as at the token endpoint.

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { WarrantContext } from '../oauth/context.js';
import { findPushedRequest } from '../oauth/par.js';
import { TooManyRequests } from '../oauth/rate-limit.js';
import { checkLogin, findUser } from '../users/directory.js';
import { readForm } from './form.js';
import { errorPage, loginPage, showPage, signedInPage, STYLESHEET, type FormAction } from './pages.js';
import { actorOf, type RequestState } from './request-id.js';
import type { Sessions } from './session.js';

/** The path the issuer adds in front of Warrant's routes ('' at the root, '/auth' when mounted there). */
export function basePath(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, '');
}

/**
 * Where to send someone who must sign in first, coming back to `returnTo` (a path under /oauth/).
 * `force`: show the form even to someone signed in (OIDC prompt=login, max_age); `hint`: the
 * username to fill in (OIDC login_hint).
 */
export function loginUrl(issuer: string, returnTo: string, options: { force?: boolean; hint?: string | undefined } = {}): string {
  const base = basePath(issuer);
  const query = new URLSearchParams({ return_to: `${base}${returnTo}` });
  if (options.force) query.set('prompt', 'login');
  if (options.hint) query.set('login_hint', options.hint);
  return `${base}/oauth/login?${query.toString()}`;
}

/** Only same-server paths under …/oauth/ may be a sign-in's (or sign-out's) destination. */
function safeReturn(base: string, value: string | undefined): string | undefined {
  if (!value || !value.startsWith(`${base}/oauth/`) || value.startsWith('//')) return undefined;
  return /^[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/.test(value) && !value.includes('/../') ? value : undefined;
}

export function loginEndpoints(router: Router<RequestState>, ctx: WarrantContext, sessions: Sessions): void {
  const base = basePath(ctx.config.issuer);
  const loginPath = `${base}/oauth/login`;
  /** A sign-in that resumes an authorization request may end at that client's redirect URI (CSP form-action follows redirects). */
  async function formActionFor(returnTo: string): Promise<FormAction> {
    const url = new URL(returnTo, 'http://warrant.invalid');
    if (url.pathname !== `${base}/oauth/authorize`) return 'self';
    const clientId = url.searchParams.get('client_id') ?? '';
    const client = await ctx.read.clients.find(clientId);
    let given = url.searchParams.get('redirect_uri');
    const requestUri = url.searchParams.get('request_uri');
    if (requestUri !== null) {
      // A pushed request (RFC 9126 §4) resumes by its request_uri alone: the redirect URI is the pushed one.
      const found = await findPushedRequest(ctx, clientId, requestUri);
      given = 'pushed' in found ? (found.pushed.params['redirect_uri'] ?? null) : null;
    }
    const redirectUri = given ?? (client?.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
    return client && redirectUri && client.redirectUris.includes(redirectUri) ? { redirectUri } : 'self';
  }

  const refused = (koa: Context, what: string) =>
    showPage(koa, 403, errorPage('Request refused', `The form expired or did not come from this site (missing or invalid CSRF token). ${what}`));

  router.get('/oauth/login', async (koa) => {
    const returnTo = safeReturn(base, typeof koa.query['return_to'] === 'string' ? koa.query['return_to'] : undefined);
    const hint = typeof koa.query['login_hint'] === 'string' ? koa.query['login_hint'].slice(0, 100) : undefined;
    const session = await sessions.get(koa);
    // prompt=login: the application asked for a fresh sign-in, so the form, not "signed in as".
    if (session && koa.query['prompt'] !== 'login') {
      // Already signed in: say as whom, offer the way on and a way out, not an empty form.
      const user = await findUser(ctx.pool, session.sub);
      const continueTo = returnTo && returnTo.split('?')[0] !== loginPath ? returnTo : undefined;
      return showPage(koa, 200, signedInPage({ username: user?.username ?? session.sub, csrf: sessions.csrf(koa, session), ...(continueTo ? { continueTo } : {}) }));
    }
    const username = hint ?? (session && koa.query['prompt'] === 'login' ? (await findUser(ctx.pool, session.sub))?.username : undefined);
    return showPage(koa, 200, loginPage({ csrf: sessions.csrf(koa, undefined), returnTo: returnTo ?? loginPath, ...(username ? { username } : {}) }), await formActionFor(returnTo ?? loginPath));
  });

  router.post('/oauth/login', async (koa) => {
    const params = await readForm(koa, ctx.config.bodyLimit);
    const returnTo = safeReturn(base, params.get('return_to')) ?? loginPath;
    if (!sessions.checkCsrf(koa, params.get('csrf'), undefined)) return refused(koa, 'Reload the page and try again.');
    // Guessing passwords is limited per (username, address) and per address, and a username under
    // attack from everywhere is slowed down, never locked (src/oauth/rate-limit.ts).
    let failed: () => Promise<void>;
    try {
      failed = await ctx.limits.signInAttempt(params.get('username') ?? '', koa.ip);
    } catch (error) {
      if (!(error instanceof TooManyRequests)) throw error;
      koa.set(error.headers);
      return showPage(koa, 429, loginPage({ csrf: sessions.csrf(koa, undefined), returnTo, error: `Too many failed sign-ins. Try again in ${error.headers['Retry-After']} seconds.`, username: params.get('username') ?? '' }), await formActionFor(returnTo));
    }
    const user = await checkLogin(ctx.pool, params.get('username') ?? '', params.get('password') ?? '');
    if (!user) {
      await failed();
      ctx.logger.info({ requestId: koa.state.requestId }, 'login failed');
      return showPage(koa, 401, loginPage({ csrf: sessions.csrf(koa, undefined), returnTo, error: 'Wrong username or password.', username: params.get('username') ?? '' }), await formActionFor(returnTo));
    }
    const actor = actorOf(koa, user.userId);
    // Signing in again replaces the session: the old one ends rather than lingering until it expires.
    const previous = await sessions.get(koa);
    if (previous) await sessions.end(koa, previous, actor, { replaced: true });
    await sessions.start(koa, user.userId, actor);
    koa.set('Cache-Control', 'no-store');
    return koa.redirect(returnTo);
  });

  router.post('/oauth/logout', async (koa) => {
    const params = await readForm(koa, ctx.config.bodyLimit);
    const session = await sessions.get(koa);
    if (session && !sessions.checkCsrf(koa, params.get('csrf'), session)) return refused(koa, 'Reload the page and try again.');
    await sessions.end(koa, session, actorOf(koa, session?.sub ?? 'anonymous'));
    koa.set('Cache-Control', 'no-store');
    const returnTo = safeReturn(base, params.get('return_to'));
    return koa.redirect(returnTo ?? loginPath);
  });

  router.get('/oauth/assets/style.css', (koa) => {
    koa.type = 'text/css; charset=utf-8';
    koa.set('Cache-Control', 'public, max-age=3600');
    koa.body = STYLESHEET;
  });
}
