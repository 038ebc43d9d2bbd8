// DESIGN §2/§6: no secret in plain form in any table (events included) or any log line.
// A full flow runs with debug logging captured; then every table and every log line is searched
// for every secret the flow handled.

import { Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../src/logger.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

describe('secrets never stored or logged in plain form', function () {
  this.timeout(60_000);
  const lines: string[] = [];
  let server: TestServer;
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    server = await startTestServer({ logger: createLogger({ level: 'trace', destination: sink }) });
  });
  after(async () => {
    await server.stop();
  });

  it('after clients, client credentials, refresh, reuse, revocation, introspection and secret rotation, no table and no log line holds a secret', async () => {
    const secrets: string[] = [];
    const admin = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin'] });
    secrets.push(admin.secret);
    const adminToken = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'warrant:admin' }, { authorization: basic(admin.id, admin.secret) })).body.access_token as string;
    secrets.push(adminToken);

    const created = await fetch(`${server.url}/oauth/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'App', grant_types: ['client_credentials', 'refresh_token', 'authorization_code'], scope: 'read write' }),
    });
    const app = (await created.json()) as { client_id: string; client_secret: string };
    secrets.push(app.client_secret);

    const cc = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret });
    expect(cc.status).to.equal(200);
    secrets.push(cc.body.access_token);
    // A failed authentication logs its reason; the wrong secret it carried must not be logged.
    const wrong = 'wrong-secret-that-must-not-be-logged-0123456789';
    await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(app.client_id, wrong) });
    secrets.push(wrong);

    const record = (await server.auth.context.read.clients.find(app.client_id))!;
    const issued = await issueTokens(server.auth.context, {
      client: record, subject: 'erin', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'erin' },
    });
    secrets.push(issued.access_token, issued.refresh_token!);
    const refreshed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }, { authorization: basic(app.client_id, app.client_secret) });
    expect(refreshed.status).to.equal(200);
    secrets.push(refreshed.body.access_token, refreshed.body.refresh_token);
    const reuse = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }, { authorization: basic(app.client_id, app.client_secret) });
    expect(reuse.body.error).to.equal('invalid_grant');

    const second = await issueTokens(server.auth.context, {
      client: record, subject: 'erin', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'erin' },
    });
    secrets.push(second.access_token, second.refresh_token!);
    await postForm(`${server.url}/oauth/introspect`, { token: second.refresh_token! }, { authorization: basic(app.client_id, app.client_secret) });
    await postForm(`${server.url}/oauth/revoke`, { token: second.access_token }, { authorization: basic(app.client_id, app.client_secret) });

    const rotated = await fetch(`${server.url}/oauth/clients/${app.client_id}/secret`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    secrets.push(((await rotated.json()) as { client_secret: string }).client_secret);

    // The signing key's private part and the pepper are secrets too.
    const keyFiles = await import('node:fs/promises').then((fs) => fs.readdir(path.join(server.storage, 'keys')));
    const key = JSON.parse(await readFile(path.join(server.storage, 'keys', keyFiles[0]!), 'utf8')) as { privateJwk: { d: string } };
    secrets.push(key.privateJwk.d, (await readFile(path.join(server.storage, 'pepper'), 'utf8')).trim());
    // A JWT's signature is what makes it a bearer credential: look for that part alone too.
    for (const jwt of secrets.filter((s) => s.split('.').length === 3)) secrets.push(jwt.split('.')[2]!);

    const tables = await server.auth.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables.rows.map((r) => r.table_name)).to.include.members(['es_events', 'clients', 'token_families', 'access_tokens', 'refresh_tokens']);
    let rowsScanned = 0;
    for (const { table_name: table } of tables.rows) {
      const { rows } = await server.auth.pool.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t`);
      rowsScanned += rows.length;
      for (const { row } of rows) {
        for (const secret of secrets) expect(row.includes(secret), `${table} holds a secret`).to.equal(false);
      }
    }
    expect(rowsScanned).to.be.greaterThan(20);
    expect(lines.length).to.be.greaterThan(10);
    for (const line of lines) {
      for (const secret of secrets) expect(line.includes(secret), `log line holds a secret: ${line.slice(0, 200)}`).to.equal(false);
    }
    // What is stored instead: keyed hashes, so the stored value is not the secret's plain hash either.
    const { rows } = await server.auth.pool.query<{ secret_hash: string }>('SELECT secret_hash FROM clients WHERE client_id = $1', [app.client_id]);
    expect(rows[0]!.secret_hash).to.match(/^[A-Za-z0-9_-]{43}$/);
  });
});
