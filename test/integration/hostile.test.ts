// The hostile-remote suite: points crafted by an attacker with push rights
// (raw trees, notes written by hand, commits carrying their own config) are
// pushed to a bare remote and fetched into a victim clone. Whatever the victim
// then runs — to, undo, verify, --remove-extra — nothing outside the
// repository is written or deleted (a canary directory beside it stays
// byte-identical), no command from fetched data runs (a canary file is never
// created), and every refusal names the entry. On SHA-1 and SHA-256.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { craftPoint, fact, makeCanary, pushAll, snapshotDir } from '../helpers/hostile.js';
import { cli, makeRepo, OBJECT_FORMATS, type CliResult, type Repo } from '../helpers/repo.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const VICTIM_CONFIG = 'config: [".env", "config/*.yml"]\npaths: ["data/"]\nhooks: { afterRollback: "true" }\n';
const HOSTILE_CONFIG = 'config: [".env"]\nhooks: { beforeRollback: "touch ../PWNED", afterRollback: "touch ../PWNED" }\ncapture: { x: "touch ../PWNED" }\n';

interface World {
  attacker: Repo;
  victim: Repo;
  /** The canary directory beside the victim's repository, and its content at the start. */
  outside: string;
  before: Record<string, string>;
  /** What an injected command would create. */
  pwned: string;
  evilRemote: string;
}

