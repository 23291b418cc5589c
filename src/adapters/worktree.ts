// Uncommitted work as git objects, the way `git stash create` stores it:
// a commit whose tree is the working tree, with parents HEAD and an index
// commit (and an untracked-files commit when asked). Restoring it puts the
// working tree and the index back exactly.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError } from '../core/errors.js';
import { msg, type Msg } from '../core/i18n.js';
import type { WorktreeState } from '../core/types.js';
import type { Git, RepoInfo } from './git.js';

export async function captureWorktree(
  git: Git,
  repo: RepoInfo,
  head: string,
  branch: string | null,
  includeUntracked: boolean,
  date: Date,
  tmpDir: string,
  /** `git status`, when the caller already has it. */
  known?: Awaited<ReturnType<Git['status']>>,
): Promise<WorktreeState | null> {
  const status = known ?? (await git.status());
  if (status.conflicted.length > 0) {
    throw new ConflictError(msg('worktree.conflicts', { paths: status.conflicted.slice(0, 3).join(', ') }), msg('rollback.conflictsHint'));
  }
  const untracked = includeUntracked ? status.untracked : [];
  if (status.tracked.length === 0 && untracked.length === 0) return null;

  const on = `On ${branch ?? '(no branch)'}`;
  const trees = await currentTrees(git, repo, untracked, tmpDir);
  const indexCommit = await git.commitTree(trees.index, [head], `index ${on}\n`, date);
  const untrackedCommit = trees.untracked ? await git.commitTree(trees.untracked, [], `untracked files ${on}\n`, date) : null;
  const parents = [head, indexCommit, ...(untrackedCommit ? [untrackedCommit] : [])];
  const commit = await git.commitTree(trees.work, parents, `WIP ${on} (git-rollback)\n`, date);
  return { commit, index: indexCommit, untracked: untrackedCommit, files: status.tracked.length + untracked.length };
}

/** Trees of the index, of the working tree (tracked files) and of the given untracked files, as objects only. */
async function currentTrees(git: Git, repo: RepoInfo, untracked: readonly string[], tmpDir: string): Promise<{ index: string; work: string; untracked: string | null }> {
  const index = await git.text(['write-tree']);
  const tmpIndex = join(tmpDir, `index-wip-${process.pid}`);
  await copyFile(join(repo.gitDir, 'index'), tmpIndex).catch(() => undefined);
  const env = { GIT_INDEX_FILE: tmpIndex };
  await git.run(['add', '-u', '--', '.'], { env });
  const work = await git.text(['write-tree'], { env });
  await rm(tmpIndex, { force: true });
  if (untracked.length === 0) return { index, work, untracked: null };
  const uIndex = join(tmpDir, `index-untracked-${process.pid}`);
  const uenv = { GIT_INDEX_FILE: uIndex };
  await git.run(['read-tree', '--empty'], { env: uenv });
  await git.run(['update-index', '--add', '-z', '--stdin'], { env: uenv, input: untracked.join('\0') + '\0' });
  const tree = await git.text(['write-tree'], { env: uenv });
  await rm(uIndex, { force: true });
  return { index, work, untracked: tree };
}

/**
 * Whether the index, the tracked files and the untracked files are exactly
 * as captured (`state` null: as a clean checkout with no untracked files).
 * Compares tree ids, so it is exact and costs what `git stash create` does.
 */
export async function worktreeMatches(git: Git, repo: RepoInfo, state: WorktreeState | null): Promise<{ ok: boolean; detail: Msg }> {
  const status = await git.status();
  if (!state) {
    const n = status.tracked.length + status.untracked.length;
    return n === 0 ? { ok: true, detail: msg('worktree.clean') } : { ok: false, detail: msg('worktree.newFiles', { n, paths: [...status.tracked, ...status.untracked].slice(0, 3).join(', ') }) };
  }
  const tmp = join(repo.commonDir, 'rollback', 'tmp');
  await mkdir(tmp, { recursive: true });
  const now = await currentTrees(git, repo, status.untracked, tmp);
  const tree = (c: string) => git.text(['rev-parse', `${c}^{tree}`]);
  if (now.index !== (await tree(state.index))) return { ok: false, detail: msg('worktree.indexDiffers') };
  if (now.work !== (await tree(state.commit))) return { ok: false, detail: msg('worktree.trackedDiffer') };
  const was = state.untracked ? await tree(state.untracked) : null;
  if (now.untracked !== was) return { ok: false, detail: msg('worktree.untrackedDiffer') };
  return { ok: true, detail: msg('worktree.asBefore') };
}

/**
 * Puts back uncommitted work on top of a clean checkout of its base commit:
 * working tree := W (+ untracked files), index := I.
 */
export async function restoreWorktree(git: Git, state: WorktreeState): Promise<void> {
  await git.run(['read-tree', '--reset', '-u', state.commit]);
  if (state.untracked) {
    await git.run(['checkout', state.untracked, '--', '.']);
  }
  await git.run(['read-tree', state.index]);
  await git.run(['update-index', '-q', '--refresh'], { allowFail: true });
}
