#!/usr/bin/env node
// Entry point installed as `git-rollback`, so `git rollback …` finds it on PATH.
// dist/ ships in the package (built by `npm pack`); in a source checkout
// `npm install` builds it (package.json's "dependencies" script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/git-rollback.mjs', import.meta.url);
try {
  await import(entry.href);
} catch (error) {
  // Checked only after a failure, so a normal start pays nothing for it.
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || existsSync(entry)) throw error;
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`git-rollback: this source checkout is not built (no dist/ in ${root})\nhint: cd ${root} && npm run build\n`);
  process.exitCode = 1;
}
