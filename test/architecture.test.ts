// The layering the design promises, checked on the sources (issue 14): imports point down, the
// domain does no I/O, adapters stay behind the event-store port, and no file grows past 300 lines.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : Promise.resolve(e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))));
  return nested.flat();
}

/** Each import of a file, resolved to a path from the repository root (packages as `pkg:<name>`). */
async function imports(file: string): Promise<{ target: string; typeOnly: boolean }[]> {
  const text = await readFile(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)].map((m) => ({
    typeOnly: !!m[1],
    target: m[2]!.startsWith('.') ? path.normalize(path.join(path.dirname(file), m[2]!)).replace(/\.js$/, '.ts') : `pkg:${m[2]}`,
  }));
}

describe('architecture', () => {
  it('nothing under src/oauth, src/domain, src/policy, src/audit or src/readmodels imports src/http', async () => {
    const offenders: string[] = [];
    for (const dir of ['src/oauth', 'src/domain', 'src/policy', 'src/audit', 'src/readmodels']) {
      for (const file of await sources(dir)) for (const { target } of await imports(file)) if (target.startsWith('src/http/')) offenders.push(`${file} → ${target}`);
    }
    expect(offenders).to.deep.equal([]);
  });

  it('nothing outside src/eventstore imports an event-store adapter', async () => {
    const offenders: string[] = [];
    for (const file of [...(await sources('src')), ...(await sources('projections'))]) {
      if (file.startsWith('src/eventstore/')) continue;
      for (const { target } of await imports(file)) if (target.startsWith('src/eventstore/postgres') || target === 'src/eventstore/esdb.ts') offenders.push(`${file} → ${target}`);
    }
    expect(offenders).to.deep.equal([]);
  });

  it('the domain imports nothing with I/O: only the domain itself, and types', async () => {
    const offenders: string[] = [];
    for (const file of await sources('src/domain')) {
      for (const { target, typeOnly } of await imports(file)) if (!target.startsWith('src/domain/') && !typeOnly) offenders.push(`${file} → ${target}`);
    }
    expect(offenders).to.deep.equal([]);
  });

  it('no source file is over 300 lines, except the configuration table and the event catalogue', async () => {
    const long: string[] = [];
    for (const file of [...(await sources('src')), ...(await sources('projections'))]) {
      if (file === 'src/config.ts' || file === 'src/events/types.ts') continue;
      const lines = (await readFile(path.join(ROOT, file), 'utf8')).split('\n').length - 1;
      if (lines > 300) long.push(`${file}: ${lines}`);
    }
    expect(long).to.deep.equal([]);
  });
});
