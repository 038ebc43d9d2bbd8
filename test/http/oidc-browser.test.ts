// OpenID Connect through the real pages in headless Chromium (issue 16), with two independent
// relying-party libraries: oauth4webapi (a public client with PKCE) and openid-client (a
// confidential client). Sign-in, consent, id token, userinfo, a forced fresh sign-in (max_age=0)
// and RP-initiated logout, as a person and an application meet them.

import { expect } from 'chai';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import type { Page } from 'playwright-core';
import { createUser } from '../../src/users/directory.js';
import { launchBrowser } from '../support/browser.js';
import { startCallbackServer, type CallbackServer } from '../support/callback.js';
import { insecure, startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'a long enough password';

describe('OpenID Connect in a real browser, with oauth4webapi and openid-client', function () {
  this.timeout(120_000);
  let server: TestServer;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;
  let callback: CallbackServer;
  let base: string;
  let user: { userId: string };

  before(async () => {
    server = await startTestServer();
    chrome = await launchBrowser();
    callback = await startCallbackServer();
    base = callback.base;
    user = await createUser(server.auth.pool, 'grace', PASSWORD, { email: 'grace@example.com', name: 'Grace Hopper' });
  });
  after(async () => {
    await chrome?.close();
    await callback?.close();
    await server?.stop();
  });

  async function signInOnPage(page: Page, username: string) {
    await page.getByLabel('Password').waitFor();
    if ((await page.getByLabel('Username').inputValue()) !== username) await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** The URL the browser landed on at the app, once it gets there. */
  async function landedAt(page: Page, path: string): Promise<URL> {
    await page.waitForURL((u) => u.toString().startsWith(`${base}${path}`));
    return new URL(page.url());
  }

  it('oauth4webapi (public client, PKCE): sign in, consent to openid profile email, id token with the nonce, userinfo; max_age=0 asks for the password again; logout lands back with state', async () => {
    const redirectUri = `${base}/spa/cb`;
    const registered = await server.client({ name: 'Grace’s SPA', confidential: false, grantTypes: ['authorization_code', 'refresh_token'], scopes: [], redirectUris: [redirectUri], postLogoutRedirectUris: [`${base}/spa/bye`] });
    const client: oauth.Client = { client_id: registered.id, token_endpoint_auth_method: 'none' };
    const issuer = new URL(server.url);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));

    const login = async (extra: Record<string, string>, expectPassword: boolean) => {
      const verifier = oauth.generateRandomCodeVerifier();
      const nonce = oauth.generateRandomNonce();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'openid profile email', state, nonce, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra }).toString();
      await page.goto(url.toString());
      if (expectPassword) {
        expect(await page.title()).to.contain('Sign in');
        await signInOnPage(page, 'grace');
      }
      if (await page.getByRole('button', { name: 'Approve' }).isVisible().catch(() => false)) {
        const consent = await page.locator('ul.scopes').textContent();
        expect(consent).to.contain('openid').and.to.contain('Your email address');
        await page.getByRole('button', { name: 'Approve' }).click();
      }
      const params = oauth.validateAuthResponse(as, client, await landedAt(page, '/spa/cb'), state);
      const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, insecure);
      return oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true, ...(extra['max_age'] ? { maxAge: Number(extra['max_age']) } : {}) });
    };

    const page = await chrome.browser.newPage();
    const first = await login({}, true);
    const claims = oauth.getValidatedIdTokenClaims(first)!;
    expect(claims).to.include({ sub: user.userId, aud: client.client_id, iss: server.url });
    const info = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, first.access_token, insecure));
    expect(info).to.deep.equal({ sub: user.userId, name: 'Grace Hopper', preferred_username: 'grace', email: 'grace@example.com', email_verified: false });

    // Signed in and consented: a second request goes straight back, without a page.
    const silent = await login({ prompt: 'none' }, false);
    expect(oauth.getValidatedIdTokenClaims(silent)!.auth_time).to.equal(claims.auth_time);

    // max_age=0: the password again (the username already filled in), then a newer auth_time.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const fresh = await login({ max_age: '0' }, true);
    expect(oauth.getValidatedIdTokenClaims(fresh)!.auth_time).to.be.greaterThan(claims.auth_time!);

    // RP-initiated logout: back at the app with state; afterwards prompt=none says login_required.
    const logout = new URL(as.end_session_endpoint!);
    logout.search = new URLSearchParams({ id_token_hint: fresh.id_token!, post_logout_redirect_uri: `${base}/spa/bye`, state: 'see-you' }).toString();
    await page.goto(logout.toString());
    const bye = await landedAt(page, '/spa/bye');
    expect(bye.searchParams.get('state')).to.equal('see-you');
    const check = new URL(as.authorization_endpoint!);
    check.search = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'openid', state: 'after', prompt: 'none', code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256' }).toString();
    await page.goto(check.toString());
    expect(Object.fromEntries((await landedAt(page, '/spa/cb')).searchParams)).to.include({ error: 'login_required', state: 'after', iss: server.url });
    await page.close();
  });

  it('openid-client (confidential client): discovery, authorization code with PKCE, nonce and state, id token claims, userinfo, refresh, end-session URL', async () => {
    const redirectUri = `${base}/web/cb`;
    const registered = await server.client({ name: 'Grace’s Web App', grantTypes: ['authorization_code', 'refresh_token'], scopes: [], redirectUris: [redirectUri], postLogoutRedirectUris: [`${base}/web/bye`] });
    const config = await openid.discovery(new URL(server.url), registered.id, registered.secret, undefined, { execute: [openid.allowInsecureRequests] });
    const verifier = openid.randomPKCECodeVerifier();
    const nonce = openid.randomNonce();
    const state = openid.randomState();
    const url = openid.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid profile', code_challenge: await openid.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce, state, login_hint: 'grace' });

    const page = await chrome.browser.newPage();
    await page.goto(url.href);
    // login_hint filled the username.
    expect(await page.getByLabel('Username').inputValue()).to.equal('grace');
    await signInOnPage(page, 'grace');
    await page.getByRole('button', { name: 'Approve' }).click();
    const tokens = await openid.authorizationCodeGrant(config, await landedAt(page, '/web/cb'), { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
    const claims = tokens.claims()!;
    expect(claims).to.include({ sub: user.userId, aud: registered.id, nonce });
    expect(claims.auth_time).to.be.a('number');
    expect(claims['sid']).to.be.a('string');
    const info = await openid.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).to.deep.equal({ sub: user.userId, name: 'Grace Hopper', preferred_username: 'grace' });

    const refreshed = await openid.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.claims()).to.include({ sub: claims.sub, auth_time: claims.auth_time });

    const end = openid.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${base}/web/bye`, state: 'later' });
    await page.goto(end.href);
    expect((await landedAt(page, '/web/bye')).searchParams.get('state')).to.equal('later');
    expect(callback.landed.some((u) => u.startsWith('/web/bye?state=later'))).to.equal(true);
    await page.close();
  });
});
