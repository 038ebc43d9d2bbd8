// /oauth/personal-access-tokens for the signed-in user (session cookie, or the host app's
// `authenticate`). Mutations need the JSON content type (a cross-site form cannot send it without
// a CORS preflight) and the X-CSRF-Token from the list response.

import type Router from '@koa/router';
import type { Context } from 'koa';
import { isUuid } from '../oauth/text.js';
import type { WarrantContext } from '../oauth/context.js';
import { NotFound, OAuthError } from '../oauth/errors.js';
import { createPersonalToken, listPersonalTokens, revokePersonalToken } from '../oauth/grants/personal-access.js';
import type { Authenticate, Sessions, SignedIn } from './session.js';
import { readJson } from './json.js';
import { actorOf, type RequestState } from './request-id.js';
import { checkJson, personalTokenSchema, type PersonalTokenRequest } from './schemas.js';

const PERSONAL_TOKEN_SHAPE = 'send {"name": "…", "scopes": ["a", "b"]} (Passport style) or {"name": "…", "scope": "a b"}';

export function personalTokensApi(router: Router<RequestState>, ctx: WarrantContext, sessions: Sessions, authenticate?: Authenticate): void {
  async function user(koa: Context, mutating: boolean): Promise<SignedIn> {
    const signedIn = await sessions.signedIn(koa, authenticate);
    if (!signedIn) throw new OAuthError(401, 'access_denied', 'sign in first');
    if (mutating && !sessions.checkCsrf(koa, koa.get('x-csrf-token') || undefined, signedIn.session)) {
      throw new OAuthError(403, 'access_denied', 'missing or invalid X-CSRF-Token');
    }
    return signedIn;
  }

  router.get('/oauth/personal-access-tokens', async (koa) => {
    const { subject, session } = await user(koa, false);
    koa.set('Cache-Control', 'no-store');
    koa.body = { tokens: await listPersonalTokens(ctx, subject), csrf_token: sessions.csrf(koa, session) };
  });

  router.post('/oauth/personal-access-tokens', async (koa) => {
    const { subject } = await user(koa, true);
    const body = checkJson<PersonalTokenRequest>(personalTokenSchema, await readJson(koa, ctx.config.bodyLimit), PERSONAL_TOKEN_SHAPE);
    koa.status = 201;
    koa.set('Cache-Control', 'no-store');
    koa.body = await createPersonalToken(ctx, { subject, name: body.name, scopes: body.scopes ?? (body.scope === undefined ? [] : body.scope.split(' ').filter(Boolean)), actor: actorOf(koa, subject) });
  });

  router.delete('/oauth/personal-access-tokens/:id', async (koa) => {
    const { subject } = await user(koa, true);
    const id = koa.params['id']!;
    if (!isUuid(id)) throw new NotFound('no such personal access token');
    await revokePersonalToken(ctx, subject, id, actorOf(koa, subject));
    koa.status = 204;
  });
}
