// The live audit stream's delivery latency under issuance load (issue 18): from an event's append
// (its occurred_at, stamped when the append is prepared) to the moment a listener of
// GET /audit/stream has parsed its message. The compiled server (dist/) runs in this process;
// client_credentials load comes from bench/load.ts in a process of its own (32 connections); the
// listeners run in a third process so that their parsing competes with neither.
//
//   npm run bench:stream [-- --seconds 10 --listeners 1]

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBuiltServer } from './warrant-server.js';

const argument = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const seconds = argument('seconds', 10);
const listeners = argument('listeners', 1);

const warrant = await startBuiltServer();
try {
  const auditor = await warrant.client({ scopes: ['warrant:audit'] });
  const machine = await warrant.client({});
  const basic = (c: { id: string; secret: string }) => `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
  const auditToken = ((await (await fetch(`${warrant.url}/oauth/token`, { method: 'POST', headers: { authorization: basic(auditor), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })).json()) as { access_token: string }).access_token;

  // The listeners: a child process that prints one JSON line of latencies (ms) when told to stop.
  const listenerScript = `
    const url = process.argv[1], token = process.argv[2], count = Number(process.argv[3]);
    const latencies = [];
    const controllers = [];
    for (let i = 0; i < count; i += 1) {
      const controller = new AbortController(); controllers.push(controller);
      (async () => {
        const response = await fetch(url, { headers: { authorization: 'Bearer ' + token }, signal: controller.signal });
        let buffer = '';
        try {
          for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
            buffer += chunk;
            let end;
            while ((end = buffer.indexOf('\\n\\n')) >= 0) {
              const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
              const data = block.split('\\n').find((l) => l.startsWith('data: '));
              if (data && block.includes('event: TokenIssued')) latencies.push(Date.now() - Date.parse(JSON.parse(data.slice(6)).occurred_at));
            }
          }
        } catch {}
      })();
    }
    process.stdout.write('ready\\n');
    process.stdin.on('data', () => { for (const c of controllers) c.abort(); process.stdout.write(JSON.stringify(latencies) + '\\n'); process.exit(0); });
  `;
  const listener = spawn(process.execPath, ['-e', listenerScript, `${warrant.url}/audit/stream?type=TokenIssued`, auditToken, String(listeners)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  listener.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  while (!output.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 500));

  const spec = path.join(tmpdir(), `warrant-stream-load-${process.pid}.json`);
  writeFileSync(spec, JSON.stringify({ url: `${warrant.url}/oauth/token`, method: 'POST', headers: { authorization: basic(machine), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=read', connections: 32, duration: seconds }));
  const load = spawn(process.execPath, ['--import', 'tsx', new URL('./load.ts', import.meta.url).pathname, spec], { stdio: ['ignore', 'pipe', 'inherit'] });
  let loadOut = '';
  load.stdout.on('data', (chunk: Buffer) => (loadOut += chunk.toString()));
  await new Promise((resolve) => load.on('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the tail of the stream
  const lines = () => output.split('\n').filter((l) => l.startsWith('['));
  listener.stdin.write('stop\n');
  while (lines().length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  const latencies = (JSON.parse(lines()[0]!) as number[]).sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const issued = JSON.parse(loadOut.trim().split('\n').at(-1)!) as { rps: number; non2xx: number };
  process.stdout.write(
    `audit stream under client_credentials load (${seconds} s, 32 connections, ${listeners} listener${listeners === 1 ? '' : 's'}): ` +
      `${issued.rps.toFixed(0)} tokens/s issued, ${latencies.length} TokenIssued messages received per listener set; ` +
      `append→message latency p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${latencies.at(-1)} ms\n`,
  );
} finally {
  await warrant.stop();
}
