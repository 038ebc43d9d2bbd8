// RFC 8628: POST /oauth/device/code (§3.1) and the verification pages GET|POST /oauth/device (§3.3).

import type Router from '@koa/router';
import type { Context } from 'koa';
import { authenticateClient } from '../oauth/client-auth.js';
import type { WarrantContext } from '../oauth/context.js';
import { BUILT_IN_SCOPES } from '../oauth/scopes.js';
import { hasUnstorableText, truncate } from '../oauth/text.js';
import { decideDevice, findPending, requestDeviceCode } from '../oauth/device.js';
import { TooManyRequests } from '../oauth/rate-limit.js';
import { findUser } from '../users/directory.js';
import type { Authenticate, Sessions } from './session.js';
import { readForm } from './form.js';
import { loginUrl } from './login.js';
import { deviceCodePage, deviceConsentPage, errorPage, messagePage, showPage } from './pages.js';
import { actorOf, type RequestState } from './request-id.js';
import { check, deviceRequestSchema } from './schemas.js';

export function deviceEndpoints(router: Router<RequestState>, ctx: WarrantContext, sessions: Sessions, authenticate?: Authenticate): void {
  router.post('/oauth/device/code', async (koa) => {
    koa.set('Cache-Control', 'no-store');
    const params = await readForm(koa, ctx.config.bodyLimit);
    const body = check(deviceRequestSchema, params);
    const { client } = await authenticateClient(ctx, koa.get('authorization') || undefined, params, koa.ip, `${ctx.config.issuer}/oauth/device/code`);
    koa.body = await requestDeviceCode(ctx, { client, scope: body['scope'], actor: actorOf(koa, client.clientId) });
  });

  const loginFirst = (koa: Context, userCode: string | undefined) =>
    koa.redirect(loginUrl(ctx.config.issuer, `/oauth/device${userCode && !hasUnstorableText(userCode) ? `?user_code=${encodeURIComponent(userCode)}` : ''}`));

  router.get('/oauth/device', async (koa) => {
    const userCode = typeof koa.query['user_code'] === 'string' ? truncate(koa.query['user_code'], 20) : undefined;
    const signedIn = await sessions.signedIn(koa, authenticate);
    if (!signedIn) return loginFirst(koa, userCode);
    return showPage(koa, 200, deviceCodePage({ csrf: sessions.csrf(koa, signedIn.session), ...(userCode ? { userCode } : {}) }), 'self');
  });

  router.post('/oauth/device', async (koa) => {
    const params = await readForm(koa, ctx.config.bodyLimit);
    const userCode = truncate(params.get('user_code') ?? '', 20);
    const signedIn = await sessions.signedIn(koa, authenticate);
    if (!signedIn) return loginFirst(koa, userCode || undefined);
    const { subject, session } = signedIn;
    const csrf = sessions.csrf(koa, session);
    if (!sessions.checkCsrf(koa, params.get('csrf'), session)) {
      return showPage(koa, 403, errorPage('Request refused', 'The form expired or did not come from this site (missing or invalid CSRF token). Reload the page and try again.'), 'self');
    }
    // RFC 8628 §5.1: user codes are short, so guessing is limited per session and per address.
    const limitKeys = [`device:${session?.sid ?? subject}`, `address:${koa.ip}`];
    try {
      ctx.limits.admit(limitKeys);
    } catch (error) {
      if (!(error instanceof TooManyRequests)) throw error;
      koa.set(error.headers);
      return showPage(koa, 429, deviceCodePage({ csrf, userCode, error: `Too many wrong codes. Try again in ${error.headers['Retry-After']} seconds.` }), 'self');
    }
    const pending = await findPending(ctx, userCode);
    if (!pending) {
      await ctx.limits.failed(limitKeys);
      return showPage(koa, 400, deviceCodePage({ csrf, userCode, error: 'That code is not valid, or it has expired. Check the code on your device.' }), 'self');
    }
    const decision = params.get('decision');
    if (decision === 'approve' || decision === 'deny') {
      const done = await decideDevice(ctx, pending.deviceId, subject, decision === 'approve', session?.sid ?? null, actorOf(koa, subject));
      if (!done) return showPage(koa, 409, errorPage('Already handled', 'This code was already approved or denied.'), 'self');
      return showPage(koa, 200, decision === 'approve' ? messagePage('Device connected', 'You can return to your device.') : messagePage('Request denied', 'The device was not connected. You can close this page.'), 'self');
    }
    const client = await ctx.read.clients.find(pending.clientId);
    const user = await findUser(ctx.pool, subject);
    return showPage(koa, 200, deviceConsentPage({
      clientName: client?.name ?? 'An application',
      username: user?.username ?? subject,
      scopes: pending.scopes.map((scope) => ({ scope, description: ctx.config.scopes[scope] ?? BUILT_IN_SCOPES[scope] ?? '' })),
      csrf,
      userCode,
    }), 'self');
  });
}
