// The README's "Sign in with Warrant" example (examples/sign-in-with-warrant.ts), run as a person
// meets it: a real Warrant server, the example Koa app with openid-client, and headless Chromium
// clicking through sign-in, consent, the app's greeting and sign-out.

import http from 'node:http';
import { expect } from 'chai';
import { signInApp } from '../../examples/sign-in-with-warrant.js';
import { createUser } from '../../src/users/directory.js';
import { launchBrowser } from '../support/browser.js';
import { freePort } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('README: Sign in with Warrant (examples/sign-in-with-warrant.ts)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let app: http.Server;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;

  before(async () => {
    server = await startTestServer();
    chrome = await launchBrowser();
  });
  after(async () => {
    await chrome?.close();
    if (app) {
      app.closeAllConnections();
      await new Promise((resolve) => app.close(resolve));
    }
    await server?.stop();
  });

  it('signs a person in (name and email from userinfo) and out again, through the example app', async () => {
    await createUser(server.auth.pool, 'ada', 'a long enough password', { email: 'ada@example.com', emailVerified: true, name: 'Ada Lovelace' });
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    const registered = await server.client({ name: 'My App', grantTypes: ['authorization_code'], scopes: [], redirectUris: [`${appUrl}/callback`], postLogoutRedirectUris: [`${appUrl}/`] });
    const koa = await signInApp({ issuer: server.url, clientId: registered.id, clientSecret: registered.secret, appUrl, allowHttp: true });
    app = http.createServer(koa.callback());
    await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', resolve));

    const page = await chrome.browser.newPage();
    await page.goto(appUrl);
    await page.getByRole('link', { name: 'Sign in with Warrant' }).click();
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Authorize My App' }).waitFor();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Hello, Ada Lovelace' }).waitFor();
    expect(await page.textContent('body')).to.contain('ada@example.com');

    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    expect(page.url()).to.equal(`${appUrl}/`);
    // Warrant's session ended too: signing in again asks for the password.
    await page.getByRole('link', { name: 'Sign in with Warrant' }).click();
    await page.getByLabel('Password').waitFor();
    expect(await page.title()).to.contain('Sign in');
    await page.close();
  });
});
