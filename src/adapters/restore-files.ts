// Idempotent file restores for the step runner: make a path hold exactly a
// snapshot entry (content, mode, link), or be absent, whatever state an
// earlier, interrupted attempt left it in. Files are staged (written and
// checked against their sha256) in the git dir first, under names that
// derive from the job and the entry's position only, so a later process
// finds them again; the flip renames them into place.
import { lstat, mkdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptSnapshotError } from '../core/errors.js';
import type { FileEntry } from '../core/types.js';
import { ensureParent, finishFile, makeSymlink, permissionBits, replaceWith, sha256File, tempBeside } from './files.js';
import type { Git } from './git.js';

export interface StagedPath {
  entry: FileEntry;
  /** Absolute path in the working tree. */
  target: string;
  /** Absolute path of the staged copy (null for symlinks: nothing to stage). */
  temp: string | null;
}

/** Where a job stages its files: .git/rollback/tmp/stage-<job>/<n>. */
export function stageDir(stateDir: string, job: string): string {
  return join(stateDir, 'tmp', `stage-${job}`);
}

export function stagingPlan(stateDir: string, root: string, entries: readonly FileEntry[], job: string): StagedPath[] {
  const dir = stageDir(stateDir, job);
  return entries.map((entry, i) => ({ entry, target: join(root, entry.path), temp: entry.mode === '120000' ? null : join(dir, String(i + 1)) }));
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
export async function stageAll(git: Git, plan: readonly StagedPath[], signal?: AbortSignal): Promise<void> {
  const todo: StagedPath[] = [];
  for (const p of plan) {
    if (!p.temp) continue;
    if (await matches(p.temp, p.entry)) continue;
    todo.push(p);
  }
  if (todo.length === 0) return;
  await mkdir(join(todo[0]!.temp!, '..'), { recursive: true });
  const small = todo.filter((p) => p.entry.size <= 8 * 1024 * 1024);
  const contents = await git.readBlobs(small.map((p) => p.entry.blob));
  for (const p of todo) {
    signal?.throwIfAborted();
    await writeStaged(git, p, contents.get(p.entry.blob));
  }
}

async function writeStaged(git: Git, p: StagedPath, data: Buffer | null | undefined): Promise<void> {
  const temp = p.temp as string;
  await rm(temp, { force: true });
  if (data === null) throw new CorruptSnapshotError(`snapshot object for ${p.entry.path} is missing (${p.entry.blob.slice(0, 12)})`, 'the point is damaged; run git fsck, or roll back to another point');
  if (data !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(temp, data, { mode: 0o600, flag: 'wx' });
  } else {
    await git.blobToFile(p.entry.blob, temp);
  }
  if ((await sha256File(temp)) !== p.entry.sha256) {
    await rm(temp, { force: true });
    throw new CorruptSnapshotError(`snapshot content of ${p.entry.path} does not match its checksum`, 'the point is damaged; run git fsck, or roll back to another point');
  }
  await finishFile(temp, p.entry.mode);
}

/**
 * Makes the working-tree path hold the entry: nothing to do when it already
 * does; otherwise the staged copy (written again if an earlier attempt
 * already moved it or never wrote it) is renamed into place.
 */
export async function applyStaged(git: Git, p: StagedPath, job: string): Promise<'same' | 'written'> {
  if (await matches(p.target, p.entry)) return 'same';
  await ensureParent(p.target);
  if (!p.temp) {
    await makeSymlink(p.entry.link ?? '', p.target);
    return 'written';
  }
  if (!(await matches(p.temp, p.entry))) {
    await mkdir(join(p.temp, '..'), { recursive: true });
    await writeStaged(git, p, undefined);
  }
  await replaceWith(p.temp, p.target, tempBeside(p.target, job));
  return 'written';
}

/** Removes a file (or link) if it is there. A directory in its place is left alone and reported. */
export async function removePath(root: string, rel: string): Promise<boolean> {
  const path = join(root, rel);
  const st = await lstat(path).catch(() => null);
  if (!st) return false;
  if (st.isDirectory()) throw new CorruptSnapshotError(`cannot remove ${rel}: it is a directory`);
  await rm(path, { force: true });
  return true;
}

export async function discardStaging(stateDir: string, job: string): Promise<void> {
  await rm(stageDir(stateDir, job), { recursive: true, force: true });
}
