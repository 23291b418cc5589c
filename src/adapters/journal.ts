// The rollback journal (.git/rollback/journal.json): the whole request, every
// step with its state and facts, and every temporary object a step made or is
// about to make. Written (temp file + fsync + rename + fsync of the folder)
// before and after each step, so whatever kills the process, the next run
// knows exactly how far the job got and what it left behind, and
// `git rollback to --continue | --abort` can finish or revert it.
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TempObject } from '../core/engine.js';
import type { Mode } from '../core/plan.js';
import type { StepKind } from '../core/plan.js';
import { CorruptSnapshotError } from '../core/errors.js';
import { syncDir } from './files.js';
import { msg, type Msg } from '../core/i18n.js';

export const JOURNAL_SCHEMA = 2;

export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'reverting' | 'reverted';

export interface JournalStep {
  /** Stable within a job: "capture", "stage:main", "swap:main", "code", … */
  id: string;
  kind: StepKind;
  /** English (the journal is language-neutral). */
  title: string;
  /** The same title as a catalog message (key and parameters), so any process shows it in its user's language. */
  local?: Msg;
  state: StepState;
  /** Time the step's run (or revert) took. */
  ms?: number;
  /** Facts the step keeps for itself across processes (JSON). */
  memo: Record<string, unknown>;
  error?: string;
}

/** Everything needed to rebuild the job's steps in another process. */
export interface JournalRequest {
  action: 'rollback' | 'undo';
  /** Tag of the point rolled back to. */
  target: string;
  targetCommit: string;
  mode: Mode;
  only: string[];
  skip: string[];
  removeExtra: boolean;
  dropOld: boolean;
  reason: string | null;
  /** Tag the automatic backup gets when the job finishes. */
  backupTag: string;
  /** For mode branch: the branch it creates. */
  branchName?: string;
  /** Set for the automatic rollback of a failed `deploy`. */
  deploy?: { point: string; failure: string };
  /** Everything frozen at plan time that later steps must not recompute. */
  frozen: Record<string, unknown>;
}

export interface Journal {
  schema: typeof JOURNAL_SCHEMA;
  /** [a-z0-9_]: database temp names derive from it. */
  job: string;
  request: JournalRequest;
  pid: number;
  host: string;
  startedAt: string;
  updatedAt: string;
  /** forward: running the steps; revert: putting back what ran. */
  direction: 'forward' | 'revert';
  /** Why the job is being reverted (the error, or "interrupted"), in English. */
  error?: string;
  /** The same as a catalog message, when the error had one. */
  errorLocal?: Msg;
  steps: JournalStep[];
  /** Every temp object recorded by any step, before it was made. */
  temps: Array<TempObject & { removed?: boolean }>;
  /** Each database engine's own facts about this job (RestoreJob.memo), by database name. */
  engineMemos: Record<string, Record<string, unknown>>;
}

export class JournalFile {
  constructor(readonly dir: string) {}

  get path(): string {
    return join(this.dir, 'journal.json');
  }

  /** The journal, or null when no job is in progress. A journal we cannot read is an error, never "no job". */
  async read(): Promise<Journal | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return null;
      throw error;
    }
    let j: Journal;
    try {
      j = JSON.parse(text) as Journal;
    } catch {
      throw new CorruptSnapshotError(msg('journal.unparsable', { path: this.path }), msg('journal.unparsableHint'));
    }
    if (j.schema !== JOURNAL_SCHEMA) {
      throw new CorruptSnapshotError(msg('journal.schema', { path: this.path, schema: String(j.schema), reads: JOURNAL_SCHEMA }), msg('journal.schemaHint'));
    }
    return j;
  }

  /** Writes the journal durably: a crash at any moment leaves the old or the new version whole. */
  async write(j: Journal): Promise<void> {
    j.updatedAt = new Date().toISOString();
    j.pid = process.pid;
    j.host = hostname();
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(j, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    await syncDir(dirname(this.path));
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
    await syncDir(this.dir);
  }
}


/** Whether the process that wrote a journal (or holds a lock) is gone, as far as this host can tell. */
export function processGone(pid: number, host: string): boolean | null {
  if (host !== hostname()) return null;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}
