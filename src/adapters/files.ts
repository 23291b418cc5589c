// Files in the working tree: expanding the configured globs, reading modes and
// checksums, and replacing files atomically (temp file + fsync + rename, mode
// and owner kept) without ever following a symlink in a parent directory.
import { createHash } from 'node:crypto';
import { constants, createReadStream, existsSync, type Stats } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, open, readlink, rename, rm, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';

import { CorruptSnapshotError, RollbackError } from '../core/errors.js';
import { pathProblem, showName } from '../core/validate.js';
import { msg, type Msg } from '../core/i18n.js';

const GLOB_CHARS = /[*?[\]{}!]/;

export interface Expanded {
  files: string[];
  /** Patterns that matched nothing (a warning, not an error). */
  unmatched: string[];
}

/**
 * Expands config/paths patterns relative to the repo root. A directory stands
 * for everything under it. Tracked, untracked and ignored files all count.
 */
export async function expandPatterns(root: string, patterns: readonly string[]): Promise<Expanded> {
  const { glob } = await import('tinyglobby');
  const files = new Set<string>();
  const unmatched: string[] = [];
  for (const raw of patterns) {
    const pattern = raw.replace(/^\.\//, '');
    let found: string[] = [];
    if (!GLOB_CHARS.test(pattern)) {
      const st = await lstat(join(root, pattern)).catch(() => null);
      if (st?.isDirectory()) {
        found = await glob(`${posix.join(pattern.replace(/\/+$/, ''), '**')}`, globOptions(root));
      } else if (st) {
        found = [pattern.replace(/\/+$/, '')];
      }
    } else {
      found = await glob(pattern, globOptions(root));
      // The glob skips symlinks; a pattern without "**" is matched again following
      // them (its depth is fixed, so nothing outside is walked) to find the ones it
      // skipped: they are kept as links or reported, never silently dropped.
      if (!pattern.includes('**')) {
        const seen = new Set(found);
        for (const f of await glob(pattern, { ...globOptions(root), followSymbolicLinks: true })) {
          if (!seen.has(f) && (await lstat(join(root, f)).catch(() => null))?.isSymbolicLink()) found.push(f);
        }
      }
    }
    found = found.filter((f) => !f.split('/').includes('.git'));
    if (found.length === 0) unmatched.push(raw);
    for (const f of found) files.add(f);
  }
  return { files: [...files].sort(), unmatched };
}

function globOptions(root: string) {
  return { cwd: root, dot: true, onlyFiles: true, followSymbolicLinks: false, ignore: ['**/.git/**'], expandDirectories: false };
}

export interface FileFacts {
  mode: string;
  size: number;
  sha256: string;
  link?: string;
  uid: number;
  gid: number;
}

/** Mode as "100644"-style octal with the real permission bits; sha256 of the content; owner and group. */
export async function fileFacts(path: string): Promise<FileFacts> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) {
    const link = await readlink(path);
    return { mode: '120000', size: Buffer.byteLength(link), sha256: createHash('sha256').update(link).digest('hex'), link, uid: st.uid, gid: st.gid };
  }
  return { mode: `100${(st.mode & 0o7777).toString(8).padStart(3, '0')}`, size: st.size, sha256: await sha256File(path), uid: st.uid, gid: st.gid };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The mode git can store in a tree for a file of this mode. */
export function treeMode(mode: string): string {
  if (mode === '120000') return '120000';
  return (parseInt(mode.slice(-3), 8) & 0o111) !== 0 ? '100755' : '100644';
}

export function permissionBits(mode: string): number {
  return parseInt(mode.slice(-4), 8) & 0o7777;
}

/** fsync a file we wrote, then set its mode. */
export async function finishFile(path: string, mode: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, permissionBits(mode));
}

export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

export async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null)) !== null;
}

// ---------------------------------------------------------------- safe writes
// Every write, rename and unlink below goes through a directory opened with
// O_NOFOLLOW one component at a time from the repository root, so a symlink
// anywhere on the way (one a point restored a moment ago, or one already in
// the working tree) stops the write instead of being followed. On Linux the
// final operations address the directory through /proc/self/fd/<fd>, so a
// directory swapped for a symlink after the walk is not followed either;
// elsewhere the names are re-resolved (a local attacker racing us is outside
// the threat model: docs/security.md).

