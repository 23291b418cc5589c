// The repository lock: .git/rollback/lock (in the common git dir, so linked
// worktrees share it), holding pid, host, command and the process's start
// time. How it stays correct when processes die or race (docs/decisions.md,
// "The repository lock"):
// - The file is written whole to a private temp file, then link()ed into
//   place: link fails if a lock exists, so creation is atomic and nobody
//   ever reads half a lock.
// - A lock whose process is gone (same host, no such pid, or a pid reused by
//   a process that started later) is stale. It is removed only under a short
//   guard file (O_EXCL), after reading it again and finding the very lock
//   that was judged stale: two runs taking over at once can never remove a
//   lock a third one just made.
// - A lock that cannot be parsed is stale once no live process has it open
//   (the holder keeps it open for its lifetime; Linux /proc tells), or, where
//   that cannot be checked, once it is a minute old.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readlinkSync, readFileSync, rmSync, statSync } from 'node:fs';
import { link, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockedError } from '../core/errors.js';
import { msg, type Msg } from '../core/i18n.js';
import { pidAlive } from './pid.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  /** The holder's start time in clock ticks since boot (Linux), to tell a reused pid. */
  procStart?: number;
  nonce?: string;
}

export type LockState = { state: 'free' } | { state: 'held'; info: LockInfo | null; stale: boolean; why: string };

const GUARD_STALE_MS = 5_000;
const GARBAGE_STALE_MS = 60_000;

export class RepoLock {
  private held: { nonce: string; fd: number } | null = null;

  constructor(readonly stateDir: string) {}

  get path(): string {
    return join(this.stateDir, 'lock');
  }

  private get guard(): string {
    return join(this.stateDir, 'lock.takeover');
  }

  /**
   * Takes the lock, waiting up to `waitMs` for another run to finish
   * (`onWait` is told once, when the wait starts).
   */
  async acquire(command: string, waitMs = 0, onWait?: (holder: Msg) => void): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    const deadline = Date.now() + waitMs;
    let told = false;
    for (;;) {
      if (await this.tryCreate(command)) return;
      const seen = await this.inspect();
      if (seen.state === 'free') continue;
      if (seen.stale) {
        await this.takeOver(seen);
        continue;
      }
      const who = describeHolder(seen.info);
      if (Date.now() < deadline) {
        if (!told) onWait?.(who);
        told = true;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      throw new LockedError(
        msg('lock.held', { who }),
        waitMs > 0
          ? msg('lock.stillHeld', { seconds: Math.round(waitMs / 1000) })
          : msg('lock.waitHint', {
              then: seen.why === 'other host' ? msg('lock.checkHost', { host: seen.info?.host ?? msg('lock.thatHost'), path: this.path }) : msg('lock.remove', { path: this.path }),
            }),
      );
    }
  }

