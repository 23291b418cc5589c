// The foundation, end to end: the built binary against real temp repositories.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, cli, fsck, makeRepo, waitForFile, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
function repo(options?: Parameters<typeof makeRepo>[0]): Repo {
  const r = makeRepo(options);
  repos.push(r);
  return r;
}
after(() => repos.forEach((r) => r.cleanup()));

/** A repo with a git-ignored .env (mode 0600) configured as a config file. */
function appRepo(): Repo {
  const r = repo({ files: { 'app.py': 'print("v1")\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env", "config/*.yml"]\n' } });
  r.write('.env', 'API_KEY=one\n', 0o600);
  return r;
}

function listJSON(r: Repo): Promise<Array<Record<string, unknown>>> {
  return cli(r, ['list', '--json']).then((res) => {
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as Array<Record<string, unknown>>;
  });
}

describe('point', () => {
  it('makes a point with a Chinese description, a tag, a note and a snapshot ref', async () => {
    const r = appRepo();
    const res = await cli(r, ['point', 'AI服务集成完成', '--name', 'ai-done']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Made point rollback\/ai-done "AI服务集成完成"/);
    assert.match(res.stdout, /config +1 file .*\.env/);
    assert.equal(r.git('tag', '-l', 'rollback/*'), 'rollback/ai-done');
    assert.equal(r.git('cat-file', '-t', 'rollback/ai-done'), 'tag');
    const note = JSON.parse(r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'rollback/ai-done')));
    assert.equal(note.description, 'AI服务集成完成');
    assert.equal(note.kind, 'point');
    assert.equal(note.snapshot.config[0].path, '.env');
    assert.equal(note.snapshot.config[0].mode, '100600');
    assert.equal(r.git('rev-parse', 'refs/rollback/snapshots/point/ai-done'), note.snapshot.commit);
    assert.equal(r.git('show', `${note.snapshot.commit}:config/.env`), 'API_KEY=one');
    const manifest = JSON.parse(r.git('show', `${note.snapshot.commit}:manifest.json`));
    assert.equal(manifest.config[0].sha256, note.snapshot.config[0].sha256);
    assert.match(r.git('tag', '-l', '--format=%(contents)', 'rollback/ai-done'), /^AI服务集成完成\n\nRollback-Id: ai-done/);
    fsck(r);
  });

  it('uses a UTC timestamp id and adds -2 on collision', async () => {
    const r = appRepo();
    const a = await cli(r, ['point', 'one']);
    const b = await cli(r, ['point', 'two']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const tags = r.git('tag', '-l', 'rollback/*').split('\n');
    assert.equal(tags.length, 2);
    for (const t of tags) assert.match(t, /^rollback\/\d{8}-\d{6}(-\d+)?$/);
  });

  it('refuses an id that exists, and changes nothing', async () => {
    const r = appRepo();
    assert.equal((await cli(r, ['point', '--name', 'x'])).code, 0);
    const before = r.git('for-each-ref');
    const res = await cli(r, ['point', 'again', '--name', 'x']);
    assert.equal(res.code, 4);
    assert.match(res.stderr, /point rollback\/x already exists/);
    assert.equal(r.git('for-each-ref'), before);
  });

  it('refuses an invalid --name', async () => {
    const r = appRepo();
    const res = await cli(r, ['point', '--name', 'bad name..']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /invalid point name/);
    assert.equal(r.git('tag', '-l'), '');
  });

  it('warns about a config glob that matches nothing, and still makes the point', async () => {
    const r = appRepo();
    const res = await cli(r, ['point']);
    assert.equal(res.code, 0);
    assert.match(res.stderr, /warning: config pattern "config\/\*\.yml" matched no file/);
  });

  it('captures uncommitted work, and untracked files with -u', async () => {
    const r = appRepo();
    r.write('app.py', 'print("dirty")\n');
    r.write('notes.txt', 'untracked\n');
    const res = await cli(r, ['point', '--name', 'wip', '-u', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const p = JSON.parse(res.stdout);
    assert.equal(p.dirty, true);
    assert.ok(p.snapshot.worktree.untracked);
    const res2 = await cli(r, ['point', '--name', 'wip2', '--json']);
    assert.equal(JSON.parse(res2.stdout).snapshot.worktree.untracked, null);
    // The working tree itself is untouched by making a point.
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'print("dirty")\n');
    assert.ok(existsSync(join(r.dir, 'notes.txt')));
  });

  it('handles paths and descriptions with spaces, quotes and CJK', async () => {
    const r = repo({ files: { 'a.txt': 'a\n', '.rollbackrc.yaml': 'config: ["conf dir/*"]\npaths: ["数据/"]\n' } });
    r.write('conf dir/it\'s "quoted".env', 'K=1\n');
    r.write('数据/文件 1.txt', '内容\n');
    const res = await cli(r, ['point', 'say "hi" — it\'s 好的']);
    assert.equal(res.code, 0, res.stderr);
    r.write('conf dir/it\'s "quoted".env', 'K=2\n');
    r.write('数据/文件 1.txt', '改了\n');
    const to = await cli(r, ['to', 'latest', '--yes']);
    assert.equal(to.code, 0, to.stderr);
    assert.equal(readFileSync(join(r.dir, 'conf dir/it\'s "quoted".env'), 'utf8'), 'K=1\n');
    assert.equal(readFileSync(join(r.dir, '数据/文件 1.txt'), 'utf8'), '内容\n');
    const list = await listJSON(r);
    assert.equal(list.find((p) => p.kind === 'point')?.description, 'say "hi" — it\'s 好的');
    fsck(r);
  });
});

