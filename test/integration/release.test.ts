// Releases end to end: versions, notes, --at, the version history, resolving
// releases in `to`, and every refusal (exit code, one message line, nothing changed).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, fsck, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
function appRepo(): Repo {
  const r = makeRepo({ files: { 'app.py': 'print("v1")\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
  r.write('.env', 'API_KEY=one\n', 0o600);
  repos.push(r);
  return r;
}
after(() => repos.forEach((r) => r.cleanup()));

/** Everything a refusal must leave as it was: refs and the event log. */
function state(r: Repo): string {
  return r.git('for-each-ref', '--format=%(refname) %(objectname)');
}

async function ok(r: Repo, args: string[]) {
  const res = await cli(r, args);
  assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
  return res;
}

/** A refusal: the exit code, one message line (plus a hint), and no change. */
async function refused(r: Repo, args: string[], code: number, message: RegExp) {
  const before = state(r);
  const res = await cli(r, args);
  assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
  const lines = res.stderr.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^git-rollback: /);
  assert.match(lines[0] ?? '', message);
  assert.ok(lines.length <= 2 && (lines.length === 1 || /^hint: /.test(lines[1] ?? '')), res.stderr);
  assert.equal(res.stdout, '');
  assert.equal(state(r), before, 'refs changed');
  return res;
}

describe('release', () => {
  it('makes release tags with snapshots, change types and grouped notes', async () => {
    const r = appRepo();
    const first = await ok(r, ['release', 'minor']);
    assert.match(first.stdout, /^Made release release\/v0\.1\.0 \(first release; 1 commit\)/);
    r.write('app.py', 'print("v2")\n');
    r.commit('fix(payment): 支付接口超时重试');
    r.commit('feat!: 删除旧接口');
    r.commit('docs: 说明');
    const res = await ok(r, ['release', 'patch', '--reason', '周五发布']);
    assert.match(res.stdout, /Made release release\/v0\.1\.1 \(patch after 0\.1\.0; 3 commits\)/);
    assert.match(res.stderr, /warning: 1 commit since 0\.1\.0 is marked breaking, but 0\.1\.1 is a patch release/);
    assert.equal(r.git('cat-file', '-t', 'release/v0.1.1'), 'tag');
    const message = r.git('tag', '-l', '--format=%(contents)', 'release/v0.1.1');
    assert.match(message, /^Release 0\.1\.1 \(patch after 0\.1\.0\)\n\n## Breaking changes\n- feat!: 删除旧接口 \([0-9a-f]{7}\)\n\n## Bug fixes\n- payment: 支付接口超时重试 \([0-9a-f]{7}\)\n\n## Documentation\n- 说明 /);
    assert.match(message, /Rollback-Version: 0\.1\.1/);
    const note = JSON.parse(r.git('notes', '--ref=rollback', 'show', r.git('rev-parse', 'release/v0.1.1')));
    assert.deepEqual(note.release, { version: '0.1.1', previous: '0.1.0', change: 'patch' });
    assert.equal(note.snapshot.config[0].path, '.env');
    assert.ok(r.git('rev-parse', 'refs/rollback/snapshots/release/0.1.1'));
    const log = JSON.parse((await ok(r, ['log', '--json'])).stdout);
    assert.equal(log[0].type, 'release');
    assert.equal(log[0].reason, '周五发布');
    assert.equal(log[0].target, 'release/v0.1.1');

    const beta = await ok(r, ['release', 'prerelease', '--preid', 'beta', '-m', '测试版']);
    assert.match(beta.stdout, /release\/v0\.1\.2-beta\.0 \(prepatch after 0\.1\.1; 0 commits\)/);
    assert.equal(r.git('tag', '-l', '--format=%(contents:subject)', 'release/v0.1.2-beta.0'), '测试版');

    const table = (await ok(r, ['list', '--kind', 'release'])).stdout.trimEnd().split('\n');
    assert.match(table[0] ?? '', /^RELEASE +VERSION +CHANGE +DATE +COMMIT +DESCRIPTION +SNAPSHOT$/);
    assert.match(table[1] ?? '', /^release\/v0\.1\.2-beta\.0 +0\.1\.2-beta\.0 +prepatch .* 测试版 +1 config/);
    assert.match(table[2] ?? '', /^release\/v0\.1\.1 +0\.1\.1 +patch /);
    assert.match(table[3] ?? '', /^release\/v0\.1\.0 +0\.1\.0 +initial /);
    fsck(r);
  });

  it('takes notes from a file, and releases another commit code only with --at', async () => {
    const r = appRepo();
    await ok(r, ['release', '0.8.0']);
    const older = r.commit('修复');
    r.commit('more');
    writeFileSync(join(r.home, 'notes.md'), '# 0.8.1 发布说明\n\n- 修复登录\n');
    const res = await ok(r, ['release', 'patch', '--at', 'HEAD~1', '--notes', join(r.home, 'notes.md')]);
    assert.match(res.stdout, /code only +tags [0-9a-f]{12} \(--at HEAD~1\), not HEAD: no snapshot was taken/);
    assert.match(res.stdout, /snapshot +none \(code only\)/);
    assert.equal(r.git('rev-parse', 'release/v0.8.1^{commit}'), older);
    assert.equal(r.git('for-each-ref', 'refs/rollback/snapshots/release/0.8.1'), '');
    assert.match(r.git('tag', '-l', '--format=%(contents)', 'release/v0.8.1'), /^# 0\.8\.1 发布说明\n\n- 修复登录\n/);
    const json = JSON.parse((await ok(r, ['release', '0.9.0', '--json'])).stdout);
    assert.equal(json.tag, 'release/v0.9.0');
    assert.equal(json.change, 'minor');
    assert.equal(json.previous, '0.8.1');
    assert.equal(json.codeOnly, false);
    const lower = await ok(r, ['release', '0.8.2', '--allow-lower', '-m', 'hotfix']);
    assert.match(lower.stdout, /\(patch after 0\.8\.1; /);
    assert.match(lower.stdout, /lower than the latest release 0\.9\.0 \(--allow-lower\)/);
    fsck(r);
  });

  it('refuses an existing, lower or invalid version, and bad options, changing nothing', async () => {
    const r = appRepo();
    await ok(r, ['release', '0.8.1']);
    await refused(r, ['release', '0.8.1'], 4, /release 0\.8\.1 already exists/);
    await refused(r, ['release', 'v0.8.1'], 4, /already exists/);
    await refused(r, ['release', '0.8.0'], 4, /0\.8\.0 is lower than the latest release 0\.8\.1/);
    await refused(r, ['release', 'banana'], 2, /invalid version "banana"/);
    await refused(r, ['release', '1.0'], 2, /invalid version "1\.0"/);
    await refused(r, ['release', '1.0.0+b1'], 2, /build metadata is not allowed/);
    await refused(r, ['release', 'major', '--preid', 'beta'], 2, /--preid goes with prerelease/);
    await refused(r, ['release', 'patch', '--at', 'no-such-branch'], 3, /--at no-such-branch: no such commit/);
    await refused(r, ['release', 'patch', '--notes', 'missing.md'], 3, /--notes missing\.md: cannot read the file/);
    await refused(r, ['release', 'patch', '-m', ''], 2, /the release notes are empty/);
    await refused(r, ['release', 'patch', '-m', 'x', '--notes', 'y'], 2, /mutually exclusive/);
    fsck(r);
  });

  it('resolves releases in `to`: tag, v-version, bare version, previous-release, release~N', async () => {
    const r = appRepo();
    await ok(r, ['release', '0.8.0']);
    r.commit('two');
    await ok(r, ['release', 'patch']);
    r.commit('three');
    await ok(r, ['release', 'patch']);
    for (const [spec, tag] of [
      ['release/v0.8.1', 'release/v0.8.1'],
      ['v0.8.1', 'release/v0.8.1'],
      ['0.8.1', 'release/v0.8.1'],
      ['previous-release', 'release/v0.8.1'],
      ['release~2', 'release/v0.8.0'],
    ]) {
      const res = await ok(r, ['to', spec as string, '--dry-run']);
      assert.match(res.stdout, new RegExp(`^Plan for rollback to ${(tag as string).replace(/[./]/g, '\\$&')} `), spec);
    }
    await refused(r, ['to', 'release~5', '--dry-run'], 3, /there is no release 5 before the latest \(3 releases\)/);
    const res = await ok(r, ['to', 'v0.8.1', '--yes', '--reason', '回滚']);
    assert.match(res.stdout, /Rolled back to release\/v0\.8\.1/);
    assert.equal(r.git('rev-parse', 'HEAD'), r.git('rev-parse', 'release/v0.8.1^{commit}'));
    fsck(r);
  });
});
