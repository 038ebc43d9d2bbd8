import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadMigrations, migrate, MigrationError } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

describe('migrations', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterEach(async () => {
    await db.drop();
  });

  it('applies every migration once, in order, and records it; a second run does nothing', async () => {
    const files = await loadMigrations();
    expect(files.map((m) => m.version)).to.deep.equal([...files.map((m) => m.version)].sort((a, b) => a - b));
    const first = await migrate(db.pool);
    expect(first.map((m) => m.version)).to.deep.equal(files.map((m) => m.version));
    const second = await migrate(db.pool);
    expect(second).to.deep.equal([]);
    const { rows } = await db.pool.query('SELECT version, name FROM warrant_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).to.deep.equal(files.map((m) => m.version));
    const tables = await db.pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
    expect(tables.rows.map((r) => r.tablename)).to.include.members(['es_events', 'es_streams', 'projection_checkpoints', 'clients', 'token_families', 'access_tokens', 'refresh_tokens', 'authorization_codes']);
  });

  it('runs concurrent migrators safely (one applies, the others find nothing to do)', async () => {
    const results = await Promise.all([migrate(db.pool), migrate(db.pool), migrate(db.pool)]);
    const total = results.reduce((n, applied) => n + applied.length, 0);
    expect(total).to.equal((await loadMigrations()).length);
  });

  const scratch: string[] = [];
  const scratchDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'warrant-migrations-'));
    scratch.push(dir);
    return dir;
  };
  afterEach(async () => {
    await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('rolls back a failing migration whole and keeps the ones before it', async () => {
    const dir = await scratchDir();
    await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE one (id int);');
    await writeFile(path.join(dir, '0002_bad.sql'), 'CREATE TABLE two (id int); SELECT no_such_function();');
    const error = await migrate(db.pool, { dir }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(MigrationError);
    expect((error as Error).message).to.contain('0002_bad');
    const tables = await db.pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('one', 'two')");
    expect(tables.rows.map((r) => r.tablename)).to.deep.equal(['one']);
  });

  it('refuses to continue when an applied migration file was edited', async () => {
    const dir = await scratchDir();
    await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE one (id int);');
    await migrate(db.pool, { dir });
    await writeFile(path.join(dir, '0001_ok.sql'), 'CREATE TABLE one (id bigint);');
    const error = await migrate(db.pool, { dir }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(MigrationError);
    expect((error as Error).message).to.contain('changed after it was applied');
  });
});
