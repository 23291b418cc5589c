// A point's small objects written without git (src/adapters/loose-objects.ts)
// are the very objects git writes: same ids from Git.open's writer and from a
// Git that must spawn git (hash-object, update-index + write-tree,
// commit-tree, mktag), in SHA-1 and SHA-256 repositories; git fsck --strict
// is clean and git reads every one back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EMPTY_TREES, Git } from '../../src/adapters/git.js';
import { plainIdent, plainPath } from '../../src/adapters/loose-objects.js';

const root = mkdtempSync(join(tmpdir(), 'rb-loose-'));
after(() => rmSync(root, { recursive: true, force: true }));

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: root, GIT_AUTHOR_NAME: 'A U Thor', GIT_AUTHOR_EMAIL: 'a@example.com', GIT_COMMITTER_NAME: 'A U Thor', GIT_COMMITTER_EMAIL: 'a@example.com' };
function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

function repo(name: string, format: 'sha1' | 'sha256'): string {
  const dir = join(root, name);
  mkdirSync(dir);
  git(dir, ['init', '-q', '-b', 'main', `--object-format=${format}`]);
  git(dir, ['config', 'user.name', 'Pat Doe']);
  git(dir, ['config', 'user.email', 'pat@example.com']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'base']);
  return dir;
}

function looseCount(dir: string): number {
  const objects = join(dir, '.git', 'objects');
  return readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d)).reduce((n, d) => n + readdirSync(join(objects, d)).length, 0);
}

for (const format of ['sha1', 'sha256'] as const) {
  describe(`objects written without git (${format})`, () => {
    it('are byte for byte what git writes', async () => {
      const dir = repo(`r-${format}`, format);
      const { git: ours } = await Git.open(dir);
      const theirs = new Git(dir); // no object store known: every object through git
      const head = git(dir, ['rev-parse', 'HEAD']);

      assert.equal(await ours.emptyTree(), EMPTY_TREES[format]);
      const text = 'manifest ✓\n{"a": 1}\n';
      const blob = await ours.hashBuffer(text);
      assert.equal(blob, await theirs.hashBuffer(text));
      assert.equal(git(dir, ['cat-file', '-p', blob]), text.trim());
      const bin = Buffer.from([0, 1, 2, 255, 10]);
      assert.equal(await ours.hashBuffer(bin), await theirs.hashBuffer(bin));
      const again = await ours.hashBuffer(text); // already there: same id, no error
      assert.equal(again, blob);

      const b2 = await theirs.hashBuffer('two\n');
      const entries = [
        { mode: '100644', blob, path: 'manifest.json' },
        { mode: '100644', blob: b2, path: 'db/main.sql/000002' },
        { mode: '100644', blob, path: 'db/main.sql/000001' },
        { mode: '100755', blob: b2, path: 'config/bin/run.sh' },
        { mode: '120000', blob: b2, path: 'config/.env' },
        { mode: '100644', blob, path: 'config/a b.yaml' },
        { mode: '100644', blob, path: 'config/a-b' },
        { mode: '100644', blob, path: 'config/a.b' },
        { mode: '100644', blob, path: 'db/main.sql.meta' },
      ];
      const tree = await ours.makeTree(entries, join(root, `idx-ours-${format}`));
      assert.equal(tree, await theirs.makeTree(entries, join(root, `idx-theirs-${format}`)));
      assert.equal(await ours.makeTree([], join(root, 'idx-empty')), EMPTY_TREES[format]);

      const date = new Date('2026-01-02T03:04:05Z');
      const commit = await ours.commitTree(tree, [head], 'git-rollback snapshot point/x\n', date);
      assert.equal(commit, await theirs.commitTree(tree, [head], 'git-rollback snapshot point/x\n', date));
      const root2 = await ours.commitTree(tree, [], 'no parent ✓\n', date);
      assert.equal(root2, await theirs.commitTree(tree, [], 'no parent ✓\n', date));

      // Undated (the event log's commits): the clock, as git would take it.
      const t0 = Math.floor(Date.now() / 1000);
      const undated = await ours.commitTree(EMPTY_TREES[format], [commit], 'point rollback/x\n\n{}\n');
      const stamp = Number(/^committer Pat Doe <pat@example\.com> (\d+) [+-]\d{4}$/m.exec(git(dir, ['cat-file', '-p', undated]))?.[1]);
      assert.ok(stamp >= t0 && stamp <= t0 + 5, `committer time ${stamp}`);
      git(dir, ['update-ref', 'refs/rollback/undated', undated]);

      const tag = await ours.makeTag(commit, 'rollback/20260102-030405', 'target ✓\n\nRollback-Id: 20260102-030405\n', date);
      assert.equal(tag, await theirs.makeTag(commit, 'rollback/20260102-030405', 'target ✓\n\nRollback-Id: 20260102-030405\n', date));
      assert.equal(git(dir, ['cat-file', '-t', tag]), 'tag');

      git(dir, ['update-ref', 'refs/tags/rollback/x', tag]);
      git(dir, ['update-ref', 'refs/rollback/root2', root2]);
      git(dir, ['fsck', '--strict', '--no-dangling']);
    });
  });
}

describe('what git would change or refuse goes through git', () => {
  it('a setting that changes what git writes: git writes (same objects, no loose object of ours first)', async () => {
    const dir = repo('r-set', 'sha1');
    git(dir, ['config', 'core.sharedRepository', 'group']);
    const { git: g } = await Git.open(dir);
    const before = looseCount(dir);
    const id = await g.hashBuffer('shared\n');
    assert.equal(id, git(dir, ['hash-object', '--stdin'], 'shared\n'));
    assert.equal(looseCount(dir), before + 1);
    // git made the directory group-writable, as core.sharedRepository asks
    const mode = execFileSync('stat', ['-c', '%a', join(dir, '.git', 'objects', id.slice(0, 2))], { encoding: 'utf8' }).trim();
    assert.match(mode, /^2?77[0-7]$/);
  });

  it('paths and identities git would refuse or rewrite are not written by us', async () => {
    for (const p of ['.git/config', 'a/.GIT/x', 'a/../b', 'a/./b', 'x/git~1/y', 'trailing./x', 'trailing /x', 'a//b', 'nl\nx', 'ü']) assert.equal(plainPath(p), false, p);
    for (const p of ['manifest.json', 'config/.env', 'db/main.sql/000001', 'config/a b.yaml']) assert.equal(plainPath(p), true, p);
    assert.equal(plainIdent('Pat Doe', 'pat@example.com'), 'Pat Doe <pat@example.com>');
    for (const [n, e] of [['Pat <Doe>', 'p@x'], [' Pat', 'p@x'], ['Pat', 'p@x.'], ['', 'p@x'], ['Pat', '']]) assert.equal(plainIdent(n as string, e as string), null, `${n} ${e}`);
    const dir = repo('r-refuse', 'sha1');
    const { git: g } = await Git.open(dir);
    const blob = await g.hashBuffer('x\n');
    // Whatever git's update-index does with such a path is what happens (here: it takes it).
    const odd = [{ mode: '100644', blob, path: '.git/hooks/pre-commit' }, { mode: '100644', blob, path: 'ü/x' }];
    assert.equal(await g.makeTree(odd, join(root, 'idx-odd-1')), await new Git(dir).makeTree(odd, join(root, 'idx-odd-2')));
  });
});