describe('list and show', () => {
  it('lists newest first with kind, commit, branch and aligned CJK descriptions', async () => {
    const r = appRepo();
    await cli(r, ['point', 'AI服务集成完成', '--name', 'a']);
    r.write('app.py', 'print("v2")\n');
    r.commit('v2');
    await cli(r, ['point', 'second', '--name', 'b']);
    const res = await cli(r, ['list']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    // A mark column first: * where HEAD is (rollback/b tags HEAD).
    assert.match(lines[0] ?? '', /^ {3}POINT +KIND +CREATED +COMMIT +BRANCH +DESCRIPTION +SNAPSHOT$/);
    assert.match(lines[1] ?? '', /^\* +rollback\/b +point /);
    assert.match(lines[2] ?? '', /^ {3}rollback\/a +point .* main +AI服务集成完成 +1 config/);
    assert.match(lines[3] ?? '', /^\* HEAD is here$/);
    // Columns after a CJK description line up with those after an ASCII one (display width).
    const col = (line: string, word: string) => {
      let w = 0;
      for (const ch of line.slice(0, line.indexOf(word))) w += /[\u4e00-\u9fff]/.test(ch) ? 2 : 1;
      return w;
    };
    assert.equal(col(lines[1] ?? '', '1 config'), col(lines[2] ?? '', '1 config'));
  });

  it('filters by kind, grep, since and limit; --json has every field', async () => {
    const r = appRepo();
    await cli(r, ['point', '数据库迁移前', '--name', 'm1']);
    await cli(r, ['point', 'other', '--name', 'm2']);
    assert.deepEqual((await cli(r, ['list', '--grep', '迁移', '--json']).then((x) => JSON.parse(x.stdout))).map((p: { tag: string }) => p.tag), ['rollback/m1']);
    assert.equal(JSON.parse((await cli(r, ['list', '--limit', '1', '--json'])).stdout).length, 1);
    assert.equal(JSON.parse((await cli(r, ['list', '--kind', 'backup', '--json'])).stdout).length, 0);
    assert.equal(JSON.parse((await cli(r, ['list', '--since', '1h', '--json'])).stdout).length, 2);
    const p = (await listJSON(r))[0] as Record<string, unknown>;
    for (const k of ['tag', 'id', 'kind', 'createdAt', 'commit', 'branch', 'description', 'protected', 'snapshot']) assert.ok(k in p, k);
    const bad = await cli(r, ['list', '--since', 'yesterday-ish']);
    assert.equal(bad.code, 2);
  });

  it('a reader that stops early (git rollback list | head -1) is not an error', async () => {
    const r = appRepo();
    for (let i = 0; i < 250; i++) r.git('tag', '-a', '-m', `bulk ${i} ${'描述'.repeat(20)}`, `rollback/bulk-${i}`);
    const out = execFileSync('sh', ['-c', `"${process.execPath}" "${BIN}" list | head -1; echo "exit=\${PIPESTATUS:-ok}"`], { cwd: r.dir, env: r.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(out, /^ *POINT /);
    const res = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" list --json | head -c 10 >/dev/null`], { cwd: r.dir, env: r.env, encoding: 'utf8' });
    assert.equal(res.status, 0);
    assert.doesNotMatch(res.stderr, /EPIPE|Error/);
  });

  it('an empty list is a success', async () => {
    const r = appRepo();
    const res = await cli(r, ['list']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /No points yet/);
    assert.deepEqual(JSON.parse((await cli(r, ['list', '--json'])).stdout), []);
  });

  it('show prints the note and manifest, human and JSON', async () => {
    const r = appRepo();
    await cli(r, ['point', 'AI服务集成完成', '--name', 's1']);
    const res = await cli(r, ['show', 's1']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /rollback\/s1 +point/);
    assert.match(res.stdout, /AI服务集成完成/);
    assert.match(res.stdout, /0600 +12 B +\.env/);
    const json = JSON.parse((await cli(r, ['show', 'rollback/s1', '--json'])).stdout);
    assert.equal(json.note.description, 'AI服务集成完成');
    assert.equal(json.snapshot.config[0].path, '.env');
    assert.doesNotMatch(res.stdout, /API_KEY=one/, 'config contents are never printed');
  });

  it('an unknown point is one line naming close matches, exit 3', async () => {
    const r = appRepo();
    await cli(r, ['point', '--name', 'before-deploy']);
    const res = await cli(r, ['show', 'before-deplo']);
    assert.equal(res.code, 3);
    assert.match(res.stderr, /^git-rollback: unknown point "before-deplo"; did you mean rollback\/before-deploy\?\n/);
    const res2 = await cli(r, ['to', 'nothing-like-it', '--dry-run']);
    assert.equal(res2.code, 3);
  });

  it('resolves a commit that a point tags', async () => {
    const r = appRepo();
    await cli(r, ['point', '--name', 'c1']);
    const sha = r.git('rev-parse', 'HEAD');
    const res = await cli(r, ['show', sha.slice(0, 10), '--json']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).tag, 'rollback/c1');
  });
});

describe('to and undo', () => {
  async function twoStates(r: Repo) {
    const c1 = r.git('rev-parse', 'HEAD');
    assert.equal((await cli(r, ['point', 'v1 配置', '--name', 'v1'])).code, 0);
    r.write('app.py', 'print("v2")\n');
    const c2 = r.commit('v2');
    r.write('.env', 'API_KEY=two\nNEW=1\n', 0o600);
    return { c1, c2 };
  }

  it('--dry-run prints the plan and changes nothing', async () => {
    const r = appRepo();
    await twoStates(r);
    const before = r.git('for-each-ref');
    const res = await cli(r, ['to', 'v1', '--dry-run']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Plan for rollback to rollback\/v1/);
    assert.match(res.stdout, /save the current state for undo \(backup backup\//);
    assert.match(res.stdout, /check out [0-9a-f]{12} \(detached HEAD\) \(1 commit undone\)/);
    assert.match(res.stdout, /restore 1 file\n\s+config files: 1 \(1 differ from now\)/);
    assert.match(res.stdout, /Dry run: nothing was changed/);
    assert.equal(r.git('for-each-ref'), before);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=two\nNEW=1\n');
    const json = JSON.parse((await cli(r, ['to', 'v1', '--dry-run', '--json'])).stdout);
    assert.equal(json.dryRun, true);
    assert.ok(json.steps.some((s: { kind: string }) => s.kind === 'backup'));
  });

  it('refuses without --yes when there is no terminal, and changes nothing', async () => {
    const r = appRepo();
    await twoStates(r);
    const before = r.git('for-each-ref');
    const res = await cli(r, ['to', 'v1']);
    assert.equal(res.code, 4);
    assert.match(res.stderr, /refusing to roll back without confirmation.*\nhint: .*--yes/);
    assert.equal(r.git('for-each-ref'), before);
  });

  it('rolls code and config back after a backup; undo returns exactly; undo twice is a redo', async () => {
    const r = appRepo();
    const { c1, c2 } = await twoStates(r);
    r.write('app.py', 'print("uncommitted")\n');
    r.write('scratch.txt', 'untracked\n');
    const res = await cli(r, ['to', 'v1', '--yes', '--reason', '支付超时']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Rolled back to rollback\/v1/);
    assert.equal(r.git('rev-parse', 'HEAD'), c1);
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'print("v1")\n');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=one\n');
    assert.equal(statSync(join(r.dir, '.env')).mode & 0o777, 0o600);
    const backups = r.git('tag', '-l', 'backup/*').split('\n');
    assert.equal(backups.length, 1);

    const undo = await cli(r, ['undo', '--yes']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(r.git('rev-parse', 'HEAD'), c2);
    assert.equal(r.git('symbolic-ref', '--short', 'HEAD'), 'main');
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'print("uncommitted")\n');
    assert.equal(readFileSync(join(r.dir, 'scratch.txt'), 'utf8'), 'untracked\n');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=two\nNEW=1\n');
    assert.equal(r.git('status', '--porcelain'), 'M app.py\n?? scratch.txt', 'git trims the leading space of " M"');

    const redo = await cli(r, ['undo', '--yes']);
    assert.equal(redo.code, 0, redo.stderr);
    assert.equal(r.git('rev-parse', 'HEAD'), c1);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=one\n');
    fsck(r);
  });

  it('restores the uncommitted work a point was made with', async () => {
    const r = appRepo();
    r.write('app.py', 'print("half done")\n');
    r.git('add', 'app.py');
    r.write('app.py', 'print("half done, more")\n');
    assert.equal((await cli(r, ['point', '--name', 'dirty'])).code, 0);
    r.git('checkout', '-q', '--', '.');
    r.git('reset', '-q', '--hard');
    const res = await cli(r, ['to', 'dirty', '--yes']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'print("half done, more")\n');
    assert.equal(r.git('diff', '--cached', '--name-only'), 'app.py', 'the index is back too');
    assert.equal(r.git('show', ':app.py'), 'print("half done")');
  });

  it('--mode reset moves the branch; --mode branch makes a branch; --mode revert adds a commit', async () => {
    for (const mode of ['reset', 'branch', 'revert'] as const) {
      const r = appRepo();
      const { c1, c2 } = await twoStates(r);
      const res = await cli(r, ['to', 'v1', '--yes', '--mode', mode]);
      assert.equal(res.code, 0, `${mode}: ${res.stderr}`);
      if (mode === 'reset') {
        assert.equal(r.git('rev-parse', 'main'), c1);
        assert.equal(r.git('symbolic-ref', '--short', 'HEAD'), 'main');
      } else if (mode === 'branch') {
        assert.match(r.git('symbolic-ref', '--short', 'HEAD'), /^rollback\/v1-\d{8}$/);
        assert.equal(r.git('rev-parse', 'main'), c2);
      } else {
        assert.equal(r.git('rev-parse', 'HEAD~1'), c2);
        assert.equal(r.git('rev-parse', 'HEAD^{tree}'), r.git('rev-parse', `${c1}^{tree}`));
        assert.match(r.git('log', '-1', '--format=%s'), /Roll back to rollback\/v1/);
      }
      const undo = await cli(r, ['undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(r.git('rev-parse', 'main'), c2);
      fsck(r);
    }
  });

  it('--only config restores config files and leaves code alone; --skip config the reverse', async () => {
    const r = appRepo();
    const { c2 } = await twoStates(r);
    const res = await cli(r, ['to', 'v1', '--yes', '--only', 'config']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(r.git('rev-parse', 'HEAD'), c2);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=one\n');
    r.write('.env', 'API_KEY=three\n', 0o600);
    const res2 = await cli(r, ['to', 'v1', '--yes', '--skip', 'config']);
    assert.equal(res2.code, 0, res2.stderr);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=three\n');
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'print("v1")\n');
    const bad = await cli(r, ['to', 'v1', '--dry-run', '--only', 'cod']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--only cod: unknown part/);
  });

  it('removes files that did not exist at the point only when asked', async () => {
    const r = appRepo();
    await cli(r, ['point', '--name', 'p']);
    r.write('config/extra.yml', 'a: 1\n');
    const keep = await cli(r, ['to', 'p', '--yes']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.ok(existsSync(join(r.dir, 'config/extra.yml')));
    const rm = await cli(r, ['to', 'p', '--yes', '--remove-extra']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(!existsSync(join(r.dir, 'config/extra.yml')));
    const undo = await cli(r, ['undo', '--yes']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(readFileSync(join(r.dir, 'config/extra.yml'), 'utf8'), 'a: 1\n');
  });

  it('undo with nothing to undo is exit 3', async () => {
    const r = appRepo();
    const res = await cli(r, ['undo', '--yes']);
    assert.equal(res.code, 3);
    assert.match(res.stderr, /there is nothing to undo/);
  });

  it('a failure in the middle reverts everything from the backup (exit 7)', async () => {
    const r = appRepo();
    await twoStates(r);
    // An unwritable config path: a directory where the point has a file.
    r.write('config/app.yml', 'v: 1\n');
    assert.equal((await cli(r, ['point', '--name', 'p2'])).code, 0);
    r.write('app.py', 'print("v3")\n');
    const c3 = r.commit('v3');
    rmSync(join(r.dir, 'config/app.yml'));
    mkdirSync(join(r.dir, 'config/app.yml'));
    writeFileSync(join(r.dir, 'config/app.yml/inside'), 'x\n');
    r.write('app.py', 'print("local edit")\n');
    const envBefore = readFileSync(join(r.dir, '.env'), 'utf8');
    const res = await cli(r, ['to', 'p2', '--yes']);
    assert.equal(res.code, 7, res.stderr);
    assert.match(res.stderr, /failed and was reverted: cannot restore .*config\/app\.yml: a directory is in its place/);
    assert.equal(r.git('rev-parse', 'HEAD'), c3);
    assert.equal(readFileSync(join(r.dir, 'config/app.yml/inside'), 'utf8'), 'x\n');
    assert.equal(r.git('symbolic-ref', '--short', 'HEAD'), 'main');
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'print("local edit")\n');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), envBefore);
    assert.ok(!existsSync(join(r.dir, '.git/rollback/journal.json')));
    const log = r.git('log', '-1', '--format=%B', 'refs/rollback/log');
    assert.match(log, /"outcome":"reverted"/);
    fsck(r);
  });

  it('a corrupt snapshot is refused before any change (exit 6)', async () => {
    const r = appRepo();
    await twoStates(r);
    const note = JSON.parse(r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'rollback/v1')));
    const blob = note.snapshot.config[0].blob as string;
    // Replace the loose object by one with other content: git does not check on read, we must.
    const objPath = join(r.dir, '.git/objects', blob.slice(0, 2), blob.slice(2));
    const other = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: r.dir, input: 'API_KEY=evil\n', encoding: 'utf8' }).trim();
    const otherPath = join(r.dir, '.git/objects', other.slice(0, 2), other.slice(2));
    rmSync(objPath, { force: true });
    writeFileSync(objPath, readFileSync(otherPath));
    const before = r.git('for-each-ref');
    const res = await cli(r, ['to', 'v1', '--yes']);
    assert.equal(res.code, 6, res.stderr);
    assert.match(res.stderr, /does not match its checksum/);
    assert.equal(r.git('for-each-ref'), before);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=two\nNEW=1\n');
  });

  it('a missing snapshot object is refused before any change (exit 6)', async () => {
    const r = appRepo();
    await twoStates(r);
    const note = JSON.parse(r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'rollback/v1')));
    const blob = note.snapshot.config[0].blob as string;
    rmSync(join(r.dir, '.git/objects', blob.slice(0, 2), blob.slice(2)));
    const before = r.git('for-each-ref');
    const res = await cli(r, ['to', 'v1', '--yes']);
    assert.equal(res.code, 6, res.stderr);
    assert.match(res.stderr, /missing/);
    assert.equal(r.git('for-each-ref'), before);
  });
});

