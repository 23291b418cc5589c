// Runs every benchmark, or the ones named: `npm run bench -- points`,
// `npm run bench -- postgres`. Flags after the names go to each benchmark
// (`npm run bench -- points --n 1000`). Build first: `npm run build`.
import { existsSync } from 'node:fs';
import { BIN, log, parseArgs } from './lib.js';

const BENCHMARKS: Record<string, () => Promise<{ main(argv: readonly string[]): Promise<void> }>> = {
  points: () => import('./points.js'),
  postgres: () => import('./postgres.js'),
  store: () => import('./store.js'),
  gc: () => import('./gc.js'),
  recovery: () => import('./recovery.js'),
  sqlite: () => import('./sqlite.js'),
  mariadb: () => import('./mariadb.js'),
};

const argv = process.argv.slice(2);
const { positional } = parseArgs(argv);
const names = positional.length ? positional : Object.keys(BENCHMARKS);
const unknown = names.filter((n) => !(n in BENCHMARKS));
if (unknown.length) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}\n`);
  process.exit(2);
}
if (!existsSync(BIN) || !existsSync(new URL('../dist/git-rollback.mjs', import.meta.url))) {
  process.stderr.write('the binary is not built: run npm run build first\n');
  process.exit(2);
}
const flags = argv.filter((a) => !names.includes(a));
for (const name of names) {
  log(`== ${name} ==`);
  const mod = await (BENCHMARKS[name] as () => Promise<{ main(argv: readonly string[]): Promise<void> }>)();
  await mod.main(flags);
}
