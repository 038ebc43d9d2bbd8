// SECURITY.md names, for every threat, the test that proves the defence. This keeps the names
// true: every test file it cites exists, and every quoted test title is in that file.

import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url);

/** The files a `dir/*.test.ts` pattern names (a `*` in the file name only, as SECURITY.md uses them). */
async function expand(pattern: string): Promise<string[]> {
  const slash = pattern.lastIndexOf('/');
  const dir = pattern.slice(0, slash);
  const name = new RegExp(`^${pattern.slice(slash + 1).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  if (!existsSync(new URL(`${dir}/`, root))) return [];
  return (await readdir(new URL(`${dir}/`, root))).filter((entry) => name.test(entry)).sort().map((entry) => `${dir}/${entry}`);
}

describe('SECURITY.md', () => {
  it('cites only test files that exist, and test titles that are in them', async () => {
    const text = await readFile(new URL('SECURITY.md', root), 'utf8');
    const rows = text.split('\n').filter((line) => line.startsWith('| ') && line.includes('`test/'));
    expect(rows.length).to.be.at.least(15);
    let cited = 0;
    for (const row of rows) {
      const cell = row.split(' | ').at(-1)!;
      // "`test/a.test.ts` "title…", "title…"; `test/b.test.ts` …" — titles belong to the file before them.
      for (const part of cell.split(';')) {
        const named = [...part.matchAll(/`(test\/[^`]+)`/g)].map((m) => m[1]!);
        if (named.length === 0) continue;
        // Every file named must exist; a wildcard (`test/audit/*.test.ts`) must match at least one.
        const files: string[] = [];
        for (const file of named) {
          const matched = file.includes('*') ? await expand(file) : [file];
          expect(matched, `${file} matches no test file`).not.to.deep.equal([]);
          for (const one of matched) expect(existsSync(new URL(one, root)), one).to.equal(true);
          files.push(...matched);
          cited += 1;
        }
        const source = (await Promise.all(files.map((one) => readFile(new URL(one, root), 'utf8')))).join('\n');
        for (const [, title] of part.matchAll(/"([^"]+)"/g)) {
          const prefix = title!.replace(/…$/, '');
          expect(source, `${named.join(', ')}: "${prefix}"`).to.contain(prefix);
          cited += 1;
        }
      }
    }
    expect(cited).to.be.at.least(20);
  });
});
