// The device authorization grant (RFC 8628): HTTP-level polling states, and the whole flow in
// headless Chromium (the person) with oauth4webapi (the device).

import { expect } from 'chai';
import * as oauth from 'oauth4webapi';
import { createUser } from '../../src/users/directory.js';
import { launchBrowser } from '../support/browser.js';
import { delay } from '../support/events.js';
import { insecure, postForm, startTestServer, type TestServer } from '../support/server.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

describe('device authorization grant (RFC 8628)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let tv: { id: string; client: oauth.Client };
  let user: { userId: string };
  before(async () => {
    server = await startTestServer({ config: { deviceInterval: 1, scopes: { 'tv:watch': 'Watch on your TV' } } });
    user = await createUser(server.auth.pool, 'lena', 'lenas password 42');
    const registered = await server.client({ name: 'Living-room TV', confidential: false, grantTypes: [DEVICE_GRANT, 'refresh_token'], scopes: ['tv:watch'] });
    tv = { id: registered.id, client: { client_id: registered.id, token_endpoint_auth_method: 'none' } };
  });
  after(async () => {
    await server.stop();
  });

  const start = async () =>
    oauth.processDeviceAuthorizationResponse(server.as, tv.client, await oauth.deviceAuthorizationRequest(server.as, tv.client, oauth.None(), { scope: 'tv:watch' }, insecure));
  const poll = (deviceCode: string) => postForm(`${server.url}/oauth/token`, { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: tv.id });

  /** Signs in over HTTP and approves or denies a user code; returns the final page's status. */
  async function decide(userCode: string, decision: 'approve' | 'deny'): Promise<number> {
    const jar: string[] = [];
    const go = async (path: string, form?: Record<string, string>) => {
      const response = await fetch(`${server.url}${path}`, {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: { cookie: jar.join('; '), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(form ? { body: new URLSearchParams(form) } : {}),
      });
      for (const c of response.headers.getSetCookie()) jar.push(c.split(';')[0]!);
      return { status: response.status, location: response.headers.get('location'), html: await response.text() };
    };
    const csrf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const first = await go(`/oauth/device?user_code=${userCode}`);
    const login = await go(first.location!);
    const back = await go('/oauth/login', { username: 'lena', password: 'lenas password 42', csrf: csrf(login.html), return_to: /name="return_to" value="([^"]+)"/.exec(login.html)![1]!.replace(/&amp;/g, '&') });
    const form = await go(back.location!);
    const consent = await go('/oauth/device', { user_code: userCode, csrf: csrf(form.html) });
    expect(consent.html).to.contain('Connect Living-room TV');
    return (await go('/oauth/device', { user_code: userCode, csrf: csrf(consent.html), decision })).status;
  }

  it('answers the device authorization request (RFC 8628 §3.2)', async () => {
    const response = await start();
    expect(response.user_code).to.match(/^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);
    expect(response.verification_uri).to.equal(`${server.url}/oauth/device`);
    expect(response.verification_uri_complete).to.contain(response.user_code);
    expect(response.interval).to.equal(1);
    expect(response.expires_in).to.equal(600);
  });

  it('polling: authorization_pending, then slow_down when too fast, then tokens once approved, then invalid_grant', async () => {
    const { device_code: deviceCode, user_code: userCode } = await start();
    expect((await poll(deviceCode)).body.error).to.equal('authorization_pending');
    expect((await poll(deviceCode)).body.error).to.equal('slow_down');
    expect(await decide(userCode, 'approve')).to.equal(200);
    await delay(6_100); // the interval grew by 5 s after slow_down
    const done = await poll(deviceCode);
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    expect(done.body.refresh_token).to.be.a('string');
    expect((await server.auth.policy.authenticate(`Bearer ${done.body.access_token}`)).subject).to.equal(user.userId);
    await delay(6_100);
    expect((await poll(deviceCode)).body.error).to.equal('invalid_grant');
    const issued = await server.auth.store.readAll({ filter: { types: ['TokenIssued'], data: { clientId: tv.id } } });
    expect(issued.at(-1)!.data).to.include({ grantType: DEVICE_GRANT, subject: user.userId });
  });

  it('polling after the user denied: access_denied', async () => {
    const { device_code: deviceCode, user_code: userCode } = await start();
    expect(await decide(userCode, 'deny')).to.equal(200);
    expect((await poll(deviceCode)).body.error).to.equal('access_denied');
  });

  it('polling after the code expired: expired_token', async () => {
    const quick = await startTestServer({ config: { deviceInterval: 1, deviceCodeTtl: 1 } });
    try {
      const c = await quick.client({ confidential: false, grantTypes: [DEVICE_GRANT], scopes: [] });
      const started = (await postForm(`${quick.url}/oauth/device/code`, { client_id: c.id })).body as { device_code: string };
      await delay(1_200);
      const res = await postForm(`${quick.url}/oauth/token`, { grant_type: DEVICE_GRANT, device_code: started.device_code, client_id: c.id });
      expect(res.body.error).to.equal('expired_token');
    } finally {
      await quick.stop();
    }
  });

  it('refuses an unknown device code, another client, and a client not allowed the grant', async () => {
    expect((await poll('nonsense')).body.error).to.equal('invalid_grant');
    const { device_code: deviceCode } = await start();
    const other = await server.client({ confidential: false, grantTypes: [DEVICE_GRANT], scopes: [] });
    expect((await postForm(`${server.url}/oauth/token`, { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: other.id })).body.error).to.equal('invalid_grant');
    const plain = await server.client({ confidential: false, grantTypes: ['authorization_code'], scopes: [], redirectUris: ['https://x.example/cb'] });
    expect((await postForm(`${server.url}/oauth/device/code`, { client_id: plain.id })).body.error).to.equal('unauthorized_client');
  });

  it('end to end: the device (oauth4webapi) polls while a person approves in Chromium', async () => {
    const chrome = await launchBrowser();
    try {
      const started = await start();
      const polling = (async () => {
        for (;;) {
          const response = await oauth.deviceCodeGrantRequest(server.as, tv.client, oauth.None(), started.device_code, insecure);
          try {
            return await oauth.processDeviceCodeResponse(server.as, tv.client, response);
          } catch (error) {
            const code = (error as { error?: string }).error;
            if (code !== 'authorization_pending' && code !== 'slow_down') throw error;
            await delay(code === 'slow_down' ? 6_000 : 1_100);
          }
        }
      })();
      const page = await chrome.browser.newPage();
      await page.goto(started.verification_uri);
      await page.getByLabel('Username').fill('lena');
      await page.getByLabel('Password').fill('lenas password 42');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByLabel('Code').fill(started.user_code.toLowerCase());
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Connect Living-room TV' }).waitFor();
      expect(await page.locator('ul.scopes').textContent()).to.contain('Watch on your TV');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      await page.close();
      const tokens = await polling;
      const claims = await oauth.validateJwtAccessToken(server.as, new Request('https://api', { headers: { authorization: `Bearer ${tokens.access_token}` } }), server.url, insecure);
      expect(claims).to.include({ sub: user.userId, client_id: tv.id, scope: 'tv:watch' });
    } finally {
      await chrome.close();
    }
  });
});
