// The repository lock: .git/rollback/lock (in the common git dir, so linked
// worktrees share it). Holds pid, host and command; a lock whose process is
// gone on this host is stale and taken over.
import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LockedError } from '../core/errors.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

export class RepoLock {
  private held = false;
  constructor(readonly stateDir: string) {}

  get path(): string {
    return join(this.stateDir, 'lock');
  }

  /** Takes the lock, waiting up to `waitMs` for another run to finish. */
  async acquire(command: string, waitMs = 0): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    const deadline = Date.now() + waitMs;
    for (;;) {
      const info: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
      try {
        const fh = await open(this.path, 'wx', 0o644);
        await fh.writeFile(JSON.stringify(info) + '\n');
        await fh.close();
        this.held = true;
        const release = () => {
          if (this.held) {
            try {
              // Synchronous: this runs from process 'exit'.
              rmSync(this.path, { force: true });
            } catch {
              /* already gone */
            }
          }
        };
        process.once('exit', release);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST') throw error;
      }
      const other = await this.read();
      if (other && isStale(other)) {
        await rm(this.path, { force: true });
        continue;
      }
      if (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const who = other ? `${other.command} (pid ${other.pid} on ${other.host}, since ${other.startedAt})` : 'another git-rollback';
      throw new LockedError(
        `another git-rollback is running: ${who}`,
        `wait for it to finish; if no such process exists, remove ${this.path}`,
      );
    }
  }

  async read(): Promise<LockInfo | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as LockInfo;
    } catch {
      return null;
    }
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await rm(this.path, { force: true });
  }
}

function isStale(info: LockInfo): boolean {
  if (info.host !== hostname()) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

