// Runs one PostgreSQL engine restore method in a process of its own, so a
// test can SIGKILL it (and its psql) part-way, as a crash would. The memo
// lives in a JSON file, as the journal keeps it.
//   node --import tsx test/helpers/pg-engine-step.ts <stage|swap|unswap> <url> <jobId> <entry.json> <memo.json> [<dump repo>]
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';
import type { DatabaseEntry } from '../../src/core/types.js';

const [method, url, jobId, entryFile, memoFile, repo] = process.argv.slice(2);
if (!method || !url || !jobId || !entryFile || !memoFile) throw new Error('usage: pg-engine-step.ts <stage|swap|unswap> <url> <jobId> <entry.json> <memo.json> [<repo>]');
const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as DatabaseEntry;
const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as Record<string, unknown>;
const engine = createEngine({ name: 'main', engine: 'postgres', url }, { cwd: process.cwd(), env: process.env });
const job = {
  jobId,
  entry,
  memo,
  async save() {
    writeFileSync(memoFile, JSON.stringify(memo));
  },
  signal: new AbortController().signal,
  warn: (text: string) => process.stderr.write(`${text}\n`),
};
/** PG_STEP_HOLD=1: the dump's first chunk goes through, then nothing more: the load stays under way until the test kills it. */
async function* holdAfterFirstChunk(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    yield chunk;
    await new Promise(() => {});
  }
}
if (method === 'stage') {
  const store = new GitDumpStore(repo!);
  const stored = store.read(entry.chunks!, entry.sha256);
  await engine.stage(process.env.PG_STEP_HOLD === '1' ? Readable.from(holdAfterFirstChunk(stored)) : stored, job);
} else if (method === 'swap') await engine.swap(job);
else if (method === 'unswap') await engine.unswap(job);
else throw new Error(`unknown method ${method}`);
process.stdout.write('done\n');
