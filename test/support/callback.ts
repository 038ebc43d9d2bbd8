// A client's redirect URI for browser tests: a real HTTP server on loopback that records every
// URL the browser lands on and answers a small page.

import http from 'node:http';

export interface CallbackServer {
  /** http://127.0.0.1:<port> */
  base: string;
  /** Paths with their query, in arrival order. */
  landed: string[];
  close(): Promise<void>;
}

export async function startCallbackServer(): Promise<CallbackServer> {
  const landed: string[] = [];
  const server = http.createServer((req, res) => {
    landed.push(req.url!);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>Back at the app</title><p>Back.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    landed,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
