// The authorization code + PKCE flow end to end in headless Chromium: a person signs in on the
// login page, approves on the consent page, the browser lands on the client's redirect URI; the
// client (oauth4webapi) exchanges the code and refreshes.

import http from 'node:http';
import { expect } from 'chai';
import * as oauth from 'oauth4webapi';
import { createUser } from '../../src/users/directory.js';
import { launchBrowser } from '../support/browser.js';
import { insecure, startTestServer, type TestServer } from '../support/server.js';

describe('authorization code + PKCE in a real browser', function () {
  this.timeout(120_000);
  let server: TestServer;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;
  let callback: http.Server;
  let redirectUri: string;
  const landed: string[] = [];

  before(async () => {
    server = await startTestServer({ config: { scopes: { 'notes:read': 'Read your notes' } } });
    chrome = await launchBrowser();
    callback = http.createServer((req, res) => {
      landed.push(req.url!);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Back at the app</title><p>Signed in.</p>');
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://127.0.0.1:${(callback.address() as { port: number }).port}/callback`;
  });
  after(async () => {
    await chrome?.close();
    if (callback) {
      callback.closeAllConnections();
      await new Promise((resolve) => callback.close(resolve));
    }
    await server?.stop();
  });

  it('signs in, approves, lands on the redirect URI with a code that oauth4webapi exchanges and refreshes', async () => {
    const user = await createUser(server.auth.pool, 'june', 'a long enough password');
    const registered = await server.client({ name: 'Notes', confidential: false, grantTypes: ['authorization_code', 'refresh_token'], scopes: ['notes:read'], redirectUris: [redirectUri] });
    const client: oauth.Client = { client_id: registered.id, token_endpoint_auth_method: 'none' };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(server.as.authorization_endpoint!);
    url.search = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'notes:read', state, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString();

    const page = await chrome.browser.newPage();
    await page.goto(url.toString());
    expect(await page.title()).to.contain('Sign in');
    await page.getByLabel('Username').fill('june');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByLabel('Password').press('Enter'); // keyboard only, no JavaScript needed
    await page.getByRole('heading', { name: 'Authorize Notes' }).waitFor();
    expect(await page.locator('ul.scopes').textContent()).to.contain('notes:read').and.to.contain('Read your notes');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL((u) => u.toString().startsWith(redirectUri));
    await page.close();

    const returned = new URL(landed.find((u) => u.startsWith('/callback?'))!, redirectUri);
    const params = oauth.validateAuthResponse(server.as, client, returned, state);
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, client, await oauth.authorizationCodeGrantRequest(server.as, client, oauth.None(), params, redirectUri, verifier, insecure));
    const claims = await oauth.validateJwtAccessToken(server.as, new Request('https://api', { headers: { authorization: `Bearer ${tokens.access_token}` } }), server.url, insecure);
    expect(claims).to.include({ sub: user.userId, client_id: client.client_id, scope: 'notes:read' });
    const refreshed = await oauth.processRefreshTokenResponse(server.as, client, await oauth.refreshTokenGrantRequest(server.as, client, oauth.None(), tokens.refresh_token!, insecure));
    expect(refreshed.refresh_token).to.be.a('string').and.not.equal(tokens.refresh_token);

    // In the audit history, with its grant type and subject.
    const issued = await server.auth.store.readAll({ filter: { types: ['TokenIssued'], data: { clientId: client.client_id } } });
    expect(issued).to.have.length(1);
    expect(issued[0]!.data).to.include({ grantType: 'authorization_code', subject: user.userId });
  });

  it('a native app: after Approve, Chromium follows the 302 to its private-use scheme with the code (the consent page\'s CSP form-action allows that scheme, RFC 8252 §7.1)', async () => {
    await createUser(server.auth.pool, 'noor', 'a long enough password');
    const native = 'com.example.notes:/oauth2redirect';
    const registered = await server.client({ name: 'Notes for Android', confidential: false, grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [native] });
    const client: oauth.Client = { client_id: registered.id, token_endpoint_auth_method: 'none' };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(server.as.authorization_endpoint!);
    url.search = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: native, scope: 'notes:read', state, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString();

    const page = await chrome.browser.newPage();
    // Chromium cannot open the app itself, but it does issue the navigation: unless CSP blocks it.
    const toApp: string[] = [];
    const blocked: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(`${native}?`)) toApp.push(request.url());
    });
    page.on('console', (message) => {
      if (/Content Security Policy/.test(message.text())) blocked.push(message.text());
    });
    await page.goto(url.toString());
    await page.getByLabel('Username').fill('noor');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Authorize Notes for Android' }).waitFor();
    await page.getByRole('button', { name: 'Approve' }).click();
    for (let waited = 0; toApp.length === 0 && blocked.length === 0 && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    await page.close();
    expect(blocked).to.deep.equal([]);
    expect(toApp).to.have.length.at.least(1);

    const params = oauth.validateAuthResponse(server.as, client, new URL(toApp[0]!), state);
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, client, await oauth.authorizationCodeGrantRequest(server.as, client, oauth.None(), params, native, verifier, insecure));
    expect(tokens.scope).to.equal('notes:read');
  });
});
