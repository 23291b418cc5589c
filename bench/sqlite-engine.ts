// Benchmark: the SQLite engine on a large file (issue 10: first point ≤ 2×
// `.backup`, unchanged repeat ≤ 1×, `to` ≤ 2× cp; undo ≤ 1 s), engine steps
// alone and through the git dump store, side by side with the anchors.
//
//   node --import tsx bench/sqlite-engine.ts [--mib 300] [--runs 3] [--dir /var/tmp] [--keep]
//
// Data: one WAL-mode table of 4,000-byte random blobs (incompressible), as in
// the issue. Each row is the median of --runs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { GitDumpStore } from '../src/adapters/dump-store.js';
import { createEngine } from '../src/adapters/engines/index.js';
import type { DumpOutcome, RestoreJob } from '../src/core/engine.js';
import type { DatabaseEntry } from '../src/core/types.js';

function flag(argv: readonly string[], name: string, fallback?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function job(jobId: string, entry: DatabaseEntry): RestoreJob {
  return { jobId, entry, memo: {}, async save() {}, signal: new AbortController().signal, warn() {} };
}

const sqlite = (db: string, sql: string) => execFileSync('sqlite3', ['-batch', db, sql], { encoding: 'utf8' });

export async function main(argv: readonly string[]): Promise<void> {
  const mib = Number(flag(argv, 'mib', '300'));
  const runs = Number(flag(argv, 'runs', '3'));
  const base = mkdtempSync(join(flag(argv, 'dir') ?? tmpdir(), 'bench-sqlite-'));
  const repo = join(base, 'repo');
  execFileSync('git', ['init', '-q', repo]);
  const db = join(repo, 'app.db');
  const rowsN = Math.round((mib * 1048576) / 4096);
  console.error(`making ${mib} MiB (${rowsN} rows)…`);
  sqlite(db, `PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ${rowsN}) INSERT INTO t SELECT x, randomblob(4000) FROM c;`);
  const size = statSync(db).size;
  const engine = createEngine({ name: 'local', engine: 'sqlite', path: 'app.db' }, { cwd: repo, env: process.env });
  const rows: string[] = [];
  const row = (what: string, ms: number[], note = '') => {
    rows.push(`| ${what} | ${(median(ms) / 1000).toFixed(2)} s | ${ms.map((m) => (m / 1000).toFixed(2)).join(', ')} | ${note} |`);
    console.error(rows.at(-1));
  };

  // Anchors and the engine alone, interleaved run by run so that a busy machine weighs on all alike.
  const out = join(base, 'out.db');
  const discard = () => new Writable({ write(_c, _e, done) { done(); } });
  const tasks: Array<[string, () => Promise<unknown> | void]> = [
    ['`sqlite3 .backup`', () => { sqlite(db, `.backup '${out}'`); rmSync(out); }],
    ['`VACUUM INTO`', () => { sqlite(db, `VACUUM INTO '${out}'`); rmSync(out); }],
    ['`cp`', () => { copyFileSync(db, out); rmSync(out); }],
    ['`PRAGMA quick_check`', () => { sqlite(db, 'PRAGMA quick_check'); }],
    ['engine dump into nothing (copy under a read transaction, quick_check alongside)', () => engine.dump(discard())],
  ];
  const times = tasks.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [t, [, fn]] of tasks.entries()) times[t]!.push(await time(async () => fn()));
  }
  tasks.forEach(([what], t) => row(what, times[t]!));

  // Through the git dump store, as `point` does.
  const dumpInto = async (store: GitDumpStore, produce: (out: PassThrough) => Promise<DumpOutcome & { absent?: boolean }>) => {
    const pass = new PassThrough();
    const [outcome, stored] = await Promise.all([produce(pass), store.write(pass)]);
    return { name: 'local', engine: 'sqlite', format: outcome.format, path: 'db/local.sqlite', size: stored.size, sha256: stored.sha256, chunks: stored.chunks, tool: outcome.tool, ms: 0, details: outcome.details } as DatabaseEntry;
  };
  const firsts: number[] = [];
  const repeats: number[] = [];
  let entry!: DatabaseEntry;
  let store!: GitDumpStore;
  for (let i = 0; i < runs; i++) {
    const storeDir = join(base, `store${i}`);
    execFileSync('git', ['init', '-q', storeDir]);
    store = new GitDumpStore(storeDir);
    firsts.push(await time(async () => { entry = await dumpInto(store, (o) => engine.dump(o)); }));
    repeats.push(await time(() => dumpInto(store, (o) => engine.dump(o))));
  }
  row('dump into the store, first', firsts);
  row('dump into the store, unchanged repeat', repeats);

  // A rollback: stage from the store, swap; then the backup of the parked file, then fast undo.
  const stages: number[] = [];
  const storeReads: number[] = [];
  const swaps: number[] = [];
  const parkedDumps: number[] = [];
  const undos: number[] = [];
  for (let i = 0; i < runs; i++) {
    sqlite(db, 'UPDATE t SET b = randomblob(4000) WHERE id % 100 = 0;');
    storeReads.push(await time(() => pipeline(store.read(entry.chunks!, entry.sha256), discard())));
    const to = job(`to${i}`, entry);
    stages.push(await time(() => engine.stage(store.read(entry.chunks!, entry.sha256), to)));
    swaps.push(await time(() => engine.swap(to)));
    let backup!: DatabaseEntry;
    parkedDumps.push(await time(async () => { backup = await dumpInto(store, (o) => engine.dumpParked!(to, o)); }));
    const undo = job(`undo${i}`, backup);
    undos.push(await time(async () => {
      if (!(await engine.adoptParked!(`to${i}`, undo))) throw new Error('parked copy not adoptable');
      await engine.swap(undo);
    }));
    await engine.dropParked(`undo${i}`);
  }
  row('to: stage from the store (read the store, write beside, check the header, fsync)', stages);
  row('  of which: reading the dump out of the store alone', storeReads);
  row('to: swap (rename)', swaps);
  row('to: backup of the parked file into the store (after service is back)', parkedDumps);
  row('undo right after: adopt the parked file + swap', undos);
  console.log(`| work (${(size / 1048576).toFixed(0)} MiB) | median | runs | notes |\n| --- | --- | --- | --- |\n${rows.join('\n')}`);
  if (!argv.includes('--keep')) rmSync(base, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
