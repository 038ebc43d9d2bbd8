// What keeps the embedded PostgreSQL from outliving its Warrant, and what cleans up when it did:
// the record of who owns a storage folder's database, the watchdog that stops postgres when its
// owner dies, and the recovery at the next start (an orphan on the configured port, a postgres or
// a stale postmaster.pid left on the data folder by a crashed run). See src/db/embedded.ts.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { whoListens, type Listener } from './listener.js';

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

export const RECORD = 'embedded.json';
/** Written by Warrant before embedded.json existed; still read to recognise its orphans. */
export const LEGACY_OWNER = 'warrant.pid';

export function alive(pid: number): boolean {
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

export async function readRecord(storage: string): Promise<EmbeddedRecord | undefined> {
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
export async function choosePort(port: number, logger: Logger, announce: (line: string) => void): Promise<number> {
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
export async function recoverFromCrash(storage: string, dataDir: string, logger: Logger, announce: (line: string) => void): Promise<void> {
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

/**
 * Stops postgres when the owner dies, however it dies (SIGKILL included): a tiny detached shell
 * loop, so nothing of Node's has to run at the owner's death. It checks the command line before
 * signalling, so a recycled pid is never hit.
 */
export function startWatchdog(ownerPid: number, postmasterPid: number, dataDir: string): number | null {
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
