// Starts a Warrant test server with one client_credentials client and prints a JSON line with its
// URL and Basic credentials, then waits for SIGINT/SIGTERM. For profiling under external load:
//   node --cpu-prof --cpu-prof-dir /tmp/prof --import tsx bench/serve-for-profile.ts
import { basic, startTestServer } from '../test/support/server.js';

const server = await startTestServer();
const { id, secret } = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
process.stdout.write(`${JSON.stringify({ url: server.url, authorization: basic(id, secret), pid: process.pid })}\n`);
// tsx (the TypeScript loader) installs its own signal handlers, which end the process before an
// asynchronous clean-up finishes; this script owns its signals, so it replaces them.
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void stop());
}
