// GET /audit/ui in a real headless Chromium: paste a token, see the family drawn as a timeline.

import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { findClient } from '../../src/oauth/clients-read.js';
import { issueTokens } from '../../src/oauth/tokens.js';
import { launchBrowser } from '../support/browser.js';
import { delay } from '../support/events.js';
import { countColor, decodePng } from '../support/png.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

describe('GET /audit/ui (headless Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;
  before(async () => {
    server = await startTestServer();
    chrome = await launchBrowser();
  });
  after(async () => {
    await chrome?.close();
    await server.stop();
  });

  it('draws issued → refreshed → refreshed → revoked with times and actors (checked in the DOM and in a screenshot)', async () => {
    const auditorClient = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
    const auditor = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'warrant:audit' }, { authorization: basic(auditorClient.id, auditorClient.secret) })).body.access_token as string;
    const app = await server.client({ grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read'] });
    const record = (await findClient(server.auth.pool, app.id))!;
    const issued = await issueTokens(server.auth.context, {
      client: record, subject: 'hana', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'hana' },
    });
    let refresh = issued.refresh_token!;
    let access = issued.access_token;
    for (let i = 0; i < 2; i += 1) {
      await delay(20);
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refresh }, { authorization: basic(app.id, app.secret) });
      refresh = res.body.refresh_token;
      access = res.body.access_token;
    }
    await postForm(`${server.url}/oauth/revoke`, { token: access }, { authorization: basic(app.id, app.secret) });

    const page = await chrome.browser.newPage({ viewport: { width: 1000, height: 700 } });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') violations.push(message.text());
    });
    const response = await page.goto(`${server.url}/audit/ui`);
    expect(response!.status()).to.equal(200);
    expect(response!.headers()['content-security-policy']).to.contain("default-src 'none'");
    // Usable by keyboard, with labelled inputs.
    await page.getByLabel('Audit token').fill(auditor);
    await page.getByLabel('Token id or family id').fill(decodeJwt(issued.access_token).jti!);
    await page.getByLabel('Token id or family id').press('Enter');
    await page.locator('svg g.event').nth(3).waitFor();

    const drawn = await page.locator('svg g.event').evaluateAll((groups) =>
      groups.map((g) => ({ type: g.getAttribute('data-type'), status: g.getAttribute('data-status'), text: g.textContent })),
    );
    expect(drawn.map((d) => d.type)).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRefreshed', 'TokenRevoked']);
    expect(drawn.map((d) => d.status)).to.deep.equal(['active', 'refreshed', 'refreshed', 'revoked']);
    expect(drawn[0]!.text).to.contain('by hana');
    expect(drawn[1]!.text).to.contain(`by ${app.id}`);
    expect(drawn[0]!.text).to.match(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/);
    expect(await page.locator('#summary').textContent()).to.contain(`subject hana`).and.to.contain('now revoked');
    expect(await page.locator('#rows tr').count()).to.equal(4);
    expect(violations, 'console errors (e.g. CSP)').to.deep.equal([]);

    // The screenshot shows the states in their colours: 1 green, 2 blue, 1 red node.
    const png = await page.locator('#timeline').screenshot();
    await writeFile(path.join(tmpdir(), 'warrant-audit-timeline.png'), png);
    const image = decodePng(png);
    expect(image.width).to.be.greaterThan(600);
    const green = countColor(image, '#1f8a4c');
    const blue = countColor(image, '#2563eb');
    const red = countColor(image, '#d62828');
    const node = Math.PI * 18 * 18 * 0.8; // a node's area, allowing for anti-aliasing
    expect(green, 'active node').to.be.greaterThan(node);
    expect(blue, 'refreshed nodes').to.be.greaterThan(2 * node);
    expect(red, 'revoked node').to.be.greaterThan(node);
    expect(blue).to.be.greaterThan(green * 1.5);
    await page.close();
  });

  it('says so, without drawing, when the token lacks the audit scope or the id is unknown', async () => {
    const plain = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const reader = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(plain.id, plain.secret) })).body.access_token as string;
    const page = await chrome.browser.newPage();
    await page.goto(`${server.url}/audit/ui`);
    await page.getByLabel('Audit token').fill(reader);
    await page.getByLabel('Token id or family id').fill('unknownunknownunknown');
    await page.getByRole('button', { name: 'Show timeline' }).click();
    await page.locator('#status.error').waitFor();
    expect(await page.locator('#status').textContent()).to.contain('lacks a required scope');
    expect(await page.locator('svg').count()).to.equal(0);
    await page.close();
  });
});
