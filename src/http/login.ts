// The built-in sign-in of the standalone server: GET|POST /oauth/login, POST /oauth/logout and the
// pages' stylesheet. Users come from `warrant user create` (src/users/directory.ts). Forms carry a
// CSRF token; failed sign-ins are limited as at the token endpoint.

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { WarrantContext } from '../oauth/context.js';
import { TooManyRequests } from '../oauth/rate-limit.js';
import { checkLogin, findUser } from '../users/directory.js';
import { readForm } from './form.js';
import { errorPage, loginPage, showPage, signedInPage, STYLESHEET } from './pages.js';
import type { RequestState } from './request-id.js';
import type { Sessions } from './session.js';

/** The path the issuer adds in front of Warrant's routes ('' at the root, '/auth' when mounted there). */
export function basePath(issuer: string): string {
  return new URL(issuer).pathname.replace(/\/+$/, '');
}

/** Where to send someone who must sign in first, coming back to `returnTo` (a path under /oauth/). */
export function loginUrl(issuer: string, returnTo: string): string {
  const base = basePath(issuer);
  return `${base}/oauth/login?return_to=${encodeURIComponent(`${base}${returnTo}`)}`;
}

/** Only same-server paths under …/oauth/ may be a sign-in's (or sign-out's) destination. */
function safeReturn(base: string, value: string | undefined): string | undefined {
  if (!value || !value.startsWith(`${base}/oauth/`) || value.startsWith('//')) return undefined;
  return /^[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/.test(value) && !value.includes('/../') ? value : undefined;
}

export function loginEndpoints(router: Router<RequestState>, ctx: WarrantContext, sessions: Sessions): void {
  const base = basePath(ctx.config.issuer);
  const loginPath = `${base}/oauth/login`;
  const refused = (koa: Context, what: string) =>
    showPage(koa, 403, errorPage('Request refused', `The form expired or did not come from this site (missing or invalid CSRF token). ${what}`));

  router.get('/oauth/login', async (koa) => {
    const returnTo = safeReturn(base, typeof koa.query['return_to'] === 'string' ? koa.query['return_to'] : undefined);
    const session = sessions.get(koa);
    if (session) {
      // Already signed in: say as whom, offer the way on and a way out, not an empty form.
      const user = await findUser(ctx.pool, session.sub);
      const continueTo = returnTo && returnTo.split('?')[0] !== loginPath ? returnTo : undefined;
      return showPage(koa, 200, signedInPage({ username: user?.username ?? session.sub, csrf: sessions.csrf(koa, session), ...(continueTo ? { continueTo } : {}) }));
    }
    return showPage(koa, 200, loginPage({ csrf: sessions.csrf(koa, undefined), returnTo: returnTo ?? loginPath }));
  });

  router.post('/oauth/login', async (koa) => {
    const params = await readForm(koa, ctx.config.bodyLimit);
    const returnTo = safeReturn(base, params.get('return_to')) ?? loginPath;
    if (!sessions.checkCsrf(koa, params.get('csrf'), undefined)) return refused(koa, 'Reload the page and try again.');
    // Guessing passwords is limited per address and per username, as at the token endpoint.
    const limitKeys = [`address:${koa.ip}`, `user:${params.get('username') ?? ''}`];
    try {
      ctx.limits.admit(limitKeys);
    } catch (error) {
      if (!(error instanceof TooManyRequests)) throw error;
      koa.set(error.headers);
      return showPage(koa, 429, loginPage({ csrf: sessions.csrf(koa, undefined), returnTo, error: `Too many failed sign-ins. Try again in ${error.headers['Retry-After']} seconds.`, username: params.get('username') ?? '' }));
    }
    const user = await checkLogin(ctx.pool, params.get('username') ?? '', params.get('password') ?? '');
    if (!user) {
      ctx.limits.failed(limitKeys);
      ctx.logger.info({ requestId: koa.state.requestId }, 'login failed');
      return showPage(koa, 401, loginPage({ csrf: sessions.csrf(koa, undefined), returnTo, error: 'Wrong username or password.', username: params.get('username') ?? '' }));
    }
    sessions.start(koa, user.userId);
    koa.set('Cache-Control', 'no-store');
    return koa.redirect(returnTo);
  });

  router.post('/oauth/logout', async (koa) => {
    const params = await readForm(koa, ctx.config.bodyLimit);
    const session = sessions.get(koa);
    if (session && !sessions.checkCsrf(koa, params.get('csrf'), session)) return refused(koa, 'Reload the page and try again.');
    sessions.end(koa);
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
