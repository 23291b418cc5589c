// Idempotent file restores for the step runner: make a path hold exactly a
// snapshot entry (content, mode, link), or be absent, whatever state an
// earlier, interrupted attempt left it in. Files are staged (written, opened
// when sealed, and checked against their sha256) in the git dir first, under
// names that derive from the job and the entry's position only, so a later
// process finds them again; the flip moves them into place with files.ts's
// safe writers (never through a symlinked parent, never into .git, owner and
// group kept where permitted).
import { lstat, mkdir, readlink, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConflictError, CorruptSnapshotError } from '../core/errors.js';
import type { FileEntry } from '../core/types.js';
import { pathProblem, showName } from '../core/validate.js';
import type { ChunkCipher } from './crypto.js';
import { DEFAULT_IDENTITY_ENV } from './crypto.js';
import { finishFile, permissionBits, placeFile, placeSymlink, removeFileSafely, sha256File } from './files.js';
import type { Git } from './git.js';
import { msg } from '../core/i18n.js';

export interface StagedPath {
  entry: FileEntry;
  /** Repository root. */
  root: string;
  /** Absolute path in the working tree (for reading; writes go through files.ts). */
  target: string;
  /** Absolute path of the staged copy (null for symlinks: nothing to stage). */
  temp: string | null;
}

/** Where a job stages its files: .git/rollback/tmp/stage-<job>/<n>. */
export function stageDir(stateDir: string, job: string): string {
  return join(stateDir, 'tmp', `stage-${job}`);
}

/** The staging of `entries` for a job; refuses any path read from git that is not safe to write. */
export function stagingPlan(stateDir: string, root: string, entries: readonly FileEntry[], job: string): StagedPath[] {
  const dir = stageDir(stateDir, job);
  return entries.map((entry, i) => {
    const problem = pathProblem(entry.path);
    if (problem) throw new CorruptSnapshotError(msg('snap.refuseRestore', { path: showName(entry.path), problem }), msg('snap.hostileHint'));
    return { entry, root, target: join(root, entry.path), temp: entry.mode === '120000' ? null : join(dir, String(i + 1)) };
  });
}

/** Whether `path` already is exactly `entry` (content, permission bits, link target). */
export async function matches(path: string, entry: FileEntry): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  if (!st) return false;
  if (entry.mode === '120000') return st.isSymbolicLink() && (await readlink(path)) === (entry.link ?? '');
  if (!st.isFile()) return false;
  if ((st.mode & 0o7777) !== permissionBits(entry.mode) || st.size !== entry.size) return false;
  return (await sha256File(path)) === entry.sha256;
}

/** Writes every staged copy not already written and checked. Safe to call again. */
export async function stageAll(git: Git, plan: readonly StagedPath[], cipher: ChunkCipher | null, signal?: AbortSignal): Promise<void> {
  const todo: StagedPath[] = [];
  for (const p of plan) {
    if (!p.temp) continue;
    if (await matches(p.temp, p.entry)) continue;
    todo.push(p);
  }
  if (todo.length === 0) return;
  await mkdir(dirname(todo[0]!.temp!), { recursive: true });
  // Sealed files are read whole to be opened (src/adapters/crypto.ts).
  const small = todo.filter((p) => p.entry.size <= 8 * 1024 * 1024 || p.entry.enc);
  const contents = await git.readBlobs(small.map((p) => p.entry.blob));
  for (const p of todo) {
    signal?.throwIfAborted();
    await writeStaged(git, p, contents.get(p.entry.blob), cipher);
  }
}

async function writeStaged(git: Git, p: StagedPath, data: Buffer | null | undefined, cipher: ChunkCipher | null): Promise<void> {
  const temp = p.temp as string;
  await rm(temp, { force: true });
  if (data === null) throw new CorruptSnapshotError(msg('snap.objectMissing', { path: p.entry.path, blob: p.entry.blob.slice(0, 12) }), msg('snap.damagedHint'));
  if (p.entry.enc) {
    if (!cipher) throw new ConflictError(msg('crypto.noIdentityFor', { what: p.entry.path }), msg('crypto.noIdentityHint', { env: DEFAULT_IDENTITY_ENV }));
    const sealed = data ?? (await git.readBlobs([p.entry.blob])).get(p.entry.blob);
    if (!sealed) throw new CorruptSnapshotError(msg('snap.objectMissing', { path: p.entry.path, blob: p.entry.blob.slice(0, 12) }));
    await writeFile(temp, await cipher.open(sealed), { mode: 0o600, flag: 'wx' });
  } else if (data !== undefined) {
    await writeFile(temp, data, { mode: 0o600, flag: 'wx' });
  } else {
    await git.blobToFile(p.entry.blob, temp);
  }
  if ((await sha256File(temp)) !== p.entry.sha256) {
    await rm(temp, { force: true });
    throw new CorruptSnapshotError(msg('snap.checksum', { path: p.entry.path }), msg('snap.damagedHint'));
  }
  await finishFile(temp, p.entry.mode);
}

/**
 * Makes the working-tree path hold the entry: nothing to do when it already
 * does; otherwise the staged copy (written again if an earlier attempt
 * already moved it or never wrote it) is moved into place. 'owner-lost': in
 * place, but this process could not give it its owner and group back.
 */
export async function applyStaged(git: Git, p: StagedPath, job: string, cipher: ChunkCipher | null): Promise<'same' | 'written' | 'owner-lost'> {
  if (await matches(p.target, p.entry)) return 'same';
  if (!p.temp) {
    await placeSymlink(p.root, p.entry.path, p.entry.link ?? '', job);
    return 'written';
  }
  if (!(await matches(p.temp, p.entry))) {
    await mkdir(dirname(p.temp), { recursive: true });
    await writeStaged(git, p, undefined, cipher);
  }
  const owner = { ...(p.entry.uid !== undefined ? { uid: p.entry.uid } : {}), ...(p.entry.gid !== undefined ? { gid: p.entry.gid } : {}) };
  const placed = await placeFile(p.root, p.entry.path, p.temp, { job, mode: p.entry.mode, owner });
  return placed.ownerKept ? 'written' : 'owner-lost';
}

/** Removes a file (or link) if it is there, never through a symlinked parent. A directory in its place is left alone. */
export async function removePath(root: string, rel: string): Promise<boolean> {
  return removeFileSafely(root, rel);
}

export async function discardStaging(stateDir: string, job: string): Promise<void> {
  await rm(stageDir(stateDir, job), { recursive: true, force: true });
}
