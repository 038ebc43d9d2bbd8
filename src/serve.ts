// `warrant serve`: the database (embedded when DATABASE_URL is unset), keys on a fresh machine,
// createAuthServer, an HTTP server with slow-client limits, and a graceful shutdown.

import http from 'node:http';
import path from 'node:path';
import { insecureDefaults, loadConfig, redactedConfig, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { redactPassword } from './db/embedded.js';
import { ensureKey, readStoredKeys } from './keys/keystore.js';
import { ensurePepper } from './keys/pepper.js';
import { createLogger, type Logger } from './logger.js';
import { createAuthServer, type AuthServer } from './server.js';

/**
 * The HTTP server with slow-client limits: a client that has not sent its headers within
 * WARRANT_HEADERS_TIMEOUT, or its whole request within WARRANT_REQUEST_TIMEOUT, gets 408 and the
 * connection is closed (slowloris). Node checks these every `connectionsCheckingInterval`.
 */
export function createHttpServer(handler: http.RequestListener, config: Pick<Config, 'headersTimeoutMs' | 'requestTimeoutMs'>): http.Server {
  const server = http.createServer({ connectionsCheckingInterval: Math.min(1000, Math.ceil(config.headersTimeoutMs / 4)) }, handler);
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = Math.max(config.requestTimeoutMs, config.headersTimeoutMs);
  server.keepAliveTimeout = 5_000;
  return server;
}

export interface RunningServer {
  server: http.Server;
  auth: AuthServer;
  url: string;
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Lines for the person at the terminal (start-up warnings, how to reach the database); stderr by default. */
  announce?: (line: string) => void;
}

/** `warrant serve`: embedded database when DATABASE_URL is unset, HTTP, graceful shutdown. */
export async function serve(config: Config = loadConfig(), logger: Logger = createLogger({ level: config.logLevel }), options: ServeOptions = {}): Promise<RunningServer> {
  const announce = options.announce ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const warnings = insecureDefaults(config);
  for (const warning of warnings) logger.warn(`INSECURE DEVELOPMENT DEFAULT: ${warning}`);
  // Plain lines too: a person watching the terminal does not read JSON logs.
  if (warnings.length > 0) announce(['WARNING: development defaults in use, never in production:', ...warnings.map((w) => `  - ${w}`)].join('\n'));
  const database = await openDatabase(config, logger, { announce });
  // A fresh machine has no keys yet: create them, as `warrant install` would, and say so.
  if (!config.signingKey && (await readStoredKeys(config.storage)).length === 0) {
    const { key } = await ensureKey(config.storage);
    logger.warn({ kid: key.kid, alg: key.alg }, 'no signing key found: created one in WARRANT_STORAGE (run `warrant install` in production)');
  }
  if (!config.pepper && (await ensurePepper(config.storage)).created) {
    logger.warn('no pepper found: created WARRANT_STORAGE/pepper (every node must share it; see WARRANT_PEPPER)');
  }
  let auth: AuthServer;
  try {
    auth = await createAuthServer({ config: { ...config, databaseUrl: database.url }, logger });
  } catch (error) {
    await database.stop();
    throw error;
  }
  const server = createHttpServer(auth.app.callback(), config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  logger.info({ url, issuer: config.issuer, config: redactedConfig({ ...config, databaseUrl: database.url }) }, 'warrant listening');
  announce(`Warrant is serving ${url} (issuer ${config.issuer}).`);
  if (database.embedded) {
    announce(
      [
        `Embedded PostgreSQL: ${redactPassword(database.url)} (full URL in ${path.join(config.storage, 'embedded.json')}, readable only by you).`,
        'While this server runs, `npx warrant …` in another terminal (same folder, same WARRANT_STORAGE) uses this database, e.g.:',
        '  npx warrant client create --name "My app" --grant client_credentials --scope read --json',
      ].join('\n'),
    );
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down: draining requests');
      // Stop accepting, let in-flight requests finish, then drop idle keep-alive sockets.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection turns idle when its in-flight response ends: close those as they
      // appear instead of waiting for the keep-alive timeout; give up on stragglers after 10 s.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      await drained;
      clearInterval(sweep);
      clearTimeout(force);
      await auth.close();
      await database.stop();
      logger.info('stopped');
    })();
    return stopping;
  };
  return { server, auth, url, stop };
}
