// OpenID Connect at the HTTP level (issue 16): discovery, id tokens through oauth4webapi (nonce,
// at_hash, auth_time, sid), refresh, userinfo by scope and its refusals, prompt / max_age /
// login_hint, RP-initiated logout and its refusals, the events and the audit. The same flows in
// real Chromium, and with openid-client, are in oidc-browser.test.ts.

import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import { createUser } from '../../src/users/directory.js';
import { Browser, field, signIn } from '../support/browser-session.js';
import { basic, insecure, postForm, startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'a long enough password';

describe('OpenID Connect', function () {
  this.timeout(60_000);
  const redirectUri = 'https://rp.example/cb';
  const afterLogout = 'https://rp.example/signed-out';
  let server: TestServer;
  let as: oauth.AuthorizationServer;
  let rp: { id: string; secret: string };
  let client: oauth.Client;
  let user: { userId: string };
  let auditor: string;

  before(async () => {
    server = await startTestServer({ config: { scopes: { 'notes:read': 'Read your notes' } } });
    const issuer = new URL(server.url);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
    user = await createUser(server.auth.pool, 'ada', PASSWORD, { email: 'ada@example.com', emailVerified: true, name: 'Ada Lovelace' });
    rp = await server.client({ name: 'Relying Party', grantTypes: ['authorization_code', 'refresh_token'], scopes: ['notes:read'], redirectUris: [redirectUri], postLogoutRedirectUris: [afterLogout] });
    client = { client_id: rp.id };
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
    auditor = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(ops.id, ops.secret) })).body.access_token;
  });
  after(async () => {
    await server?.stop();
  });

  /** GET /oauth/authorize with PKCE and a nonce; the extra parameters win. */
  async function authorize(browser: Browser, extra: Record<string, string> = {}) {
    const verifier = oauth.generateRandomCodeVerifier();
    const nonce = oauth.generateRandomNonce();
    const state = oauth.generateRandomState();
    const query = new URLSearchParams({
      response_type: 'code', client_id: rp.id, redirect_uri: redirectUri, scope: 'openid profile email notes:read', state, nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    });
    const page = await browser.go(`/oauth/authorize?${query.toString()}`);
    return { page, verifier, nonce, state: extra['state'] ?? state };
  }

  async function approve(browser: Browser, html: string) {
    const form = /<form method="post" action="authorize">(.*?)<\/form>/s.exec(html)![1]!;
    const fields = Object.fromEntries([...form.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    return browser.post('/oauth/authorize', { ...fields, decision: 'approve' });
  }

  /** Signs in, authorizes (approving when asked), and redeems the code with oauth4webapi. */
  async function signInWithOidc(browser: Browser, extra: Record<string, string> = {}) {
    if (!browser.cookies.has('warrant_session')) await signIn(server.url, 'ada', PASSWORD, browser);
    const { page, verifier, nonce, state } = await authorize(browser, extra);
    const landed = page.status === 200 ? await approve(browser, page.html) : page;
    expect(landed.status, landed.html).to.equal(302);
    const params = oauth.validateAuthResponse(as, client, new URL(landed.location!), state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretPost(rp.secret), params, redirectUri, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
    return { tokens, nonce };
  }

  it('publishes one metadata document at both well-known addresses, with the OpenID Connect fields', async () => {
    const oidc = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json() as any;
    const rfc8414 = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json();
    expect(oidc).to.deep.equal(rfc8414);
    expect(oidc).to.include({ issuer: server.url, userinfo_endpoint: `${server.url}/oauth/userinfo`, end_session_endpoint: `${server.url}/oauth/end_session` });
    expect(oidc.id_token_signing_alg_values_supported[0]).to.equal('ES256');
    expect(oidc.subject_types_supported).to.deep.equal(['public']);
    expect(oidc.scopes_supported).to.include.members(['openid', 'profile', 'email', 'notes:read']);
    expect(oidc.claims_supported).to.include.members(['sub', 'name', 'preferred_username', 'email', 'email_verified', 'auth_time', 'nonce']);
    expect(oidc.response_types_supported).to.deep.equal(['code']);
    expect(oidc.code_challenge_methods_supported).to.deep.equal(['S256']);
    expect(oidc.token_endpoint_auth_methods_supported).to.include('private_key_jwt');
    expect(oidc.token_endpoint_auth_signing_alg_values_supported).to.include('ES256').and.not.include('HS256');
    // oauth4webapi accepted it as OIDC discovery (issuer matched) in before().
    expect(as.userinfo_endpoint).to.equal(`${server.url}/oauth/userinfo`);
  });

  it('issues an id token with iss, sub, aud, exp, iat, auth_time, nonce, at_hash and sid, signed with the active key; oauth4webapi validates it', async () => {
    const browser = new Browser(server.url);
    const before = Math.floor(Date.now() / 1000);
    await signIn(server.url, 'ada', PASSWORD, browser);
    const { tokens, nonce } = await signInWithOidc(browser);
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    expect(claims).to.include({ iss: server.url, sub: user.userId, aud: rp.id, nonce });
    expect(claims.auth_time).to.be.a('number').within(before - 1, Math.floor(Date.now() / 1000));
    expect(claims.exp - claims.iat).to.equal(3600);
    expect(claims['sid']).to.be.a('string');
    // at_hash (OIDC Core §3.1.3.6): the left half of SHA-256 of the access token, for ES256.
    const digest = createHash('sha256').update(tokens.access_token).digest();
    expect(claims['at_hash']).to.equal(digest.subarray(0, 16).toString('base64url'));
    // Same sub as the access token; the id token says nothing about profile or email (userinfo does).
    expect(decodeJwt(tokens.access_token).sub).to.equal(claims.sub);
    expect(claims).not.to.have.any.keys('email', 'name');
    const header = decodeProtectedHeader(tokens.id_token!);
    const jwks = await (await fetch(`${server.url}/oauth/jwks`)).json() as any;
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).to.include(header.kid);
    expect(header).to.include({ alg: 'ES256', typ: 'JWT' });
  });

  it('a refresh keeps openid and brings a new id token about the same sign-in (same sub and auth_time, new at_hash, no nonce)', async () => {
    const browser = new Browser(server.url);
    const { tokens } = await signInWithOidc(browser);
    const first = oauth.getValidatedIdTokenClaims(tokens)!;
    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretPost(rp.secret), tokens.refresh_token!, insecure));
    expect(refreshed.scope?.split(' ')).to.include('openid');
    const again = oauth.getValidatedIdTokenClaims(refreshed)!;
    expect(again).to.include({ sub: first.sub, aud: rp.id, auth_time: first.auth_time, sid: first['sid'] });
    expect(again).not.to.have.property('nonce');
    expect(again['at_hash']).not.to.equal(first['at_hash']);
    // Narrowing the scope without openid: no id token.
    const narrowed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token!, scope: 'notes:read' }, { authorization: basic(rp.id, rp.secret) });
    expect(narrowed.status).to.equal(200);
    expect(narrowed.body).not.to.have.property('id_token');
  });

  it('userinfo answers sub and the claims the scopes release (oauth4webapi processUserInfoResponse), by GET and POST', async () => {
    const browser = new Browser(server.url);
    const { tokens } = await signInWithOidc(browser);
    const info = await oauth.processUserInfoResponse(as, client, user.userId, await oauth.userInfoRequest(as, client, tokens.access_token, insecure));
    expect(info).to.deep.equal({ sub: user.userId, name: 'Ada Lovelace', preferred_username: 'ada', email: 'ada@example.com', email_verified: true });
    const posted = await fetch(`${server.url}/oauth/userinfo`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(posted.status).to.equal(200);
    expect(posted.headers.get('cache-control')).to.equal('no-store');
    expect(await posted.json()).to.deep.equal(info);

    // Only openid: sub alone. Only profile: no email.
    const bare = await signInWithOidc(browser, { scope: 'openid' });
    expect(await (await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${bare.tokens.access_token}` } })).json()).to.deep.equal({ sub: user.userId });
    const profile = await signInWithOidc(browser, { scope: 'openid profile' });
    expect(await (await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${profile.tokens.access_token}` } })).json()).to.deep.equal({ sub: user.userId, name: 'Ada Lovelace', preferred_username: 'ada' });
  });

  it('userinfo refuses: no token 401, a token without openid 403 insufficient_scope, a revoked token 401 invalid_token', async () => {
    const none = await fetch(`${server.url}/oauth/userinfo`);
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer /);

    const browser = new Browser(server.url);
    await signIn(server.url, 'ada', PASSWORD, browser);
    const { page, verifier, state } = await authorize(browser, { scope: 'notes:read' });
    const landed = page.status === 200 ? await approve(browser, page.html) : page;
    const params = oauth.validateAuthResponse(as, client, new URL(landed.location!), state);
    const plain = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretPost(rp.secret), params, redirectUri, verifier, insecure));
    expect(plain).not.to.have.property('id_token');
    const scoped = await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${plain.access_token}` } });
    expect(scoped.status).to.equal(403);
    expect(scoped.headers.get('www-authenticate')).to.contain('error="insufficient_scope"').and.to.contain('scope="openid"');
    expect(((await scoped.json()) as any).error).to.equal('insufficient_scope');

    const { tokens } = await signInWithOidc(browser);
    expect((await postForm(`${server.url}/oauth/revoke`, { token: tokens.access_token }, { authorization: basic(rp.id, rp.secret) })).status).to.equal(200);
    const revoked = await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(revoked.status).to.equal(401);
    expect(revoked.headers.get('www-authenticate')).to.contain('error="invalid_token"');
  });

  it('prompt=none: login_required without a session, consent_required without consent, a code with both — as redirects with state and iss', async () => {
    const anonymous = new Browser(server.url);
    const noSession = await authorize(anonymous, { prompt: 'none', state: 's1' });
    expect(noSession.page.status).to.equal(302);
    const one = new URL(noSession.page.location!);
    expect(one.origin + one.pathname).to.equal(redirectUri);
    expect(Object.fromEntries(one.searchParams)).to.include({ error: 'login_required', state: 's1', iss: server.url });

    await createUser(server.auth.pool, 'bea', PASSWORD);
    const bea = new Browser(server.url);
    await signIn(server.url, 'bea', PASSWORD, bea);
    const noConsent = await authorize(bea, { prompt: 'none', state: 's2' });
    expect(Object.fromEntries(new URL(noConsent.page.location!).searchParams)).to.include({ error: 'consent_required', state: 's2', iss: server.url });
    // After consenting once, prompt=none gets a code without any page.
    const shown = await authorize(bea);
    expect(shown.page.status).to.equal(200);
    await approve(bea, shown.page.html);
    const silent = await authorize(bea, { prompt: 'none', state: 's3' });
    const three = new URL(silent.page.location!);
    expect(three.searchParams.get('code')).to.be.a('string');
    expect(three.searchParams.get('state')).to.equal('s3');
    // prompt=consent asks again even so.
    expect((await authorize(bea, { prompt: 'consent' })).page.status).to.equal(200);
  });

  it('prompt=login and max_age=0 force the sign-in form even right after signing in; the resumed request then gets a code with a fresh auth_time', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'ada', PASSWORD, browser);
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      const { page, verifier, nonce, state } = await authorize(browser, extra);
      expect(page.status, JSON.stringify(extra)).to.equal(302);
      const login = new URL(page.location!, server.url);
      expect(login.pathname).to.equal('/oauth/login');
      expect(login.searchParams.get('prompt')).to.equal('login');
      // The form, not "signed in as": with the username filled in.
      const form = await browser.go(login.pathname + login.search);
      expect(form.html).to.contain('name="password"');
      expect(field(form.html, 'username') ?? /id="username"[^>]*value="([^"]*)"/.exec(form.html)?.[1]).to.equal('ada');
      const returnTo = field(form.html, 'return_to')!;
      // The resumed request cannot be replayed with a forged marker: only the server's passes.
      const forged = new URL(returnTo, server.url);
      forged.searchParams.set('login_after', `${Date.now() - 60_000}.${'A'.repeat(43)}`);
      expect((await browser.go(forged.pathname + forged.search)).location).to.match(/^\/oauth\/login\?/);

      const before = Math.floor(Date.now() / 1000);
      const signedIn = await browser.post('/oauth/login', { username: 'ada', password: PASSWORD, csrf: field(form.html, 'csrf')!, return_to: returnTo });
      expect(signedIn.status).to.equal(302);
      const resumed = await browser.go(signedIn.location!);
      const landed = resumed.status === 200 ? await approve(browser, resumed.html) : resumed;
      expect(landed.status).to.equal(302);
      const params = oauth.validateAuthResponse(as, client, new URL(landed.location!), state);
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretPost(rp.secret), params, redirectUri, verifier, insecure), { expectedNonce: nonce, requireIdToken: true, maxAge: 0 });
      expect(oauth.getValidatedIdTokenClaims(tokens)!.auth_time).to.be.at.least(before);
    }
    // A generous max_age does not ask again.
    const { page } = await authorize(browser, { max_age: '3600' });
    expect(page.status === 200 || new URL(page.location!).searchParams.has('code')).to.equal(true);
  });

  it('login_hint fills the username field; ui_locales is accepted', async () => {
    const browser = new Browser(server.url);
    const { page } = await authorize(browser, { login_hint: 'grace@example.com', ui_locales: 'de en' });
    expect(page.status).to.equal(302);
    const form = await browser.go(page.location!);
    expect(form.html).to.match(/id="username"[^>]*value="grace@example.com"/);
  });

  it('refuses malformed OpenID Connect parameters with invalid_request at the redirect URI, and request objects with request_not_supported', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'ada', PASSWORD, browser);
    const cases: [Record<string, string>, string][] = [
      [{ prompt: 'none login' }, 'invalid_request'],
      [{ prompt: 'sometimes' }, 'invalid_request'],
      [{ max_age: '-1' }, 'invalid_request'],
      [{ max_age: 'soon' }, 'invalid_request'],
      [{ nonce: 'n'.repeat(513) }, 'invalid_request'],
      [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
    ];
    for (const [extra, error] of cases) {
      const { page } = await authorize(browser, extra);
      expect(page.status, JSON.stringify(extra)).to.equal(302);
      expect(new URL(page.location!).searchParams.get('error'), JSON.stringify(extra)).to.equal(error);
    }
  });

  it('RP-initiated logout with id_token_hint ends the session and lands on the registered URI with state; the session is gone everywhere', async () => {
    const browser = new Browser(server.url);
    const { tokens } = await signInWithOidc(browser);
    const sid = oauth.getValidatedIdTokenClaims(tokens)!['sid'];
    const sessionCookie = browser.cookies.get('warrant_session')!;
    const url = new URL(as.end_session_endpoint!);
    url.search = new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: afterLogout, state: 'bye' }).toString();
    const out = await browser.go(url.pathname + url.search);
    expect(out.status).to.equal(302);
    expect(out.location).to.equal(`${afterLogout}?state=bye`);
    // Signed out: prompt=none now says login_required, even with the old cookie.
    expect(browser.cookies.has('warrant_session')).to.equal(false);
    const stale = new Browser(server.url);
    stale.cookies.set('warrant_session', sessionCookie);
    const check = await authorize(stale, { prompt: 'none' });
    expect(new URL(check.page.location!).searchParams.get('error')).to.equal('login_required');
    const ended = await server.auth.store.readStream(`session-${String(sid)}`);
    expect(ended.map((e) => e.type)).to.deep.equal(['SessionStarted', 'SessionEnded']);
    expect(ended[1]!.data).to.include({ reason: 'rp_logout' });
  });

  it('RP-initiated logout without a hint asks first (CSRF-protected), and without a redirect shows a signed-out page', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'ada', PASSWORD, browser);
    const ask = await browser.go(`/oauth/end_session?client_id=${rp.id}&post_logout_redirect_uri=${encodeURIComponent(afterLogout)}&state=x`);
    expect(ask.status).to.equal(200);
    expect(ask.html).to.contain('Sign out?').and.to.contain('Relying Party');
    // A forged confirmation (no CSRF token) does nothing.
    expect((await browser.post('/oauth/end_session', { decision: 'logout', client_id: rp.id })).status).to.equal(403);
    expect((await authorize(browser, { prompt: 'none' })).page.location).not.to.contain('login_required');
    const done = await browser.post('/oauth/end_session', { decision: 'logout', csrf: field(ask.html, 'csrf')!, client_id: rp.id, post_logout_redirect_uri: afterLogout, state: 'x' });
    expect(done.location).to.equal(`${afterLogout}?state=x`);
    expect(new URL((await authorize(browser, { prompt: 'none' })).page.location!).searchParams.get('error')).to.equal('login_required');

    const again = new Browser(server.url);
    await signIn(server.url, 'ada', PASSWORD, again);
    const confirm = await again.go('/oauth/end_session');
    const page = await again.post('/oauth/end_session', { decision: 'logout', csrf: field(confirm.html, 'csrf')! });
    expect(page.status).to.equal(200);
    expect(page.html).to.contain('Signed out');
  });

  it('RP-initiated logout refuses, on a page and without signing out: an unregistered or unidentified post_logout_redirect_uri, a foreign client_id, a forged hint', async () => {
    const browser = new Browser(server.url);
    const { tokens } = await signInWithOidc(browser);
    const other = await server.client({ name: 'Other', grantTypes: ['authorization_code'], scopes: [], redirectUris: ['https://other.example/cb'], postLogoutRedirectUris: ['https://other.example/bye'] });
    const cases: Record<string, string>[] = [
      { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/' },
      { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${afterLogout}/x` },
      { post_logout_redirect_uri: afterLogout },
      { id_token_hint: tokens.id_token!, client_id: other.id },
      { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://other.example/bye' },
      { id_token_hint: `${tokens.id_token!.slice(0, -4)}AAAA` },
      { id_token_hint: tokens.access_token },
    ];
    for (const params of cases) {
      const page = await browser.go(`/oauth/end_session?${new URLSearchParams(params).toString()}`);
      expect(page.status, JSON.stringify(Object.keys(params))).to.equal(400);
      expect(page.location).to.equal(null);
    }
    // Still signed in.
    expect(new URL((await authorize(browser, { prompt: 'none' })).page.location!).searchParams.has('code')).to.equal(true);
  });

  it('records UserSignedIn (SessionStarted) and IdTokenIssued; the audit of the family shows the sign-in and its id tokens', async () => {
    const browser = new Browser(server.url);
    const { tokens } = await signInWithOidc(browser);
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretPost(rp.secret), tokens.refresh_token!, insecure));
    const jti = decodeJwt(refreshed.access_token).jti!;
    const history = await (await fetch(`${server.url}/audit/tokens/${jti}`, { headers: { authorization: `Bearer ${auditor}` } })).json() as any;
    expect(history.events.map((e: { type: string }) => e.type)).to.deep.equal(['TokenIssued', 'IdTokenIssued', 'TokenRefreshed', 'IdTokenIssued']);
    const idTokens = history.events.filter((e: { type: string }) => e.type === 'IdTokenIssued');
    expect(idTokens[0].data).to.include({ subject: user.userId, clientId: rp.id, sessionId: claims['sid'], jti: claims.jti, grantType: 'authorization_code' });
    expect(idTokens[1].data).to.include({ grantType: 'refresh_token', authTime: idTokens[0].data.authTime });
    expect(Math.floor(Date.parse(idTokens[0].data.authTime) / 1000)).to.equal(claims.auth_time);
    expect(history.sign_in.session_id).to.equal(claims['sid']);
    expect(history.sign_in.events[0]).to.deep.include({ type: 'SessionStarted' });
    expect(history.sign_in.events[0].data).to.include({ subject: user.userId });
    expect(history.sign_in.events[0].data).not.to.have.property('secretHash');
    // Neither the id token nor the nonce is in any event.
    const all = await server.auth.store.readAll({});
    const text = JSON.stringify(all.map((e) => e.data));
    expect(text).not.to.contain(tokens.id_token!.split('.')[2]);
  });

  it('library mode: the host app signs people in (authenticate) and says who they are (findAccount); a forced fresh sign-in is login_required', async () => {
    const accounts: Record<string, Record<string, unknown>> = { 'host-user-7': { name: 'Host User', email: 'host@example.com', email_verified: true, phone_number: '+1 555' } };
    const host = await startTestServer({ authenticate: (koa) => koa.get('x-host-user') || undefined, findAccount: (sub) => accounts[sub] });
    try {
      const app = await host.client({ confidential: false, grantTypes: ['authorization_code'], scopes: [], redirectUris: [redirectUri], firstParty: true });
      const hostAs = await oauth.processDiscoveryResponse(new URL(host.url), await oauth.discoveryRequest(new URL(host.url), { algorithm: 'oidc', ...insecure }));
      const appClient: oauth.Client = { client_id: app.id, token_endpoint_auth_method: 'none' };
      const verifier = oauth.generateRandomCodeVerifier();
      const nonce = oauth.generateRandomNonce();
      const query = (extra: Record<string, string> = {}) => new URLSearchParams({ response_type: 'code', client_id: app.id, redirect_uri: redirectUri, scope: 'openid email', nonce, state: 'st', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', ...extra }).toString();
      const signedIn = await fetch(`${host.url}/oauth/authorize?${query({ code_challenge: await oauth.calculatePKCECodeChallenge(verifier) })}`, { redirect: 'manual', headers: { 'x-host-user': 'host-user-7' } });
      const params = oauth.validateAuthResponse(hostAs, appClient, new URL(signedIn.headers.get('location')!), 'st');
      const tokens = await oauth.processAuthorizationCodeResponse(hostAs, appClient, await oauth.authorizationCodeGrantRequest(hostAs, appClient, oauth.None(), params, redirectUri, verifier, insecure), { expectedNonce: nonce, requireIdToken: true });
      const claims = oauth.getValidatedIdTokenClaims(tokens)!;
      expect(claims).to.include({ sub: 'host-user-7', aud: app.id });
      expect(claims).not.to.have.property('sid');
      const info = await oauth.processUserInfoResponse(hostAs, appClient, 'host-user-7', await oauth.userInfoRequest(hostAs, appClient, tokens.access_token, insecure));
      // Only what the scope releases: email, not name or phone.
      expect(info).to.deep.equal({ sub: 'host-user-7', email: 'host@example.com', email_verified: true });
      // Warrant cannot make the host app ask for the password again.
      const forced = await fetch(`${host.url}/oauth/authorize?${query({ prompt: 'login' })}`, { redirect: 'manual', headers: { 'x-host-user': 'host-user-7' } });
      expect(new URL(forced.headers.get('location')!).searchParams.get('error')).to.equal('login_required');
      // An account the host no longer knows: userinfo says the token speaks of nobody.
      delete accounts['host-user-7'];
      const gone = await fetch(`${host.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(gone.status).to.equal(401);
      expect(gone.headers.get('www-authenticate')).to.contain('error="invalid_token"');
    } finally {
      await host.stop();
    }
  });

  it('with an EdDSA key: the id token is EdDSA-signed, at_hash uses SHA-512 (Ed25519), and discovery lists ES256 first, then EdDSA', async () => {
    const ed = await startTestServer({ alg: 'EdDSA' });
    try {
      const metadata = (await (await fetch(`${ed.url}/.well-known/openid-configuration`)).json()) as { id_token_signing_alg_values_supported: string[] };
      expect(metadata.id_token_signing_alg_values_supported).to.deep.equal(['ES256', 'EdDSA']);
      await createUser(ed.auth.pool, 'ed', PASSWORD);
      const app = await ed.client({ grantTypes: ['authorization_code'], scopes: [], redirectUris: [redirectUri], firstParty: true });
      const edAs = await oauth.processDiscoveryResponse(new URL(ed.url), await oauth.discoveryRequest(new URL(ed.url), { algorithm: 'oidc', ...insecure }));
      const browser = new Browser(ed.url);
      await signIn(ed.url, 'ed', PASSWORD, browser);
      const verifier = oauth.generateRandomCodeVerifier();
      const landed = await browser.go(`/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.id, redirect_uri: redirectUri, scope: 'openid', state: 's', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })}`);
      const params = oauth.validateAuthResponse(edAs, { client_id: app.id }, new URL(landed.location!), 's');
      const tokens = await oauth.processAuthorizationCodeResponse(edAs, { client_id: app.id }, await oauth.authorizationCodeGrantRequest(edAs, { client_id: app.id }, oauth.ClientSecretPost(app.secret), params, redirectUri, verifier, insecure), { requireIdToken: true });
      expect(decodeProtectedHeader(tokens.id_token!).alg).to.equal('EdDSA');
      const digest = createHash('sha512').update(tokens.access_token).digest();
      expect(oauth.getValidatedIdTokenClaims(tokens)!['at_hash']).to.equal(digest.subarray(0, 32).toString('base64url'));
    } finally {
      await ed.stop();
    }
  });
});
