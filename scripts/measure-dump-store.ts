// Measures GitDumpStore on a real file, for docs/decisions.md
// ("Dump storage: content-defined chunks"). Run under /usr/bin/time -v:
//
//   node --import tsx scripts/measure-dump-store.ts write <repo> <file> [avgKiB]
//   node --import tsx scripts/measure-dump-store.ts read  <repo> <manifest.json>
//
// `write` stores <file> and prints the result as JSON (save it as the
// manifest for `read`); `read` streams the dump back and checks its sha256.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { GitDumpStore } from '../src/adapters/dump-store.js';

const [mode, repo, file, avgKiB] = process.argv.slice(2);
if (!mode || !repo || !file) {
  console.error('usage: measure-dump-store.ts write|read <repo> <file|manifest> [avgKiB]');
  process.exit(2);
}
const avg = avgKiB ? Number(avgKiB) * 1024 : undefined;
const store = new GitDumpStore(repo, avg ? { chunkSizes: { min: avg / 2, avg, max: avg * 8 } } : {});
const started = performance.now();
if (mode === 'write') {
  const result = await store.write(createReadStream(file, { highWaterMark: 256 * 1024 }));
  const seconds = (performance.now() - started) / 1000;
  const { chunks, ...rest } = result;
  console.error(
    JSON.stringify({ ...rest, chunks: chunks.length, seconds: +seconds.toFixed(2), mibPerSecond: +(result.size / 2 ** 20 / seconds).toFixed(1) }),
  );
  console.log(JSON.stringify({ chunks, sha256: result.sha256 }));
} else {
  const manifest = JSON.parse(await readFile(file, 'utf8')) as { chunks: []; sha256: string };
  const { size } = await store.verify(manifest.chunks, manifest.sha256);
  const seconds = (performance.now() - started) / 1000;
  console.error(JSON.stringify({ size, seconds: +seconds.toFixed(2), mibPerSecond: +(size / 2 ** 20 / seconds).toFixed(1) }));
}
