// Bundles the CLI into one ESM entry plus lazily loaded chunks: a cold start
// parses only what the command needs (see docs/benchmarks.md, start-up).
// Every dependency is bundled, so the published package depends on nothing.
//   node scripts/build.mjs            development build, with source maps
//   node scripts/build.mjs --release  what `npm pack` ships: no source maps
//                                     (ROLLBACK_SOURCEMAP=1 keeps them)
import { build } from 'esbuild';
import { readFile, rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// Built beside dist/ and swapped in, so tests running meanwhile never see half a build.
const dist = new URL('../dist', import.meta.url).pathname;
const staging = `${dist}.build-${process.pid}`;
const release = process.argv.includes('--release');
const sourcemap = !release || process.env.ROLLBACK_SOURCEMAP === '1' ? 'linked' : false;

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/main.ts'],
  outdir: staging,
  entryNames: 'git-rollback',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  // Modules imported with import() (cosmiconfig, execa, ora, engines…) become
  // separate chunks, parsed only by the commands that use them.
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap,
  legalComments: 'none',
  define: { __VERSION__: JSON.stringify(pkg.version) },
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  // cosmiconfig loads TypeScript only for rollback.config.ts, which we do not support.
  external: ['typescript'],
  // One js-yaml: cosmiconfig require()s its CommonJS entry, init imports it;
  // without this the bundle would carry the ESM build as a second copy.
  alias: { 'js-yaml': fileURLToPath(new URL('../node_modules/js-yaml/index.js', import.meta.url)) },
  logLevel: 'warning',
});

const old = `${dist}.old-${process.pid}`;
await rename(dist, old).catch(() => undefined);
await rename(staging, dist);
await rm(old, { recursive: true, force: true });
