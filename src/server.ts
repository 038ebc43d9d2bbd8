// The composition root: database, event store, projections and the Koa app, wired once.
// `createAuthServer` is the library entry point; `warrant serve` adds HTTP around it (./serve.ts).

import Router from '@koa/router';
import Koa from 'koa';
import type pg from 'pg';
import { inlineProjector, projections } from '../projections/index.js';
import { ProjectionRunner } from '../projections/runner.js';
import { ProjectionWaiter } from '../projections/waiter.js';
import { loadConfig, type Config } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { createEventStore } from './eventstore/factory.js';
import type { EventStore } from './eventstore/port.js';
import { observability } from './http/observability.js';
import { protocol } from './http/protocol.js';
import { InstrumentedEventStore } from './eventstore/instrumented.js';
import { Metrics } from './metrics.js';
import type { RequestState } from './http/request-id.js';
import { silentLogger, type Logger } from './logger.js';
import { auditApi } from './http/audit.js';
import { subjectsApi } from './http/subjects.js';
import { auditUi } from './http/audit-ui.js';
import { authorizationEndpoint } from './http/authorize.js';
import { parEndpoint } from './http/par.js';
import { loginEndpoints } from './http/login.js';
import { endSessionEndpoint, userinfoEndpoint } from './http/oidc.js';
import { Sessions, type Authenticate } from './http/session.js';
import { personalTokensApi } from './http/personal.js';
import { deviceEndpoints } from './http/device.js';
import { openApiEndpoint } from './http/openapi.js';
import { clientsApi } from './http/clients.js';
import { registrationEndpoints } from './http/register.js';
import { introspectionEndpoint } from './http/introspect.js';
import { metadataEndpoints } from './http/metadata.js';
import { revocationEndpoint } from './http/revoke.js';
import { tokenEndpoint } from './http/token.js';
import { defaultFindAccount, type FindAccount } from './oauth/accounts.js';
import { ClientCache } from './oauth/client-cache.js';
import type { WarrantContext } from './oauth/context.js';
import { PostgresFailureStore, RateLimits } from './oauth/rate-limit.js';
import { Hasher } from './oauth/secrets.js';
import { KeyStore } from './keys/keystore.js';
import { loadPepper } from './keys/pepper.js';
import { ReadModels } from './readmodels/index.js';
import { createPolicy, type Policy } from './policy/policy.js';
import { actingAs, actingAsClient, type ActingAsClientOptions, type ActingAsOptions, type TestToken } from './policy/testing.js';

export interface AuthServerOptions {
  /** Settings; anything not given comes from the environment and src/config.ts defaults. */
  config?: Partial<Config>;
  /** Use this pool for read models (and events) instead of opening one from databaseUrl. */
  pool?: pg.Pool;
  logger?: Logger;
  /** Apply pending migrations at start (default true). */
  migrate?: boolean;
  /** Run the projection runners in this process (default true; a standby elsewhere takes over). */
  runProjections?: boolean;
  /** Clock for token lifetimes (tests). */
  clock?: () => Date;
  /** Library use: who is signed in, from the host app's own session. Unset: Warrant's login page and user directory. */
  authenticate?: Authenticate;
  /**
   * OpenID Connect: the standard claims (OIDC Core §5.1) of a subject, for userinfo. Unset: the
   * built-in user directory's (preferred_username, name, email, email_verified).
   */
  findAccount?: FindAccount;
}

export interface AuthServer {
  app: Koa<RequestState>;
  router: Router<RequestState>;
  config: Config;
  pool: pg.Pool;
  store: EventStore;
  waiter: ProjectionWaiter;
  runners: readonly ProjectionRunner[];
  logger: Logger;
  /** Middleware factories for APIs protected by this server's tokens. */
  policy: Policy;
  /** What the OAuth handlers share (keys, hasher, store …). */
  context: WarrantContext;
  /** Testing helpers (Passport's actingAs): real tokens for a host app's own tests. */
  actingAs(options: ActingAsOptions): Promise<TestToken>;
  actingAsClient(options: ActingAsClientOptions): Promise<TestToken>;
  close(): Promise<void>;
}

export class StartupError extends Error {
  readonly code = 'ERR_WARRANT_STARTUP';
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'the configured database';
  }
}

