// The Warrant that `npm run bench` measures: the compiled build in dist/, as `npm start` runs it
// (the TypeScript loader used for tests wraps inner functions at run time, which the build does
// not). Like test/support/server.ts: its own database and storage folder, a free port, the
// issuer set to its real URL. Types come from the sources; code from dist/ (built by the bench
// script first).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as Config from '../src/config.js';
import type * as Keystore from '../src/keys/keystore.js';
import type * as Pepper from '../src/keys/pepper.js';
import type * as Logger from '../src/logger.js';
import type * as Clients from '../src/oauth/clients.js';
import type * as Issue from '../src/oauth/issue.js';
import type * as Serve from '../src/serve.js';
import type * as Server from '../src/server.js';
import type * as Rebuild from '../projections/rebuild.js';
import type * as Projections from '../projections/index.js';
import { createTestDatabase } from '../test/support/db.js';
import { freePort } from '../test/support/process.js';

const load = <T>(file: string): Promise<T> => import(new URL(`../dist/${file}`, import.meta.url).href) as Promise<T>;

export const built = {
  config: await load<typeof Config>('src/config.js'),
  keystore: await load<typeof Keystore>('src/keys/keystore.js'),
  pepper: await load<typeof Pepper>('src/keys/pepper.js'),
  logger: await load<typeof Logger>('src/logger.js'),
  clients: await load<typeof Clients>('src/oauth/clients.js'),
  issue: await load<typeof Issue>('src/oauth/issue.js'),
  serve: await load<typeof Serve>('src/serve.js'),
  server: await load<typeof Server>('src/server.js'),
  rebuild: await load<typeof Rebuild>('projections/rebuild.js'),
  projections: await load<typeof Projections>('projections/index.js'),
};

export async function startBuiltServer() {
  const db = await createTestDatabase({ migrate: false });
  const storage = await mkdtemp(path.join(tmpdir(), 'warrant-bench-'));
  await built.keystore.ensureKey(storage, { alg: 'ES256' });
  await built.pepper.ensurePepper(storage);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = built.config.loadConfig({}, { databaseUrl: db.url, storage, issuer: url, port, logLevel: 'silent' });
  const auth = await built.server.createAuthServer({ config, logger: built.logger.silentLogger });
  const server = built.serve.createHttpServer(auth.app.callback(), config);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url,
    auth,
    db,
    async client(input: Partial<Clients.NewClient>) {
      const { client, clientSecret } = await built.clients.registerClient(auth.context, { name: 'Bench client', grantTypes: ['client_credentials'], scopes: ['read'], ...input }, { actor: 'admin:bench' });
      return { id: client.clientId, secret: clientSecret ?? '' };
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
