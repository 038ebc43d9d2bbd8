// Issue 13, findings 4 and 6: sign-in sessions are server-side and can end (POST /oauth/logout,
// revoking the subject); revoking a subject also forgets their consents; sessions and consents are
// events, and a grant records the session it was made in; consent covers the audience.

import { expect } from 'chai';
import * as oauth from 'oauth4webapi';
import { createUser } from '../../src/users/directory.js';
import { Browser, field, signIn } from '../support/browser-session.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';


describe('sign-in sessions that end, and consent that covers the audience', function () {
  this.timeout(60_000);
  const redirectUri = 'https://notes.example/cb';
  let server: TestServer;
  let admin: string;
  let notes: { id: string };
  let user: { userId: string };

  before(async () => {
    server = await startTestServer({ config: { scopes: { 'notes:read': 'Read your notes' } } });
    user = await createUser(server.auth.pool, 'sam', 'sams password 123');
    notes = await server.client({ name: 'Notes', confidential: false, grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri], resources: ['https://calendar.example/'] });
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin'] });
    admin = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(ops.id, ops.secret) })).body.access_token;
  });
  after(async () => {
    await server.stop();
  });

  async function authorize(browser: Browser, extra: Record<string, string> = {}) {
    const verifier = oauth.generateRandomCodeVerifier();
    const query = new URLSearchParams({ response_type: 'code', client_id: notes.id, redirect_uri: redirectUri, scope: 'notes:read', state: 'st', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra });
    return browser.go(`/oauth/authorize?${query.toString()}`);
  }

  async function approve(browser: Browser, page: { html: string }) {
    const form = /<form method="post" action="authorize">(.*?)<\/form>/s.exec(page.html)![1]!;
    const fields = Object.fromEntries([...form.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    return browser.post('/oauth/authorize', { ...fields, decision: 'approve' });
  }

  it('finding 4: after an admin revokes the subject, the same cookie can neither create a personal access token nor authorize silently', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'sam', 'sams password 123', browser);
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    // Consent once; the next request is silent (a remembered consent).
    const consent = await authorize(browser);
    expect(consent.status).to.equal(200);
    expect((await approve(browser, consent)).status).to.equal(302);
    const silent = await authorize(browser);
    expect(silent.status).to.equal(302);
    expect(new URL(silent.location!).searchParams.get('code')).to.be.a('string');

    const revoked = await fetch(`${server.url}/oauth/subjects/${user.userId}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    expect(revoked.status).to.equal(200);

    // The stolen (or simply old) cookie, replayed as is:
    const list = await fetch(`${server.url}/oauth/personal-access-tokens`, { headers: { cookie } });
    expect(list.status).to.equal(401);
    const create = await fetch(`${server.url}/oauth/personal-access-tokens`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': 'anything' }, body: JSON.stringify({ name: 'after revoke' }) });
    expect(create.status).to.equal(401);
    const again = await authorize(browser);
    expect(again.status).to.equal(302);
    expect(again.location, 'sent to sign in, no code').to.match(/^\/oauth\/login\?return_to=/);
    expect(await revoked.json()).to.include({ sessions_ended: 1, consents_forgotten: 1 });
    // Signed in again, the consent is asked for again: it was forgotten.
    await signIn(server.url, 'sam', 'sams password 123', browser);
    const asked = await authorize(browser);
    expect(asked.status).to.equal(200);
    expect(asked.html).to.contain('Authorize Notes');
  });

  it('finding 4: POST /oauth/logout ends the session on the server: the old cookie is refused everywhere afterwards', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'sam', 'sams password 123', browser);
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const page = await browser.go('/oauth/login');
    expect(page.html).to.contain('signed in as');
    expect((await browser.post('/oauth/logout', { csrf: field(page.html, 'csrf')! })).status).to.equal(302);
    // Whoever kept a copy of the cookie gets nothing from it.
    expect((await fetch(`${server.url}/oauth/personal-access-tokens`, { headers: { cookie } })).status).to.equal(401);
    const loginWithOldCookie = await (await fetch(`${server.url}/oauth/login`, { headers: { cookie } })).text();
    expect(loginWithOldCookie).to.contain('<label for="password">');
  });

  it('sessions and consents are events, and a code records the session it was granted in', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'sam', 'sams password 123', browser);
    const started = (await server.auth.store.readAll({ filter: { types: ['SessionStarted'], data: { subject: user.userId } } })).at(-1)!;
    const sessionId = (started.data as { sessionId: string }).sessionId;
    expect(browser.cookies.get('warrant_session')).to.match(new RegExp(`^${sessionId}\\.`));
    expect(JSON.stringify(started.data), 'the cookie secret never enters an event').not.to.contain(browser.cookies.get('warrant_session')!.split('.')[1]);
    const consent = await authorize(browser);
    const done = consent.status === 200 ? await approve(browser, consent) : consent;
    expect(done.status).to.equal(302);
    const issued = (await server.auth.store.readAll({ filter: { types: ['AuthorizationCodeIssued'], data: { subject: user.userId } } })).at(-1)!;
    expect(issued.data).to.include({ sessionId });
    expect(issued.version).to.equal(3);
    const granted = await server.auth.store.readAll({ filter: { types: ['ConsentGranted'], data: { subject: user.userId } } });
    expect(granted.length).to.be.greaterThan(0);
    const page = await browser.go('/oauth/login');
    await browser.post('/oauth/logout', { csrf: field(page.html, 'csrf')! });
    const ended = await server.auth.store.readStream(`session-${sessionId}`);
    expect(ended.map((e) => e.type)).to.deep.equal(['SessionStarted', 'SessionEnded']);
    expect(ended[1]!.data).to.include({ reason: 'logout' });
  });

  it('finding 6: consent for the default audience does not cover another resource; the consent page names the audience', async () => {
    const fresh = await createUser(server.auth.pool, 'tia', 'tias password 123');
    const browser = new Browser(server.url);
    await signIn(server.url, 'tia', 'tias password 123', browser);
    const first = await authorize(browser);
    expect(first.status).to.equal(200);
    expect(first.html).to.contain(`<code>${server.url}</code> (this server's default API)`);
    expect((await approve(browser, first)).status).to.equal(302);
    expect((await authorize(browser)).status, 'same audience: silent').to.equal(302);

    const calendar = await authorize(browser, { resource: 'https://calendar.example/' });
    expect(calendar.status, 'another audience: asked again').to.equal(200);
    expect(calendar.html).to.contain('<code>https://calendar.example/</code>');
    expect((await approve(browser, calendar)).status).to.equal(302);
    expect((await authorize(browser, { resource: 'https://calendar.example/' })).status).to.equal(302);
    const { rows } = await server.auth.pool.query<{ audience: string[] }>('SELECT audience FROM consents WHERE subject = $1', [fresh.userId]);
    expect(rows[0]!.audience).to.have.members([server.url, 'https://calendar.example/']);
  });
});
