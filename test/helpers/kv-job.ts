// Driving an engine's restore steps by hand, as the step runner does: a
// RestoreJob whose memo survives between calls (and, when asked, a JSON round
// trip, as when --continue runs in a new process), dumps into a real
// GitDumpStore, and corrupt copies of stored dumps.
import { english } from '../../src/core/i18n.js';
import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { Engine, RestoreJob } from '../../src/core/engine.js';
import type { DatabaseEntry } from '../../src/core/types.js';
import type { GitDumpStore } from '../../src/adapters/dump-store.js';

export interface TestJob extends RestoreJob {
  warnings: string[];
  saves: number;
  controller: AbortController;
  /** The same job as a new process would see it: the memo as last saved. */
  reload(): TestJob;
}

export function testJob(jobId: string, entry: DatabaseEntry, saved: Record<string, unknown> = {}): TestJob {
  const controller = new AbortController();
  let lastSaved = JSON.stringify(saved);
  const job: TestJob = {
    jobId,
    entry,
    memo: JSON.parse(lastSaved) as Record<string, unknown>,
    warnings: [],
    saves: 0,
    controller,
    signal: controller.signal,
    async save() {
      lastSaved = JSON.stringify(job.memo);
      job.saves++;
    },
    warn(text: string) {
      job.warnings.push(text);
    },
    reload() {
      return testJob(jobId, entry, JSON.parse(lastSaved) as Record<string, unknown>);
    },
  };
  return job;
}

/** A destination for dumps expected to fail: consumed, so its error is observed. */
export function sink(): PassThrough {
  const pass = new PassThrough();
  pass.on('error', () => {});
  pass.resume();
  return pass;
}

export function entryOf(engine: Engine, outcome: Awaited<ReturnType<Engine['dump']>>, stored: { size: number; sha256: string; chunks: DatabaseEntry['chunks'] }, ms = 0): DatabaseEntry {
  return {
    name: engine.name, engine: engine.engine, format: outcome.format, path: `db/${engine.name}.${outcome.ext}`, size: stored.size,
    sha256: stored.sha256, chunks: stored.chunks, tool: outcome.tool, serverVersion: outcome.serverVersion, ms,
    ...(outcome.details ? { details: outcome.details } : {}), ...(outcome.absent ? { absent: true } : {}),
  };
}

/** dump() into the store, as `point` does; the outcome's warnings come back beside the entry. */
export async function dumpInto(engine: Engine, store: GitDumpStore, options?: { allowAbsent?: boolean }): Promise<DatabaseEntry & { warnings?: string[] }> {
  const pass = new PassThrough();
  const started = Date.now();
  const [outcome, stored] = await Promise.all([engine.dump(pass, options), store.write(pass)]);
  return { ...entryOf(engine, outcome, stored, Date.now() - started), ...(outcome.warnings ? { warnings: outcome.warnings.map(english) } : {}) };
}

/** dumpParked() into the store, as the runner's "back up db X" step does. */
export async function dumpParkedInto(engine: Engine, job: RestoreJob, store: GitDumpStore): Promise<DatabaseEntry> {
  const pass = new PassThrough();
  const [outcome, stored] = await Promise.all([engine.dumpParked!(job, pass), store.write(pass)]);
  return entryOf(engine, outcome, stored);
}

/** checkRestore + stage from the store, as the runner's verify and stage steps do. */
export async function stageFrom(engine: Engine, store: GitDumpStore, job: RestoreJob): Promise<void> {
  const entry = job.entry;
  if (!entry.absent) await store.verify(entry.chunks!, entry.sha256);
  await engine.checkRestore(entry, job.jobId);
  await engine.stage(readEntry(store, entry), job);
}

export function readEntry(store: GitDumpStore, entry: DatabaseEntry) {
  if (entry.absent) {
    const empty = new PassThrough();
    empty.end();
    return empty;
  }
  return store.read(entry.chunks!, entry.sha256);
}

/** A copy of the entry whose first chunk is replaced by another blob of the same size: only the checksum can tell. */
export function corrupted(store: GitDumpStore, entry: DatabaseEntry): DatabaseEntry {
  const first = entry.chunks![0]!;
  const junk = Buffer.alloc(first.size, 0x5a);
  const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: store.cwd, input: junk, encoding: 'utf8' }).trim();
  return { ...entry, chunks: [{ blob, size: first.size }, ...entry.chunks!.slice(1)] };
}
