// Uncommitted work as git objects, the way `git stash create` stores it:
// a commit whose tree is the working tree, with parents HEAD and an index
// commit (and an untracked-files commit when asked). Restoring it puts the
// working tree and the index back exactly.
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError } from '../core/errors.js';
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
): Promise<WorktreeState | null> {
  const status = await git.status();
  if (status.conflicted.length > 0) {
    throw new ConflictError(`the working tree has unresolved conflicts (${status.conflicted.slice(0, 3).join(', ')})`, 'resolve them (or git merge --abort) first');
  }
  const untracked = includeUntracked ? status.untracked : [];
  if (status.tracked.length === 0 && untracked.length === 0) return null;

  const on = `On ${branch ?? '(no branch)'}`;
  const indexTree = await git.text(['write-tree']);
  const indexCommit = await git.commitTree(indexTree, [head], `index ${on}\n`, date);

  const tmpIndex = join(tmpDir, `index-wip-${process.pid}`);
  await copyFile(join(repo.gitDir, 'index'), tmpIndex).catch(() => undefined);
  const env = { GIT_INDEX_FILE: tmpIndex };
  await git.run(['add', '-u', '--', '.'], { env });
  const workTree = await git.text(['write-tree'], { env });
  await rm(tmpIndex, { force: true });

  let untrackedCommit: string | null = null;
  if (untracked.length > 0) {
    const uIndex = join(tmpDir, `index-untracked-${process.pid}`);
    const uenv = { GIT_INDEX_FILE: uIndex };
    await git.run(['read-tree', '--empty'], { env: uenv });
    await git.run(['update-index', '--add', '-z', '--stdin'], { env: uenv, input: untracked.join('\0') + '\0' });
    const uTree = await git.text(['write-tree'], { env: uenv });
    await rm(uIndex, { force: true });
    untrackedCommit = await git.commitTree(uTree, [], `untracked files ${on}\n`, date);
  }
  const parents = [head, indexCommit, ...(untrackedCommit ? [untrackedCommit] : [])];
  const commit = await git.commitTree(workTree, parents, `WIP ${on} (git-rollback)\n`, date);
  return { commit, index: indexCommit, untracked: untrackedCommit, files: status.tracked.length + untracked.length };
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
