// The README's quickstart, run as written: its server command starts Warrant on the embedded
// default, its shell blocks run in one bash session (the CLI next to the running server, curl
// against it), and the one step a person does in a browser (sign in, approve) is done in headless
// Chromium. Each block's output is checked, so the README cannot drift from what Warrant does.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { launchBrowser } from '../support/browser.js';
import { childEnv, freePort, waitForHttp } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** The fenced sh blocks that follow a `<!-- marker -->` line. */
function blocks(readme: string, marker: string): string[] {
  return [...readme.matchAll(new RegExp(`<!-- ${marker} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
}

function json(text: string): Record<string, any> {
  return JSON.parse(text) as Record<string, any>;
}

/** Is any process of this process group still running? */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('README quickstart', function () {
  this.timeout(240_000);
  let storage: string;
  let server: ChildProcess | undefined;
  let serverOutput = '';
  let chrome: Awaited<ReturnType<typeof launchBrowser>> | undefined;

  before(async () => {
    storage = await mkdtemp(path.join(tmpdir(), 'warrant-quickstart-'));
  });
  after(async () => {
    await chrome?.close();
    // The shell, npm and the server are one process group: stop them all, and wait until the
    // server has gone before its storage is removed (a SIGTERM to the shell alone orphans it).
    if (server?.pid !== undefined) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      for (let i = 0; i < 300 && groupAlive(server.pid); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      if (groupAlive(server.pid)) process.kill(-server.pid, 'SIGKILL');
    }
    await rm(storage, { recursive: true, force: true });
  });

  it('takes a newcomer from the server command to a client_credentials token, a code flow through the pages, a personal access token and an audit history', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const [serverBlock] = blocks(readme, 'quickstart:server');
    const steps = blocks(readme, 'quickstart');
    expect(steps.length, 'the quickstart blocks').to.equal(6);

    // Terminal 1, as written (dependencies are installed already: `npm install` is the block's first line).
    const serverLines = serverBlock!.trim().split('\n');
    expect(serverLines[0]).to.equal('npm install');
    const [port, pgPort] = [await freePort(), await freePort()];
    const env = { PORT: String(port), WARRANT_STORAGE: storage, WARRANT_EMBEDDED_PG_PORT: String(pgPort) };
    server = spawn('bash', ['-c', serverLines.slice(1).join('\n')], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    server.stdout!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString()));
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 90_000).catch((error: unknown) => {
      throw new Error(`the quickstart server did not start: ${(error as Error).message}\n${serverOutput}`);
    });
    expect(serverOutput).to.contain('npx warrant client create');
    expect(existsSync(path.join(storage, 'embedded.json'))).to.equal(true);

    // Terminal 2: every block in one bash session, a marker before each so its output can be told apart.
    const script = ['set -euo pipefail', ...steps.map((block, i) => `echo '::step ${i}::'\n${block}`), "echo '::done::'"].join('\n');
    const shell = spawn('bash', ['-c', script], { cwd: ROOT, env: childEnv({ ...env, WARRANT: `http://localhost:${port}` }), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let browserStep: Promise<void> | undefined;
    shell.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    shell.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /^Open in a browser: (\S+)$/m.exec(stdout)?.[1];
      if (url && !browserStep) {
        // The person's part: open the URL, sign in as the README's user, approve, copy the code.
        browserStep = (async () => {
          chrome = await launchBrowser();
          const page = await chrome.browser.newPage();
          await page.route('http://localhost:3000/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Your app</title>' }));
          await page.goto(url);
          expect(await page.title()).to.contain('Sign in');
          await page.getByLabel('Username').fill('alice');
          await page.getByLabel('Password').fill('correct horse battery');
          await page.getByRole('button', { name: 'Sign in' }).click();
          await page.getByRole('heading', { name: 'Authorize Notes app' }).waitFor();
          expect(await page.locator('ul.scopes').textContent()).to.contain('Read your notes');
          await page.getByRole('button', { name: 'Approve' }).click();
          await page.waitForURL((u) => u.toString().startsWith('http://localhost:3000/callback'));
          const landed = new URL(page.url());
          expect(landed.searchParams.get('state')).to.equal('xyz');
          shell.stdin!.write(`${landed.searchParams.get('code')}\n`);
        })().catch((error: unknown) => {
          shell.stdin!.end();
          throw error;
        });
      }
    });
    const code = await new Promise<number | null>((resolve) => shell.on('exit', resolve));
    if (browserStep) await browserStep;
    expect(code, `${stderr}\n${stdout}`).to.equal(0);
    expect(stdout).to.contain('::done::');

    const out = stdout.replace(/::done::\n$/, '').split(/^::step \d+::\n/m).slice(1);
    const lines = (i: number) => out[i]!.trim().split('\n');

    // 0: the helpers print nothing.
    expect(out[0]!.trim()).to.equal('');

    // 1: a machine token, introspected, revoked, introspected again.
    const [jobClaims, active, revoke, inactive] = lines(1);
    const token = json(jobClaims!);
    expect(token).to.include({ iss: `http://localhost:${port}`, scope: 'notes:read', client_id: token['sub'] });
    expect(json(active!)).to.include({ active: true, scope: 'notes:read', sub: token['sub'] });
    expect(revoke).to.equal('revoke: 200');
    expect(json(inactive!)).to.deep.equal({ active: false });

    // 2: a user, a public client, the authorization URL.
    const [created, open] = lines(2);
    const alice = new RegExp(`^User alice created \\(subject (${UUID})\\)\\.$`).exec(created!)?.[1];
    expect(alice, created).to.be.a('string');
    expect(open).to.match(/^Open in a browser: http:\/\/localhost:\d+\/oauth\/authorize\?response_type=code&client_id=/);

    // 3: the code exchanged and refreshed; sub is alice's UUID; user list shows it.
    const [userClaims, tokenType, listed] = lines(3);
    expect(json(userClaims!)).to.include({ sub: alice, scope: 'notes:read' });
    expect(tokenType).to.equal('Bearer');
    expect(listed).to.equal(`${alice}  alice`);

    // 4: a personal access token, then the CLI lists it.
    const [pat, patListed] = lines(4);
    expect(json(pat!)).to.include({ name: 'my laptop' });
    expect(json(pat!)['scopes']).to.deep.equal(['notes:read']);
    expect(json(pat!)['access_token']).to.be.a('string');
    expect(patListed).to.match(new RegExp(`^${json(pat!)['id']}  alice\\s+"my laptop"\\s+notes:read\\s+expires \\d{4}-\\d{2}-\\d{2}$`));

    // 5: the audit history of the step-1 token: issued, then revoked.
    const history = json(lines(5).at(-1)!);
    expect(history['events'].map((e: { type: string }) => e.type)).to.deep.equal(['TokenIssued', 'TokenRevoked']);
    expect(history['events'][1].data).to.include({ reason: 'revoked_by_client' });
  });
});
