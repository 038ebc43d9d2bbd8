// private_key_jwt client authentication (RFC 7523 §2.2/§3, OIDC Core §9) against a real server:
// oauth4webapi as the client that should get in, hand-signed assertions (jose) for each refusal.
// Each refusal is checked by its logged detail too, so a test cannot pass on another check.

import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import * as oauth from 'oauth4webapi';
import { createLogger } from '../../src/logger.js';
import { CLIENT_ASSERTION_ALGS, CLIENT_ASSERTION_TYPE } from '../../src/oauth/client-assertion.js';
import { registerClient, revokeClient, type NewClient } from '../../src/oauth/clients.js';
import { UsedJtis } from '../../src/oauth/used-jtis.js';
import { createHttpServer } from '../../src/serve.js';
import { createAuthServer, type AuthServer } from '../../src/server.js';
import { freePort, run } from '../support/process.js';
import { basic, insecure, postForm, useTestServer } from '../support/server.js';

interface Line {
  msg: string;
  requestId?: string;
  detail?: string;
}

interface KeyPair {
  privateKey: CryptoKey;
  jwk: JWK;
  kid: string;
}

async function keyPair(alg: string = 'ES256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const seconds = () => Math.floor(Date.now() / 1000);

/** Serves a JWK Set on 127.0.0.1, counting fetches; `respond` can be swapped to misbehave. */
async function jwksServer(jwks: { keys: JWK[] }) {
  const state = { hits: 0, respond: (res: http.ServerResponse) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)) };
  const server = http.createServer((_req, res) => {
    state.hits += 1;
    state.respond(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    state,
    uri: `http://127.0.0.1:${port}/jwks.json`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('private_key_jwt client authentication', function () {
  this.timeout(60_000);
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  // Many refusals from one address in this file: a failure limit far above them (the limit
  // itself is checked in its own block below).
  const server = useTestServer({ logger: createLogger({ level: 'warn', destination: sink }), config: { rateLimitFailures: 10_000 } });
  const token = () => `${server.url}/oauth/token`;

  let key: KeyPair;
  let other: KeyPair;
  before(async () => {
    key = await keyPair();
    other = await keyPair();
  });

  async function signingClient(input: Partial<NewClient> = {}, keys: KeyPair = key) {
    const { client, clientSecret } = await registerClient(
      server.auth.context,
      { name: 'Signing client', grantTypes: ['client_credentials'], scopes: ['read'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [keys.jwk] }, ...input },
      { actor: 'admin:test' },
    );
    expect(clientSecret).to.equal(undefined);
    return { id: client.clientId, client: { client_id: client.clientId } as oauth.Client };
  }

  function claims(id: string, overrides: Partial<Record<keyof JWTPayload, unknown>> = {}): JWTPayload {
    const now = seconds();
    return { iss: id, sub: id, aud: server.url, iat: now, exp: now + 60, jti: randomUUID(), ...overrides } as JWTPayload;
  }
  const sign = (payload: JWTPayload, keys: KeyPair = key, header: Record<string, unknown> = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: keys.kid, ...header } as { alg: string }).sign(keys.privateKey);
  const form = (assertion: string, extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, ...extra });

  /** POSTs, expects 401 invalid_client with the generic description, and a logged detail matching `detail`. */
  async function refused(url: string, body: Record<string, string>, detail: RegExp, headers: Record<string, string> = {}) {
    const requestId = `pkjwt.${randomUUID()}`;
    const res = await postForm(url, body, { ...headers, 'x-request-id': requestId });
    expect(res.status, JSON.stringify(res.body)).to.equal(401);
    expect(res.body).to.deep.equal({ error: 'invalid_client', error_description: 'client authentication failed' });
    let line: Line | undefined;
    for (let i = 0; i < 50 && !line; i += 1) {
      line = lines.find((l) => l.requestId === requestId && l.msg === 'request refused');
      if (!line) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(line?.detail, 'logged detail').to.match(detail);
    return res;
  }

  describe('registration', () => {
    it('the admin API registers a private_key_jwt client with no secret, and it authenticates with its key', async () => {
      const admin = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin'] });
      const bearer = (await postForm(token(), { grant_type: 'client_credentials', scope: 'warrant:admin' }, { authorization: basic(admin.id, admin.secret) })).body.access_token as string;
      const response = await fetch(`${server.url}/oauth/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'Signer', grant_types: ['client_credentials'], scope: 'read', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.jwk] } }),
      });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status, JSON.stringify(body)).to.equal(201);
      expect(body).to.include({ token_endpoint_auth_method: 'private_key_jwt', confidential: true });
      expect(body).not.to.have.property('client_secret');
      const client = { client_id: body['client_id'] as string };
      const result = await oauth.processClientCredentialsResponse(
        server.as,
        client,
        await oauth.clientCredentialsGrantRequest(server.as, client, oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }), { scope: 'read' }, insecure),
      );
      expect(result.scope).to.equal('read');
    });

    it('warrant client create --jwks-file --json prints no secret, and the client authenticates with its key', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'warrant-pkjwt-'));
      try {
        const file = path.join(dir, 'jwks.json');
        await writeFile(file, JSON.stringify({ keys: [key.jwk] }));
        const created = await run(['client', 'create', '--name', 'cli signer', '--grant', 'client_credentials', '--scope', 'read', '--jwks-file', file, '--json'], {
          DATABASE_URL: server.db.url,
          WARRANT_STORAGE: server.storage,
        });
        expect(created.code, created.stderr).to.equal(0);
        const printed = JSON.parse(created.stdout) as { client_id: string; client_secret: string | null };
        expect(printed.client_secret).to.equal(null);
        const client = { client_id: printed.client_id };
        const response = await oauth.clientCredentialsGrantRequest(server.as, client, oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }), {}, insecure);
        expect((await oauth.processClientCredentialsResponse(server.as, client, response)).access_token).to.be.a('string');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('accepted', () => {
    it('token, introspection and revocation endpoints accept oauth4webapi PrivateKeyJwt (inline jwks)', async () => {
      const { client } = await signingClient();
      const auth = oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid });
      const issued = await oauth.processClientCredentialsResponse(server.as, client, await oauth.clientCredentialsGrantRequest(server.as, client, auth, { scope: 'read' }, insecure));
      const before = await oauth.processIntrospectionResponse(server.as, client, await oauth.introspectionRequest(server.as, client, auth, issued.access_token, insecure));
      expect(before).to.include({ active: true, client_id: client.client_id, scope: 'read' });
      const revoked = await oauth.revocationRequest(server.as, client, auth, issued.access_token, insecure);
      expect(revoked.status).to.equal(200);
      await oauth.processRevocationResponse(revoked);
      const after = await oauth.processIntrospectionResponse(server.as, client, await oauth.introspectionRequest(server.as, client, auth, issued.access_token, insecure));
      expect(after).to.deep.equal({ active: false });
    });

    it(`accepts every algorithm it advertises: ${CLIENT_ASSERTION_ALGS.join(', ')}`, async () => {
      for (const alg of CLIENT_ASSERTION_ALGS) {
        const pair = await keyPair(alg);
        const { id } = await signingClient({}, pair);
        const res = await postForm(token(), form(await sign(claims(id), pair, { alg })));
        expect(res.status, `${alg}: ${JSON.stringify(res.body)}`).to.equal(200);
      }
    });

    it('aud may be the issuer, the token endpoint or the endpoint called, alone or in a list', async () => {
      const { id } = await signingClient();
      for (const aud of [server.url, `${server.url}/oauth/token`, ['https://elsewhere.example', `${server.url}/oauth/token`]]) {
        const res = await postForm(token(), form(await sign(claims(id, { aud }))));
        expect(res.status, `${JSON.stringify(aud)}: ${JSON.stringify(res.body)}`).to.equal(200);
      }
      // The introspection endpoint's own URL is accepted there, and only there.
      const issued = (await postForm(token(), form(await sign(claims(id))))).body.access_token as string;
      const at = `${server.url}/oauth/introspect`;
      const introspected = await postForm(at, { token: issued, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await sign(claims(id, { aud: at })) });
      expect(introspected.status).to.equal(200);
      expect(introspected.body.active).to.equal(true);
      await refused(token(), form(await sign(claims(id, { aud: at }))), /^client assertion: aud:/);
    });

    it('jwks_uri: keys are fetched once and cached, also for an unknown kid (no fetch per request)', async () => {
      const keys = await jwksServer({ keys: [key.jwk] });
      try {
        const { id, client } = await signingClient({ jwks: null, jwksUri: keys.uri });
        expect(keys.state.hits).to.equal(0);
        const auth = oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid });
        for (let i = 0; i < 3; i += 1) {
          const result = await oauth.processClientCredentialsResponse(server.as, client, await oauth.clientCredentialsGrantRequest(server.as, client, auth, {}, insecure));
          expect(result.access_token).to.be.a('string');
        }
        expect(keys.state.hits).to.equal(1);
        // A kid the set does not have would refetch, but not within the 30 s cooldown.
        await refused(token(), form(await sign(claims(id), other)), /no registered key matches/);
        expect(keys.state.hits).to.equal(1);
      } finally {
        await keys.close();
      }
    });
  });

  describe('refused (401 invalid_client)', () => {
    let id: string;
    before(async () => {
      ({ id } = await signingClient());
    });

    it('signed by another key (the registered kid, the wrong private key)', async () => {
      await refused(token(), form(await sign(claims(id), { ...other, kid: key.kid })), /signature does not verify/);
    });

    it('expired', async () => {
      await refused(token(), form(await sign(claims(id, { iat: seconds() - 120, exp: seconds() - 60 }))), /expired/);
    });

    it('exp more than 10 minutes ahead', async () => {
      await refused(token(), form(await sign(claims(id, { exp: seconds() + 3600 }))), /more than 600 s ahead/);
      // The bound itself is allowed.
      expect((await postForm(token(), form(await sign(claims(id, { exp: seconds() + 590 }))))).status).to.equal(200);
    });

    it('no exp, or no jti', async () => {
      await refused(token(), form(await sign(claims(id, { exp: undefined }))), /"exp" claim/);
      await refused(token(), form(await sign(claims(id, { jti: undefined }))), /"jti" claim/);
    });

    it('aud naming another server', async () => {
      await refused(token(), form(await sign(claims(id, { aud: 'https://other.example' }))), /^client assertion: aud:/);
      await refused(token(), form(await sign(claims(id, { aud: `${server.url}/` }))), /^client assertion: aud:/);
    });

    it('iss different from sub', async () => {
      const another = await signingClient();
      await refused(token(), form(await sign(claims(id, { iss: another.id }))), /iss differs from sub/);
    });

    it('client_id in the body different from the assertion\'s sub', async () => {
      const another = await signingClient();
      await refused(token(), form(await sign(claims(id)), { client_id: another.id }), /client_id differs/);
      // The same client_id as the sub is fine.
      expect((await postForm(token(), form(await sign(claims(id)), { client_id: id }))).status).to.equal(200);
    });

    it('a replayed jti, even with a fresh signature', async () => {
      const payload = claims(id);
      const assertion = await sign(payload);
      expect((await postForm(token(), form(assertion))).status).to.equal(200);
      await refused(token(), form(assertion), /jti already used/);
      await refused(token(), form(await sign({ ...payload, iat: seconds() })), /jti already used/);
    });

    it('a replayed jti at a second server process on the same database, and of concurrent copies exactly one wins', async () => {
      let second: AuthServer | undefined;
      let listener: http.Server | undefined;
      try {
        second = await createAuthServer({ config: server.auth.config, logger: createLogger({ level: 'warn', destination: sink }), runProjections: false });
        const port = await freePort();
        listener = createHttpServer(second.app.callback(), server.auth.config);
        await new Promise<void>((resolve) => listener!.listen(port, '127.0.0.1', resolve));
        const secondToken = `http://127.0.0.1:${port}/oauth/token`;

        const first = await sign(claims(id));
        expect((await postForm(token(), form(first))).status).to.equal(200);
        await refused(secondToken, form(first), /jti already used/);
        const other = await sign(claims(id));
        expect((await postForm(secondToken, form(other))).status).to.equal(200);
        await refused(token(), form(other), /jti already used/);

        const raced = await sign(claims(id));
        const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => postForm(i % 2 ? secondToken : token(), form(raced))));
        expect(responses.map((r) => r.status).sort()).to.deep.equal([200, ...Array<number>(19).fill(401)]);
      } finally {
        listener?.closeAllConnections();
        await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
        await second?.close();
      }
    });

    it('a revoked client, or an unknown one', async () => {
      const gone = await signingClient();
      await revokeClient(server.auth.context, gone.id, { actor: 'admin:test' });
      await refused(token(), form(await sign(claims(gone.id))), /client revoked/);
      const unknown = randomUUID();
      await refused(token(), form(await sign(claims(unknown))), /unknown client/);
    });

    it('alg HS256 (keyed with anything) and alg none', async () => {
      const hs = await new SignJWT(claims(id)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('a shared secret of at least 32 bytes'));
      await refused(token(), form(hs), /alg not allowed/);
      const none = `${b64({ alg: 'none' })}.${b64(claims(id))}.`;
      await refused(token(), form(none), /alg not allowed|Unsupported "alg"/);
    });

    it('not a JWT at all', async () => {
      await refused(token(), form('not.a.jwt'), /not a JWT/);
      await refused(token(), form(await sign(claims(id)), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }), /unsupported client_assertion_type/);
    });

    it('a client registered with a secret that sends an assertion (even one its secret cannot have signed)', async () => {
      const secretClient = await server.client();
      await refused(token(), form(await sign(claims(secretClient.id))), /registered for client_secret_basic, not private_key_jwt/);
      // Its secret still works.
      expect((await postForm(token(), { grant_type: 'client_credentials' }, { authorization: basic(secretClient.id, secretClient.secret) })).status).to.equal(200);
    });

    it('a private_key_jwt client that sends a secret, or nothing', async () => {
      await refused(token(), { grant_type: 'client_credentials' }, /registered for private_key_jwt/, { authorization: basic(id, 'a guess') });
      await refused(token(), { grant_type: 'client_credentials', client_id: id, client_secret: 'a guess' }, /registered for private_key_jwt/);
      await refused(token(), { grant_type: 'client_credentials', client_id: id }, /registered for private_key_jwt/);
      await refused(token(), { grant_type: 'client_credentials', client_id: id, client_secret: '' }, /registered for private_key_jwt/);
    });

    it('an unreachable jwks_uri: 401 at once, never a 5xx', async () => {
      const closed = `http://127.0.0.1:${await freePort()}/jwks.json`;
      const { id: unreachable } = await signingClient({ jwks: null, jwksUri: closed });
      const started = Date.now();
      await refused(token(), form(await sign(claims(unreachable))), /^client assertion: jwks_uri .* could not be used/);
      expect(Date.now() - started).to.be.below(2000);
    });

    it('a jwks_uri that answers 500, or never answers (after the 5 s timeout)', async () => {
      const keys = await jwksServer({ keys: [key.jwk] });
      try {
        keys.state.respond = (res) => void res.writeHead(500).end('oops');
        const { id: failing } = await signingClient({ jwks: null, jwksUri: keys.uri });
        await refused(token(), form(await sign(claims(failing))), /jwks_uri .* could not be used \(Expected 200 OK/);
        keys.state.respond = () => undefined; // hangs
        const { id: hanging } = await signingClient({ jwks: null, jwksUri: keys.uri });
        const started = Date.now();
        await refused(token(), form(await sign(claims(hanging))), /jwks_uri .* did not answer within 5 s/);
        expect(Date.now() - started).to.be.within(4500, 8000);
      } finally {
        await keys.close();
      }
    });
  });

  describe('one method per request (400 invalid_request)', () => {
    it('an assertion with HTTP Basic, with client_secret, or half an assertion', async () => {
      const { id } = await signingClient();
      const secretClient = await server.client();
      const withBasic = await postForm(token(), form(await sign(claims(id))), { authorization: basic(secretClient.id, secretClient.secret) });
      expect(withBasic.status).to.equal(400);
      expect(withBasic.body.error).to.equal('invalid_request');
      const withSecret = await postForm(token(), form(await sign(claims(id)), { client_secret: 'x' }));
      expect(withSecret.status).to.equal(400);
      expect(withSecret.body.error).to.equal('invalid_request');
      const half = await postForm(token(), { grant_type: 'client_credentials', client_assertion: await sign(claims(id)) });
      expect(half.status).to.equal(400);
      expect(half.body.error).to.equal('invalid_request');
    });
  });

  describe('used jtis (src/oauth/used-jtis.ts)', () => {
    it('records a jti once per scope, and sweeps expired rows at most once a minute', async () => {
      let now = Date.now();
      const used = new UsedJtis(server.auth.pool, (jti) => server.auth.context.hasher.hash(jti), () => new Date(now));
      const jti = randomUUID();
      const soon = new Date(now + 1000);
      expect(await used.use('test:a', jti, soon)).to.equal(true);
      expect(await used.use('test:a', jti, soon)).to.equal(false);
      expect(await used.use('test:b', jti, soon)).to.equal(true);
      // Stored as its keyed hash only.
      const stored = await server.auth.pool.query<{ jti_hash: string }>("SELECT jti_hash FROM used_jtis WHERE scope = 'test:a'");
      expect(stored.rows.map((r) => r.jti_hash)).to.deep.equal([server.auth.context.hasher.hash(jti)]);
      const count = async () => (await server.auth.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM used_jtis WHERE scope LIKE 'test:%'")).rows[0]!.n;
      // Within a minute of the last sweep nothing is deleted, though a and b have expired.
      now += 30_000;
      await used.use('test:c', randomUUID(), new Date(now + 60_000));
      expect(await count()).to.equal(3);
      // A minute later: rows expired for more than the minute of grace go (a, b); a live one (c)
      // and one expired only 30 s ago (d: a node whose clock runs behind may still accept it) stay.
      now += 61_000;
      await used.use('test:d', randomUUID(), new Date(now - 30_000));
      expect(await count()).to.equal(2);
    });
  });
});

describe('private_key_jwt and the failure limit', function () {
  this.timeout(60_000);
  const server = useTestServer({ config: { rateLimitFailures: 3 } });

  it('failed assertions count against (client, address) like wrong secrets: then even a valid one is 429', async () => {
    const pair = await keyPair();
    const { client } = await registerClient(
      server.auth.context,
      { name: 'Limited', grantTypes: ['client_credentials'], scopes: ['read'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [pair.jwk] } },
      { actor: 'admin:test' },
    );
    const id = client.clientId;
    const assertion = (aud: string) =>
      new SignJWT({ iss: id, sub: id, aud, exp: seconds() + 60, jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid: pair.kid }).sign(pair.privateKey);
    const url = `${server.url}/oauth/token`;
    const body = async (aud: string) => ({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await assertion(aud) });
    expect((await postForm(url, await body(server.url))).status).to.equal(200);
    for (let i = 0; i < 3; i += 1) expect((await postForm(url, await body('https://other.example'))).status).to.equal(401);
    const limited = await postForm(url, await body(server.url));
    expect(limited.status).to.equal(429);
    expect(limited.headers.get('retry-after')).to.match(/^\d+$/);
  });
});
