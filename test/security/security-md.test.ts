// SECURITY.md names, for every threat, the test that proves the defence. This keeps the names
// true: every test file it cites exists, and every quoted test title is in that file.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';

const root = new URL('../../', import.meta.url);

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
        const file = /`(test\/[^`*]+)`/.exec(part)?.[1];
        if (!file) continue;
        if (file.includes('*')) continue;
        expect(existsSync(new URL(file, root)), file).to.equal(true);
        const source = await readFile(new URL(file, root), 'utf8');
        for (const [, title] of part.matchAll(/"([^"]+)"/g)) {
          const prefix = title!.replace(/…$/, '');
          expect(source, `${file}: "${prefix}"`).to.contain(prefix);
          cited += 1;
        }
      }
    }
    expect(cited).to.be.at.least(20);
  });
});
