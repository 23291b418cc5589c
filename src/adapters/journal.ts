// The rollback journal (.git/rollback/journal.json): written before the first
// change and removed after the last, so an interrupted rollback is visible and
// `git rollback to --continue | --abort` can finish or revert it.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mode } from '../core/plan.js';

export interface JournalStep {
  title: string;
  kind: string;
  ms: number;
  outcome: 'ok' | 'failed' | 'reverted';
}

export interface Journal {
  schema: 1;
  job: string;
  action: 'rollback' | 'undo';
  target: string;
  backup: string;
  mode: Mode;
  only: string[];
  skip: string[];
  pid: number;
  startedAt: string;
  state: 'running' | 'reverting' | 'failed';
  steps: JournalStep[];
  error?: string;
}

export class JournalFile {
  constructor(readonly dir: string) {}

  get path(): string {
    return join(this.dir, 'journal.json');
  }

  async read(): Promise<Journal | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as Journal;
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return null;
      throw error;
    }
  }

  async write(j: Journal): Promise<void> {
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(j, null, 2) + '\n');
    await rename(tmp, this.path);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
