// Starts a Warrant test server with one client_credentials client and prints a JSON line with its
// URL and Basic credentials, then waits for SIGINT/SIGTERM. For profiling under external load:
//   node --cpu-prof --cpu-prof-dir /tmp/prof --import tsx bench/serve-for-profile.ts
import { basic, startTestServer } from '../test/support/server.js';

const server = await startTestServer();
const { id, secret } = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
process.stdout.write(`${JSON.stringify({ url: server.url, authorization: basic(id, secret), pid: process.pid })}\n`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
