// GET /audit/ui in a real headless Chromium: paste a token, look up a family, a user or a client,
// and see a family drawn as a timeline, with names beside ids, at desktop width and at 700 px.

import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Page } from 'playwright-core';
import { revokeClient } from '../../src/oauth/clients.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { revokeFamily } from '../../src/oauth/revocation.js';
import { createUser, type User } from '../../src/users/directory.js';
import { launchBrowser } from '../support/browser.js';
import { delay } from '../support/events.js';
import { countColor, decodePng } from '../support/png.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

describe('GET /audit/ui (headless Chromium)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;
  let auditor: string;
  let kim: User;
  let ledger: { id: string; secret: string };
  let payroll: { id: string; secret: string };
  let batch: { id: string; secret: string };
  /** Kim's families: Ledger Sync's (issued → refreshed ×2 → revoked by the client), then Payroll's (revoked by an admin). */
  let ledgerFamily: { familyId: string; firstJti: string };
  let payrollFamily: string;
  let batchFamilies: string[];

  before(async () => {
    server = await startTestServer();
    chrome = await launchBrowser();
    const auditorClient = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
    auditor = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'warrant:audit' }, { authorization: basic(auditorClient.id, auditorClient.secret) })).body.access_token as string;
    kim = await createUser(server.auth.pool, 'kim', 'correct horse battery');
    ledger = await server.client({ name: 'Ledger Sync', grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read'] });
    payroll = await server.client({ name: 'Payroll', grantTypes: ['authorization_code'], scopes: ['read'] });
    batch = await server.client({ name: 'Nightly Batch', grantTypes: ['client_credentials'], scopes: ['read'] });

    const issued = await issueTokens(server.auth.context, {
      client: (await server.auth.context.read.clients.find(ledger.id))!, subject: kim.userId, grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: kim.userId },
    });
    ledgerFamily = { familyId: issued.familyId, firstJti: decodeJwt(issued.access_token).jti! };
    let refresh = issued.refresh_token!;
    let access = issued.access_token;
    for (let i = 0; i < 2; i += 1) {
      await delay(20);
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: refresh }, { authorization: basic(ledger.id, ledger.secret) });
      refresh = res.body.refresh_token;
      access = res.body.access_token;
    }
    expect((await postForm(`${server.url}/oauth/revoke`, { token: access }, { authorization: basic(ledger.id, ledger.secret) })).status).to.equal(200);

    payrollFamily = (await issueTokens(server.auth.context, {
      client: (await server.auth.context.read.clients.find(payroll.id))!, subject: kim.userId, grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: false, actor: { actor: kim.userId },
    })).familyId;
    await revokeFamily(server.auth.context, payrollFamily, 'admin', { actor: 'admin:ops' });

    // More families than one page of the list (50).
    const batchRecord = (await server.auth.context.read.clients.find(batch.id))!;
    batchFamilies = [];
    for (let i = 0; i < 52; i += 1) {
      batchFamilies.push((await issueTokens(server.auth.context, { client: batchRecord, subject: batch.id, grantType: 'client_credentials', scopes: ['read'], audience: [server.url], withRefresh: false, actor: { actor: batch.id } })).familyId);
    }
    await revokeClient(server.auth.context, batch.id, { actor: 'admin:ops' });
  });
  after(async () => {
    await chrome?.close();
    await server.stop();
  });

  /** The page with the audit token pasted; console errors (a CSP violation is one) are collected. */
  async function open(width: number): Promise<{ page: Page; errors: string[] }> {
    const page = await chrome.browser.newPage({ viewport: { width, height: 800 } });
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const response = await page.goto(`${server.url}/audit/ui`);
    expect(response!.status()).to.equal(200);
    expect(response!.headers()['content-security-policy']).to.contain("default-src 'none'").and.not.to.contain('unsafe');
    await page.getByLabel('Audit token').fill(auditor);
    return { page, errors };
  }

  const search = async (page: Page, by: 'Token or family' | 'User' | 'Client', label: string, value: string) => {
    await page.getByLabel('Search by').selectOption({ label: by });
    await page.getByLabel(label).fill(value);
    await page.getByLabel(label).press('Enter');
  };

  const cells = (page: Page, body: string) => page.locator(`${body} tr`).evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent)));

  const drawnEvents = (page: Page) =>
    page.locator('svg g.event').evaluateAll((groups) => groups.map((g) => ({ type: g.getAttribute('data-type'), status: g.getAttribute('data-status'), text: g.textContent })));

  it('draws issued → refreshed → refreshed → revoked with times, named actors and the reason (checked in the DOM and in a screenshot)', async () => {
    const { page, errors } = await open(1000);
    // Usable by keyboard, with labelled inputs; searching by token is the default.
    await page.getByLabel('Token id or family id').fill(ledgerFamily.firstJti);
    await page.getByLabel('Token id or family id').press('Enter');
    await page.locator('svg g.event').nth(3).waitFor();

    const drawn = await drawnEvents(page);
    expect(drawn.map((d) => d.type)).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRefreshed', 'TokenRevoked']);
    expect(drawn.map((d) => d.status)).to.deep.equal(['active', 'refreshed', 'refreshed', 'revoked']);
    expect(drawn[0]!.text).to.contain('by kim').and.to.contain('authorization_code');
    expect(drawn[1]!.text).to.contain('by Ledger Sync');
    expect(drawn[3]!.text).to.contain('reason: revoked_by_client');
    expect(drawn[0]!.text).to.match(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/);
    expect(await page.locator('#family-title').textContent()).to.equal(`Family ${ledgerFamily.familyId}`);
    const summary = await page.locator('#summary dd').allTextContents();
    expect(summary).to.deep.equal([`Ledger Sync${ledger.id}`, `kim${kim.userId}`, 'authorization_code', 'revoked · reason: revoked_by_client']);
    const rows = await cells(page, '#rows');
    expect(rows.map((row) => row[2])).to.deep.equal(['TokenIssuedauthorization_code', 'TokenRefreshed', 'TokenRefreshed', 'TokenRevokedreason: revoked_by_client']);
    expect(rows.map((row) => row[3])).to.deep.equal([`kim${kim.userId}`, `Ledger Sync${ledger.id}`, `Ledger Sync${ledger.id}`, `Ledger Sync${ledger.id}`]);
    expect(rows[0]![5]).to.equal(ledgerFamily.firstJti);
    expect(await page.locator('#list').isHidden()).to.equal(true);
    expect(errors, 'console errors (e.g. CSP)').to.deep.equal([]);

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

  it("searches by username: lists the user's families with client names, and opens one into its timeline", async () => {
    const { page, errors } = await open(1000);
    await search(page, 'User', 'Username or subject id', 'kim');
    await page.locator('#families tr').nth(1).waitFor();
    expect(await page.locator('#list-title').textContent()).to.equal('User');
    expect(await page.locator('#list-summary dd').allTextContents()).to.deep.equal([`kim${kim.userId}`]);
    expect(await page.locator('#who').textContent()).to.equal('client');
    const rows = await cells(page, '#families');
    expect(rows.map((row) => row[0])).to.deep.equal([ledgerFamily.familyId, payrollFamily]);
    expect(rows.map((row) => row[2])).to.deep.equal([`Ledger Sync${ledger.id}`, `Payroll${payroll.id}`]);
    expect(rows.map((row) => row[3])).to.deep.equal(['authorization_code', 'authorization_code']);
    expect(rows.map((row) => row[4])).to.deep.equal(['revoked', 'revoked']);
    expect(await page.locator('#status').textContent()).to.equal('2 token families.');
    expect(await page.locator('#more').isHidden()).to.equal(true);

    // Open the second family: its timeline appears below the list, which stays.
    await page.locator('#families tr').nth(1).getByRole('button', { name: payrollFamily }).click();
    await page.locator('svg g.event').nth(1).waitFor();
    const drawn = await drawnEvents(page);
    expect(drawn.map((d) => d.type)).to.deep.equal(['TokenIssued', 'TokenRevoked']);
    expect(drawn[1]!.text).to.contain('by admin:ops').and.to.contain('reason: admin');
    expect(await page.locator('#summary dd').allTextContents()).to.deep.equal([`Payroll${payroll.id}`, `kim${kim.userId}`, 'authorization_code', 'revoked · reason: admin']);
    expect(await page.locator('#list').isVisible()).to.equal(true);
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).to.equal('family-title');

    // A subject that is not a username is searched as it is: here, Kim's user id.
    await search(page, 'User', 'Username or subject id', kim.userId);
    await page.locator('#family').waitFor({ state: 'hidden' });
    await page.locator('#families tr').nth(1).waitFor();
    expect((await cells(page, '#families')).map((row) => row[0])).to.deep.equal([ledgerFamily.familyId, payrollFamily]);
    expect(await page.locator('#list-summary dd').allTextContents()).to.deep.equal([`kim${kim.userId}`]);
    await search(page, 'User', 'Username or subject id', 'nobody');
    await page.locator('#status', { hasText: 'No token families.' }).waitFor();
    expect(await page.locator('#families tr').count()).to.equal(0);
    expect(await page.locator('#list-summary dd').allTextContents()).to.deep.equal(['nobodynot a user of the built-in directory']);
    // Only the two lookups of a username that does not exist (Chromium logs their 404); no CSP violation.
    expect(errors, 'console errors (e.g. CSP)').to.deep.equal(Array(2).fill('Failed to load resource: the server responded with a status of 404 (Not Found)'));
    await page.close();
  });

  it('searches by client id: shows the client (name, revoked or not) and its families, page by page', async () => {
    const { page, errors } = await open(1000);
    await search(page, 'Client', 'Client id', ledger.id);
    await page.locator('#families tr').first().waitFor();
    expect(await page.locator('#list-title').textContent()).to.equal('Client');
    const summary = await page.locator('#list-summary dd').allTextContents();
    expect(summary[0]).to.equal(`Ledger Sync${ledger.id}`);
    expect(summary[1]).to.equal('active');
    expect(summary[2]).to.match(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z by admin:test$/);
    expect(await page.locator('#who').textContent()).to.equal('user');
    expect(await cells(page, '#families')).to.have.length(1);
    expect((await cells(page, '#families'))[0]!.slice(2)).to.deep.equal([`kim${kim.userId}`, 'authorization_code', 'revoked']);
    await page.getByRole('button', { name: ledgerFamily.familyId }).click();
    await page.locator('svg g.event').nth(3).waitFor();
    expect((await drawnEvents(page)).map((d) => d.type)).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRefreshed', 'TokenRevoked']);

    // A revoked client with more families than a page: "More families" fetches the rest.
    await search(page, 'Client', 'Client id', batch.id);
    await page.locator('#families tr').nth(49).waitFor();
    const revoked = await page.locator('#list-summary dd').allTextContents();
    expect(revoked[0]).to.equal(`Nightly Batch${batch.id}`);
    expect(revoked[1]).to.match(/^revoked \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z by admin:opsnone of its tokens work any more$/);
    expect(await page.locator('#families tr').count()).to.equal(50);
    expect(await page.locator('#status').textContent()).to.equal('50 token families so far.');
    await page.getByRole('button', { name: 'More families' }).click();
    await page.locator('#families tr').nth(51).waitFor();
    const rows = await cells(page, '#families');
    expect(rows.map((row) => row[0])).to.deep.equal(batchFamilies);
    // client_credentials: the subject is the client's id, not a user, so there is no username.
    expect(rows.every((row) => row[2] === batch.id && row[3] === 'client_credentials')).to.equal(true);
    expect(await page.locator('#status').textContent()).to.equal('52 token families.');
    expect(await page.locator('#more').isHidden()).to.equal(true);
    expect(errors, 'console errors (e.g. CSP)').to.deep.equal([]);
    await page.close();
  });

  it('fits a 700 px wide window: no horizontal scrolling of the page, the wide timeline scrolls in its own box', async () => {
    const { page, errors } = await open(700);
    const pageWidth = () => page.evaluate<number>('document.documentElement.scrollWidth');
    expect(await pageWidth()).to.be.at.most(700);
    // The form wraps: the search field starts a row of its own, below the token field.
    const token = (await page.getByLabel('Audit token').boundingBox())!;
    const field = (await page.getByLabel('Token id or family id').boundingBox())!;
    expect(field.y).to.be.greaterThan(token.y + token.height);
    expect(field.x + field.width).to.be.at.most(700);

    await page.getByLabel('Token id or family id').fill(ledgerFamily.familyId);
    await page.getByLabel('Token id or family id').press('Enter');
    await page.locator('svg g.event').nth(3).waitFor();
    expect(await pageWidth()).to.be.at.most(700);
    const box = await page.locator('#timeline').evaluate((el) => ({ client: el.clientWidth, scroll: el.scrollWidth }));
    expect(box.client).to.be.below(700);
    expect(box.scroll, 'the timeline scrolls inside its box').to.be.greaterThan(box.client);

    await search(page, 'Client', 'Client id', ledger.id);
    await page.locator('#families tr').first().waitFor();
    expect(await pageWidth()).to.be.at.most(700);
    await search(page, 'User', 'Username or subject id', 'kim');
    await page.locator('#families tr').nth(1).waitFor();
    await page.getByRole('button', { name: ledgerFamily.familyId }).click();
    await page.locator('svg g.event').nth(3).waitFor();
    expect(await pageWidth()).to.be.at.most(700);
    // Long ids wrap inside their cells instead of widening the tables.
    for (const table of ['#list table', '#family table']) {
      expect(await page.locator(table).evaluate((el) => el.scrollWidth <= el.parentElement!.clientWidth), table).to.equal(true);
    }
    await page.locator('#family-title').blur();
    await page.screenshot({ path: path.join(tmpdir(), 'warrant-audit-700.png'), fullPage: true });
    expect(errors, 'console errors (e.g. CSP)').to.deep.equal([]);
    await page.close();
  });

  it('says so, without drawing, when the token lacks the audit scope or the id is unknown', async () => {
    const plain = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    const reader = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(plain.id, plain.secret) })).body.access_token as string;
    const page = await chrome.browser.newPage();
    await page.goto(`${server.url}/audit/ui`);
    await page.getByLabel('Audit token').fill(reader);
    await page.getByLabel('Token id or family id').fill('unknownunknownunknown');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#status.error').waitFor();
    expect(await page.locator('#status').textContent()).to.contain('lacks a required scope');
    expect(await page.locator('svg').count()).to.equal(0);

    await page.getByLabel('Audit token').fill(auditor);
    await search(page, 'Client', 'Client id', '00000000-0000-4000-8000-000000000000');
    await page.locator('#status.error', { hasText: 'no such client' }).waitFor();
    expect(await page.locator('#list').isHidden()).to.equal(true);
    await page.close();
  });
});
