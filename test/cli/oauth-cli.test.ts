// `warrant install`, `warrant keys …` and `warrant client …`, run as a user would: the real
// command in a child process, against its own database and its own storage folder.

import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadMigrations } from '../../src/db/migrate.js';
import { userClaims } from '../../src/users/directory.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { run, type Run } from '../support/process.js';

interface KeyFile {
  kid: string;
  alg: string;
  status: 'active' | 'retiring';
  retireAfter: string | null;
  createdAt: string;
}

interface Credentials {
  client_id: string;
  client_secret: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET = /^[A-Za-z0-9_-]{43,}$/;

/** A failure as the README promises: a non-zero code and one `warrant: …` line, no stack trace. */
function expectOneLineError(result: Run, code: number | 'non-zero', message: RegExp): void {
  if (code === 'non-zero') expect(result.code, result.stderr).to.be.a('number').and.not.equal(0);
  else expect(result.code, result.stderr).to.equal(code);
  expect(result.stderr.trim().split('\n'), result.stderr).to.have.length(1);
  expect(result.stderr).to.match(/^warrant: /);
  expect(result.stderr).to.match(message);
  expect(result.stderr).not.to.contain('    at ');
}

/** The one JSON line `client create --json` / `client rotate-secret --json` print. */
function credentialsOf(result: Run): Credentials {
  expect(result.code, result.stderr).to.equal(0);
  const lines = result.stdout.split('\n');
  expect(lines, result.stdout).to.have.length(2); // one line, then the final newline
  expect(lines[1]).to.equal('');
  const parsed = JSON.parse(lines[0]!) as Credentials;
  expect(Object.keys(parsed)).to.deep.equal(['client_id', 'client_secret']);
  expect(parsed.client_id).to.match(UUID);
  return parsed;
}

describe('warrant install, keys and client commands', function () {
  this.timeout(120_000);

  let db: TestDatabase;
  let storage: string;

  beforeEach(async () => {
    db = await createTestDatabase({ migrate: false });
    storage = await mkdtemp(path.join(tmpdir(), 'warrant-oauth-cli-'));
  });
  afterEach(async () => {
    await db.drop();
    await rm(storage, { recursive: true, force: true });
  });

  const warrant = (...args: string[]): Promise<Run> => run(args, { DATABASE_URL: db.url, WARRANT_STORAGE: storage });

  const keysDir = () => path.join(storage, 'keys');

  async function keyFiles(): Promise<string[]> {
    return (await readdir(keysDir())).filter((f) => f.endsWith('.json')).sort();
  }

  async function readKeys(): Promise<KeyFile[]> {
    return Promise.all((await keyFiles()).map(async (f) => JSON.parse(await readFile(path.join(keysDir(), f), 'utf8')) as KeyFile));
  }

  async function mode(file: string): Promise<number> {
    return (await stat(file)).mode & 0o777;
  }

  async function publicTables(): Promise<string[]> {
    const { rows } = await db.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema='public' ORDER BY table_name");
    return rows.map((r) => r.table_name);
  }

  /** Every row of every table, as text, that contains `needle`. */
  async function rowsContaining(needle: string): Promise<string[]> {
    const found: string[] = [];
    for (const table of await publicTables()) {
      const { rows } = await db.pool.query<{ t: string }>(`SELECT t::text AS t FROM "${table}" t`);
      for (const row of rows) if (row.t.includes(needle)) found.push(`${table}: ${row.t}`);
    }
    return found;
  }

  async function hmacWithPepper(secret: string): Promise<string> {
    const pepper = Buffer.from((await readFile(path.join(storage, 'pepper'), 'utf8')).trim(), 'base64url');
    return createHmac('sha256', pepper).update(secret, 'utf8').digest('base64url');
  }

  describe('install', () => {
    it('creates one ES256 key file and a pepper, both mode 0600, and migrates the database', async () => {
      const result = await warrant('install');
      expect(result.code, result.stderr).to.equal(0);

      const files = await keyFiles();
      expect(files).to.have.length(1);
      const [key] = await readKeys();
      expect(files[0]).to.equal(`${key!.kid}.json`);
      expect(key).to.include({ alg: 'ES256', status: 'active', retireAfter: null });
      expect(await mode(path.join(keysDir(), files[0]!))).to.equal(0o600);
      expect(await mode(path.join(storage, 'pepper'))).to.equal(0o600);
      expect(Buffer.from((await readFile(path.join(storage, 'pepper'), 'utf8')).trim(), 'base64url').length).to.be.at.least(32);

      expect(result.stdout).to.contain(`Signing key created: ${key!.kid} (ES256)`).and.to.contain('Pepper created.').and.to.contain('Migrated 0003_read_models.sql');
      expect(await publicTables()).to.include.members(['warrant_migrations', 'es_events', 'projection_checkpoints', 'clients', 'token_families', 'access_tokens', 'refresh_tokens', 'authorization_codes']);
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM warrant_migrations');
      expect(rows[0]!.n).to.equal((await loadMigrations()).length);
    });

    it('run a second time, says the key exists and changes neither the key, the pepper nor the database', async () => {
      expect((await warrant('install')).code).to.equal(0);
      const [before] = await readKeys();
      const keyText = await readFile(path.join(keysDir(), `${before!.kid}.json`), 'utf8');
      const pepper = await readFile(path.join(storage, 'pepper'), 'utf8');

      const again = await warrant('install');
      expect(again.code, again.stderr).to.equal(0);
      expect(again.stdout).to.equal(
        `Signing key exists: ${before!.kid} (ES256); --force replaces it\nPepper exists.\nDatabase up to date.\n`,
      );
      expect(await keyFiles()).to.deep.equal([`${before!.kid}.json`]);
      expect(await readFile(path.join(keysDir(), `${before!.kid}.json`), 'utf8')).to.equal(keyText);
      expect(await readFile(path.join(storage, 'pepper'), 'utf8')).to.equal(pepper);
    });

    it('with --alg RS256 --force replaces the key by a single RS256 key (new kid, still 0600) and keeps the pepper', async () => {
      expect((await warrant('install')).code).to.equal(0);
      const [old] = await readKeys();
      const pepper = await readFile(path.join(storage, 'pepper'), 'utf8');

      const forced = await warrant('install', '--alg', 'RS256', '--force');
      expect(forced.code, forced.stderr).to.equal(0);
      const keys = await readKeys();
      expect(keys).to.have.length(1);
      expect(keys[0]!.kid).not.to.equal(old!.kid);
      expect(keys[0]).to.include({ alg: 'RS256', status: 'active' });
      expect(forced.stdout).to.contain(`Signing key created: ${keys[0]!.kid} (RS256)`);
      expect(await mode(path.join(keysDir(), `${keys[0]!.kid}.json`))).to.equal(0o600);
      expect(await readFile(path.join(storage, 'pepper'), 'utf8')).to.equal(pepper);
    });

    it('with an unknown --alg exits 2 with a one-line error and writes nothing', async () => {
      const result = await warrant('install', '--alg', 'XYZ');
      expectOneLineError(result, 2, /--alg must be one of ES256, RS256, EdDSA/);
      expect(result.stdout).to.equal('');
      expect(await readdir(storage)).to.deep.equal([]);
      expect(await publicTables()).to.deep.equal([]);
    });
  });

  describe('keys', () => {
    it('rotate makes a new active key and keeps the old one retiring until a future time; list shows both', async () => {
      expect((await warrant('install')).code).to.equal(0);
      const [old] = await readKeys();

      const startedAt = Date.now();
      const rotated = await warrant('keys', 'rotate');
      expect(rotated.code, rotated.stderr).to.equal(0);

      const keys = await readKeys();
      expect(keys).to.have.length(2);
      const retiring = keys.find((k) => k.kid === old!.kid)!;
      const active = keys.find((k) => k.kid !== old!.kid)!;
      expect(retiring.status).to.equal('retiring');
      expect(retiring.retireAfter).to.be.a('string');
      // Retired after the longest access-token lifetime: the default 3600 s, no client has more.
      const retireAt = new Date(retiring.retireAfter!).getTime();
      expect(retireAt).to.be.greaterThan(Date.now());
      expect(retireAt).to.be.within(startedAt + 3_600_000 - 1_000, Date.now() + 3_600_000 + 1_000);
      expect(active).to.include({ status: 'active', alg: 'ES256', retireAfter: null });
      for (const file of await keyFiles()) expect(await mode(path.join(keysDir(), file)), file).to.equal(0o600);
      expect(rotated.stdout).to.contain(`Active key: ${active.kid} (ES256)`).and.to.contain(`Retiring:   ${retiring.kid} (published until ${retiring.retireAfter})`);

      const list = await warrant('keys', 'list');
      expect(list.code, list.stderr).to.equal(0);
      const lines = list.stdout.trim().split('\n');
      expect(lines).to.have.length(2);
      expect(lines.find((l) => l.startsWith(retiring.kid))).to.match(new RegExp(`retiring until ${retiring.retireAfter!.replace(/\./g, '\\.')}$`));
      expect(lines.find((l) => l.startsWith(active.kid))).to.match(/ES256\s+active$/);
    });
  });

  describe('client', () => {
    it('create --json prints one JSON line with a uuid and a 43+ char base64url secret, and only the secret\'s HMAC is stored', async () => {
      const created = credentialsOf(await warrant('client', 'create', '--name', 'App', '--grant', 'client_credentials', '--scope', 'read', 'write', '--json'));
      expect(created.client_secret).to.be.a('string').and.match(SECRET);
      const secret = created.client_secret!;

      const tables = await publicTables();
      expect(tables).to.include.members(['clients', 'es_events']);
      expect(await rowsContaining(secret)).to.deep.equal([]);
      const hash = await hmacWithPepper(secret);
      const withHash = await rowsContaining(hash);
      expect(withHash.some((row) => row.startsWith('clients:')), withHash.join('\n')).to.equal(true);
      expect(withHash.some((row) => row.startsWith('es_events:')), withHash.join('\n')).to.equal(true);
      const { rows } = await db.pool.query<{ secret_hash: string }>('SELECT secret_hash FROM clients WHERE client_id = $1', [created.client_id]);
      expect(rows[0]!.secret_hash).to.equal(hash);
    });

    it('create --public prints client_secret null', async () => {
      const created = credentialsOf(await warrant('client', 'create', '--name', 'SPA', '--grant', 'authorization_code', '--redirect-uri', 'https://app.example/cb', '--public', '--json'));
      expect(created.client_secret).to.equal(null);
      const { rows } = await db.pool.query<{ confidential: boolean; secret_hash: string | null }>('SELECT confidential, secret_hash FROM clients WHERE client_id = $1', [created.client_id]);
      expect(rows[0]).to.deep.equal({ confidential: false, secret_hash: null });
    });

    it('create with an unknown grant type exits 2 with a one-line error', async () => {
      const result = await warrant('client', 'create', '--name', 'App', '--grant', 'magic', '--json');
      expectOneLineError(result, 2, /unknown grant type: magic/);
      expect(result.stdout).to.equal('');
    });

    it('list, show (no secret), rotate-secret (a new secret) and revoke (then shown revoked) work on one client', async () => {
      const created = credentialsOf(await warrant('client', 'create', '--name', 'App', '--grant', 'client_credentials', '--scope', 'read', 'write', '--json'));
      const id = created.client_id;

      const list = await warrant('client', 'list');
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout).to.match(new RegExp(`^${id}\\s+App\\s+client_credentials$`, 'm'));

      const show = await warrant('client', 'show', id, '--json');
      expect(show.code, show.stderr).to.equal(0);
      const view = JSON.parse(show.stdout) as Record<string, unknown>;
      expect(view).to.include({ client_id: id, client_name: 'App', scope: 'read write', revoked: false });
      expect(view['grant_types']).to.deep.equal(['client_credentials']);
      expect(Object.keys(view).filter((k) => /secret/i.test(k))).to.deep.equal([]);
      expect(show.stdout).not.to.contain(created.client_secret!);
      expect(show.stdout).not.to.contain(await hmacWithPepper(created.client_secret!));

      const rotated = credentialsOf(await warrant('client', 'rotate-secret', id, '--json'));
      expect(rotated.client_id).to.equal(id);
      expect(rotated.client_secret).to.be.a('string').and.match(SECRET);
      expect(rotated.client_secret).not.to.equal(created.client_secret);
      expect(await rowsContaining(rotated.client_secret!)).to.deep.equal([]);
      const { rows } = await db.pool.query<{ secret_hash: string }>('SELECT secret_hash FROM clients WHERE client_id = $1', [id]);
      expect(rows[0]!.secret_hash).to.equal(await hmacWithPepper(rotated.client_secret!));

      const revoke = await warrant('client', 'revoke', id);
      expect(revoke.code, revoke.stderr).to.equal(0);
      expect(revoke.stdout).to.equal(`Client ${id} revoked.\n`);
      const after = await warrant('client', 'show', id, '--json');
      expect(after.code, after.stderr).to.equal(0);
      expect(JSON.parse(after.stdout)).to.include({ client_id: id, revoked: true });
    });

    it('create --resource registers the resources (RFC 8707 audiences) the client may ask for; show prints them', async () => {
      const created = credentialsOf(await warrant('client', 'create', '--name', 'Gateway', '--grant', 'client_credentials', '--resource', 'https://orders.example/', 'https://billing.example/', '--json'));
      const show = await warrant('client', 'show', created.client_id);
      expect(show.code, show.stderr).to.equal(0);
      expect(show.stdout).to.match(/^Resources:\s+https:\/\/orders\.example\/, https:\/\/billing\.example\/$/m);
      const bad = await warrant('client', 'create', '--name', 'Bad', '--grant', 'client_credentials', '--resource', 'https://x.example/#frag');
      expectOneLineError(bad, 1, /resources/);
    });

    it('OpenID Connect and private_key_jwt: --post-logout-redirect-uri, --jwks-file (no secret issued; private keys refused), and user create --email --name', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwksFile = path.join(storage, 'client-jwks.json');
      await writeFile(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }] }));
      const created = credentialsOf(await warrant('client', 'create', '--name', 'Service', '--grant', 'client_credentials', '--jwks-file', jwksFile, '--json'));
      expect(created.client_secret).to.equal(null);
      const show = await warrant('client', 'show', created.client_id);
      expect(show.stdout).to.match(/^Auth method:\s+private_key_jwt \(1 key registered\)$/m);