const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');
const DIR_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);

/** A file or folder where a restore may not write: a symlinked parent, .git, a path leaving the repository. */
export class UnsafePathError extends CorruptSnapshotError {}

/** A directory inside the repository, opened without following symlinks. */
export interface SafeDir {
  /** A path that names `name` inside this very directory. */
  path(name: string): string;
  /** The directory's own path, for messages. */
  readonly shown: string;
  close(): Promise<void>;
}

function assertSafeRel(rel: string): void {
  const problem = pathProblem(rel);
  if (problem) throw new UnsafePathError(msg('files.refuseWrite', { path: showName(rel), problem }), msg('files.refuseWriteHint'));
}

/**
 * Opens the directory `relDir` ("" for the root) under `root` without
 * following symlinks; with `create`, makes missing folders on the way.
 * Returns null when a folder is missing and `create` is false.
 */
export async function openSafeDir(root: string, relDir: string, create: boolean): Promise<SafeDir | null> {
  let handle: FileHandle = await open(root, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  let real = root;
  const base = () => (PROC_FD ? `/proc/self/fd/${handle.fd}` : real);
  try {
    const parts = relDir === '' ? [] : relDir.split('/');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      const shown = parts.slice(0, i + 1).join('/');
      const next = `${base()}/${part}`;
      let opened: FileHandle | null = null;
      for (let attempt = 0; attempt < 2 && !opened; attempt++) {
        try {
          opened = await open(next, DIR_FLAGS);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' && create && attempt === 0) {
            await mkdir(next).catch((e: NodeJS.ErrnoException) => {
              if (e.code !== 'EEXIST') throw e;
            });
            continue;
          }
          if (code === 'ENOENT') {
            await handle.close();
            return null;
          }
          if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'EMLINK') {
            const st = await lstat(next).catch(() => null);
            throw new UnsafePathError(msg(st?.isSymbolicLink() ? 'files.underLink' : 'files.underFile', { path: showName(shown) }), msg('files.underLinkHint'));
          }
          throw error;
        }
      }
      if (!opened) throw new UnsafePathError(msg('files.cannotOpen', { path: showName(shown) }));
      await handle.close();
      handle = opened;
      real = `${real}/${part}`;
    }
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  const h = handle;
  return {
    path: (name: string) => `${PROC_FD ? `/proc/self/fd/${h.fd}` : real}/${name}`,
    shown: real,
    close: () => h.close(),
  };
}

async function withParent<T>(root: string, rel: string, create: boolean, fn: (dir: SafeDir, name: string) => Promise<T>): Promise<T | null> {
  assertSafeRel(rel);
  const slash = rel.lastIndexOf('/');
  const dir = await openSafeDir(root, slash < 0 ? '' : rel.slice(0, slash), create);
  if (!dir) return null;
  try {
    return await fn(dir, rel.slice(slash + 1));
  } finally {
    await dir.close();
  }
}

/** Whether this process may give a file this owner and group (root may; others only their own uid and groups). */
export function mayChown(uid: number, gid: number): boolean {
  const euid = process.geteuid?.() ?? -1;
  if (euid === 0) return true;
  if (uid !== euid) return false;
  return gid === process.getegid?.() || (process.getgroups?.() ?? []).includes(gid);
}

/**
 * The owner a restored file gets: the replaced file's, else the one recorded
 * at the point when it is the folder's owner or ours (a point from elsewhere
 * must not hand files to an arbitrary local user), else none (the process's).
 */
function wantedOwner(existing: Stats | null, recorded: { uid?: number; gid?: number } | undefined, dirStat: Stats | null): { uid: number; gid: number } | null {
  if (existing) return { uid: existing.uid, gid: existing.gid };
  if (recorded?.uid === undefined || recorded.gid === undefined) return null;
  const euid = process.geteuid?.() ?? -1;
  if (recorded.uid === euid || (dirStat && recorded.uid === dirStat.uid)) return { uid: recorded.uid, gid: recorded.gid };
  return null;
}

export interface Placed {
  /** False when the owner/group could not be kept (the plan said so beforehand). */
  ownerKept: boolean;
}

/**
 * Moves the staged file `staged` (ours, in .git/rollback/tmp) to `rel` under
 * `root`: parents made without following symlinks, owner and group of the
 * replaced file kept where permitted, renamed atomically, folder fsynced.
 */
