// The database a process works on: DATABASE_URL when set, otherwise the embedded PostgreSQL
// (src/db/embedded.ts). `warrant serve` owns the embedded database it starts; a CLI command attaches
// to the one a running `warrant serve` of the same storage folder owns, or starts one for itself.

import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { runningEmbedded, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';

export interface Database {
  /** The connection string: DATABASE_URL, or the embedded database's. */
  url: string;
  /** The embedded database, when DATABASE_URL is unset. */
  embedded?: EmbeddedDatabase;
  /** Stops the embedded database if this process started it; otherwise nothing. */
  stop(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Lines for the person at the terminal (a taken port, an orphan stopped). */
  announce?: (line: string) => void;
  /** Use the embedded database of a running Warrant on the same storage folder, if there is one. */
  attach?: boolean;
}

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'storage' | 'embeddedPostgresPort'>,
  logger: Logger,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  const running = options.attach ? await runningEmbedded(config.storage) : undefined;
  if (running) {
    logger.debug({ pid: running.pid, port: running.port }, 'using the embedded PostgreSQL of the running Warrant');
    const stop = async () => undefined;
    return { url: running.url, embedded: { url: running.url, port: running.port, owner: false, stop }, stop };
  }
  const embedded = await startEmbeddedPostgres({ storage: config.storage, port: config.embeddedPostgresPort, logger, announce: options.announce });
  return { url: embedded.url, embedded, stop: () => embedded.stop() };
}
