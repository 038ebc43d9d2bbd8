// "Sign in with Warrant": a small Koa app that signs people in through Warrant's OpenID Connect,
// with openid-client (authorization code + PKCE, nonce and state; userinfo; RP-initiated logout).
//
//   npx warrant client create --name "My App" --grant authorization_code \
//     --redirect-uri http://localhost:3000/callback --post-logout-redirect-uri http://localhost:3000/ --json
//   ISSUER=http://localhost:8080 CLIENT_ID=… CLIENT_SECRET=… node --import tsx examples/sign-in-with-warrant.ts
//
// Then open http://localhost:3000 and choose "Sign in with Warrant". Sessions here are a Map in
// memory to keep the example short; a real app keeps them in its own session store.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import * as openid from 'openid-client';

export interface SignInOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where this app is reached, e.g. http://localhost:3000. */
  appUrl: string;
  /** Development only: the issuer is plain http on localhost. */
  allowHttp?: boolean;
}

interface Visit {
  /** Between /login and /callback: what the callback must check. */
  pending?: { verifier: string; nonce: string; state: string };
  /** Once signed in: who, and the id token (for logout). */
  user?: { sub: string; name?: string; email?: string; idToken: string };
}

const escape = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function signInApp(options: SignInOptions): Promise<Koa> {
  const config = await openid.discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, options.allowHttp ? { execute: [openid.allowInsecureRequests] } : {});
  const redirectUri = `${options.appUrl}/callback`;
  const visits = new Map<string, Visit>();
  const visitOf = (ctx: Context): Visit => {
    let id = ctx.cookies.get('app_session');
    if (!id || !visits.has(id)) {
      id = randomBytes(32).toString('base64url');
      visits.set(id, {});
      ctx.cookies.set('app_session', id, { httpOnly: true, sameSite: 'lax' });
    }
    return visits.get(id)!;
  };

  const router = new Router();
  router.get('/', (ctx) => {
    const { user } = visitOf(ctx);
    ctx.type = 'html';
    ctx.body = user
      ? `<h1>Hello, ${escape(user.name ?? user.sub)}</h1><p>${escape(user.email ?? '')}</p><p><a href="/logout">Sign out</a></p>`
      : '<h1>Welcome</h1><p><a href="/login">Sign in with Warrant</a></p>';
  });

  router.get('/login', async (ctx) => {
    const pending = { verifier: openid.randomPKCECodeVerifier(), nonce: openid.randomNonce(), state: openid.randomState() };
    visitOf(ctx).pending = pending;
    const url = openid.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await openid.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      nonce: pending.nonce,
      state: pending.state,
    });
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    const visit = visitOf(ctx);
    const pending = visit.pending;
    if (!pending) {
      ctx.status = 400;
      ctx.body = 'No sign-in in progress: start again from the home page.';
      return;
    }
    delete visit.pending;
    const tokens = await openid.authorizationCodeGrant(config, new URL(ctx.href), {
      pkceCodeVerifier: pending.verifier,
      expectedNonce: pending.nonce,
      expectedState: pending.state,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    const info = await openid.fetchUserInfo(config, tokens.access_token, claims.sub);
    visit.user = { sub: claims.sub, idToken: tokens.id_token!, ...(typeof info.name === 'string' ? { name: info.name } : {}), ...(typeof info.email === 'string' ? { email: info.email } : {}) };
    ctx.redirect('/');
  });

  router.get('/logout', (ctx) => {
    const visit = visitOf(ctx);
    const idToken = visit.user?.idToken;
    delete visit.user;
    // Ends the Warrant session too, and comes back here.
    ctx.redirect(idToken ? openid.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${options.appUrl}/` }).href : '/');
  });

  const app = new Koa();
  app.use(router.routes());
  return app;
}

// Run directly: the app on PORT (default 3000).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.env['PORT'] ?? 3000);
  const issuer = process.env['ISSUER'] ?? 'http://localhost:8080';
  const app = await signInApp({
    issuer,
    clientId: process.env['CLIENT_ID'] ?? '',
    clientSecret: process.env['CLIENT_SECRET'] ?? '',
    appUrl: `http://localhost:${port}`,
    allowHttp: issuer.startsWith('http://localhost'),
  });
  http.createServer(app.callback()).listen(port, () => process.stdout.write(`http://localhost:${port}\n`));
}
