// GET|POST /oauth/authorize with login and consent, at the HTTP level (the browser test is
// authorize-browser.test.ts): every error case, code exchange and refresh with oauth4webapi.

import { expect } from 'chai';
import * as oauth from 'oauth4webapi';
import { createUser } from '../../src/users/directory.js';
import { Browser, field } from '../support/browser-session.js';
import { insecure, startTestServer, type TestServer } from '../support/server.js';


describe('GET|POST /oauth/authorize (authorization code + PKCE)', function () {
  this.timeout(60_000);
  const redirectUri = 'https://app.example/callback';
  let server: TestServer;
  let user: { userId: string };
  let spa: { id: string; client: oauth.Client };
  let web: { id: string; secret: string; client: oauth.Client };

  before(async () => {
    server = await startTestServer({ config: { scopes: { 'notes:read': 'Read your notes' } } });
    user = await createUser(server.auth.pool, 'ivy', 'correct horse battery');
    const registeredSpa = await server.client({ name: 'Notes SPA', confidential: false, grantTypes: ['authorization_code', 'refresh_token'], scopes: ['notes:read', 'profile'], redirectUris: [redirectUri] });
    spa = { id: registeredSpa.id, client: { client_id: registeredSpa.id, token_endpoint_auth_method: 'none' } };
    web = await server.client({ name: 'Web app', grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri, 'https://app.example/other'] });
  });
  after(async () => {
    await server.stop();
  });

  const authorizeUrl = (params: Record<string, string | undefined>) => {
    const url = new URL(`${server.url}/oauth/authorize`);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    return url.toString();
  };

  async function signIn(browser: Browser, returnTo: string) {
    const login = await browser.go(returnTo);
    expect(login.status).to.equal(200);
    const csrf = field(login.html, 'csrf')!;
    const done = await browser.post('/oauth/login', { username: 'ivy', password: 'correct horse battery', csrf, return_to: field(login.html, 'return_to')! });
    expect(done.status).to.equal(302);
    return done.location!;
  }

  async function codeFor(client: { id: string }, extra: Record<string, string> = {}) {
    const verifier = oauth.generateRandomCodeVerifier();
    const browser = new Browser(server.url);
    const first = await browser.go(authorizeUrl({ response_type: 'code', client_id: client.id, redirect_uri: redirectUri, scope: 'notes:read', state: 'xyz', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra }));
    expect(first.status).to.equal(302);
    const back = await signIn(browser, first.location!);
    let page = await browser.go(back);
    if (page.status === 200) {
      page = await browser.post('/oauth/authorize', { ...Object.fromEntries(['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'csrf'].map((k) => [k, field(page.html, k) ?? ''])), decision: 'approve' });
    }
    expect(page.status).to.equal(302);
    return { verifier, location: new URL(page.location!), browser };
  }

  it('errors before the redirect URI is trusted are shown on a page, never redirected', async () => {
    const browser = new Browser(server.url);
    for (const params of [
      { response_type: 'code', client_id: spa.id, redirect_uri: 'https://evil.example/callback' },
      { response_type: 'code', client_id: spa.id, redirect_uri: `${redirectUri}/extra` },
      { response_type: 'code', client_id: spa.id, redirect_uri: redirectUri.toUpperCase() },
      { response_type: 'code', client_id: spa.id, redirect_uri: `${redirectUri}#frag` },
      { response_type: 'code', client_id: spa.id, redirect_uri: 'https://user@app.example/callback' },
      { response_type: 'code', client_id: web.id }, // two registered: must name one
      { response_type: 'code', client_id: '00000000-0000-4000-8000-000000000000', redirect_uri: redirectUri },
      { response_type: 'code' },
    ]) {
      const res = await browser.go(authorizeUrl(params));
      expect(res.status, JSON.stringify(params)).to.equal(400);
      expect(res.location, JSON.stringify(params)).to.equal(null);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
    }
  });

  it('other errors go back to the client with error, state and iss (RFC 6749 §4.1.2.1, RFC 9207)', async () => {
    const browser = new Browser(server.url);
    const cases: [Record<string, string>, string][] = [
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ code_challenge_method: 'S256' }, 'invalid_request'], // method without challenge
      [{}, 'invalid_request'], // public client without PKCE
      [{ code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }, 'invalid_request'], // plain by default
      [{ code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request'],
      [{ code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', scope: 'admin' }, 'invalid_scope'],
      [{ code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', resource: 'https://payments.example/' }, 'invalid_target'],
    ];
    for (const [params, error] of cases) {
      const res = await browser.go(authorizeUrl({ response_type: 'code', client_id: spa.id, redirect_uri: redirectUri, state: 's1', ...params }));
      expect(res.status, JSON.stringify(params)).to.equal(302);
      const location = new URL(res.location!);
      expect(location.origin + location.pathname).to.equal(redirectUri);
      expect(location.searchParams.get('error'), JSON.stringify(params)).to.equal(error);
      expect(location.searchParams.get('state')).to.equal('s1');
      expect(location.searchParams.get('iss')).to.equal(server.url);
    }
  });

  it('signs in (CSRF-protected form, signed HttpOnly SameSite=Lax cookie), shows consent with scope descriptions, and issues a code', async () => {
    const browser = new Browser(server.url);
    const verifier = oauth.generateRandomCodeVerifier();
    const first = await browser.go(authorizeUrl({ response_type: 'code', client_id: spa.id, redirect_uri: redirectUri, scope: 'notes:read', state: 'abc', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }));
    expect(first.location).to.match(/^\/oauth\/login\?return_to=/);
    const login = await browser.go(first.location!);
    expect(login.html).to.contain('<label for="username">').and.to.contain('<label for="password">');
    const noCsrf = await browser.post('/oauth/login', { username: 'ivy', password: 'correct horse battery', return_to: field(login.html, 'return_to')! });
    expect(noCsrf.status).to.equal(403);
    expect(browser.cookies.has('warrant_session')).to.equal(false);
    const wrong = await browser.post('/oauth/login', { username: 'ivy', password: 'nope', csrf: field(login.html, 'csrf')!, return_to: field(login.html, 'return_to')! });
    expect(wrong.status).to.equal(401);
    expect(wrong.html).to.contain('Wrong username or password');
    const ok = await browser.post('/oauth/login', { username: 'ivy', password: 'correct horse battery', csrf: field(login.html, 'csrf')!, return_to: field(login.html, 'return_to')! });
    expect(ok.status).to.equal(302);
    const setCookie = ok.headers.getSetCookie().find((c) => c.startsWith('warrant_session='))!;
    expect(setCookie).to.contain('HttpOnly').and.to.contain('SameSite=Lax');

    const consent = await browser.go(ok.location!);
    expect(consent.status).to.equal(200);
    expect(consent.html).to.contain('Authorize Notes SPA').and.to.contain('notes:read').and.to.contain('Read your notes');
    const fields = Object.fromEntries(['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'csrf'].map((k) => [k, field(consent.html, k) ?? '']));
    const forged = await browser.post('/oauth/authorize', { ...fields, csrf: '', decision: 'approve' });
    expect(forged.status).to.equal(403);
    const approved = await browser.post('/oauth/authorize', { ...fields, decision: 'approve' });
    const location = new URL(approved.location!);
    expect(location.searchParams.get('code')).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('state')).to.equal('abc');

    // Exchange and refresh with oauth4webapi (a public client: PKCE, no secret).
    const params = oauth.validateAuthResponse(server.as, spa.client, location, 'abc');
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, spa.client, await oauth.authorizationCodeGrantRequest(server.as, spa.client, oauth.None(), params, redirectUri, verifier, insecure));
    expect(tokens.scope).to.equal('notes:read');
    expect(tokens.refresh_token).to.be.a('string');
    const request = new Request('https://api', { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await oauth.validateJwtAccessToken(server.as, request, server.url, insecure)).to.include({ sub: user.userId, client_id: spa.id });
    const refreshed = await oauth.processRefreshTokenResponse(server.as, spa.client, await oauth.refreshTokenGrantRequest(server.as, spa.client, oauth.None(), tokens.refresh_token!, insecure));
    expect(refreshed.access_token).to.be.a('string');

    // The audit history shows the grant type and the subject.
    const history = (await server.auth.store.readAll({ filter: { types: ['TokenIssued'], data: { clientId: spa.id } } })).at(-1)!;
    expect(history.data).to.include({ grantType: 'authorization_code', subject: user.userId });

    // Consent is remembered: the next request goes straight back with a code.
    const again = await browser.go(authorizeUrl({ response_type: 'code', client_id: spa.id, redirect_uri: redirectUri, scope: 'notes:read', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }));
    expect(again.status).to.equal(302);
    expect(new URL(again.location!).searchParams.get('code')).to.be.a('string');
  });

  it('denied consent goes back with access_denied', async () => {
    const browser = new Browser(server.url);
    const verifier = oauth.generateRandomCodeVerifier();
    const first = await browser.go(authorizeUrl({ response_type: 'code', client_id: spa.id, redirect_uri: redirectUri, scope: 'profile', state: 'd', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }));
    const consent = await browser.go(await signIn(browser, first.location!));
    const fields = Object.fromEntries(['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'csrf'].map((k) => [k, field(consent.html, k) ?? '']));
    const denied = await browser.post('/oauth/authorize', { ...fields, decision: 'deny' });
    const location = new URL(denied.location!);
    expect(location.searchParams.get('error')).to.equal('access_denied');
    expect(location.searchParams.get('state')).to.equal('d');
  });

  it('a replayed code is refused and the tokens issued from it are revoked', async () => {
    const { verifier, location } = await codeFor(spa);
    const code = location.searchParams.get('code')!;
    const form = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: spa.id };
    const first = await fetch(`${server.url}/oauth/token`, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const tokens = (await first.json()) as { access_token: string };
    expect(first.status).to.equal(200);
    const replay = await fetch(`${server.url}/oauth/token`, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(replay.status).to.equal(400);
    expect(((await replay.json()) as { error: string }).error).to.equal('invalid_grant');
    const refused = await server.auth.policy.authenticate(`Bearer ${tokens.access_token}`).then(() => undefined, (error: { error: string; description: string }) => error);
    expect(refused).to.include({ error: 'invalid_token', description: 'the access token was revoked' });
  });

  it('refuses a wrong or missing code_verifier, a wrong redirect_uri and another client (invalid_grant)', async () => {
    for (const change of [{ code_verifier: oauth.generateRandomCodeVerifier() }, { code_verifier: undefined }, { redirect_uri: 'https://app.example/other' }]) {
      const { verifier, location } = await codeFor(spa);
      const form: Record<string, string> = { grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier, client_id: spa.id };
      for (const [k, v] of Object.entries(change)) {
        if (v === undefined) delete form[k];
        else form[k] = v;
      }
      const res = await fetch(`${server.url}/oauth/token`, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.status, JSON.stringify(change)).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.equal('invalid_grant');
    }
    // A code is bound to its client: another (authenticated) client cannot redeem it.
    const { verifier, location } = await codeFor(spa);
    const stolen = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier, client_id: web.id, client_secret: web.secret }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(stolen.status).to.equal(400);
    expect(((await stolen.json()) as { error: string }).error).to.equal('invalid_grant');
  });

  it('a client with one registered redirect URI may omit redirect_uri at both steps (RFC 6749 §4.1.3)', async () => {
    const { verifier, location } = await codeFor(spa, { redirect_uri: '' });
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: location.searchParams.get('code')!, code_verifier: verifier, client_id: spa.id }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).to.equal(200);
  });

  it('an expired code is refused', async () => {
    const quick = await startTestServer({ config: { authorizationCodeTtl: 1 } });
    try {
      const app = await quick.client({ confidential: false, grantTypes: ['authorization_code'], scopes: [], redirectUris: [redirectUri], firstParty: true });
      await createUser(quick.auth.pool, 'ivy', 'correct horse battery');
      const browser = new Browser(quick.url);
      const verifier = oauth.generateRandomCodeVerifier();
      const first = await browser.go(`${quick.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.id, redirect_uri: redirectUri, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })}`);
      const login = await browser.go(first.location!);
      const back = await browser.post('/oauth/login', { username: 'ivy', password: 'correct horse battery', csrf: field(login.html, 'csrf')!, return_to: field(login.html, 'return_to')! });
      const redirected = await browser.go(back.location!); // first party: no consent page
      const code = new URL(redirected.location!).searchParams.get('code')!;
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const res = await fetch(`${quick.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: app.id }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.equal('invalid_grant');
    } finally {
      await quick.stop();
    }
  });

  it('the login page shows who is signed in with a sign-out button; consent offers "not you? sign out", which comes back to the same request', async () => {
    const browser = new Browser(server.url);
    const verifier = oauth.generateRandomCodeVerifier();
    const fresh = await server.client({ name: 'Fresh app', confidential: false, grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri] });
    const request = authorizeUrl({ response_type: 'code', client_id: fresh.id, redirect_uri: redirectUri, scope: 'notes:read', state: 'nu', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const first = await browser.go(request);
    await signIn(browser, first.location!);

    const signedIn = await browser.go('/oauth/login');
    expect(signedIn.status).to.equal(200);
    expect(signedIn.html).to.contain('signed in as <strong>ivy</strong>').and.not.to.contain('<label for="password">');
    expect(signedIn.html).to.match(/<form method="post" action="logout"[^>]*>.*name="csrf".*Sign out<\/button>/s);

    const consent = await browser.go(request);
    expect(consent.html).to.contain('Not ivy?');
    const signOut = /<form method="post" action="logout"[^>]*>(.*?)<\/form>/s.exec(consent.html)![1]!;
    const returnTo = field(signOut, 'return_to')!;
    expect(returnTo).to.match(/^\/oauth\/authorize\?/);
    expect(new URL(returnTo, server.url).searchParams.get('state')).to.equal('nu');

    // Without the CSRF token the session survives.
    expect((await browser.post('/oauth/logout', { return_to: returnTo })).status).to.equal(403);
    expect((await browser.go('/oauth/login')).html).to.contain('signed in as');

    const out = await browser.post('/oauth/logout', { csrf: field(signOut, 'csrf')!, return_to: returnTo });
    expect(out.status).to.equal(302);
    expect(out.location).to.equal(returnTo);
    expect(browser.cookies.has('warrant_session')).to.equal(false);
    // Back at the request, nobody is signed in: to the login page, and then back to the same request.
    const again = await browser.go(out.location!);
    expect(again.status).to.equal(302);
    expect(again.location).to.match(/^\/oauth\/login\?return_to=/);
    expect((await browser.go('/oauth/login')).html).to.contain('<label for="password">');
    // A sign-out never sends anyone off the server.
    const csrf = field((await browser.go(first.location!)).html, 'csrf')!;
    expect((await browser.post('/oauth/logout', { csrf, return_to: 'https://evil.example/' })).location).to.equal('/oauth/login');
  });

  it('library use: createAuthServer({ authenticate }) takes the signed-in user from the host app, with no Warrant login', async () => {
    // The host app's own session, here a header its (imaginary) session middleware would set.
    const host = await startTestServer({ authenticate: (koa) => koa.get('x-host-user') || undefined });
    try {
      const app = await host.client({ confidential: false, grantTypes: ['authorization_code'], scopes: [], redirectUris: [redirectUri], firstParty: true });
      const verifier = oauth.generateRandomCodeVerifier();
      const url = `${host.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.id, redirect_uri: redirectUri, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })}`;
      const anonymous = await fetch(url, { redirect: 'manual' });
      expect(anonymous.status).to.equal(401);
      const signedIn = await fetch(url, { redirect: 'manual', headers: { 'x-host-user': 'host-user-7' } });
      expect(signedIn.status).to.equal(302);
      const code = new URL(signedIn.headers.get('location')!).searchParams.get('code')!;
      const token = await fetch(`${host.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: app.id }) });
      const body = (await token.json()) as { access_token: string };
      expect((await host.auth.policy.authenticate(`Bearer ${body.access_token}`)).subject).to.equal('host-user-7');

      // The consent form is CSRF-protected in library mode too: the host's cookie alone approves nothing.
      const third = await host.client({ confidential: false, grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [redirectUri] });
      const forged = await fetch(`${host.url}/oauth/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'x-host-user': 'host-user-7', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ response_type: 'code', client_id: third.id, redirect_uri: redirectUri, scope: 'read', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', decision: 'approve' }),
      });
      expect(forged.status).to.equal(403);
      expect(forged.headers.get('location')).to.equal(null);
    } finally {
      await host.stop();
    }
  });

  /** The sources of one CSP directive. */
  const cspSources = (headers: Headers, directive: string) =>
    (headers.get('content-security-policy') ?? '').split(';').map((d) => d.trim().split(/\s+/)).find(([name]) => name === directive)?.slice(1);

  it('every page sends X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer; device pages post only to this server', async () => {
    const fresh = await server.client({ name: 'Headers app', grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri] });
    const browser = new Browser(server.url);
    const pages = [await browser.go(authorizeUrl({ response_type: 'code', client_id: '00000000-0000-4000-8000-000000000000', redirect_uri: redirectUri }))]; // an error page
    const first = await browser.go(authorizeUrl({ response_type: 'code', client_id: fresh.id, redirect_uri: redirectUri, scope: 'notes:read' }));
    pages.push(await browser.go(first.location!)); // the login page
    const back = await signIn(browser, first.location!);
    pages.push(await browser.go(back), await browser.go('/oauth/login')); // consent, "signed in as"
    const device = await browser.go('/oauth/device');
    const unknownCode = await browser.post('/oauth/device', { csrf: field(device.html, 'csrf')!, user_code: 'BCDF-GHJK' });
    expect(unknownCode.status).to.equal(400);
    pages.push(device, unknownCode);
    for (const page of pages) {
      expect(page.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect(page.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(page.headers.get('referrer-policy')).to.equal('no-referrer');
    }
    // The device flow never redirects a browser elsewhere: its forms stay on this server.
    expect(cspSources(device.headers, 'form-action')).to.deep.equal(["'self'"]);
    expect(cspSources(unknownCode.headers, 'form-action')).to.deep.equal(["'self'"]);
  });

  it("the consent page's CSP form-action allows this server and the one redirect URI's origin (or a native app's private-use scheme), not every http: and https: origin", async () => {
    const native = 'com.example.notes:/oauth2redirect';
    const loopback = 'http://127.0.0.1:53682/callback';
    const loopbackV6 = 'http://[::1]:8080/callback';
    const app = await server.client({ name: 'Notes native', confidential: false, grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [native, loopback, loopbackV6, 'https://app.example:8443/cb'] });
    const browser = new Browser(server.url);
    const request = (uri: string, challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM') =>
      authorizeUrl({ response_type: 'code', client_id: app.id, redirect_uri: uri, scope: 'notes:read', state: 'n1', code_challenge: challenge, code_challenge_method: 'S256' });
    await signIn(browser, (await browser.go(request(native))).location!);
    const expected: [string, string][] = [
      [native, 'com.example.notes:'],
      [loopback, 'http://127.0.0.1:53682'],
      [loopbackV6, 'http://*:8080'], // a CSP host source cannot name an IPv6 literal (CSP3 §2.3.1)
      ['https://app.example:8443/cb', 'https://app.example:8443'],
    ];
    for (const [uri, source] of expected) {
      const consent = await browser.go(request(uri));
      expect(consent.status, uri).to.equal(200);
      expect(cspSources(consent.headers, 'form-action'), uri).to.deep.equal(["'self'", source]);
    }
    const webApp = await server.client({ name: 'Web app 2', grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri] });
    const webConsent = await browser.go(authorizeUrl({ response_type: 'code', client_id: webApp.id, redirect_uri: redirectUri, scope: 'notes:read' }));
    expect(webConsent.status).to.equal(200);
    expect(cspSources(webConsent.headers, 'form-action')).to.deep.equal(["'self'", 'https://app.example']);

    // Approving sends the browser to the private-use scheme, which that form-action allows.
    const consent = await browser.go(request(native));
    const approved = await browser.post('/oauth/authorize', { ...Object.fromEntries(['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'csrf'].map((k) => [k, field(consent.html, k) ?? ''])), decision: 'approve' });
    expect(approved.status).to.equal(302);
    expect(approved.location).to.match(/^com\.example\.notes:\/oauth2redirect\?code=[A-Za-z0-9_-]{43}&/);
  });

  it('the sign-in page allows exactly the resumed request\'s registered redirect in form-action; any other page only this server', async () => {
    const native = 'com.example.tasks:/cb';
    const app = await server.client({ name: 'Tasks native', confidential: false, grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [native] });
    const browser = new Browser(server.url);
    const first = await browser.go(authorizeUrl({ response_type: 'code', client_id: app.id, redirect_uri: native, scope: 'notes:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }));
    const login = await browser.go(first.location!);
    expect(cspSources(login.headers, 'form-action')).to.deep.equal(["'self'", 'com.example.tasks:']);
    // A return_to naming an unregistered redirect gets nothing extra.
    const forged = await browser.go(`/oauth/login?return_to=${encodeURIComponent(`/oauth/authorize?client_id=${app.id}&redirect_uri=evil.example:/x`)}`);
    expect(cspSources(forged.headers, 'form-action')).to.deep.equal(["'self'"]);
    expect(cspSources((await browser.go('/oauth/login')).headers, 'form-action')).to.deep.equal(["'self'"]);
  });
});