      const web = credentialsOf(await warrant('client', 'create', '--name', 'Web', '--grant', 'authorization_code', '--redirect-uri', 'https://web.example/cb', '--post-logout-redirect-uri', 'https://web.example/bye', '--json'));
      expect((await warrant('client', 'show', web.client_id)).stdout).to.match(/^Post-logout:\s+https:\/\/web\.example\/bye$/m);
      expectOneLineError(await warrant('client', 'create', '--name', 'Bad', '--grant', 'authorization_code', '--redirect-uri', 'https://web.example/cb', '--post-logout-redirect-uri', 'javascript:alert(1)'), 1, /redirect/i);

      // A private key in the file would put a secret in the log: refused, nothing registered.
      const leaky = path.join(storage, 'leaky.json');
      await writeFile(leaky, JSON.stringify({ keys: [privateKey.export({ format: 'jwk' })] }));
      expectOneLineError(await warrant('client', 'create', '--name', 'Leaky', '--grant', 'client_credentials', '--jwks-file', leaky), 1, /jwks/);
      expect(await rowsContaining(String(privateKey.export({ format: 'jwk' }).d))).to.deep.equal([]);
      const garbage = path.join(storage, 'garbage.json');
      await writeFile(garbage, 'not json');
      expectOneLineError(await warrant('client', 'create', '--name', 'G', '--grant', 'client_credentials', '--jwks-file', garbage), 2, /not a JWK Set/);
      expectOneLineError(await warrant('client', 'create', '--name', 'G', '--grant', 'client_credentials', '--jwks-file', garbage, '--jwks-uri', 'https://x.example/jwks'), 2, /not both/);

