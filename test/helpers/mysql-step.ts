// Runs ONE restore call of the MySQL engine in its own process, as the step
// runner would after a restart: the job's memo is read from and saved to a
// JSON file (the journal's part), the dump is read from a git dump store.
// With ROLLBACK_TEST_MYSQL_CRASH set, the engine SIGKILLs this process at
// that point. Usage (JSON on argv[2]):
//   { op, url, jobId, memoFile, repo?, entry }
import { readFileSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { RestoreJob } from '../../src/core/engine.js';
import type { DatabaseEntry } from '../../src/core/types.js';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { createEngine } from '../../src/adapters/engines/index.js';

const args = JSON.parse(process.argv[2]!) as { op: 'stage' | 'swap' | 'unswap' | 'discardStaged' | 'dumpParked' | 'adoptParked'; url: string; jobId: string; memoFile: string; repo?: string; entry: DatabaseEntry; from?: string };
const memo = JSON.parse(readFileSync(args.memoFile, 'utf8')) as Record<string, unknown>;
const job: RestoreJob = {
  jobId: args.jobId,
  entry: args.entry,
  memo,
  async save() {
    writeFileSync(args.memoFile, JSON.stringify(memo));
    const fd = openSync(args.memoFile, 'r');
    fsyncSync(fd);
    closeSync(fd);
  },
  signal: new AbortController().signal,
  warn: (text) => process.stderr.write(`warning: ${text}\n`),
};
const engine = createEngine({ name: 'jobs', engine: 'mysql', url: args.url }, { cwd: process.cwd(), env: process.env });
const store = args.repo ? new GitDumpStore(args.repo) : undefined;
switch (args.op) {
  case 'stage':
    await engine.stage(store!.read(args.entry.chunks!, args.entry.sha256), job);
    break;
  case 'swap':
    await engine.swap(job);
    break;
  case 'unswap':
    await engine.unswap(job);
    break;
  case 'discardStaged':
    await engine.discardStaged(job);
    break;
  case 'dumpParked': {
    const out = new PassThrough();
    await Promise.all([engine.dumpParked!(job, out), store!.write(out)]);
    break;
  }
  case 'adoptParked':
    process.stdout.write(String(await engine.adoptParked!(args.from!, job)));
    break;
}
