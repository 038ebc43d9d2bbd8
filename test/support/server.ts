// A real Warrant server for HTTP tests: its own database, its own storage folder (keys and
// pepper), listening on a free port with the issuer set to its real URL.

import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as oauth from 'oauth4webapi';
import { loadConfig, type Config } from '../../src/config.js';
import { ensureKey, type SigningAlg } from '../../src/keys/keystore.js';
import { ensurePepper } from '../../src/keys/pepper.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { registerClient, type NewClient } from '../../src/oauth/clients.js';
import { createHttpServer } from '../../src/serve.js';
import { createAuthServer, type AuthServer } from '../../src/server.js';
import type { Authenticate } from '../../src/http/session.js';
import type { FindAccount } from '../../src/oauth/accounts.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { freePort } from './process.js';

export interface TestServer {
  url: string;
  auth: AuthServer;
  db: TestDatabase;
  storage: string;
  server: http.Server;
  /** oauth4webapi's view of this server (from its RFC 8414 metadata). */
  as: oauth.AuthorizationServer;
  client(input?: Partial<NewClient>): Promise<{ id: string; secret: string; client: oauth.Client }>;
  stop(): Promise<void>;
}

/** oauth4webapi refuses plain http unless told; every test server is on loopback. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

export async function startTestServer(options: { config?: Partial<Config>; alg?: SigningAlg; logger?: Logger; clock?: () => Date; authenticate?: Authenticate; findAccount?: FindAccount } = {}): Promise<TestServer> {
  const db = await createTestDatabase({ migrate: false });
  const storage = await mkdtemp(path.join(tmpdir(), 'warrant-test-'));
  await ensureKey(storage, { alg: options.alg ?? 'ES256' });
  await ensurePepper(storage);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({}, { databaseUrl: db.url, storage, issuer: url, port, ...options.config });
  const auth = await createAuthServer({ config, logger: options.logger ?? silentLogger, ...(options.clock ? { clock: options.clock } : {}), ...(options.authenticate ? { authenticate: options.authenticate } : {}), ...(options.findAccount ? { findAccount: options.findAccount } : {}) });
  const server = createHttpServer(auth.app.callback(), config);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const issuer = new URL(url);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  return {
    url,
    auth,
    db,
    storage,
    server,
    as,
    async client(input = {}) {
      const { client, clientSecret } = await registerClient(
        auth.context,
        { name: 'Test client', grantTypes: ['client_credentials', 'refresh_token'], scopes: ['read', 'write'], ...input },
        { actor: 'admin:test' },
      );
      return { id: client.clientId, secret: clientSecret ?? '', client: { client_id: client.clientId } };
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await auth.close();
      await db.drop();
      await rm(storage, { recursive: true, force: true });
    },
  };
}

/** POSTs a form, returning status, headers and parsed JSON (or text). */
export async function postForm(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/**
 * One real server for a describe block: started in `before`, stopped in `after`. The returned
 * object stands for the running server (its properties are read when a test runs, after `before`).
 */
export function useTestServer(options: Parameters<typeof startTestServer>[0] = {}): TestServer {
  let running: TestServer | undefined;
  before(async () => {
    running = await startTestServer(options);
  });
  after(async () => {
    await running?.stop();
  });
  return new Proxy({} as TestServer, {
    get(_target, property) {
      if (!running) throw new Error(`the test server is not running yet (reading ${String(property)} outside a test or hook)`);
      const value = Reflect.get(running, property) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(running) : value;
    },
  });
}
