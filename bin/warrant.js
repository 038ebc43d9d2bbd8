#!/usr/bin/env node
// The `warrant` command: compiled JavaScript from dist/ (`npm run build`; `npm install` in a
// checkout builds it through `prepare`).
try {
  await import('../dist/src/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('warrant: dist/ is missing; run `npm run build` in this checkout\n');
    process.exit(1);
  }
  throw error;
}