describe('one at a time, and interrupted runs', () => {
  it('a second rollback while one runs refuses (exit 5); a stale lock is taken over', async () => {
    const r = appRepo();
    // The hook holds the first rollback (and its lock) until the test says go: no sleeps.
    const gate = join(r.home, 'gate');
    r.write('.rollbackrc.yaml', `config: [".env"]\nhooks: { beforeRollback: "touch '${gate}.held'; while [ ! -e '${gate}.go' ]; do sleep 0.05; done" }\n`);
    r.commit('slow hook');
    await cli(r, ['point', '--name', 'p']);
    const first = cli(r, ['to', 'p', '--yes']);
    await waitForFile(`${gate}.held`, first);
    const second = await cli(r, ['to', 'p', '--yes']);
    writeFileSync(`${gate}.go`, '');
    assert.equal(second.code, 5, second.stderr);
    assert.match(second.stderr, /another git-rollback is running: git rollback to rollback\/p \(pid \d+/);
    assert.equal((await first).code, 0);
    // A lock left by a process that no longer exists is stale.
    writeFileSync(join(r.dir, '.git/rollback/lock'), JSON.stringify({ pid: 999999, host: (await import('node:os')).hostname(), command: 'x', startedAt: 'then' }));
    const third = await cli(r, ['point', '--name', 'after-stale']);
    assert.equal(third.code, 0, third.stderr);
  });

  it('an interrupted rollback leaves a journal: to refuses, --abort restores the backup', async () => {
    const r = appRepo();
    const c1 = r.git('rev-parse', 'HEAD');
    await cli(r, ['point', '--name', 'p']);
    r.write('.rollbackrc.yaml', 'config: [".env"]\nhooks: { afterRollback: "kill -9 $PPID" }\n');
    const c2 = r.commit('v2 with a crashing hook');
    r.write('.env', 'API_KEY=two\n', 0o600);
    const crashed = await cli(r, ['to', 'p', '--yes']);
    assert.notEqual(crashed.code, 0);
    assert.ok(existsSync(join(r.dir, '.git/rollback/journal.json')));
    assert.equal(r.git('rev-parse', 'HEAD'), c1, 'the crash happened after the code moved');
    const again = await cli(r, ['to', 'p', '--yes']);
    assert.equal(again.code, 9, 'a rollback waits in the journal');
    assert.match(again.stderr, /was interrupted.*\nhint: .*--continue.*--abort/);
    const abort = await cli(r, ['to', '--abort', '--yes']);
    assert.equal(abort.code, 0, abort.stderr);
    assert.equal(r.git('rev-parse', 'HEAD'), c2);
    assert.equal(r.git('symbolic-ref', '--short', 'HEAD'), 'main');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=two\n');
    assert.ok(!existsSync(join(r.dir, '.git/rollback/journal.json')));
    fsck(r);
  });
});

describe('verify and health', () => {
  it('verify checks every object against its sha256 and records the result', async () => {
    const r = appRepo();
    await cli(r, ['point', '--name', 'good']);
    const ok = await cli(r, ['verify', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout)[0].ok, true);
    assert.equal(JSON.parse((await cli(r, ['show', 'good', '--json'])).stdout).note.verified.ok, true);
    const note = JSON.parse(r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'rollback/good')));
    const blob = note.snapshot.config[0].blob as string;
    rmSync(join(r.dir, '.git/objects', blob.slice(0, 2), blob.slice(2)));
    const bad = await cli(r, ['verify', '--all']);
    assert.equal(bad.code, 6);
    assert.match(bad.stdout, /BAD +rollback\/good/);
    assert.match(bad.stdout, /\.env: object [0-9a-f]{12} is missing/);
    assert.match(bad.stderr, /1 of 1 point failed verification/);
  });

  it('a failing health check reverts the rollback (exit 7)', async () => {
    const r = appRepo();
    const c1 = r.git('rev-parse', 'HEAD');
    await cli(r, ['point', '--name', 'p']);
    r.write('.rollbackrc.yaml', 'config: [".env"]\nhealth: { command: "exit 1", retries: 2, interval: "100ms" }\n');
    const c2 = r.commit('health check');
    r.write('.env', 'API_KEY=two\n', 0o600);
    const res = await cli(r, ['to', 'p', '--yes']);
    assert.equal(res.code, 7, res.stderr);
    assert.match(res.stderr, /health check failed after 2 attempts/);
    assert.equal(r.git('rev-parse', 'HEAD'), c2);
    assert.notEqual(c1, c2);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=two\n');
  });
});

