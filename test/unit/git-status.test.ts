// Git.status reads `git status --porcelain -z` itself: every kind of entry,
// names with spaces at either end, newlines and non-ASCII, renames (two
// paths, one entry) and unmerged paths, against a real repository.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Git, parseStatusZ } from '../../src/adapters/git.js';

const root = mkdtempSync(join(tmpdir(), 'rb-status-'));
after(() => rmSync(root, { recursive: true, force: true }));

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: root, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('Git.status', () => {
  it('names tracked changes, untracked files and unmerged paths exactly', async () => {
    const repo = join(root, 'r1');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    for (const f of ['a.txt', 'b.txt', 'c.txt', 'old name.txt']) writeFileSync(join(repo, f), `${f}\n`);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'one');
    writeFileSync(join(repo, 'a.txt'), 'changed\n'); // modified, not staged
    writeFileSync(join(repo, 'b.txt'), 'staged\n');
    git(repo, 'add', 'b.txt'); // modified, staged
    git(repo, 'rm', '-q', 'c.txt'); // deleted
    git(repo, 'mv', 'old name.txt', ' new name .txt'); // renamed: two paths in one entry
    mkdirSync(join(repo, 'dir'));
    writeFileSync(join(repo, 'dir', ' lead and trail '), 'x');
    writeFileSync(join(repo, 'dir', 'line\nbreak'), 'x');
    writeFileSync(join(repo, 'dir', 'ünï ✓'), 'x');
    writeFileSync(join(repo, 'added.txt'), 'x');
    git(repo, 'add', 'added.txt');
    writeFileSync(join(repo, '.gitignore'), 'ignored.log\n');
    writeFileSync(join(repo, 'ignored.log'), 'x');
    const s = await new Git(repo).status();
    assert.deepEqual([...s.tracked].sort(), [' new name .txt', 'a.txt', 'added.txt', 'b.txt', 'c.txt'].sort());
    assert.deepEqual([...s.untracked].sort(), ['.gitignore', 'dir/ lead and trail ', 'dir/line\nbreak', 'dir/ünï ✓'].sort());
    assert.deepEqual(s.conflicted, []);
  });

  it('lists unmerged paths as conflicted and as tracked', async () => {
    const repo = join(root, 'r2');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'f.txt'), 'base\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'base');
    git(repo, 'checkout', '-q', '-b', 'other');
    writeFileSync(join(repo, 'f.txt'), 'other\n');
    git(repo, 'commit', '-q', '-am', 'other');
    git(repo, 'checkout', '-q', 'main');
    writeFileSync(join(repo, 'f.txt'), 'main\n');
    git(repo, 'commit', '-q', '-am', 'main');
    try {
      git(repo, 'merge', '-q', 'other');
    } catch {
      // the conflict is the point
    }
    const s = await new Git(repo).status();
    assert.deepEqual(s.conflicted, ['f.txt']);
    assert.deepEqual(s.tracked, ['f.txt']);
    assert.deepEqual(s.untracked, []);
  });

  it('a clean tree has no entries; output it does not know is an error', () => {
    assert.deepEqual(parseStatusZ(Buffer.alloc(0)), { tracked: [], untracked: [], conflicted: [] });
    assert.deepEqual(parseStatusZ(Buffer.from('R  to\0from\0?? u\0UU c\0')), { tracked: ['to', 'c'], untracked: ['u'], conflicted: ['c'] });
    assert.throws(() => parseStatusZ(Buffer.from('garbage\0')), /unexpected output/);
  });
});
