import { expect } from 'chai';
import { PostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { seedHistory } from '../support/events.js';
import { run } from '../support/process.js';

describe('warrant CLI', function () {
  this.timeout(90_000);

  describe('on a database', () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase({ migrate: false });
    });
    afterEach(async () => {
      await db.drop();
    });

    it('migrate applies the migrations, then finds nothing to do', async () => {
      const first = await run(['migrate'], { DATABASE_URL: db.url });
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.contain('Migrated 0001_event_store.sql').and.to.contain('Migrated 0003_read_models.sql');
      const second = await run(['migrate'], { DATABASE_URL: db.url });
      expect(second.code).to.equal(0);
      expect(second.stdout).to.equal('Nothing to migrate.\n');
    });

    it('projections rebuild replays the log and projections status shows no lag', async () => {
      await run(['migrate'], { DATABASE_URL: db.url });
      const store = new PostgresEventStore({ pool: db.pool });
      const last = await seedHistory(store, { clients: 2, familiesPerClient: 3 });
      await store.close();
      const rebuilt = await run(['projections', 'rebuild'], { DATABASE_URL: db.url });
      expect(rebuilt.code, rebuilt.stderr).to.equal(0);
      expect(rebuilt.stdout).to.match(/Rebuilt tokens: \d+ events, checkpoint \d+/);
      const families = await db.pool.query('SELECT count(*)::int AS n FROM token_families');
      expect(families.rows[0].n).to.equal(6);
      const status = await run(['projections', 'status'], { DATABASE_URL: db.url });
      expect(status.stdout).to.match(new RegExp(`tokens\\s+${last}\\s+0`));
    });
  });

  describe('audit', () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase();
    });
    afterEach(async () => {
      await db.drop();
    });

    it('audit token prints a family timeline; audit verify checks every chain and finds an edited event', async () => {
      const store = new PostgresEventStore({ pool: db.pool });
      await seedHistory(store, { clients: 2, familiesPerClient: 3 });
      await store.close();
      const { rows } = await db.pool.query<{ stream_id: string; jti: string }>(
        "SELECT stream_id, data->>'jti' AS jti FROM es_events WHERE type = 'TokenIssued' ORDER BY position LIMIT 1 OFFSET 2",
      );
      const familyId = rows[0]!.stream_id.slice('token-'.length);
      const timeline = await run(['audit', 'token', rows[0]!.jti], { DATABASE_URL: db.url });
      expect(timeline.code, timeline.stderr).to.equal(0);
      const lines = timeline.stdout.trim().split('\n');
      expect(lines[0]).to.contain(`Family ${familyId}`);
      expect(lines[1]).to.match(/^#\s+occurred at\s+event\s+actor\s+status/);
      expect(lines.slice(3).map((l) => l.split(/\s{2,}/)[2])).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRefreshed']);

      const ok = await run(['audit', 'verify'], { DATABASE_URL: db.url });
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stdout).to.match(/Checked \d+ events in \d+ streams\.\nEvery hash chain holds\./);
      expect(ok.stderr).to.match(/verifying: \d+\/\d+ \(100%\)/); // plain progress lines when not a terminal

      await db.pool.query(`UPDATE es_events SET metadata = jsonb_set(metadata, '{actor}', '"someone-else"') WHERE stream_id = $1 AND revision = 1`, [rows[0]!.stream_id]);
      const broken = await run(['audit', 'verify'], { DATABASE_URL: db.url });
      expect(broken.code).to.equal(1);
      expect(broken.stdout).to.contain(`BROKEN ${rows[0]!.stream_id} at revision 1 (hash_mismatch)`);
      expect(broken.stderr).to.contain('warrant: 1 stream(s) have a broken hash chain');
      const missing = await run(['audit', 'token', 'nosuchtokennosuchtoken'], { DATABASE_URL: db.url });
      expect(missing.code).to.equal(1);
      expect(missing.stderr.trim()).to.equal('warrant: no token or token family nosuchtokennosuchtoken');
    });
  });

  it('serve with an unreachable database exits non-zero with a one-line error, no stack trace', async () => {
    const result = await run(['serve'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/warrant', LOG_LEVEL: 'silent' });
    expect(result.code).to.equal(1);
    // The plain-line development warnings (http issuer), then the one error line.
    const errors = result.stderr.trim().split('\n').filter((line) => !line.startsWith('WARNING: ') && !line.startsWith('  - '));
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/^warrant: cannot reach PostgreSQL at 127\.0\.0\.1:1\/warrant: .*ECONNREFUSED/);
    expect(result.stderr).not.to.contain('    at ');
  });

  it('every command and subcommand answers --help with its usage', async () => {
    const commands = [[], ['serve'], ['install'], ['migrate'], ['config'], ['purge'], ['keys', 'list'], ['keys', 'rotate'], ['client', 'create'], ['client', 'list'], ['client', 'show'],
      ['client', 'revoke'], ['client', 'rotate-secret'], ['user', 'create'], ['user', 'list'], ['user', 'delete'], ['token', 'create'], ['token', 'list'], ['token', 'revoke'], ['projections', 'status'], ['projections', 'rebuild'], ['audit', 'token'], ['audit', 'verify'], ['registration-token', 'create']];
    // Four at a time: two dozen node processes at once can outlast the timeout on a busy machine.
    const results: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < commands.length; i += 4) results.push(...(await Promise.all(commands.slice(i, i + 4).map((command) => run([...command, '--help'])))));
    results.forEach((result, i) => {
      expect(result.code, commands[i]!.join(' ')).to.equal(0);
      expect(result.stdout, commands[i]!.join(' ')).to.match(/^Usage: warrant/);
    });
  });

  it('an unknown command or bad setting is a clear error', async () => {
    const bad = await run(['projections', 'rebuild', 'nope']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('unknown projection: nope');
    const port = await run(['config'], { PORT: 'eighty' });
    expect(port.code).to.equal(1);
    expect(port.stderr.trim()).to.equal('warrant: PORT must be an integer from 0 to 65535, got "eighty"');
  });
});