describe('deploy', () => {
  it('a failed deploy is rolled back to its deploy point (exit 7); a good one is logged', async () => {
    const r = appRepo();
    const c1 = r.git('rev-parse', 'HEAD');
    const bad = await cli(r, ['deploy', '--reason', '上线 v2', '--', 'sh', '-c', 'echo API_KEY=broken > .env && git commit -q --allow-empty -m deployed && exit 3']);
    assert.equal(bad.code, 7, bad.stderr);
    assert.match(bad.stderr, /deploy failed \(`sh -c .*` exited 3\) and was rolled back to deploy\//);
    assert.equal(r.git('rev-parse', 'HEAD'), c1);
    assert.equal(r.git('symbolic-ref', '--short', 'HEAD'), 'main');
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=one\n');
    const good = await cli(r, ['deploy', '--name', 'v2', '--', 'true']);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /Deployed in .*git rollback to deploy\/v2/);
    const log = JSON.parse((await cli(r, ['log', '--json', '--type', 'deploy'])).stdout) as { outcome: string }[];
    assert.deepEqual(log.map((e) => e.outcome), ['ok', 'reverted']);
    assert.equal((await cli(r, ['deploy'])).code, 2);
    fsck(r);
  });

  it('a failed deploy whose rollback cannot start says the deployed state is live (exit 8), and logs it', async () => {
    const r = appRepo();
    const base = r.git('symbolic-ref', '--short', 'HEAD');
    r.git('checkout', '-q', '-b', 'other');
    r.write('app.py', 'print("other")\n');
    r.commit('other');
    r.git('checkout', '-q', base);
    r.write('app.py', 'print("mine")\n');
    r.commit('mine');
    // The deploy script pulls, and the merge conflicts: the rollback refuses a tree with conflicts.
    const res = await cli(r, ['deploy', '--name', 'v3', '--', 'git', 'merge', '-q', 'other']);
    assert.equal(res.code, 8, res.stderr);
    assert.match(res.stderr, /\ngit-rollback: deploy failed \(`git merge -q other` exited 1\), and the rollback to deploy\/v3 could not start: .*conflict.*\. Nothing was rolled back: the deployed state is live\nhint: fix the cause \(.*\), then roll back with: git rollback to deploy\/v3\n/);
    assert.match(r.git('status', '--porcelain'), /^UU app\.py/m, 'left as the deploy left it');
    const log = JSON.parse((await cli(r, ['log', '--json', '--type', 'deploy'])).stdout) as { outcome: string }[];
    assert.deepEqual(log.map((e) => e.outcome), ['failed']);
  });

  it('a failed deploy whose rollback fails and is put back is not "rolled back": exit 8, the deployed state is live', async () => {
    const r = appRepo();
    const res = await cli(r, ['deploy', '--name', 'v4', '--', 'sh', '-c', 'echo API_KEY=broken > .env && exit 3'], { env: { ROLLBACK_TEST_FAIL: 'files' } });
    assert.equal(res.code, 8, res.stderr);
    assert.match(
      res.stderr,
      /\ngit-rollback: deploy failed \(`sh -c .*` exited 3\), and the rollback to deploy\/v4 failed too: injected failure at step files \(ROLLBACK_TEST_FAIL\)\. Nothing was rolled back: the deployed state is live\nhint: nothing changed — checked: .*; fix the cause, then roll back with: git rollback to deploy\/v4\n/,
    );
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=broken\n', 'the deployed state, as the message says');
    const log = JSON.parse((await cli(r, ['log', '--json', '--type', 'deploy'])).stdout) as { outcome: string }[];
    assert.deepEqual(log.map((e) => e.outcome), ['failed']);
  });
});