export async function placeFile(root: string, rel: string, staged: string, options: { job: string; mode: string; owner?: { uid?: number; gid?: number } }): Promise<Placed> {
  const placed = await withParent(root, rel, true, async (dir, name) => {
    const target = dir.path(name);
    const existing = await lstat(target).catch(() => null);
    if (existing?.isDirectory()) {
      throw new RollbackError(msg('files.dirInPlace', { path: rel }), msg('files.dirInPlaceHint'));
    }
    const owner = wantedOwner(existing, options.owner, await lstat(dir.path('.')).catch(() => null));
    let ownerKept = true;
    const setOwner = async (file: string) => {
      if (!owner) return;
      const st = await lstat(file);
      if (st.uid === owner.uid && st.gid === owner.gid) return;
      if (!mayChown(owner.uid, owner.gid)) {
        ownerKept = false;
        return;
      }
      await chown(file, owner.uid, owner.gid);
      // chown may clear permission bits on some systems: set the mode again.
      await chmod(file, permissionBits(options.mode));
    };
    await chmod(staged, permissionBits(options.mode));
    await setOwner(staged);
    try {
      await rename(staged, target);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EXDEV') throw error;
      // Another filesystem: copy beside the target (O_EXCL|O_NOFOLLOW: never through a link), then rename.
      const temp = dir.path(`.${name}.rollback-${options.job}.tmp`);
      await rm(temp, { force: true });
      await copyFile(staged, temp, constants.COPYFILE_EXCL);
      await finishFile(temp, options.mode);
      await setOwner(temp);
      await rename(temp, target);
      await rm(staged, { force: true });
    }
    await syncHandleDir(dir);
    return { ownerKept };
  });
  return placed as Placed;
}

/** Makes `rel` a symlink to `link` atomically (link beside it, then rename), never through a symlinked parent. */
export async function placeSymlink(root: string, rel: string, link: string, job: string): Promise<void> {
  await withParent(root, rel, true, async (dir, name) => {
    const target = dir.path(name);
    const existing = await lstat(target).catch(() => null);
    if (existing?.isDirectory()) {
      throw new RollbackError(msg('files.dirInPlace', { path: rel }), msg('files.dirInPlaceHint'));
    }
    const temp = dir.path(`.${name}.rollback-${job}.lnk`);
    await rm(temp, { force: true });
    await symlink(link, temp);
    await rename(temp, target);
    await syncHandleDir(dir);
  });
}

/**
 * Removes the file or symlink `rel` (never a folder, never through a symlinked
 * parent). Returns false when there was nothing to remove.
 */
export async function removeFileSafely(root: string, rel: string): Promise<boolean> {
  const removed = await withParent(root, rel, false, async (dir, name) => {
    const st = await lstat(dir.path(name)).catch(() => null);
    if (!st || st.isDirectory()) return false;
    await unlink(dir.path(name));
    await syncHandleDir(dir);
    return true;
  });
  return removed === true;
}

async function syncHandleDir(dir: SafeDir): Promise<void> {
  await syncDir(dir.path('.'));
}

/**
 * Lines for the plan where a restored file cannot keep its owner and group
 * (this process may not set them): the file will belong to the user running
 * the rollback instead.
 */
export async function ownershipNotes(root: string, entries: readonly { path: string; mode: string; uid?: number; gid?: number }[]): Promise<Msg[]> {
  const euid = process.geteuid?.() ?? -1;
  if (euid === 0) return [];
  const cannot: string[] = [];
  for (const e of entries) {
    if (e.mode === '120000' || pathProblem(e.path)) continue;
    const st = await lstat(join(root, e.path)).catch(() => null);
    const owner = st ? { uid: st.uid, gid: st.gid } : null;
    if (owner && !mayChown(owner.uid, owner.gid)) cannot.push(`${e.path} (${owner.uid}:${owner.gid})`);
  }
  if (cannot.length === 0) return [];
  const who = `${euid}:${process.getegid?.() ?? '?'}`;
  return [msg('files.ownerNotKept', { n: cannot.length, paths: `${cannot.slice(0, 5).join(', ')}${cannot.length > 5 ? ', …' : ''}`, who })];
}
