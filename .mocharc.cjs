'use strict';
// Mocha's settings. The whole suite by default; `npm test -- test/x.test.ts` (files named on the
// command line) runs only those — a `spec` here would otherwise be added to them.
const named = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));

module.exports = {
  'node-option': ['import=tsx'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  reporter: './test/support/reporter.cjs',
  timeout: 30000,
  exit: true,
};