export async function createAuthServer(options: AuthServerOptions = {}): Promise<AuthServer> {
  const config = loadConfig(undefined, options.config);
  const logger = options.logger ?? silentLogger;
  let pool = options.pool;
  const ownsPool = !pool;
  if (!pool) {
    if (!config.databaseUrl) throw new StartupError('no database: pass `pool` or set DATABASE_URL');
    pool = createPool(config.databaseUrl, { max: config.poolSize, logger });
  }
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => undefined);
    const where = config.databaseUrl ? describeUrl(config.databaseUrl) : 'the given pool';
    throw new StartupError(`cannot reach PostgreSQL at ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (options.migrate !== false) await migrate(pool);
  let keys: KeyStore;
  let pepper: Buffer;
  try {
    keys = await KeyStore.open({ storage: config.storage, signingKey: config.signingKey, signingKeyAlg: config.signingKeyAlg });
    pepper = await loadPepper({ storage: config.storage, pepper: config.pepper });
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => undefined);
    throw new StartupError((error as Error).message, { cause: error });
  }

  const metrics = new Metrics();
  const store: EventStore = new InstrumentedEventStore(
    // On PostgreSQL the read models are written in the append transaction itself (issue 15);
    // the runners then only catch up when that could not be done.
    createEventStore(config, pool, { inline: inlineProjector(projections), batchedReads: true }),
    metrics,
  );
  const runners = options.runProjections === false
    ? []
    : projections.map((projection) => new ProjectionRunner({ projection, store, pool, logger, inline: !config.eventStoreUrl }));
  runners.forEach((runner) => runner.start());
  const waiter = new ProjectionWaiter({
    pool,
    projections: projections.map((p) => p.name),
    timeoutMs: config.projectionWaitTimeoutMs,
  });

  const hasher = new Hasher(pepper);
  const read = new ReadModels(pool, { batched: true });
  const context: WarrantContext = {
    config,
    pool,
    read,
    store,
    waiter,
    clients: new ClientCache({ clients: read.clients, waiter }),
    keys,
    limits: new RateLimits({
      failures: config.rateLimitFailures,
      requests: config.rateLimitRequests,
      windowSeconds: config.rateLimitWindow,
      store: new PostgresFailureStore(pool, (key) => hasher.hash(`rate-limit:${key}`), config.rateLimitWindow * 1000),
    }),
    hasher,
    logger,
    clock: options.clock ?? (() => new Date()),
    metrics,
    findAccount: options.findAccount ?? defaultFindAccount(pool),
  };
  // DPoP proofs at userinfo and the APIs name the URLs clients call: the issuer's, whatever proxy is in front.
  const policy = createPolicy({ issuer: config.issuer, audience: config.audience, pool, keys, realm: config.issuer, logger, publicOrigin: new URL(config.issuer).origin });

  const app = new Koa<RequestState>();
  // The client's address (rate limits, logs) from X-Forwarded-For only as far as the operator
  // says proxies append to it: the last `trustedProxies` entries; anything before them is forgeable.
  app.proxy = config.trustedProxies > 0;
  app.maxIpsCount = config.trustedProxies;
  app.silent = true; // errors are logged by errorHandler with the request id
  const router = new Router<RequestState>();
  // Before any route: @koa/router runs router-level middleware in registration order.
  const protocolMiddleware = protocol(logger, metrics);
  router.use(protocolMiddleware);
  observability(router, { pool, store, metrics, projections: projections.map((p) => p.name), runners: () => runners.map((r) => r.status()), metricsToken: config.metricsToken, realm: config.issuer });
  metadataEndpoints(router, context);
  tokenEndpoint(router, context);
  revocationEndpoint(router, context);
  introspectionEndpoint(router, context);
  clientsApi(router, context, policy);
  registrationEndpoints(router, context);
  auditApi(router, context, policy);
  subjectsApi(router, context, policy);
  auditUi(router);
  const sessions = new Sessions({ ctx: context, pepper, secure: config.issuer.startsWith('https://'), ttlSeconds: config.sessionTtl });
  loginEndpoints(router, context, sessions);
  authorizationEndpoint(router, context, sessions, options.authenticate);
  parEndpoint(router, context);
  userinfoEndpoint(router, context, policy);
  endSessionEndpoint(router, context, sessions);
  personalTokensApi(router, context, sessions, options.authenticate);
  deviceEndpoints(router, context, sessions, options.authenticate);
  openApiEndpoint(router, config.issuer);
  app.use(protocolMiddleware);
  app.use(router.routes());
  app.use(router.allowedMethods());

  let closed: Promise<void> | undefined;
  return {
    app,
    router,
    config,
    pool,
    store,
    waiter,
    runners,
    logger,
    policy,
    context,
    actingAs: (options) => actingAs(context, options),
    actingAsClient: (options) => actingAsClient(context, options),
    close() {
      closed ??= (async () => {
        await Promise.all(runners.map((runner) => runner.stop()));
        await waiter.close();
        await store.close();
        await policy.close();
        await read.close();
        if (ownsPool) await pool.end();
      })();
      return closed;
    },
  };
}
