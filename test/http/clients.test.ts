// The client admin API under /oauth/clients (scope warrant:admin).

import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

describe('/oauth/clients admin API', function () {
  this.timeout(60_000);
  let server: TestServer;
  let admin: string;
  before(async () => {
    server = await startTestServer();
    const { id, secret } = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin'] });
    admin = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'warrant:admin' }, { authorization: basic(id, secret) })).body.access_token;
  });
  after(async () => {
    await server.stop();
  });

  const call = async (method: string, path: string, body?: unknown, token = admin) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

  it('creates a client (201, secret shown once), reads, lists, updates, rotates its secret and revokes it', async () => {
    const created = await call('POST', '/oauth/clients', { client_name: 'Billing', grant_types: ['client_credentials'], scope: 'read write' });
    expect(created.status).to.equal(201);
    expect(created.body).to.include({ client_name: 'Billing', scope: 'read write', confidential: true, revoked: false });
    expect(created.body.client_secret).to.match(/^[A-Za-z0-9_-]{43}$/);
    const id = created.body.client_id as string;

    const token = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, created.body.client_secret) });
    expect(token.status).to.equal(200);

    const read = await call('GET', `/oauth/clients/${id}`);
    expect(read.body).to.include({ client_id: id, client_name: 'Billing' });
    expect(JSON.stringify(read.body)).not.to.contain('secret_hash').and.not.to.contain(created.body.client_secret);

    const list = await call('GET', '/oauth/clients?limit=200');
    expect(list.body.clients.map((c: { client_id: string }) => c.client_id)).to.include(id);

    const updated = await call('PATCH', `/oauth/clients/${id}`, { client_name: 'Billing v2', scope: 'read' });
    expect(updated.body).to.include({ client_name: 'Billing v2', scope: 'read' });
    const narrowed = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'write' }, { authorization: basic(id, created.body.client_secret) });
    expect(narrowed.body.error).to.equal('invalid_scope');

    const rotated = await call('POST', `/oauth/clients/${id}/secret`);
    expect(rotated.body.client_secret).to.be.a('string').and.not.equal(created.body.client_secret);
    const old = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, created.body.client_secret) });
    expect(old.status).to.equal(401);

    const revoked = await call('DELETE', `/oauth/clients/${id}`);
    expect(revoked.body.revoked).to.equal(true);
    // Its earlier token is invalid at once.
    const introspected = await postForm(`${server.url}/oauth/introspect`, { token: token.body.access_token }, { authorization: basic(id, rotated.body.client_secret) });
    expect(introspected.status).to.equal(401); // the client itself can no longer authenticate
    const refused = await server.auth.policy.authenticate(`Bearer ${token.body.access_token}`).then(() => undefined, (e: unknown) => e);
    expect(refused).to.include({ status: 401, error: 'invalid_token' });

    const events = await server.auth.store.readStream(`client-${id}`);
    expect(events.map((e) => e.type)).to.deep.equal(['ClientRegistered', 'ClientUpdated', 'ClientSecretRotated', 'ClientRevoked']);
    expect(events[0]!.metadata.actor).to.match(/^admin:/);
  });

  it('creates public clients (no secret) and paginates with a cursor that neither skips nor repeats', async () => {
    const pub = await call('POST', '/oauth/clients', { client_name: 'SPA', grant_types: ['authorization_code'], token_endpoint_auth_method: 'none', redirect_uris: ['https://spa.example/cb'] });
    expect(pub.status).to.equal(201);
    expect(pub.body).to.include({ confidential: false, token_endpoint_auth_method: 'none' });
    expect(pub.body).not.to.have.property('client_secret');
    for (let i = 0; i < 5; i += 1) await call('POST', '/oauth/clients', { client_name: `Page ${i}`, grant_types: ['client_credentials'] });
    const all = (await call('GET', '/oauth/clients?limit=200')).body.clients.map((c: { client_id: string }) => c.client_id);
    const paged: string[] = [];
    let next: string | null = null;
    do {
      const page: { body: { clients: { client_id: string }[]; next: string | null } } = await call('GET', `/oauth/clients?limit=2${next ? `&after=${next}` : ''}`);
      paged.push(...page.body.clients.map((c) => c.client_id));
      next = page.body.next;
    } while (next);
    expect(paged).to.deep.equal(all);
  });

  it('resources: registered, shown, changed by PATCH, and what the token endpoint allows as audience', async () => {
    const created = await call('POST', '/oauth/clients', { client_name: 'Gateway', grant_types: ['client_credentials'], scope: 'read', resources: ['https://orders.example/'] });
    expect(created.status).to.equal(201);
    expect(created.body.resources).to.deep.equal(['https://orders.example/']);
    const id = created.body.client_id as string;
    const ask = (resource: string) => postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', resource }, { authorization: basic(id, created.body.client_secret) });
    expect((await ask('https://orders.example/')).status).to.equal(200);
    expect((await ask('https://billing.example/')).body.error).to.equal('invalid_target');
    const patched = await call('PATCH', `/oauth/clients/${id}`, { resources: ['https://billing.example/'] });
    expect(patched.body.resources).to.deep.equal(['https://billing.example/']);
    expect((await ask('https://billing.example/')).status).to.equal(200);
    expect((await ask('https://orders.example/')).body.error).to.equal('invalid_target');
    for (const resources of [['not a uri'], ['https://x.example/#frag'], 'https://x.example/']) {
      const bad = await call('POST', '/oauth/clients', { client_name: 'X', grant_types: ['client_credentials'], resources });
      expect(bad.status, JSON.stringify(resources)).to.equal(400);
      expect(bad.body.error_description).to.contain('resources');
    }
  });

  it('refuses bad metadata with a message naming the field, and unknown ids with 404', async () => {
    const bad = await call('POST', '/oauth/clients', { client_name: 'X', grant_types: ['magic'] });
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.equal('invalid_client_metadata'); // RFC 7591 §3.2.2
    expect(bad.body.error_description).to.contain('grant_types');
    const uri = await call('POST', '/oauth/clients', { client_name: 'X', grant_types: ['authorization_code'], redirect_uris: ['not a uri'] });
    expect(uri.body.error_description).to.contain('redirect_uris');
    const extra = await call('POST', '/oauth/clients', { client_name: 'X', grant_types: ['client_credentials'], client_secret: 'mine' });
    expect(extra.body.error_description).to.contain('client_secret');
    const scope = await call('POST', '/oauth/clients', { client_name: 'X', grant_types: ['client_credentials'], scope: 'bad"scope' });
    expect(scope.status).to.equal(400);
    expect((await call('GET', '/oauth/clients/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
    expect((await call('GET', '/oauth/clients/nope')).status).to.equal(404);
    expect((await call('PATCH', '/oauth/clients/00000000-0000-4000-8000-000000000000', { client_name: 'Y' })).status).to.equal(404);
    const notJson = await fetch(`${server.url}/oauth/clients`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{not json' });
    expect(notJson.status).to.equal(400);
  });

  it('needs a bearer token (401 with WWW-Authenticate) with scope warrant:admin (403 insufficient_scope)', async () => {
    const none = await fetch(`${server.url}/oauth/clients`);
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer realm="/).and.not.to.contain('error=');
    const bad = await call('GET', '/oauth/clients', undefined, 'not-a-token');
    expect(bad.status).to.equal(401);
    expect(bad.headers.get('www-authenticate')).to.contain('error="invalid_token"');
    const { id, secret } = await server.client({ scopes: ['read'] });
    const reader = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) })).body.access_token;
    const forbidden = await call('GET', '/oauth/clients', undefined, reader);
    expect(forbidden.status).to.equal(403);
    expect(forbidden.body.error).to.equal('insufficient_scope');
    expect(forbidden.headers.get('www-authenticate')).to.contain('error="insufficient_scope"').and.to.contain('scope="warrant:admin"');
  });

  it('refuses redirect URIs that are not https, loopback http or a public client\'s private-use scheme with invalid_redirect_uri, on create and update', async () => {
    const pub = { token_endpoint_auth_method: 'none' };
    const refused: [string, Record<string, unknown>][] = [
      ['javascript:alert(document.cookie)', pub],
      ['JavaScript:alert(1)//https://app.example/cb', pub],
      ['data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', pub],
      ['vbscript:msgbox(1)', pub],
      ['file:///etc/passwd', pub],
      ['blob:https://app.example/0b1c2d3e', pub],
      ['https://app.example/cb#', {}], // RFC 6749 §3.1.2: no fragment, not even an empty one
      ['https://app.example/cb#access_token=x', {}],
      ['http://app.example/cb', {}], // plain http only on the loopback interface (RFC 8252 §7.3)
      ['http://localhost.evil.example/cb', {}],
      ['https://user@app.example/cb', {}],
      ['https://user:pass@app.example/cb', {}],
      ['https://app.example\\@evil.example/cb', {}],
      ['https://app.example/c b', {}],
      ['https://app.example/cb\t', {}],
      ['https://app.example/\u001b[31mcb', {}],
      ['https://app.example/\u0085cb', {}],
      ['https://app.example/\u202ebc', {}],
      ['https:app.example/cb', {}],
      ['/callback', {}],
      ['com.example.app:/callback', {}], // a private-use scheme, for a confidential client (RFC 8252 §7.1 is for native apps)
      ['myapp:/callback', pub], // not a reverse domain name (RFC 8252 §7.1)
    ];
    for (const [uri, extra] of refused) {
      const created = await call('POST', '/oauth/clients', { client_name: 'X', grant_types: ['authorization_code'], redirect_uris: ['https://app.example/ok', uri], ...extra });
      expect(created.status, uri).to.equal(400);
      expect(created.body.error, uri).to.equal('invalid_redirect_uri');
      expect(created.body.error_description, uri).to.contain('redirect_uris[1]').and.not.match(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    }

    const web = await call('POST', '/oauth/clients', { client_name: 'Web', grant_types: ['authorization_code'], redirect_uris: ['https://app.example/cb'] });
    expect(web.status).to.equal(201);
    const patched = await call('PATCH', `/oauth/clients/${web.body.client_id}`, { redirect_uris: ['javascript:alert(1)'] });
    expect(patched.status).to.equal(400);
    expect(patched.body.error).to.equal('invalid_redirect_uri');
    const native = await call('PATCH', `/oauth/clients/${web.body.client_id}`, { redirect_uris: ['com.example.app:/callback'] });
    expect(native.body.error).to.equal('invalid_redirect_uri'); // still a confidential client
    expect((await call('GET', `/oauth/clients/${web.body.client_id}`)).body.redirect_uris).to.deep.equal(['https://app.example/cb']);

    const accepted: [string[], Record<string, unknown>][] = [
      [['https://app.example/cb?tenant=a', 'https://app.example:8443/cb', 'http://localhost:3000/callback', 'http://127.0.0.1:53682/cb', 'http://[::1]:8080/cb'], {}],
      [['com.example.notes:/oauth2redirect', 'com.example.notes://callback', 'http://127.0.0.1/cb'], pub],
    ];
    for (const [uris, extra] of accepted) {
      const created = await call('POST', '/oauth/clients', { client_name: 'Good', grant_types: ['authorization_code'], redirect_uris: uris, ...extra });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.redirect_uris).to.deep.equal(uris);
    }
  });

  it('refuses client names with control characters or bidirectional overrides with invalid_client_metadata, on create and update', async () => {
    const { body: existing } = await call('POST', '/oauth/clients', { client_name: 'Plain', grant_types: ['client_credentials'] });
    for (const name of ['Evil\u001b[2J\u001b[1;1H', 'bell\u0007', 'two\nlines', 'del\u007f', 'c1 \u009b31m', 'Pay\u202egnp.exe', 'iso\u2066late\u2069', 'mark\u200f']) {
      const created = await call('POST', '/oauth/clients', { client_name: name, grant_types: ['client_credentials'] });
      expect(created.status, JSON.stringify(name)).to.equal(400);
      expect(created.body.error, JSON.stringify(name)).to.equal('invalid_client_metadata');
      expect(created.body.error_description).to.contain('client_name');
      const patched = await call('PATCH', `/oauth/clients/${existing.client_id}`, { client_name: name });
      expect(patched.status, JSON.stringify(name)).to.equal(400);
      expect(patched.body.error, JSON.stringify(name)).to.equal('invalid_client_metadata');
    }
    expect((await call('GET', `/oauth/clients/${existing.client_id}`)).body.client_name).to.equal('Plain');
    // Other scripts and emoji are names, not controls.
    const unicode = await call('POST', '/oauth/clients', { client_name: 'Zürich 東京 مرحبا 💥', grant_types: ['client_credentials'] });
    expect(unicode.status).to.equal(201);
  });

  it('other bad metadata is invalid_client_metadata (RFC 7591 §3.2.2); a body that is not an object stays invalid_request', async () => {
    for (const body of [
      { client_name: 'n'.repeat(201), grant_types: ['client_credentials'] },
      { client_name: '', grant_types: ['client_credentials'] },
      { grant_types: ['client_credentials'] },
      { client_name: 'X', grant_types: ['client_credentials'], scope: 'bad"scope' },
      { client_name: 'X', grant_types: ['client_credentials'], client_secret: 'mine' },
      { client_name: 'X', grant_types: ['client_credentials'], access_token_ttl: 0 },
      { client_name: 'X', grant_types: ['client_credentials'], resources: ['https://x.example/#frag'] },
    ]) {
      const answer = await call('POST', '/oauth/clients', body);
      expect(answer.status, JSON.stringify(body)).to.equal(400);
      expect(answer.body.error, JSON.stringify(body)).to.equal('invalid_client_metadata');
    }
    const notObject = await call('POST', '/oauth/clients', ['client_name']);
    expect(notObject.status).to.equal(400);
    expect(notObject.body.error).to.equal('invalid_request');
  });

  it('takes the RFC 7591 / OIDC registration fields: response_types, post_logout_redirect_uris, token_endpoint_auth_method private_key_jwt with jwks or jwks_uri; refuses what does not fit', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1' };
    const rp = await call('POST', '/oauth/clients', { client_name: 'RP', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['https://rp.example/cb'], post_logout_redirect_uris: ['https://rp.example/bye'] });
    expect(rp.status).to.equal(201);
    expect(rp.body).to.deep.include({ response_types: ['code'], post_logout_redirect_uris: ['https://rp.example/bye'], token_endpoint_auth_method: 'client_secret_basic' });
    const patched = await call('PATCH', `/oauth/clients/${rp.body.client_id}`, { post_logout_redirect_uris: ['https://rp.example/bye', 'https://rp.example/'] });
    expect(patched.body.post_logout_redirect_uris).to.deep.equal(['https://rp.example/bye', 'https://rp.example/']);

    const signed = await call('POST', '/oauth/clients', { client_name: 'Signer', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
    expect(signed.status).to.equal(201);
    expect(signed.body).not.to.have.property('client_secret');
    expect(signed.body).to.deep.include({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } });
    const byUri = await call('POST', '/oauth/clients', { client_name: 'Signer 2', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://signer.example/jwks' });
    expect(byUri.body).to.include({ jwks_uri: 'https://signer.example/jwks' });
    // Switching from inline keys to a URL: one source at a time.
    expect((await call('PATCH', `/oauth/clients/${signed.body.client_id}`, { jwks: null, jwks_uri: 'https://signer.example/jwks' })).body).to.include({ jwks_uri: 'https://signer.example/jwks' });
    expect((await call('POST', `/oauth/clients/${signed.body.client_id}/secret`)).status).to.equal(409);

    const refused: [Record<string, unknown>, string, RegExp][] = [
      [{ response_types: ['token'] }, 'invalid_client_metadata', /response_types/],
      [{ post_logout_redirect_uris: ['http://rp.example/bye'] }, 'invalid_redirect_uri', /http/],
      [{ token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata', /jwks or jwks_uri/],
      [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, jwks_uri: 'https://x.example/jwks' }, 'invalid_client_metadata', /one of them/],
      [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [privateKey.export({ format: 'jwk' })] } }, 'invalid_client_metadata', /jwks/],
      [{ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }] } }, 'invalid_client_metadata', /not a usable public key/],
      [{ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://keys.example/jwks' }, 'invalid_client_metadata', /https/],
      [{ token_endpoint_auth_method: 'client_secret_basic', jwks: { keys: [jwk] } }, 'invalid_client_metadata', /private_key_jwt/],
      [{ token_endpoint_auth_method: 'client_secret_jwt' }, 'invalid_client_metadata', /token_endpoint_auth_method/],
      [{ software_statement: 'x' }, 'invalid_client_metadata', /not a known field/],
    ];
    for (const [fields, error, description] of refused) {
      const answer = await call('POST', '/oauth/clients', { client_name: 'Bad', grant_types: ['client_credentials'], ...fields });
      expect(answer.status, JSON.stringify(fields)).to.equal(400);
      expect(answer.body.error, JSON.stringify(fields)).to.equal(error);
      expect(answer.body.error_description, JSON.stringify(fields)).to.match(description);
    }
    // The private key never reached the log.
    const all = JSON.stringify((await server.auth.store.readAll({})).map((e) => e.data));
    expect(all).not.to.contain(String(privateKey.export({ format: 'jwk' }).d));
  });
});
