// `warrant serve` on the embedded default (no DATABASE_URL), as a newcomer meets it: the CLI in
// another terminal while the server runs, a taken port, a database that will not start, and a
// Warrant killed with SIGKILL.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freePort, run, start, waitForHttp } from '../support/process.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid that dies may stay a zombie until init reaps it; `ps` tells a live one. */
async function gone(pid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 200) {
    if (!alive(pid)) return true;
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (state === '' || / Z /.test(state)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

interface Recorded {
  pid: number;
  port: number;
  url: string;
  postmasterPid: number;
  watchdogPid: number;
}

describe('warrant serve on the embedded database (no DATABASE_URL)', function () {
  this.timeout(120_000);
  const storages: string[] = [];
  const children: { kill(signal: NodeJS.Signals): boolean }[] = [];
  const newStorage = async () => {
    const storage = await mkdtemp(path.join(tmpdir(), 'warrant-storage-'));
    storages.push(storage);
    return storage;
  };
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    // Stop any database a test left behind on purpose, then remove the folders.
    for (const storage of storages) {
      const pidFile = path.join(storage, 'pgdata', 'postmaster.pid');
      const pid = existsSync(pidFile) ? Number((await readFile(pidFile, 'utf8')).split('\n')[0]) : 0;
      if (pid && alive(pid)) {
        process.kill(pid, 'SIGINT');
        await gone(pid, 10_000);
      }
      await rm(storage, { recursive: true, force: true });
    }
  });

  async function serveEmbedded(storage: string, httpPort: number, pgPort: number) {
    const server = start(['serve'], { WARRANT_STORAGE: storage, PORT: String(httpPort), WARRANT_EMBEDDED_PG_PORT: String(pgPort) });
    children.push(server.child);
    const response = await waitForHttp(`http://127.0.0.1:${httpPort}/healthz`, 60_000).catch((error: unknown) => {
      server.child.kill('SIGKILL');
      throw new Error(`server did not answer: ${(error as Error).message}\n${server.output()}`);
    });
    const record = JSON.parse(await readFile(path.join(storage, 'embedded.json'), 'utf8')) as Recorded;
    return { server, response, record };
  }

  it('starts, answers /healthz, prints how to use the CLI and reach the database, and stops cleanly on SIGTERM', async () => {
    const storage = await newStorage();
    const [httpPort, pgPort] = [await freePort(), await freePort()];
    const { server, response, record } = await serveEmbedded(storage, httpPort, pgPort);
    expect(response.status).to.equal(200);
    const body = (await response.json()) as { status: string; projections: Record<string, { lag: number }> };
    expect(body.status).to.equal('ok');
    const output = server.output();
    // Development defaults as plain lines, besides the JSON log.
    expect(output).to.contain('WARNING: development defaults in use, never in production:\n  - DATABASE_URL is unset');
    expect(output).to.contain('INSECURE DEVELOPMENT DEFAULT');
    expect(output).to.contain(`Embedded PostgreSQL: postgres://postgres:****@127.0.0.1:${pgPort}/warrant (full URL in ${path.join(storage, 'embedded.json')}`);
    expect(output).to.contain('npx warrant client create --name');
    expect(output, 'the password stays out of the terminal and the logs').not.to.contain(new URL(record.url).password);
    expect(record.port).to.equal(pgPort);
    expect((await stat(path.join(storage, 'embedded.json'))).mode & 0o777).to.equal(0o600);

    server.child.kill('SIGTERM');
    expect(await server.exited).to.equal(0);
    expect(existsSync(path.join(storage, 'pgdata', 'postmaster.pid'))).to.equal(false);
    expect(existsSync(path.join(storage, 'embedded.json')), 'the record goes with the server').to.equal(false);
    expect(await gone(record.watchdogPid, 5_000), 'the watchdog goes too').to.equal(true);
    expect(await fetch(`http://127.0.0.1:${httpPort}/healthz`).then(() => 'answered', () => 'refused')).to.equal('refused');
  });

  it('CLI commands run next to the running server on the same storage: create a client, then get a token for it from the server', async () => {
    const storage = await newStorage();
    const [httpPort, pgPort] = [await freePort(), await freePort()];
    const { server } = await serveEmbedded(storage, httpPort, pgPort);
    const env = { WARRANT_STORAGE: storage, WARRANT_EMBEDDED_PG_PORT: String(pgPort) };
    const created = await run(['client', 'create', '--name', 'My app', '--grant', 'client_credentials', '--scope', 'read', '--json'], env);
    expect(created.code, created.stderr).to.equal(0);
    const { client_id: id, client_secret: secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    const listed = await run(['client', 'list'], env);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.contain(id).and.to.contain('My app');

    const token = await fetch(`http://127.0.0.1:${httpPort}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).to.equal(200);
    expect(((await token.json()) as { scope: string }).scope).to.equal('read');
    // The command left the server's database running.
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).to.equal(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).to.equal(0);
  });

  it('a port held by another program: a free port is chosen, and the line says which was taken, by whom, and the setting', async () => {
    const storage = await newStorage();
    const [httpPort, pgPort] = [await freePort(), await freePort()];
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(pgPort, '127.0.0.1', resolve));
    try {
      const { server, record } = await serveEmbedded(storage, httpPort, pgPort);
      expect(record.port).not.to.equal(pgPort);
      expect(server.output()).to.contain(`Port ${pgPort} (WARRANT_EMBEDDED_PG_PORT) is taken by pid ${process.pid} (`);
      expect(server.output()).to.contain(`uses port ${record.port} instead`);
      // The CLI finds the server's database wherever it went.
      const listed = await run(['client', 'list'], { WARRANT_STORAGE: storage, WARRANT_EMBEDDED_PG_PORT: String(pgPort) });
      expect(listed.code, listed.stderr).to.equal(0);
      server.child.kill('SIGTERM');
      expect(await server.exited).to.equal(0);
    } finally {
      squatter.close();
    }
  });

  it('a database that cannot start ends with one line naming the folder and the reason, never a stack trace', async () => {
    const storage = await newStorage();
    const [httpPort, pgPort] = [await freePort(), await freePort()];
    const first = await serveEmbedded(storage, httpPort, pgPort);
    first.server.child.kill('SIGTERM');
    await first.server.exited;
    await writeFile(path.join(storage, 'pgdata', 'PG_VERSION'), '99\n');
    const failed = await run(['serve'], { WARRANT_STORAGE: storage, PORT: String(httpPort), WARRANT_EMBEDDED_PG_PORT: String(pgPort) });
    expect(failed.code).to.equal(1);
    const errorLines = failed.stderr.split('\n').filter((line) => line.startsWith('warrant: '));
    expect(errorLines).to.have.length(1);
    expect(errorLines[0]).to.contain(`the embedded PostgreSQL in ${path.join(storage, 'pgdata')} (port ${pgPort}) did not start`).and.to.contain('PostgreSQL version 99');
    expect(failed.stderr).not.to.match(/TypeError|\n\s+at /);
  });

  it('a Warrant killed with SIGKILL does not leave its database running: the watchdog stops it', async () => {
    const storage = await newStorage();
    const [httpPort, pgPort] = [await freePort(), await freePort()];
    const { server, record } = await serveEmbedded(storage, httpPort, pgPort);
    server.child.kill('SIGKILL');
    await server.exited;
    expect(await gone(record.postmasterPid, 10_000), 'postgres stopped itself after its Warrant died').to.equal(true);
    expect(await gone(record.watchdogPid, 5_000)).to.equal(true);
    // The next start needs no clean-up.
    const again = await serveEmbedded(storage, httpPort, pgPort);
    expect(again.response.status).to.equal(200);
    again.server.child.kill('SIGTERM');
    expect(await again.server.exited).to.equal(0);
  });

  it('an orphan that outlived Warrant and its watchdog is found by its port and stopped, even when starting from another folder', async () => {
    const [first, second] = [await newStorage(), await newStorage()];
    const [httpPort, pgPort] = [await freePort(), await freePort()];
    const crashed = await serveEmbedded(first, httpPort, pgPort);
    process.kill(-crashed.record.watchdogPid, 'SIGKILL');
    crashed.server.child.kill('SIGKILL');
    await crashed.server.exited;
    await new Promise((r) => setTimeout(r, 1500));
    expect(alive(crashed.record.postmasterPid), 'the orphan is still running').to.equal(true);

    const elsewhere = await serveEmbedded(second, httpPort, pgPort);
    expect(elsewhere.server.output()).to.contain(`Stopping an embedded PostgreSQL left running by a killed Warrant (pid ${crashed.record.postmasterPid}, ${path.join(first, 'pgdata')}) that held port ${pgPort}.`);
    expect(elsewhere.record.port, 'the port is reused').to.equal(pgPort);
    expect(await gone(crashed.record.postmasterPid, 5_000)).to.equal(true);
    elsewhere.server.child.kill('SIGTERM');
    expect(await elsewhere.server.exited).to.equal(0);
  });

  it('an orphan on its own folder is stopped at the next start there (its pid file left behind)', async () => {
    const storage = await newStorage();
    const [httpPort, pgPort] = [await freePort(), await freePort()];
    const crashed = await serveEmbedded(storage, httpPort, pgPort);
    process.kill(-crashed.record.watchdogPid, 'SIGKILL');
    crashed.server.child.kill('SIGKILL');
    await crashed.server.exited;
    expect(existsSync(path.join(storage, 'pgdata', 'postmaster.pid'))).to.equal(true);
    expect(alive(crashed.record.postmasterPid), 'postgres outlived its parent').to.equal(true);

    const second = await serveEmbedded(storage, httpPort, pgPort);
    expect(second.response.status).to.equal(200);
    expect(second.server.output()).to.contain('left running by a crashed run');
    second.server.child.kill('SIGTERM');
    expect(await second.server.exited).to.equal(0);
    expect(await gone(crashed.record.postmasterPid, 5_000)).to.equal(true);
  });
});