function git(repo: Repo, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo.dir, env: repo.env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** The attacker's repository with every hostile point, two bare remotes, and the victim's clone. */
function buildWorld(format: 'sha1' | 'sha256'): World {
  const attacker = makeRepo({ objectFormat: format, files: { 'app.txt': 'v1\n', '.gitignore': '.env\ndata/\n', '.rollbackrc.yaml': VICTIM_CONFIG } });
  cleanups.push(() => attacker.cleanup());
  const base = mkdtempSync(join(tmpdir(), 'git-rollback-hostile-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  const origin = join(base, 'origin.git');
  const evil = join(base, 'evil.git');
  for (const b of [origin, evil]) execFileSync('git', ['init', '-q', '--bare', `--object-format=${format}`, b], { env: attacker.env });
  git(attacker, 'remote', 'add', 'origin', origin);
  git(attacker, 'remote', 'add', 'evil', evil);
  const main = git(attacker, 'rev-parse', 'HEAD');

  // Note-level attacks: valid trees, hostile facts (fetched by git rollback fetch).
  const dotEnv = fact(attacker, '.env', 'PWNED=1\n');
  craftPoint(attacker, { id: 'outside-note', config: [{ ...fact(attacker, '../outside/pwned1.txt', 'pwned\n') }], tree: [{ path: 'config/pwned1.txt', content: 'pwned\n' }] });
  craftPoint(attacker, {
    id: 'gitdir-note',
    config: [fact(attacker, '.git/hooks/post-checkout', '#!/bin/sh\ntouch ../PWNED\n', '100755'), fact(attacker, '.git/config', '[core]\n\thooksPath = /tmp\n')],
    tree: [{ path: 'config/post-checkout', content: '#!/bin/sh\ntouch ../PWNED\n' }],
  });
  craftPoint(attacker, { id: 'setuid', config: [fact(attacker, 'suid.yml', 'x\n', '104777')] });
  craftPoint(attacker, { id: 'huge-mode', config: [fact(attacker, 'huge.yml', 'x\n', '1007777777')] });
  // (Trees git's fsck accepts: the hostile part is in the note, which fsck does not read.)
  craftPoint(attacker, {
    id: 'symlink-out',
    config: [fact(attacker, 'lnk', '../outside', '120000', '../outside'), fact(attacker, 'lnk/pwned2.txt', 'pwned\n')],
    tree: [{ path: 'config/lnk', mode: '120000', content: '../outside' }, { path: 'config/pwned2.txt', content: 'pwned\n' }],
  });
  craftPoint(attacker, { id: 'dup', config: [dotEnv, dotEnv], tree: [{ path: 'config/.env', content: 'PWNED=1\n' }] });
  craftPoint(attacker, { id: 'case-dup', config: [dotEnv, { ...dotEnv, path: '.ENV' }], tree: [{ path: 'config/.ENV', content: 'PWNED=1\n' }, { path: 'config/.env', content: 'PWNED=1\n' }] });
  const code = fact(attacker, '.env', 'v1\n'); // the blob of app.txt: in the repository, not in the snapshot tree
  craftPoint(attacker, { id: 'outside-tree', config: [code], tree: [{ path: 'config/.env', content: 'other\n' }] });
  craftPoint(attacker, { id: 'ref-hijack', config: [dotEnv], snapshotExtra: { ref: 'refs/heads/main' } });
  craftPoint(attacker, { id: 'bad-id', config: [{ ...dotEnv, blob: '--output=/tmp/x' }], tree: [{ path: 'config/.env', content: 'PWNED=1\n' }] });
  craftPoint(attacker, {
    id: 'patterns',
    paths: [fact(attacker, 'data/a.txt', 'a\n')],
    snapshotExtra: { patterns: { config: ['../outside/*', '../outside/**'], paths: ['../outside/*', '../outside/**/*'] } },
    description: 'looks fine \u001b[2J\u001b]0;owned\u0007\u202e',
  });
  // A commit with a symlink out of the repository, and a point restoring a file through it.
  git(attacker, 'checkout', '-q', '-b', 'evil-link');
  execFileSync('ln', ['-s', '../outside', join(attacker.dir, 'cfg')]);
  const linkCommit = attacker.commit('add cfg link');
  craftPoint(attacker, { id: 'symlinked-parent', commit: linkCommit, config: [fact(attacker, 'cfg/pwned3.txt', 'pwned\n')] });
  // A commit whose config adds hooks and a capture: must never run on the victim (to, undo).
  git(attacker, 'checkout', '-q', 'main');
  git(attacker, 'checkout', '-q', '-b', 'evil-config');
  attacker.write('.rollbackrc.yaml', HOSTILE_CONFIG);
  attacker.write('app.txt', 'old\n');
  const hookCommit = attacker.commit('old release (with hooks)');
  craftPoint(attacker, { id: 'hook-commit', commit: hookCommit, config: [fact(attacker, '.env', 'OLD=1\n')] });
  git(attacker, 'checkout', '-q', 'main');
  pushAll(attacker, 'origin');

  // Tree-level attacks: names git's fsck refuses (fetched only by plain git fetch).
  const evilRepo = makeRepo({ objectFormat: format, files: { 'app.txt': 'v1\n' } });
  cleanups.push(() => evilRepo.cleanup());
  git(evilRepo, 'fetch', '-q', origin, 'main');
  git(evilRepo, 'reset', '-q', '--hard', 'FETCH_HEAD');
  craftPoint(evilRepo, { id: 'dotdot-tree', config: [fact(evilRepo, '../outside/pwned1.txt', 'pwned\n')] });
  craftPoint(evilRepo, { id: 'gitdir-tree', config: [fact(evilRepo, '.git/hooks/post-checkout', '#!/bin/sh\ntouch ../PWNED\n', '100755')] });
  craftPoint(evilRepo, { id: 'dup-tree', config: [dotEnv], tree: [{ path: 'config/.env', content: 'PWNED=1\n' }, { path: 'config/.env', content: 'PWNED=2\n' }] });
  git(evilRepo, 'remote', 'add', 'evil', evil);
  pushAll(evilRepo, 'evil');

  // The victim: a clone with its own approved config, data, uncommitted work, and a canary beside it.
  const victimBase = mkdtempSync(join(tmpdir(), 'git-rollback-victim-'));
  cleanups.push(() => rmSync(victimBase, { recursive: true, force: true }));
  const victimDir = join(victimBase, 'repo');
  execFileSync('git', ['clone', '-q', '-b', 'main', origin, victimDir], { env: attacker.env });
  const env = { ...attacker.env };
  const victim: Repo = {
    ...attacker,
    dir: victimDir,
    env,
    write(path, content) {
      mkdirSync(dirname(join(victimDir, path)), { recursive: true });
      writeFileSync(join(victimDir, path), content);
    },
  };
  delete env.GIT_ROLLBACK_TRUST;
  git(victim, 'remote', 'add', 'evil', evil);
  victim.write('.env', 'SECRET=victim\n');
  victim.write('data/upload.txt', 'upload\n');
  const outside = makeCanary(victimBase);
  assert.equal(main.length, format === 'sha256' ? 64 : 40);
  return { attacker, victim, outside, before: snapshotDir(outside), pwned: join(victimBase, 'PWNED'), evilRemote: evil };
}

function assertUntouched(w: World, when: string): void {
  assert.deepEqual(snapshotDir(w.outside), w.before, `canary directory changed (${when})`);
  assert.ok(!existsSync(w.pwned), `an injected command ran (${when})`);
  assert.ok(!existsSync(join(w.victim.dir, '.git', 'hooks', 'post-checkout')), `a hook was installed (${when})`);
  assert.doesNotMatch(readFileSync(join(w.victim.dir, '.git', 'config'), 'utf8'), /hooksPath/, `.git/config changed (${when})`);
}

function refusedNaming(res: CliResult, entry: RegExp, reason: RegExp): void {
  assert.equal(res.code, 6, `expected exit 6, got ${res.code}: ${res.stderr}`);
  assert.match(res.stderr, entry);
  assert.match(res.stderr, reason);
  assert.match(res.stderr, /nothing was changed/);
}

// The two formats run side by side; within one, tests share the victim and run in order.
describe('hostile remote', { concurrency: 2 }, () => {
for (const format of OBJECT_FORMATS) {
  describe(`hostile remote (${format})`, { concurrency: 1 }, () => {
    let w: World;
    before(async () => {
      w = buildWorld(format);
      const trusted = await cli(w.victim, ['trust', '--yes']);
      assert.equal(trusted.code, 0, trusted.stderr);
      const fetched = await cli(w.victim, ['fetch']);
      assert.equal(fetched.code, 0, fetched.stderr);
      assert.equal((await cli(w.victim, ['point', 'victim state', '--name', 'mine'])).code, 0);
      // Uncommitted work that no refusal may lose.
      w.victim.write('app.txt', 'uncommitted edit\n');
    });

    const refusals: [string, RegExp, RegExp][] = [
      ['outside-note', /"\.\.\/outside\/pwned1\.txt"/, /leaves the repository/],
      ['gitdir-note', /"\.git\/hooks\/post-checkout"/, /inside \.git/],
      ['setuid', /"suid\.yml"/, /mode 104777 has setuid, setgid or sticky bits/],
      ['huge-mode', /"huge\.yml"/, /mode 1007777777 is not a regular file's permission bits/],
      ['symlink-out', /"lnk"/, /symlink target \.\.\/outside leaves the repository/],
      ['dup', /"\.env"/, /listed twice/],
      ['case-dup', /"\.ENV"/, /the same file as "\.env" on a case-insensitive filesystem/],
      ['outside-tree', /"\.env"/, /names an object other than the snapshot tree holds there/],
      ['ref-hijack', /"refs\/heads\/main"/, /names a ref other than refs\/rollback\/snapshots\/point\/ref-hijack/],
      ['bad-id', /"\.env"/, /blob is not an object id/],
      ['symlinked-parent', /"cfg\/pwned3\.txt"/, /lies under "cfg", a symbolic link in the point's code/],
    ];
    for (const [id, entry, reason] of refusals) {
      it(`refuses ${id} before any change, naming the entry (exit 6)`, async () => {
        const head = git(w.victim, 'rev-parse', 'HEAD');
        const tags = git(w.victim, 'tag', '-l');
        refusedNaming(await cli(w.victim, ['to', `rollback/${id}`, '--yes']), entry, reason);
        // The plan refuses too: --dry-run is the same path up to execution.
        if (id === 'outside-note') refusedNaming(await cli(w.victim, ['to', `rollback/${id}`, '--dry-run']), entry, reason);
        assert.equal(git(w.victim, 'rev-parse', 'HEAD'), head);
        assert.equal(git(w.victim, 'tag', '-l'), tags, 'no backup point was left behind');
        assert.equal(readFileSync(join(w.victim.dir, 'app.txt'), 'utf8'), 'uncommitted edit\n');
        assert.equal(readFileSync(join(w.victim.dir, '.env'), 'utf8'), 'SECRET=victim\n');
        assertUntouched(w, id);
      });
    }

    it('a hijacked snapshot ref in a note never makes delete remove a branch', async () => {
      const res = await cli(w.victim, ['delete', 'rollback/ref-hijack', '--yes']);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(git(w.victim, 'rev-parse', '--verify', 'refs/heads/main'));
      assert.equal((await cli(w.victim, ['undo', '--yes'])).code, 0, 'the deleted point comes back');
    });

    it('--remove-extra with fetched patterns "../outside/*" deletes nothing outside; descriptions print clean', async () => {
      const list = await cli(w.victim, ['list']);
      assert.match(list.stdout, /looks fine owned|looks fine/);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(list.stdout, /[\u001b\u0007\u202e]/);
      const res = await cli(w.victim, ['to', 'rollback/patterns', '--yes', '--remove-extra', '--skip', 'code']);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(readFileSync(join(w.victim.dir, 'data', 'a.txt'), 'utf8'), 'a\n');
      assert.ok(!existsSync(join(w.victim.dir, 'data', 'upload.txt')), 'extra files are found with the local config (data/)');
      assertUntouched(w, 'remove-extra');
      const undo = await cli(w.victim, ['undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(readFileSync(join(w.victim.dir, 'data', 'upload.txt'), 'utf8'), 'upload\n');
      assertUntouched(w, 'undo after remove-extra');
    });

    it("a fetched commit's config hooks never run: not during to, not on undo", async () => {
      const to = await cli(w.victim, ['to', 'rollback/hook-commit', '--yes']);
      assert.equal(to.code, 0, to.stderr);
      assert.equal(readFileSync(join(w.victim.dir, 'app.txt'), 'utf8'), 'old\n');
      assert.match(readFileSync(join(w.victim.dir, '.rollbackrc.yaml'), 'utf8'), /PWNED/);
      assertUntouched(w, 'to hook-commit');
      const point = await cli(w.victim, ['point', 'now']);
      assert.equal(point.code, 4, 'the checked-out config is not approved');
      assert.match(point.stderr, /changed since the version approved .*: capture\.x added, hooks\.afterRollback changed, hooks\.beforeRollback added/);
      const undo = await cli(w.victim, ['undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr);
      assert.match(undo.stderr, /using the config approved when backup\//);
      assert.equal(readFileSync(join(w.victim.dir, 'app.txt'), 'utf8'), 'uncommitted edit\n');
      assertUntouched(w, 'undo after hook-commit');
    });

    it('git rollback fetch refuses trees with "..", ".git" or duplicate names; plain git fetch brings them, and to refuses them', async () => {
      const res = await cli(w.victim, ['fetch', 'evil']);
      assert.equal(res.code, 6, res.stderr);
      assert.match(res.stderr, /evil sent an object git refuses \((hasDotdot|hasDotgit|duplicateEntries)/);
      assert.equal(git(w.victim, 'tag', '-l', 'rollback/dotdot-tree'), '');
      git(w.victim, 'fetch', '-q', 'evil', 'refs/tags/*:refs/tags/*', 'refs/rollback/snapshots/*:refs/rollback/snapshots/*', '+refs/notes/rollback:refs/notes/rollback-evil');
      // Notes merged by hand, as a careless victim might.
      git(w.victim, 'notes', '--ref=rollback', 'merge', '-s', 'union', 'refs/notes/rollback-evil');
      refusedNaming(await cli(w.victim, ['to', 'rollback/dotdot-tree', '--yes']), /"\.\.\/outside\/pwned1\.txt"/, /leaves the repository/);
      refusedNaming(await cli(w.victim, ['to', 'rollback/gitdir-tree', '--yes']), /"\.git\/hooks\/post-checkout"/, /inside \.git/);
      refusedNaming(await cli(w.victim, ['to', 'rollback/dup-tree', '--yes']), /"config\/\.env"/, /listed twice in the tree/);
      assertUntouched(w, 'tree-level points');
    });

    it('the victim can still roll back to its own point and undo, and verify --all reports every hostile point', async () => {
      const to = await cli(w.victim, ['to', 'mine', '--yes']);
      assert.equal(to.code, 0, to.stderr);
      const undo = await cli(w.victim, ['undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(readFileSync(join(w.victim.dir, 'app.txt'), 'utf8'), 'uncommitted edit\n');
      // verify reads every hostile point and writes nothing but notes; each is BAD, naming its entry.
      const v = await cli(w.victim, ['verify', '--all']);
      assert.equal(v.code, 6);
      assert.match(v.stdout, /ok {2}rollback\/mine/);
      for (const [id, entry, reason] of refusals.filter(([id]) => id !== 'ref-hijack')) {
        const block = v.stdout.slice(v.stdout.indexOf(`BAD  rollback/${id} `));
        assert.ok(block.startsWith('BAD'), `${id} is reported`);
        const lines = block.split('\n').slice(1).filter((l) => l.startsWith('      ')).join('\n');
        assert.match(lines, entry, id);
        assert.match(lines, reason, id);
      }
      assertUntouched(w, 'own point');
    });
  });
}
});