describe('continue', () => {
  it('to --continue finishes an interrupted rollback with the backup it already made', async () => {
    const r = appRepo();
    const c1 = r.git('rev-parse', 'HEAD');
    await cli(r, ['point', '--name', 'p']);
    const flag = join(r.home, 'crashed-once');
    r.write('.rollbackrc.yaml', `config: [".env"]\nhooks: { afterRollback: "test -f ${flag} || { touch ${flag}; kill -9 $PPID; }" }\n`);
    r.commit('crash once');
    r.write('.env', 'API_KEY=two\n', 0o600);
    const crashed = await cli(r, ['to', 'p', '--yes']);
    assert.notEqual(crashed.code, 0);
    assert.equal(r.git('tag', '-l', 'backup/*'), '', 'the backup point is recorded when the job finishes');
    const dry = await cli(r, ['to', '--continue', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /rollback to rollback\/p/);
    const res = await cli(r, ['to', '--continue', '--yes']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(r.git('rev-parse', 'HEAD'), c1);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=one\n');
    assert.equal(r.git('tag', '-l', 'backup/*').split('\n').length, 1, 'one backup: the one the interrupted job captured');
    assert.ok(!existsSync(join(r.dir, '.git/rollback/journal.json')));
    const undo = await cli(r, ['undo', '--yes']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'API_KEY=two\n');
    const none = await cli(r, ['to', '--continue', '--yes']);
    assert.equal(none.code, 3);
  });
});

describe('delete, protect, init', () => {
  it('protect blocks delete without --force; delete removes tag, note and snapshot ref', async () => {
    const r = appRepo();
    await cli(r, ['point', '--name', 'keep']);
    assert.equal((await cli(r, ['protect', 'keep'])).code, 0);
    assert.equal(JSON.parse((await cli(r, ['show', 'keep', '--json'])).stdout).protected, true);
    const refused = await cli(r, ['delete', 'keep', '--yes']);
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /rollback\/keep is protected/);
    const noYes = await cli(r, ['delete', 'keep', '--force']);
    assert.equal(noYes.code, 4);
    const dry = await cli(r, ['delete', 'keep', '--force', '--dry-run']);
    assert.equal(dry.code, 0);
    assert.equal(r.git('tag', '-l'), 'rollback/keep');
    const tagObj = r.git('rev-parse', 'rollback/keep');
    const res = await cli(r, ['delete', 'keep', '--force', '--yes']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(r.git('tag', '-l'), '');
    assert.equal(r.git('for-each-ref', 'refs/rollback/snapshots'), '');
    assert.equal(r.git('notes', '--ref=rollback', 'list').includes(tagObj), false);
    fsck(r);
  });

  it('undo brings deleted points back while their objects exist', async () => {
    const r = appRepo();
    await cli(r, ['point', '要删除的', '--name', 'gone']);
    const before = r.git('for-each-ref', 'refs/tags', 'refs/rollback/snapshots');
    assert.equal((await cli(r, ['delete', 'gone', '--yes'])).code, 0);
    assert.equal(r.git('tag', '-l'), '');
    const undo = await cli(r, ['undo', '--yes']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, /Restored 1 point: rollback\/gone/);
    assert.equal(r.git('for-each-ref', 'refs/tags', 'refs/rollback/snapshots'), before);
    assert.equal(JSON.parse((await cli(r, ['show', 'gone', '--json'])).stdout).note.description, '要删除的');
    const again = await cli(r, ['undo', '--yes']);
    assert.equal(again.code, 3, 'a restore is not itself undone');
    fsck(r);
  });

  it('prune keeps protected points, releases, the newest N and the backup undo needs', async () => {
    const r = appRepo();
    for (const n of ['a', 'b', 'c', 'd']) assert.equal((await cli(r, ['point', '--name', n])).code, 0);
    await cli(r, ['protect', 'a']);
    const dry = await cli(r, ['prune', '--keep-last', '1', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const decisions = JSON.parse(dry.stdout).points as { tag: string; keep: boolean; reason: string }[];
    assert.deepEqual(decisions.filter((d) => !d.keep).map((d) => d.tag).sort(), ['rollback/b', 'rollback/c']);
    assert.equal(decisions.find((d) => d.tag === 'rollback/a')?.reason, 'protected');
    assert.equal(r.git('tag', '-l').split('\n').length, 4, 'dry run changes nothing');
    assert.equal((await cli(r, ['prune', '--keep-last', '1'])).code, 4, 'no terminal, no --yes');
    const res = await cli(r, ['prune', '--keep-last', '1', '--yes']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(r.git('tag', '-l').split('\n'), ['rollback/a', 'rollback/d']);
    assert.equal((await cli(r, ['prune', '--yes'])).stdout.trim(), 'Nothing to prune.', 'no rule, nothing removed');
    assert.equal((await cli(r, ['prune', '--keep-within', 'soon'])).code, 2);
    fsck(r);
  });

  it('init finds .env files, SQLite files and compose services, and writes a config that loads', async () => {
    const r = repo({
      files: {
        'docker-compose.yml': 'services:\n  db:\n    image: postgres:15\n  cache:\n    image: redis:7\n  web:\n    image: node:20\n',
        '.gitignore': '.env\n*.db\n',
      },
    });
    r.write('.env', 'A=1\n');
    r.write('backend/.env.production', 'B=1\n');
    r.write('data/app.db', '');
    const res = await cli(r, ['init']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /2 env files \(\.env, backend\/\.env\.production\), 1 SQLite file \(data\/app\.db\), 2 database services/);
    const text = readFileSync(join(r.dir, '.rollbackrc.yaml'), 'utf8');
    assert.match(text, /config: \["\.env", "backend\/\.env\.production"\]/);
    assert.match(text, /engine: sqlite, path: "data\/app\.db"/);
    assert.match(text, /#  db: \{ engine: postgres/);
    const again = await cli(r, ['init']);
    assert.equal(again.code, 4);
    const dry = await cli(r, ['list']);
    assert.equal(dry.code, 0, dry.stderr);
  });
});

describe('repositories git-rollback refuses or shares', () => {
  it('not a git repository: exit 2, one line', async () => {
    const r = repo();
    const outside = join(r.home);
    const res = await cli(r, ['list'], { cwd: outside });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^git-rollback: not a git repository/);
  });

  it('a repository with no commits: exit 2 naming the fix', async () => {
    const r = repo({ empty: true });
    const res = await cli(r, ['point']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no commits yet\nhint: make a first commit/);
  });

  it('a bare repository: exit 2', async () => {
    const r = repo();
    const bare = join(r.home, 'bare.git');
    execFileSync('git', ['clone', '-q', '--bare', r.dir, bare], { env: r.env });
    const res = await cli(r, ['list'], { cwd: bare });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /bare repository/);
  });

  it('linked worktrees share points; the lock lives in the common git dir', async () => {
    const r = appRepo();
    await cli(r, ['point', 'from main', '--name', 'shared']);
    const wt = join(r.home, 'wt');
    r.git('worktree', 'add', '-q', wt, '-b', 'feature');
    const res = await cli(r, ['list', '--json'], { cwd: wt });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout).map((p: { tag: string }) => p.tag), ['rollback/shared']);
    const p2 = await cli(r, ['point', 'from worktree', '--name', 'wt'], { cwd: wt });
    assert.equal(p2.code, 0, p2.stderr);
    assert.equal(r.git('tag', '-l', 'rollback/wt'), 'rollback/wt');
    const to = await cli(r, ['to', 'shared', '--yes'], { cwd: wt });
    assert.equal(to.code, 0, to.stderr);
    assert.equal(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: wt, encoding: 'utf8' }).trim(), r.git('rev-parse', 'rollback/shared^{commit}'));
    assert.equal(r.git('symbolic-ref', '--short', 'HEAD'), 'main', 'the main worktree is untouched');
    fsck(r);
  });

  it('an invalid config names the file, the key and what is expected (exit 2)', async () => {
    const cases: [string, RegExp][] = [
      ['config: 5\n', /\.rollbackrc\.yaml: config: expected a list of file paths or globs, got 5/],
      ['confg: [".env"]\n', /\.rollbackrc\.yaml: confg: unknown setting \(did you mean "config"\?\)/],
      ['databases:\n  main: { engine: oracle }\n', /databases\.main\.engine: expected one of sqlite, postgres, mysql, redis, command, got "oracle"/],
      ['config: [".env"\n', /\.rollbackrc\.yaml: cannot parse it \(line \d+, column \d+\): unexpected end of the stream within a flow collection$/m],
      ['retention: { keepWithin: "forever" }\n', /retention\.keepWithin: expected a duration/],
    ];
    for (const [text, re] of cases) {
      const r = repo();
      r.write('.rollbackrc.yaml', text);
      const res = await cli(r, ['point']);
      assert.equal(res.code, 2, text);
      assert.match(res.stderr, re);
      assert.equal(res.stderr.trim().split('\n').length, 2, 'one line and a hint');
      assert.equal(r.git('tag', '-l'), '');
    }
  });
});

describe('help and version', () => {
  it('--help, --version and command help with the Chinese example', async () => {
    const r = repo();
    const help = await cli(r, ['--help']);
    assert.equal(help.code, 0);
    for (const c of ['point', 'list', 'show', 'to', 'undo', 'delete', 'protect', 'init']) assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`));
    const v = await cli(r, ['--version']);
    assert.match(v.stdout, /^\d+\.\d+\.\d+/);
    const ph = await cli(r, ['point', '--help']);
    assert.match(ph.stdout, /git rollback point "AI服务集成完成"/);
    const unknown = await cli(r, ['pointt']);
    assert.equal(unknown.code, 2);
  });
});