  private async tryCreate(command: string): Promise<boolean> {
    const nonce = randomBytes(8).toString('hex');
    const info: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString(), nonce };
    const start = procStart(process.pid);
    if (start !== null) info.procStart = start;
    const tmp = join(this.stateDir, `lock.${nonce}.tmp`);
    await writeFile(tmp, JSON.stringify(info) + '\n', { mode: 0o644 });
    try {
      await link(tmp, this.path);
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(tmp, { force: true });
    }
    // Keep it open while we hold it: that is how a lock nobody can parse is
    // told from one somebody holds.
    const fd = openSync(this.path, 'r');
    this.held = { nonce, fd };
    process.once('exit', this.releaseSync);
    return true;
  }

  /** Who holds the lock, and whether that holder is gone. */
  async inspect(): Promise<LockState> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return { state: 'free' };
      throw error;
    }
    const info = parse(raw);
    if (!info) {
      const open = openBy(this.path);
      if (open === true) return { state: 'held', info: null, stale: false, why: 'unreadable, held open by a running process' };
      if (open === false) return { state: 'held', info: null, stale: true, why: 'unreadable, and no process holds it' };
      const age = Date.now() - (await stat(this.path).then((s) => s.mtimeMs, () => Date.now()));
      return { state: 'held', info: null, stale: age > GARBAGE_STALE_MS, why: 'unreadable' };
    }
    if (info.host !== hostname()) return { state: 'held', info, stale: false, why: 'other host' };
    if (info.pid === process.pid && info.nonce !== this.held?.nonce) return { state: 'held', info, stale: true, why: 'left by this process' };
    if (!pidAlive(info.pid)) return { state: 'held', info, stale: true, why: 'process gone' };
    if (info.procStart !== undefined) {
      const now = procStart(info.pid);
      if (now !== null && now !== info.procStart) return { state: 'held', info, stale: true, why: 'pid reused' };
    }
    return { state: 'held', info, stale: false, why: 'running' };
  }

  /** Removes a stale lock, under the guard, only if it is still the very lock judged stale. */
  private async takeOver(seen: LockState): Promise<void> {
    const guard = await this.takeGuard();
    if (!guard) return;
    try {
      const again = await this.inspect();
      const same = again.state === 'held' && again.stale && sameLock(again.info, seen.state === 'held' ? seen.info : null);
      if (same) await rm(this.path, { force: true });
    } finally {
      await guard.close();
      await rm(this.guard, { force: true });
    }
  }

  private async takeGuard(): Promise<{ close(): Promise<void> } | null> {
    try {
      const fh = await open(this.guard, 'wx', 0o644);
      await fh.writeFile(String(process.pid));
      return fh;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    // Someone is taking over right now (for milliseconds), or died doing it.
    const st = await stat(this.guard).catch(() => null);
    const pid = Number(await readFile(this.guard, 'utf8').catch(() => ''));
    if (st && Date.now() - st.mtimeMs > GUARD_STALE_MS && !(pid > 0 && pidAlive(pid))) await rm(this.guard, { force: true });
    await new Promise((r) => setTimeout(r, 20));
    return null;
  }

  async read(): Promise<LockInfo | null> {
    const s = await this.inspect();
    return s.state === 'held' ? s.info : null;
  }

  private readonly releaseSync = () => {
    if (!this.held) return;
    // Synchronous: this also runs from process 'exit'.
    try {
      if (parse(readFileSync(this.path, 'utf8'))?.nonce === this.held.nonce) rmSync(this.path, { force: true });
    } catch {
      /* already gone */
    }
    try {
      closeSync(this.held.fd);
    } catch {
      /* closed */
    }
    this.held = null;
  };

  async release(): Promise<void> {
    this.releaseSync();
    process.off('exit', this.releaseSync);
  }
}

function parse(raw: string): LockInfo | null {
  try {
    const v = JSON.parse(raw) as LockInfo;
    if (typeof v?.pid !== 'number' || typeof v.host !== 'string') return null;
    return v;
  } catch {
    return null;
  }
}

function sameLock(a: LockInfo | null, b: LockInfo | null): boolean {
  if (!a || !b) return a === b;
  return a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt && a.nonce === b.nonce;
}


/** Start time of a process in clock ticks since boot (Linux /proc), or null. */
export function procStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name (which may hold spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** Whether any process has `path` open: true/false on Linux, null where /proc cannot tell. */
function openBy(path: string): boolean | null {
  let target: { dev: number; ino: number };
  try {
    const st = statSync(path);
    target = { dev: st.dev, ino: st.ino };
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (!readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('/')) continue;
        const st = statSync(`/proc/${pid}/fd/${fd}`);
        if (st.dev === target.dev && st.ino === target.ino) return true;
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return false;
}

export function describeHolder(info: LockInfo | null): Msg {
  return info ? msg('lock.holder', { command: info.command, pid: info.pid, host: info.host, since: info.startedAt }) : msg('lock.unreadable');
}
