// Pushed authorization requests (RFC 9126) against a real server: oauth4webapi pushes, then the
// browser goes to /oauth/authorize with client_id and request_uri only — through the real pages in
// headless Chromium, and at the HTTP level for single use, expiry, binding to the client,
// tampering, ignored URL parameters, clients and servers that require PAR, public clients,
// private_key_jwt, invalid pushed parameters, and the events and audit a pushed request leaves.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Page as ChromiumPage } from 'playwright-core';
import { CLIENT_ASSERTION_TYPE } from '../../src/oauth/client-assertion.js';
import { createUser } from '../../src/users/directory.js';
import { launchBrowser } from '../support/browser.js';
import { Browser, field, signIn, type Page } from '../support/browser-session.js';
import { startCallbackServer, type CallbackServer } from '../support/callback.js';
import { basic, insecure, postForm, startTestServer, useTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'correct horse battery';
const redirectUri = 'https://app.example/callback';
const otherRedirectUri = 'https://app.example/other';

/** The invalid_request_uri page: a 400 page, never a redirect. */
function expectInvalidRequestUri(page: Page, what: string) {
  expect(page.status, what).to.equal(400);
  expect(page.location, what).to.equal(null);
  expect(page.headers.get('content-type'), what).to.match(/^text\/html/);
  expect(page.html, what).to.contain('invalid_request_uri');
}

const authorizeUrl = (base: string, params: Record<string, string>) => `${base}/oauth/authorize?${new URLSearchParams(params).toString()}`;

describe('pushed authorization requests (RFC 9126)', function () {
  this.timeout(120_000);
  // The server's clock runs `skew` ms ahead of this process's: expiry without waiting.
  let skew = 0;
  const server = useTestServer({ clock: () => new Date(Date.now() + skew), config: { scopes: { 'notes:read': 'Read your notes', 'notes:write': 'Change your notes' } } });
  let web: { id: string; secret: string; client: oauth.Client };
  let spa: { id: string; client: oauth.Client };
  let auditor: string;

  before(async () => {
    web = await server.client({ name: 'Notes web app', grantTypes: ['authorization_code', 'refresh_token'], scopes: ['notes:read', 'notes:write'], redirectUris: [redirectUri, otherRedirectUri] });
    const registered = await server.client({ name: 'Notes SPA', confidential: false, grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri] });
    spa = { id: registered.id, client: { client_id: registered.id, token_endpoint_auth_method: 'none' } };
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
    auditor = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(ops.id, ops.secret) })).body.access_token;
  });

  /** Pushes for the web app (client_secret_basic) with PKCE; answers the request_uri and the verifier. */
  async function push(extra: Record<string, string> = {}, who: { id: string; secret: string } = web) {
    const verifier = oauth.generateRandomCodeVerifier();
    const params = { response_type: 'code', redirect_uri: redirectUri, scope: 'notes:read', state: 'pushed-state', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra };
    const response = await postForm(`${server.url}/oauth/par`, params, { authorization: basic(who.id, who.secret) });
    expect(response.status, JSON.stringify(response.body)).to.equal(201);
    return { requestUri: response.body.request_uri as string, verifier };
  }

  /** A new person (so no consent is remembered yet), and a browser signed in as them. */
  async function newUser(): Promise<{ username: string; userId: string }> {
    const username = `user-${randomUUID().slice(0, 8)}`;
    return { username, userId: (await createUser(server.auth.pool, username, PASSWORD)).userId };
  }
  async function signedIn(): Promise<Browser> {
    const browser = new Browser(server.url);
    await signIn(server.url, (await newUser()).username, PASSWORD, browser);
    return browser;
  }

  const consentFields = (page: Page) => Object.fromEntries(['client_id', 'request_uri', 'redirect_uri', 'scope', 'state', 'csrf'].flatMap((k) => (field(page.html, k) === undefined ? [] : [[k, field(page.html, k)!]])));

  /** Approves the consent page shown for a pushed request; answers where the browser is sent. */
  async function approve(browser: Browser, page: Page, decision = 'approve'): Promise<URL> {
    expect(page.status, page.html.slice(0, 300)).to.equal(200);
    const done = await browser.post('/oauth/authorize', { ...consentFields(page), decision });
    expect(done.status, done.html.slice(0, 300)).to.equal(302);
    return new URL(done.location!);
  }

  describe('POST /oauth/par', () => {
    it('answers 201 { request_uri, expires_in: 60 } with Cache-Control: no-store, through oauth4webapi', async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      const response = await oauth.pushedAuthorizationRequest(server.as, web.client, oauth.ClientSecretBasic(web.secret), { response_type: 'code', redirect_uri: redirectUri, scope: 'notes:read', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }, insecure);
      expect(response.status).to.equal(201);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const pushed = await oauth.processPushedAuthorizationResponse(server.as, web.client, response);
      expect(pushed.expires_in).to.equal(60);
      expect(pushed.request_uri).to.match(/^urn:ietf:params:oauth:request_uri:[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    });

    it('checks the pushed request as the authorization endpoint would, answering RFC 6749 §5.2 JSON', async () => {
      const challenge = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
      const cases: [Record<string, string>, string][] = [
        [{ redirect_uri: 'https://evil.example/callback' }, 'invalid_request'], // §2.3: no redirect URI to trust
        [{ redirect_uri: `${redirectUri}/extra` }, 'invalid_request'],
        [{ redirect_uri: '' }, 'invalid_request'], // two registered: must name one
        [{ scope: 'admin' }, 'invalid_scope'],
        [{ scope: 'warrant:admin' }, 'invalid_scope'],
        [{ response_type: 'token' }, 'unsupported_response_type'],
        [{ code_challenge_method: 'plain' }, 'invalid_request'],
        [{ resource: 'https://payments.example/' }, 'invalid_target'],
        [{ prompt: 'sometimes' }, 'invalid_request'],
        [{ request_uri: 'urn:ietf:params:oauth:request_uri:nested' }, 'invalid_request'], // §2.1: MUST NOT be pushed
        [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
        [{ state: 's'.repeat(2001) }, 'invalid_request'],
      ];
      for (const [change, error] of cases) {
        const params: Record<string, string> = { response_type: 'code', redirect_uri: redirectUri, scope: 'notes:read', ...challenge, ...change };
        const response = await postForm(`${server.url}/oauth/par`, Object.fromEntries(Object.entries(params).filter(([, v]) => v !== '')), { authorization: basic(web.id, web.secret) });
        expect(response.status, JSON.stringify(change)).to.equal(400);
        expect(response.body.error, JSON.stringify(change)).to.equal(error);
        expect(response.body.error_description, JSON.stringify(change)).to.be.a('string');
        expect(response.headers.get('cache-control')).to.equal('no-store');
      }
    });

    it('authenticates the client as the token endpoint does (wrong secret: 401 invalid_client) and takes only POST', async () => {
      const wrong = await postForm(`${server.url}/oauth/par`, { response_type: 'code', redirect_uri: redirectUri }, { authorization: basic(web.id, 'not the secret') });
      expect(wrong.status).to.equal(401);
      expect(wrong.body.error).to.equal('invalid_client');
      expect(wrong.headers.get('www-authenticate')).to.match(/^Basic /);
      const anonymous = await postForm(`${server.url}/oauth/par`, { response_type: 'code', redirect_uri: redirectUri });
      expect(anonymous.status).to.equal(401);
      const get = await fetch(`${server.url}/oauth/par`);
      expect(get.status).to.equal(405);
    });
  });

  describe('GET|POST /oauth/authorize with request_uri', () => {
    it('runs the pushed request through sign-in and consent (carried by request_uri alone) and uses it once: a second use is the invalid_request_uri page', async () => {
      const { requestUri, verifier } = await push({ nonce: 'n-0S6_WzA2Mj' });
      const url = authorizeUrl(server.url, { client_id: web.id, request_uri: requestUri });
      const person = await newUser();
      const browser = new Browser(server.url);
      const first = await browser.go(url);
      expect(first.status).to.equal(302);
      const returnTo = new URL(first.location!, server.url).searchParams.get('return_to')!;
      expect(Object.fromEntries(new URL(returnTo, server.url).searchParams)).to.deep.equal({ client_id: web.id, request_uri: requestUri });
      const login = await browser.go(first.location!);
      const back = await browser.post('/oauth/login', { username: person.username, password: PASSWORD, csrf: field(login.html, 'csrf')!, return_to: field(login.html, 'return_to')! });
      const consent = await browser.go(back.location!);
      expect(consent.html).to.contain('Authorize Notes web app').and.to.contain('Read your notes');
      // The consent form carries the request_uri, not the parameters.
      expect(Object.keys(consentFields(consent)).sort()).to.deep.equal(['client_id', 'csrf', 'request_uri']);
      // The pages did not use it up: it still shows the consent page.
      expect((await browser.go(url)).status).to.equal(200);
      const location = await approve(browser, consent);
      expect(location.origin + location.pathname).to.equal(redirectUri);
      expect(location.searchParams.get('state')).to.equal('pushed-state');
      expect(location.searchParams.get('iss')).to.equal(server.url);

      const params = oauth.validateAuthResponse(server.as, web.client, location, 'pushed-state');
      const tokens = await oauth.processAuthorizationCodeResponse(server.as, web.client, await oauth.authorizationCodeGrantRequest(server.as, web.client, oauth.ClientSecretBasic(web.secret), params, redirectUri, verifier, insecure));
      expect(tokens.scope).to.equal('notes:read');
      expect(decodeJwt(tokens.access_token)).to.include({ sub: person.userId, client_id: web.id });

      expectInvalidRequestUri(await browser.go(url), 'second use');
      // The consent form cannot be replayed either.
      expectInvalidRequestUri(await browser.post('/oauth/authorize', { ...consentFields(consent), decision: 'approve' }), 'replayed consent form');
    });

    it('a denial or an error sent back to the client uses the request up too', async () => {
      const browser = await signedIn();
      const denied = await push({ scope: 'notes:write', state: 'denied' });
      const url = authorizeUrl(server.url, { client_id: web.id, request_uri: denied.requestUri });
      const location = await approve(browser, await browser.go(url), 'deny');
      expect(Object.fromEntries(location.searchParams)).to.include({ error: 'access_denied', state: 'denied' });
      expectInvalidRequestUri(await browser.go(url), 'after a denial');

      const silent = await push({ scope: 'notes:write', prompt: 'none', state: 'silent' });
      const silentUrl = authorizeUrl(server.url, { client_id: web.id, request_uri: silent.requestUri });
      const refused = await browser.go(silentUrl);
      expect(Object.fromEntries(new URL(refused.location!).searchParams)).to.include({ error: 'consent_required', state: 'silent' });
      expectInvalidRequestUri(await browser.go(silentUrl), 'after consent_required');
    });

    it('a request_uri expires after 60 seconds', async () => {
      const browser = await signedIn();
      const { requestUri } = await push();
      skew = 61_000;
      try {
        expectInvalidRequestUri(await browser.go(authorizeUrl(server.url, { client_id: web.id, request_uri: requestUri })), 'expired');
      } finally {
        skew = 0;
      }
    });

    it('is bound to its client: another client_id (or none) gets the invalid_request_uri page, and the request stays usable by its own client', async () => {
      const browser = await signedIn();
      const { requestUri } = await push();
      expectInvalidRequestUri(await browser.go(authorizeUrl(server.url, { client_id: spa.id, request_uri: requestUri })), 'other client');
      const missing = await browser.go(authorizeUrl(server.url, { request_uri: requestUri }));
      expect(missing.status).to.equal(400);
      expect(missing.location).to.equal(null);
      expect((await browser.go(authorizeUrl(server.url, { client_id: web.id, request_uri: requestUri }))).status).to.equal(200);
    });

    it('refuses a tampered, unknown or malformed request_uri on the page, never redirecting', async () => {
      const browser = await signedIn();
      const { requestUri } = await push();
      const [, id, secret] = /^urn:ietf:params:oauth:request_uri:(.+)\.(.+)$/.exec(requestUri)!;
      const flipped = `${secret!.slice(0, -1)}${secret!.endsWith('A') ? 'B' : 'A'}`;
      for (const tampered of [
        `urn:ietf:params:oauth:request_uri:${id}.${flipped}`,
        `urn:ietf:params:oauth:request_uri:${randomUUID()}.${secret}`,
        `urn:ietf:params:oauth:request_uri:${id}`,
        `${requestUri}x`,
        'https://app.example/request.jwt',
      ]) {
        expectInvalidRequestUri(await browser.go(authorizeUrl(server.url, { client_id: web.id, request_uri: tampered })), tampered);
      }
      expect((await browser.go(authorizeUrl(server.url, { client_id: web.id, request_uri: requestUri }))).status).to.equal(200);
    });

    it('ignores every other parameter on the URL (RFC 9126 §4): redirect_uri, scope, state, response_type and prompt come from the pushed request', async () => {
      const browser = await signedIn();
      const { requestUri } = await push({ scope: 'notes:read', state: 'from-push' });
      const url = authorizeUrl(server.url, { client_id: web.id, request_uri: requestUri, redirect_uri: otherRedirectUri, scope: 'notes:write', state: 'from-url', response_type: 'token', prompt: 'none', code_challenge_method: 'plain' });
      const consent = await browser.go(url);
      expect(consent.status).to.equal(200);
      expect(consent.html).to.contain('Read your notes').and.not.to.contain('Change your notes');
      const location = await approve(browser, consent);
      expect(location.origin + location.pathname).to.equal(redirectUri);
      expect(location.searchParams.get('state')).to.equal('from-push');
      expect(location.searchParams.get('code')).to.be.a('string');
    });

    it('a client registered with require_pushed_authorization_requests refuses plain requests (invalid_request once the redirect URI is trusted, on the page before) and takes pushed ones', async () => {
      const strict = await server.client({ name: 'Strict app', grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri], requirePushedAuthorizationRequests: true });
      const browser = await signedIn();
      const plain = { response_type: 'code', client_id: strict.id, redirect_uri: redirectUri, scope: 'notes:read', state: 'plain', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
      const refused = await browser.go(authorizeUrl(server.url, plain));
      expect(refused.status).to.equal(302);
      const location = new URL(refused.location!);
      expect(location.origin + location.pathname).to.equal(redirectUri);
      expect(Object.fromEntries(location.searchParams)).to.include({ error: 'invalid_request', state: 'plain', iss: server.url });
      const untrusted = await browser.go(authorizeUrl(server.url, { ...plain, redirect_uri: 'https://evil.example/cb' }));
      expect(untrusted.status).to.equal(400);
      expect(untrusted.location).to.equal(null);
      const { requestUri } = await push({}, strict);
      expect((await approve(browser, await browser.go(authorizeUrl(server.url, { client_id: strict.id, request_uri: requestUri })))).searchParams.get('code')).to.be.a('string');
    });

    it('a public client pushes with client_id alone and must use PKCE; the code is exchanged with the verifier', async () => {
      const without = await oauth.pushedAuthorizationRequest(server.as, spa.client, oauth.None(), { response_type: 'code', redirect_uri: redirectUri, scope: 'notes:read' }, insecure);
      expect(without.status).to.equal(400);
      expect(await without.json()).to.include({ error: 'invalid_request' });
      const verifier = oauth.generateRandomCodeVerifier();
      const response = await oauth.pushedAuthorizationRequest(server.as, spa.client, oauth.None(), { response_type: 'code', redirect_uri: redirectUri, scope: 'notes:read', state: 'spa', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }, insecure);
      const { request_uri } = await oauth.processPushedAuthorizationResponse(server.as, spa.client, response);
      const browser = await signedIn();
      const location = await approve(browser, await browser.go(authorizeUrl(server.url, { client_id: spa.id, request_uri })));
      const params = oauth.validateAuthResponse(server.as, spa.client, location, 'spa');
      const tokens = await oauth.processAuthorizationCodeResponse(server.as, spa.client, await oauth.authorizationCodeGrantRequest(server.as, spa.client, oauth.None(), params, redirectUri, verifier, insecure));
      expect(tokens.access_token).to.be.a('string');
    });

    it('records AuthorizationRequestPushed (the parameters, not the request_uri secret) and PushedAuthorizationRequestUsed; the family audit shows the pushed request', async () => {
      const { requestUri, verifier } = await push({ state: 'audited' });
      const [, requestId, secret] = /^urn:ietf:params:oauth:request_uri:(.+)\.(.+)$/.exec(requestUri)!;
      const person = await newUser();
      const browser = new Browser(server.url);
      await signIn(server.url, person.username, PASSWORD, browser);
      const location = await approve(browser, await browser.go(authorizeUrl(server.url, { client_id: web.id, request_uri: requestUri })));
      const params = oauth.validateAuthResponse(server.as, web.client, location, 'audited');
      const tokens = await oauth.processAuthorizationCodeResponse(server.as, web.client, await oauth.authorizationCodeGrantRequest(server.as, web.client, oauth.ClientSecretBasic(web.secret), params, redirectUri, verifier, insecure));

      const events = await server.auth.store.readStream(`par-${requestId}`);
      expect(events.map((e) => e.type)).to.deep.equal(['AuthorizationRequestPushed', 'PushedAuthorizationRequestUsed']);
      expect(events[0]!.data).to.deep.include({ requestId, clientId: web.id });
      expect((events[0]!.data as { params: Record<string, string> }).params).to.deep.equal({ response_type: 'code', redirect_uri: redirectUri, scope: 'notes:read', state: 'audited', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
      expect(events[0]!.data).to.have.property('uriHash').that.is.a('string').and.not.equal(secret);
      expect(events[1]!.data).to.deep.equal({ requestId, clientId: web.id });
      expect(events[1]!.metadata.actor).to.equal(person.userId);
      const everything = JSON.stringify((await server.auth.store.readAll({})).map((e) => [e.data, e.metadata]));
      expect(everything).not.to.contain(secret);

      const jti = decodeJwt(tokens.access_token).jti!;
      const history = (await (await fetch(`${server.url}/audit/tokens/${jti}`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as any;
      expect(history.pushed_request.request_id).to.equal(requestId);
      expect(history.pushed_request.events.map((e: { type: string }) => e.type)).to.deep.equal(['AuthorizationRequestPushed', 'PushedAuthorizationRequestUsed']);
      expect(history.pushed_request.events[0].data.params).to.include({ state: 'audited' });
      expect(history.pushed_request.events[0].data).not.to.have.property('uriHash');
      // A family from a plain authorization request (consent remembered: straight back) has none.
      const plainVerifier = oauth.generateRandomCodeVerifier();
      const plain = await browser.go(authorizeUrl(server.url, { response_type: 'code', client_id: web.id, redirect_uri: redirectUri, scope: 'notes:read', state: 'plain', code_challenge: await oauth.calculatePKCECodeChallenge(plainVerifier), code_challenge_method: 'S256' }));
      const plainParams = oauth.validateAuthResponse(server.as, web.client, new URL(plain.location!), 'plain');
      const plainTokens = await oauth.processAuthorizationCodeResponse(server.as, web.client, await oauth.authorizationCodeGrantRequest(server.as, web.client, oauth.ClientSecretBasic(web.secret), plainParams, redirectUri, plainVerifier, insecure));
      const other = (await (await fetch(`${server.url}/audit/tokens/${decodeJwt(plainTokens.access_token).jti}`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as any;
      expect(other.grant_type).to.equal('authorization_code');
      expect(other.pushed_request).to.equal(null);
    });
  });

  describe('private_key_jwt and the FAPI 2.0 profile at the PAR endpoint', () => {
    let privateKey: CryptoKey;
    let jwk: JWK;
    let signer: { id: string };
    before(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      privateKey = pair.privateKey;
      jwk = { ...(await exportJWK(pair.publicKey)), kid: 'par-key', alg: 'ES256', use: 'sig' };
      signer = await server.client({ name: 'FAPI app', grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [jwk] }, profile: 'fapi2' });
    });

    const assertion = (aud: string) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: signer.id, sub: signer.id, aud, iat: now, exp: now + 60, jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: 'par-key' }).sign(privateKey);
    };
    const pushSigned = async (aud: string, extra: Record<string, string> = {}) =>
      postForm(`${server.url}/oauth/par`, { response_type: 'code', redirect_uri: redirectUri, scope: 'notes:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await assertion(aud), ...extra });

    it('accepts a client assertion whose aud is the PAR endpoint or the issuer, and refuses another aud', async () => {
      for (const aud of [`${server.url}/oauth/par`, server.url]) {
        const response = await pushSigned(aud);
        expect(response.status, `${aud}: ${JSON.stringify(response.body)}`).to.equal(201);
        expect(response.body.request_uri).to.be.a('string');
      }
      const elsewhere = await pushSigned('https://other.example/oauth/par');
      expect(elsewhere.status).to.equal(401);
      expect(elsewhere.body.error).to.equal('invalid_client');
    });

    it('a FAPI 2.0 client (confidential) must use PKCE and must push: a plain request is invalid_request at its redirect URI', async () => {
      const noPkce = await pushSigned(`${server.url}/oauth/par`, { code_challenge: '', code_challenge_method: '' });
      expect(noPkce.status).to.equal(400);
      expect(noPkce.body).to.include({ error: 'invalid_request' });
      expect(noPkce.body.error_description).to.contain('PKCE');
      const browser = await signedIn();
      const plain = await browser.go(authorizeUrl(server.url, { response_type: 'code', client_id: signer.id, redirect_uri: redirectUri, scope: 'notes:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }));
      expect(new URL(plain.location!).searchParams.get('error')).to.equal('invalid_request');
    });
  });
});

describe('WARRANT_REQUIRE_PAR=true: every client must push', function () {
  this.timeout(60_000);
  const server = useTestServer({ config: { requirePar: true } });

  it('advertises require_pushed_authorization_requests, refuses plain requests and takes pushed ones', async () => {
    expect(server.as.require_pushed_authorization_requests).to.equal(true);
    await createUser(server.auth.pool, 'ivy', PASSWORD);
    const web = await server.client({ name: 'App', grantTypes: ['authorization_code'], scopes: ['notes:read'], redirectUris: [redirectUri] });
    const browser = new Browser(server.url);
    await signIn(server.url, 'ivy', PASSWORD, browser);
    const challenge = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    const plain = await browser.go(authorizeUrl(server.url, { response_type: 'code', client_id: web.id, redirect_uri: redirectUri, state: 'p', ...challenge }));
    expect(Object.fromEntries(new URL(plain.location!).searchParams)).to.include({ error: 'invalid_request', state: 'p' });
    const pushed = await oauth.processPushedAuthorizationResponse(server.as, web.client, await oauth.pushedAuthorizationRequest(server.as, web.client, oauth.ClientSecretBasic(web.secret), { response_type: 'code', redirect_uri: redirectUri, ...challenge }, insecure));
    const consent = await browser.go(authorizeUrl(server.url, { client_id: web.id, request_uri: pushed.request_uri }));
    expect(consent.status).to.equal(200);
    const done = await browser.post('/oauth/authorize', { client_id: field(consent.html, 'client_id')!, request_uri: field(consent.html, 'request_uri')!, csrf: field(consent.html, 'csrf')!, decision: 'approve' });
    expect(new URL(done.location!).searchParams.get('code')).to.be.a('string');
  });
});

describe('PAR in a real browser (headless Chromium) with oauth4webapi', function () {
  this.timeout(120_000);
  let server: TestServer;
  let chrome: Awaited<ReturnType<typeof launchBrowser>>;
  let callback: CallbackServer;

  before(async () => {
    server = await startTestServer({ config: { scopes: { 'notes:read': 'Read your notes' } } });
    chrome = await launchBrowser();
    callback = await startCallbackServer();
    await createUser(server.auth.pool, 'grace', PASSWORD, { email: 'grace@example.com', name: 'Grace Hopper' });
  });
  after(async () => {
    await chrome?.close();
    await callback?.close();
    await server?.stop();
  });

  async function signInOnPage(page: ChromiumPage) {
    await page.getByLabel('Password').waitFor();
    await page.getByLabel('Username').fill('grace');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('pushes, sends the browser with client_id and request_uri only, signs in, consents, lands on the redirect URI and exchanges the code; a fresh sign-in (prompt=login) goes straight back for a client with two redirect URIs', async () => {
    const redirect = `${callback.base}/app/cb`;
    const registered = await server.client({ name: 'Grace’s notes', grantTypes: ['authorization_code', 'refresh_token'], scopes: ['notes:read'], redirectUris: [redirect, `${callback.base}/app/other`] });
    const client: oauth.Client = { client_id: registered.id };
    const auth = oauth.ClientSecretBasic(registered.secret);
    const issuer = new URL(server.url);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
    expect(as.pushed_authorization_request_endpoint).to.equal(`${server.url}/oauth/par`);

    const page = await chrome.browser.newPage();
    const run = async (extra: Record<string, string>, steps: () => Promise<void>) => {
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const pushed = await oauth.processPushedAuthorizationResponse(as, client, await oauth.pushedAuthorizationRequest(as, client, auth, { response_type: 'code', redirect_uri: redirect, scope: 'openid notes:read', state, nonce, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra }, insecure));
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({ client_id: client.client_id, request_uri: pushed.request_uri }).toString();
      await page.goto(url.toString());
      await steps();
      await page.waitForURL((u) => u.toString().startsWith(redirect));
      const params = oauth.validateAuthResponse(as, client, new URL(page.url()), state);
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirect, verifier, insecure), { expectedNonce: nonce, requireIdToken: true });
      return { tokens, url };
    };

    const { tokens, url } = await run({}, async () => {
      expect(await page.title()).to.contain('Sign in');
      await signInOnPage(page);
      await page.getByRole('button', { name: 'Approve' }).waitFor();
      expect(await page.locator('ul.scopes').textContent()).to.contain('Read your notes');
      await page.getByRole('button', { name: 'Approve' }).click();
    });
    expect(tokens.scope).to.equal('openid notes:read');
    expect(oauth.getValidatedIdTokenClaims(tokens)!.sub).to.be.a('string');

    // Used once: the same link again is the error page, not the app.
    await page.goto(url.toString());
    expect(await page.locator('p.error').textContent()).to.contain('invalid_request_uri');
    expect(page.url().startsWith(server.url)).to.equal(true);

    // Consent is remembered; prompt=login asks for the password, and the sign-in form's post goes
    // straight on to the app (the pushed redirect URI is allowed as the form's destination).
    await run({ prompt: 'login' }, () => signInOnPage(page));
    await page.close();
  });
});