      const user = await warrant('user', 'create', '--username', 'ada', '--password', 'a long enough password', '--email', 'ada@example.com', '--email-verified', '--name', 'Ada Lovelace', '--json');
      expect(user.code, user.stderr).to.equal(0);
      const { user_id: userId } = JSON.parse(user.stdout) as { user_id: string };
      expect(await userClaims(db.pool, userId)).to.deep.equal({ preferred_username: 'ada', name: 'Ada Lovelace', email: 'ada@example.com', email_verified: true });
      expectOneLineError(await warrant('user', 'create', '--username', 'bob', '--password', 'a long enough password', '--email', 'not an address'), 2, /email/);
    });

    it('show with an id that is not a uuid exits 2 with a one-line error', async () => {
      const result = await warrant('client', 'show', 'not-a-uuid');
      expectOneLineError(result, 2, /not a client id: not-a-uuid/);
    });

    it('revoke of an unknown client exits non-zero with a one-line error and no stack trace', async () => {
      const result = await warrant('client', 'revoke', randomUUID());
      expectOneLineError(result, 'non-zero', /no such client/);
      expect(result.stdout).to.equal('');
    });

    it('create refuses a javascript: or fragment redirect URI, a private-use scheme for a confidential client and a control character in --name, with one-line errors, and registers nothing', async () => {
      const cases: [string[], RegExp][] = [
        [['--name', 'App', '--redirect-uri', 'javascript:alert(1)', '--public'], /redirect_uris\[0\] <javascript:alert\(1\)> uses the scheme javascript:, which is not allowed/],
        [['--name', 'App', '--redirect-uri', 'https://app.example/cb', 'https://app.example/cb#x'], /redirect_uris\[1\].*fragment/],
        [['--name', 'App', '--redirect-uri', 'http://app.example/cb'], /redirect_uris\[0\].*loopback/],
        [['--name', 'App', '--redirect-uri', 'com.example.app:/cb'], /redirect_uris\[0\].*public/],
        [['--name', 'Evil\u001b[2J\u001b]0;owned\u0007', '--redirect-uri', 'https://app.example/cb'], /client_name.*control/],
        [['--name', 'Pay\u202egnp.exe', '--redirect-uri', 'https://app.example/cb'], /client_name/],
      ];
      for (const [args, message] of cases) {
        const result = await warrant('client', 'create', '--grant', 'authorization_code', ...args);
        expectOneLineError(result, 1, message);
        expect(result.stderr).not.to.match(/[\u001b\u0007\u202e]/);
        expect(result.stdout).to.equal('');
      }
      const list = await warrant('client', 'list', '--json');
      expect(list.code, list.stderr).to.equal(0);
      expect(JSON.parse(list.stdout)).to.deep.equal([]);
      // A native app's private-use scheme is fine for a public client (RFC 8252 §7.1).
      credentialsOf(await warrant('client', 'create', '--name', 'Notes', '--grant', 'authorization_code', '--redirect-uri', 'com.example.notes:/oauth2redirect', '--public', '--json'));
    });

    it('list and show escape control characters in stored names and redirect URIs (no raw ESC, BEL, C1 or bidi override reaches the terminal)', async () => {
      const created = credentialsOf(await warrant('client', 'create', '--name', 'Plain', '--grant', 'authorization_code', '--redirect-uri', 'https://app.example/cb', '--public', '--json'));
      // As if stored before names and redirect URIs were checked: the read model is what the CLI prints.
      const hostile = 'Evil\u001b[2J\u001b]0;owned\u0007\u009b31m\u202eexe.txt';
      await db.pool.query('UPDATE clients SET name = $1, redirect_uris = $2 WHERE client_id = $3', [hostile, ['https://app.example/\u001b[5mcb'], created.client_id]);
      const list = await warrant('client', 'list');
      const show = await warrant('client', 'show', created.client_id);
      for (const result of [list, show]) {
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).not.to.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        expect(result.stdout).to.contain('Evil\\x1b[2J\\x1b]0;owned');
      }
      expect(show.stdout).to.match(/^Name:\s+Evil\\x1b\[2J\\x1b\]0;owned\\x07\\x9b31m\\u202eexe\.txt$/m);
      expect(show.stdout).to.match(/^Redirect URIs: https:\/\/app\.example\/\\x1b\[5mcb$/m);
      // --json is for programs: JSON escapes what JSON must, and the value is the stored one.
      const json = await warrant('client', 'show', created.client_id, '--json');
      expect(json.stdout).not.to.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      expect((JSON.parse(json.stdout) as { client_name: string }).client_name).to.equal(hostile);
    });

    it('user list and token list escape control characters in stored usernames and token names', async () => {
      expect((await warrant('user', 'create', '--username', 'kim', '--password', 'a long enough password')).code).to.equal(0);
      const made = await warrant('token', 'create', '--user', 'kim', '--name', 'ci', '--json');
      expect(made.code, made.stderr).to.equal(0);
      const { id } = JSON.parse(made.stdout) as { id: string };
      await db.pool.query("UPDATE users SET username = $1 WHERE username = 'kim'", ['kim\u001b[8m\u202e']);
      await db.pool.query('UPDATE token_families SET name = $1 WHERE family_id = $2', ['ci\u001b]52;c;cGF5bG9hZA==\u0007', id]);
      const users = await warrant('user', 'list');
      const tokens = await warrant('token', 'list');
      for (const result of [users, tokens]) {
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).not.to.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        expect(result.stdout).to.contain('kim\\x1b[8m\\u202e');
      }
      expect(tokens.stdout).to.contain('ci\\x1b]52;c;cGF5bG9hZA==\\x07');
    });
  });
});
