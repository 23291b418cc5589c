// Files in the working tree: expanding the configured globs, reading modes and
// checksums, and replacing files atomically (temp file + fsync + rename, mode kept).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';

import { RollbackError } from '../core/errors.js';

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
}

/** Mode as "100644"-style octal with the real permission bits; sha256 of the content. */
export async function fileFacts(path: string): Promise<FileFacts> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) {
    const link = await readlink(path);
    return { mode: '120000', size: Buffer.byteLength(link), sha256: createHash('sha256').update(link).digest('hex'), link };
  }
  return { mode: `100${(st.mode & 0o7777).toString(8).padStart(3, '0')}`, size: st.size, sha256: await sha256File(path) };
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

/** A temp file name beside `target`, so the final rename stays on one filesystem. */
export function tempBeside(target: string, job: string): string {
  return join(dirname(target), `.${target.split('/').pop()}.rollback-${job}.tmp`);
}

/** Makes the parent directories of `path`. */
export async function ensureParent(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
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

/**
 * Atomically replaces `target` with the staged file. When the staged file is on
 * another filesystem, it is first copied to `beside` (same directory as target).
 */
export async function replaceWith(staged: string, target: string, beside: string): Promise<void> {
  const st = await lstat(target).catch(() => null);
  if (st?.isDirectory()) {
    throw new RollbackError(`cannot restore ${target}: a directory is in its place`, 'move the directory away, then run the rollback again');
  }
  try {
    await rename(staged, target);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EXDEV') throw error;
    const mode = (await lstat(staged)).mode;
    await copyFile(staged, beside);
    await finishFile(beside, `100${(mode & 0o7777).toString(8)}`);
    await rename(beside, target);
    await rm(staged, { force: true });
  }
  await syncDir(dirname(target));
}

export async function makeSymlink(linkTarget: string, path: string): Promise<void> {
  await rm(path, { force: true });
  await symlink(linkTarget, path);
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
