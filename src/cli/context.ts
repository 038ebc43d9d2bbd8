// What every `warrant` command shares: its settings and logger, the database or the whole server
// for the length of one command, and how it writes to the terminal.

import type pg from 'pg';
import { fromEnvironment, loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/database.js';
import { createPool } from '../db/pool.js';
import { inlineProjector, projections } from '../../projections/index.js';
import { createEventStore } from '../eventstore/factory.js';
import type { EventStore } from '../eventstore/port.js';
import { ensureKey, readStoredKeys } from '../keys/keystore.js';
import { ensurePepper } from '../keys/pepper.js';
import { createLogger, type Logger } from '../logger.js';
import type { Actor } from '../oauth/context.js';
import { OAuthError } from '../oauth/errors.js';
import { escapeDisplayControls } from '../oauth/text.js';
import { createAuthServer, type AuthServer } from '../server.js';

export interface CommandContext {
  config: Config;
  logger: Logger;
  /** Who the events the command appends name as their actor. */
  actor: Actor;
}

export function context(): CommandContext {
  const config = loadConfig();
  // CLI output is for people: logs go to stderr, and only warnings unless LOG_LEVEL says more.
  const logger = createLogger({ level: fromEnvironment('logLevel') ?? 'warn', destination: process.stderr as never });
  return { config, logger, actor: { actor: `admin:cli:${config.cliUser}` } };
}

/** A line for the person at the terminal (stderr: stdout is for results, e.g. --json). */
export function announce(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function fail(message: string, code = 1): never {
  process.stderr.write(`warrant: ${message}\n`);
  process.exit(code);
}

/** A result line (stdout). */
export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * A stored string (a client's name or redirect URIs, a username, a token's name) as printed: its
 * terminal and bidi controls written out (\x1b, \u202e), so it cannot recolour, retitle or clear
 * the operator's terminal, or read as something else. Names stored before they were checked may
 * hold them.
 */
export const shown = escapeDisplayControls;

/** JSON for programs, same value: JSON.stringify escapes only C0 controls, so the rest get \u escapes too. */
export const json = (value: unknown): string =>
  JSON.stringify(value).replace(/[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Opens the database (the running server's embedded one, or one started for the command when DATABASE_URL is unset) for one command. */
export async function withDatabase<T>(config: Config, logger: Logger, fn: (pool: pg.Pool, store: EventStore) => Promise<T>): Promise<T> {
  const database = await openDatabase(config, logger, { announce, attach: true });
  const pool = createPool(database.url, { max: 4, logger });
  try {
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw new Error(`cannot reach PostgreSQL: ${(error as Error).message}`);
    }
    const store = createEventStore(config, pool, { inline: inlineProjector(projections) });
    try {
      return await fn(pool, store);
    } finally {
      await store.close();
    }
  } finally {
    await pool.end();
    await database.stop();
  }
}

/** The whole server without HTTP (for commands that append events and wait for the read models). */
export async function withServer<T>(config: Config, logger: Logger, fn: (auth: AuthServer) => Promise<T>): Promise<T> {
  const database = await openDatabase(config, logger, { announce, attach: true });
  try {
    if (!config.signingKey && (await readStoredKeys(config.storage)).length === 0) await ensureKey(config.storage);
    if (!config.pepper) await ensurePepper(config.storage);
    const auth = await createAuthServer({ config: { ...config, databaseUrl: database.url }, logger });
    try {
      return await fn(auth);
    } finally {
      await auth.close();
    }
  } catch (error) {
    // An OAuth error here is a plain refusal (no such client, invalid metadata …).
    if (error instanceof OAuthError) throw new Error(error.description);
    throw error;
  } finally {
    await database.stop();
  }
}
