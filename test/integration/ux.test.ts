// What a user sees: help and the command overview, the config checked at load
// (file, key, expectation; no credentials needed to read), zh-CN, tables that
// fit the terminal, list marks and folds, hooks around points, adopt,
// previous-release, init on real compose files, shell completion.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, cli, fsck, makeRepo, ROOT, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));
function repo(options?: Parameters<typeof makeRepo>[0]): Repo {
  const r = makeRepo(options);
  repos.push(r);
  return r;
}

async function ok(r: Repo, args: string[], env: Record<string, string> = {}) {
  const res = await cli(r, args, { env });
  assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
  return res;
}

const displayWidth = (s: string) => [...s].reduce((n, ch) => n + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1), 0);
const zh = { LANG: 'zh_CN.UTF-8', LC_ALL: '' };

function assertFits(text: string, columns: number, what: string) {
  for (const line of text.split('\n')) assert.ok(displayWidth(line) <= columns, `${what}: ${displayWidth(line)} > ${columns}: ${line}`);
}

describe('help', () => {
  it('git rollback alone prints the command overview and exits 0; -h points to the manual, not docs/commands.md', async () => {
    const r = repo();
    const res = await cli(r, []);
    assert.equal(res.code, 0, res.stderr);
    for (const c of ['point', 'release', 'list (ls)', 'show', 'status', 'diff', 'to', 'undo', 'deploy', 'delete', 'protect', 'unprotect', 'prune', 'verify', 'log', 'report', 'push', 'fetch', 'adopt', 'init', 'completion']) {
      assert.ok(res.stdout.includes(`\n  ${c} `), c);
    }
    assert.doesNotMatch(res.stdout, /__complete/);
    assert.doesNotMatch(res.stdout, /docs\/commands\.md/);
    assert.match(res.stdout, /git help rollback \(or man git-rollback\)/);
    assert.equal((await cli(r, ['-h'])).stdout, res.stdout);
    assert.equal((await cli(r, ['help'])).stdout, res.stdout);
    assert.match((await cli(r, ['help', 'to'])).stdout, /^git rollback to \[point\]/);
  });

  it('wraps at word boundaries to COLUMNS, never inside an example; CJK examples line up', async () => {
    const r = repo();
    for (const columns of [80, 60]) {
      for (const args of [['-h'], ['point', '-h'], ['to', '-h'], ['list', '-h'], ['release', '-h']]) {
        const res = await ok(r, args, { COLUMNS: String(columns) });
        assertFits(res.stdout.split('\n').filter((l) => !/^ {2,6}git rollback /.test(l)).join('\n'), columns, `${args.join(' ')} at ${columns}`);
        // Every word of the help is a whole word: a line never ends inside one.
        const words = new Set(res.stdout.split(/\s+/));
        for (const w of ['with', 'snapshot', 'uncommitted']) assert.ok(![...words].some((x) => x.length > 1 && w.startsWith(x) && x !== w && w.length > x.length && res.stdout.includes(`${x}\n`)), `${w} split`);
      }
    }
    const point = await ok(r, ['point', '-h'], { COLUMNS: '50' });
    for (const ex of ['git rollback point "AI服务集成完成"', 'git rollback point "before migration 42" --name pre-m42', 'git rollback point -u']) {
      assert.ok(point.stdout.split('\n').some((l) => l.trim() === ex), `example kept whole: ${ex}`);
    }
    // The overview's examples side by side: descriptions start at one display column, CJK included.
    const overview = (await ok(r, [], { COLUMNS: '100' })).stdout.split('\n');
    const start = overview.findIndex((l) => /^Examples:/.test(l));
    const rows = overview.slice(start + 1, start + 4);
    const col = (l: string) => displayWidth(l.slice(0, l.search(/ {2}[a-z(]/) + 2)) + (l.slice(l.search(/ {2}[a-z(]/) + 2).match(/^ */)?.[0].length ?? 0);
    assert.match(rows[0] ?? '', /"AI服务集成完成"/);
    assert.equal(col(rows[0] ?? ''), col(rows[1] ?? ''), rows.join('\n'));
  });

  it('is in Chinese under a zh_CN locale, and --lang wins', async () => {
    const r = repo();
    const res = await ok(r, ['to', '-h'], { ...zh, COLUMNS: '80' });
    assert.match(res.stdout, /^git rollback to \[point\] \[选项\]\n/);
    assert.match(res.stdout, /\n选项：\n/);
    assert.match(res.stdout, /只打印计划，不做任何改动/);
    assertFits(res.stdout.split('\n').filter((l) => !/^ {2,6}git rollback /.test(l)).join('\n'), 80, 'zh help');
    assert.match((await ok(r, ['to', '-h', '--lang', 'en'], zh)).stdout, /Print the plan and change nothing/);
    const bad = await cli(r, ['list', '--lang', 'fr']);
    assert.equal(bad.code, 2);
  });

  it('the man page lists every command in its synopsis', () => {
    const man = readFileSync(join(ROOT, 'man', 'git-rollback.1'), 'utf8');
    const synopsis = man.slice(man.indexOf('.SH SYNOPSIS'), man.indexOf('.SH DESCRIPTION'));
    for (const c of ['point', 'release', 'list', 'show', 'status', 'diff', 'to', 'undo', 'deploy', 'delete', 'protect', 'unprotect', 'prune', 'verify', 'log', 'report', 'push', 'fetch', 'adopt', 'init', 'completion']) {
      assert.match(synopsis, new RegExp(`\\\\fB(git rollback )?${c}\\\\fR`), c);
    }
    // git rollback --help opens it: at 80 columns it fits too.
    const shown = spawnSync('man', ['-l', join(ROOT, 'man', 'git-rollback.1')], { env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' }, encoding: 'utf8' });
    if (shown.status === 0) assertFits(shown.stdout, 80, 'man page');
  });
});

describe('config checked at load', () => {
  it('a typo inside a database entry stops list and status too, naming the file, the key and the fix', async () => {
    const r = repo({ files: { '.rollbackrc.yaml': 'databases:\n  local: { engine: sqlite, pth: data/app.db }\n' } });
    for (const cmd of [['list'], ['status'], ['point'], ['log']]) {
      const res = await cli(r, cmd);
      assert.equal(res.code, 2, cmd.join(' '));
      assert.equal(res.stderr, 'git-rollback: .rollbackrc.yaml: databases.local.pth: unknown key for engine sqlite (did you mean "path"?)\nhint: fix .rollbackrc.yaml (1 more problem after this one); every setting: git help rollback (CONFIGURATION)\n');
    }
    const cn = await cli(r, ['list'], { env: zh });
    assert.match(cn.stderr, /^git-rollback：\.rollbackrc\.yaml：databases\.local\.pth：sqlite 引擎没有这个键（是不是 "path"？）\n提示：/);
  });

  it('read commands need no database credentials: ${VAR} is expanded when a database is used', async () => {
    const r = repo({ files: { '.rollbackrc.yaml': 'databases:\n  main: { engine: postgres, url: "${UX_TEST_UNSET_URL}" }\n' } });
    for (const cmd of [['list'], ['log'], ['status'], ['list', '--json']]) await ok(r, cmd);
    r.git('tag', '-a', '-m', 'x', 'rollback/x');
    await ok(r, ['show', 'x']);
    const point = await cli(r, ['point']);
    assert.equal(point.code, 2);
    assert.match(point.stderr, /^git-rollback: \.rollbackrc\.yaml: databases\.main\.url: environment variable UX_TEST_UNSET_URL is not set\nhint: export UX_TEST_UNSET_URL=… before running git-rollback\n$/);
  });

  it('a YAML syntax error keeps the reason, line and column', async () => {
    const r = repo({ files: { '.rollbackrc.yaml': 'config:\n  - .env\n paths: [x]\n' } });
    const res = await cli(r, ['list']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^git-rollback: \.rollbackrc\.yaml: cannot parse it \(line 3, column 2\): bad indentation of a mapping entry\nhint: fix the syntax/);
  });
});

describe('init', () => {
  it('reads compose files with a YAML parser (4-space indents, flow style) and says to commit the config', async () => {
    const r = repo({
      files: {
        'docker-compose.yml': 'version: "3"\nservices:\n    db:\n        image: "postgres:15"\n    cache: { image: redis:7-alpine }\n    web:\n        build: .\n',
        'deploy/compose.prod.yaml': 'services:\n  maria:\n    image: mariadb:10.11\n',
        'broken/docker-compose.yml': 'services:\n  - [\n',
      },
    });
    const res = await ok(r, ['init']);
    assert.match(res.stdout, /3 database services in compose files \(maria: mysql, db: postgres, cache: redis\)/);
    assert.match(res.stdout, /Commit it so every checkout and teammate uses the same settings: git add \.rollbackrc\.yaml && git commit/);
    assert.match(res.stderr, /warning: broken\/docker-compose\.yml: not read as a compose file: /);
    const text = readFileSync(join(r.dir, '.rollbackrc.yaml'), 'utf8');
    assert.match(text, /^# .*\n# yaml-language-server: \$schema=https:\/\/unpkg\.com\/@git-rollback\/cli\/rollback\.schema\.json\n/);
    assert.match(text, /#  db: \{ engine: postgres, url: "\$\{DATABASE_URL\}" \}   # postgres:15 in docker-compose\.yml/);
    await ok(r, ['list']);
  });
});

describe('zh-CN', () => {
  it('tables, plans, results and errors in Chinese; JSON the same in both languages', async () => {
    const r = repo({ files: { 'app.py': '1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
    r.write('.env', 'A=1\n');
    await ok(r, ['point', '上线前', '--name', 'p1']);
    r.write('app.py', '2\n');
    r.commit('two');
    const list = await ok(r, ['list'], zh);
    assert.match(list.stdout, /^回滚点 +种类 +创建时间 +提交 +分支 +描述 +快照\n/, 'no mark column when nothing is marked');
    assert.match(list.stdout, /rollback\/p1 +回滚点 +\S+ \S+ \(刚刚\) +[0-9a-f]{8} +main +上线前 +1 个配置，4 B/);
    assert.equal((await ok(r, ['list', '--json'], zh)).stdout, (await ok(r, ['list', '--json'])).stdout);
    const plan = await ok(r, ['to', 'p1', '--dry-run'], zh);
    assert.match(plan.stdout, /^回滚到 rollback\/p1（[0-9a-f]{12}，方式 checkout）的计划：\n 1\. 校验回滚点和服务器（此时不做任何改动）\n/);
    assert.match(plan.stdout, /演练：没有做任何改动。\n$/);
    const plainIds = (text: string) => text.replace(/backup\/\d{8}-\d{6}/g, 'backup/ID');
    assert.equal(plainIds((await ok(r, ['to', 'p1', '--dry-run', '--json'], zh)).stdout), plainIds((await ok(r, ['to', 'p1', '--dry-run', '--json'])).stdout));
    const done = await ok(r, ['to', 'p1', '--yes'], zh);
    assert.match(done.stdout, /^已回滚到 rollback\/p1（[0-9a-f]{12}），用时 [\d.]+ m?s。\n之前的状态已保存为 backup\/\S+；要回去：git rollback undo\n$/);
    assert.match(done.stderr, /✓ 保存当前状态以便撤销（备份 backup\/\S+） \(/);
    assert.match(done.stderr, /✓ 记录备份 backup\/\S+ 和事件 \(/);
    const unknown = await cli(r, ['show', 'nope'], { env: zh });
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /^git-rollback：未知的回滚点 "nope"\n提示：列出回滚点：git rollback list\n$/);
    const noTerminal = await cli(r, ['to'], { env: zh });
    assert.equal(noTerminal.code, 2);
    assert.match(noTerminal.stderr, /^git-rollback：请指定要回滚到的回滚点\n提示：git rollback list 可以列出它们/);
    const report = await ok(r, ['report'], zh);
    assert.match(report.stdout, /^# 事故报告：回滚到 rollback\/p1\n/);
    assert.match(report.stdout, /\| 1 \| [\d:]+ \+00:00 \| 保存当前状态以便撤销（备份 backup\/\S+） \|/);
    const log = JSON.parse((await ok(r, ['log', '--json'], zh)).stdout);
    assert.equal(log[0].type, 'rollback', 'the event log stays language-neutral');
    fsck(r);
  });
});

describe('tables fit the terminal', () => {
  it('list and log fit COLUMNS=80; backups fold into one line; HEAD and the undo target are marked', async () => {
    const r = repo({ files: { 'app.py': '1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
    r.write('.env', 'A=1\n');
    await ok(r, ['point', 'AI服务集成完成，支付网关切换到新的供应商，需要回滚演练', '--name', 'p1']);
    r.write('app.py', '2\n');
    r.commit('two');
    await ok(r, ['point', 'second point with a long English description that goes on and on', '--name', 'p2']);
    await ok(r, ['to', 'p1', '--yes', '--reason', '支付接口超时，回滚到上一个稳定版本（INC-142）']);
    await ok(r, ['undo', '--yes']);
    await ok(r, ['to', 'p1', '--yes']);
    for (const columns of [80, 60]) {
      const env = { COLUMNS: String(columns) };
      assertFits((await ok(r, ['list'], env)).stdout, columns, `list at ${columns}`);
      assertFits((await ok(r, ['log'], env)).stdout, columns, `log at ${columns}`);
      assertFits((await ok(r, ['list'], { ...env, ...zh })).stdout, columns, `zh list at ${columns}`);
      assertFits((await ok(r, ['log'], { ...env, ...zh })).stdout, columns, `zh log at ${columns}`);
      // A plan wraps at words under its own indent; piped without COLUMNS it stays whole (below).
      assertFits((await ok(r, ['to', 'p2', '--dry-run'], env)).stdout, columns, `plan at ${columns}`);
      assertFits((await ok(r, ['to', 'p2', '--dry-run'], { ...env, ...zh })).stdout, columns, `zh plan at ${columns}`);
    }
    const whole = (await ok(r, ['to', 'p2', '--dry-run'])).stdout;
    const narrow = (await ok(r, ['to', 'p2', '--dry-run'], { COLUMNS: '40' })).stdout;
    assert.ok(whole.split('\n').some((l) => displayWidth(l) > 40), 'piped with no COLUMNS, plan lines are not cut');
    assert.ok(narrow.split('\n').length > whole.split('\n').length, 'at 40 columns the same plan wraps');
    const words = (text: string) => text.replace(/\d{8}[-_]\d{6}(?:-\d+)?/g, 'ID').replace(/\s+/g, ' ');
    assert.equal(words(narrow), words(whole), 'wrapping only moves words to new lines');
    const list = (await ok(r, ['list'], { COLUMNS: '80' })).stdout.split('\n');
    assert.match(list[0] ?? '', /^ {3}POINT +(KIND +)?CREATED +DESCRIPTION/);
    const undoRow = list.find((l) => l.startsWith('u '));
    assert.match(undoRow ?? '', /^u  backup\//, 'the backup undo returns to is shown');
    assert.match(list.find((l) => l.startsWith('*')) ?? '', /^\*  rollback\/p1 /);
    assert.match(list.join('\n'), /\n\+ 2 automatic backups \(newest just now\): git rollback list --all\n/);
    assert.match(list.join('\n'), /…/, 'long descriptions are cut');
    const all = await ok(r, ['list', '--all', '--wide']);
    assert.equal((all.stdout.match(/^[u* ]* backup\//gm) ?? []).length, 3);
    assert.match(all.stdout, /支付网关切换到新的供应商，需要回滚演练|AI服务集成完成，支付网关/);
    const wide = await ok(r, ['log', '--wide'], { COLUMNS: '80' });
    assert.match(wide.stdout, /DETAILS/);
    // Piped output with no COLUMNS is never cut.
    assert.match((await ok(r, ['list', '--kind', 'point'])).stdout, /second point with a long English description that goes on and on/);
    assert.match((await ok(r, ['list', '--kind', 'backup'])).stdout, /backup\/.*\n.*backup\/.*\n.*backup\//);
    // The result of a rollback wraps like its plan.
    assertFits((await ok(r, ['to', 'p2', '--yes'], { COLUMNS: '40' })).stdout, 40, 'to result at 40');
    assertFits((await ok(r, ['undo', '--yes'], { COLUMNS: '40', ...zh })).stdout, 40, 'zh undo result at 40');
  });
});

describe('rollback targets', () => {
  it('to <point> -- <path> is refused, changing nothing', async () => {
    const r = repo({ files: { 'src/app.js': '1\n' } });
    await ok(r, ['point', '--name', 'v1']);
    r.write('src/app.js', '2\n');
    r.commit('two');
    const before = r.git('for-each-ref');
    const res = await cli(r, ['to', 'v1', '--yes', '--', 'src/app.js']);
    assert.equal(res.code, 2);
    assert.equal(res.stderr, 'git-rollback: a rollback restores whole points, not single files: src/app.js\nhint: for one tracked file: git checkout v1 -- src/app.js; for config files only: git rollback to v1 --only config\n');
    assert.equal(r.git('for-each-ref'), before);
    assert.equal(readFileSync(join(r.dir, 'src/app.js'), 'utf8'), '2\n');
  });

  it('adopt turns plain version tags into code-only releases that to and previous-release use', async () => {
    const r = repo({ files: { 'app.py': '0.6\n' } });
    r.git('tag', '-a', '-m', 'old release 0.6.2', 'v0.6.2');
    r.write('app.py', '0.7\n');
    r.commit('0.7');
    r.git('tag', 'v0.7.0');
    r.write('app.py', '0.8\n');
    r.commit('0.8');
    const refused = await cli(r, ['to', 'v0.7.0', '--dry-run']);
    assert.equal(refused.code, 3);
    assert.equal(refused.stderr, 'git-rollback: v0.7.0 is a git tag, not a release point\nhint: adopt it as a code-only release first: git rollback adopt v0.7.0\n');
    const dry = await ok(r, ['adopt', '--all', '--dry-run']);
    assert.match(dry.stdout, /^would adopt v0\.6\.2 as release\/v0\.6\.2 \([0-9a-f]{12}\)\nwould adopt v0\.7\.0 as release\/v0\.7\.0/);
    assert.equal(r.git('tag', '-l', 'release/*'), '');
    const res = await ok(r, ['adopt', 'v0.7.0', 'v0.6.2']);
    assert.match(res.stdout, /^adopted v0\.6\.2 as release\/v0\.6\.2 .*\nadopted v0\.7\.0 as release\/v0\.7\.0 .*\nThese releases are code only/);
    assert.match((await ok(r, ['adopt', 'v0.7.0'])).stdout, /^v0\.7\.0: already a release \(release\/v0\.7\.0\)\n$/);
    assert.equal(r.git('rev-parse', 'release/v0.7.0^{commit}'), r.git('rev-parse', 'v0.7.0^{commit}'));
    const releases = JSON.parse((await ok(r, ['list', '--kind', 'release', '--json'])).stdout);
    assert.deepEqual(releases.map((p: { tag: string; snapshot: unknown }) => [p.tag, p.snapshot]), [['release/v0.7.0', null], ['release/v0.6.2', null]]);
    assert.equal(releases[1].description, 'old release 0.6.2');
    assert.match((await ok(r, ['to', 'previous-release', '--dry-run'])).stdout, /^Plan for rollback to release\/v0\.6\.2 /);
    await ok(r, ['to', 'v0.7.0', '--yes']);
    assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), '0.7\n');
    assert.match((await ok(r, ['log', '--type', 'adopt', '--json'])).stdout, /"release\/v0\.6\.2 release\/v0\.7\.0"/);
    const bad = await cli(r, ['adopt', 'main']);
    assert.equal(bad.code, 2);
    fsck(r);
  });

  it('previous-release skips pre-releases; previous-prerelease does not', async () => {
    const r = repo();
    await ok(r, ['release', '0.8.0']);
    r.commit('rc');
    await ok(r, ['release', '0.9.0-rc.1']);
    r.commit('final');
    await ok(r, ['release', '0.9.0']);
    assert.match((await ok(r, ['to', 'previous-release', '--dry-run'])).stdout, /^Plan for rollback to release\/v0\.8\.0 /);
    assert.match((await ok(r, ['to', 'release~1', '--dry-run'])).stdout, /^Plan for rollback to release\/v0\.8\.0 /);
    assert.match((await ok(r, ['to', 'previous-prerelease', '--dry-run'])).stdout, /^Plan for rollback to release\/v0\.9\.0-rc\.1 /);
    const none = await cli(r, ['to', 'release~2', '--dry-run']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /there is no release 2 before the latest \(3 releases, 1 of them pre-releases/);
  });
});

describe('hooks around a point', () => {
  it('beforePoint runs before the dumps and afterPoint after them, also when the point fails', async () => {
    const r = repo({ files: { '.gitignore': 'data.txt\n' } });
    r.write('data.txt', 'rows\n');
    const log = join(r.home, 'hooks.log');
    r.write(
      '.rollbackrc.yaml',
      [
        'databases:',
        // The dump only works while beforePoint's marker exists: proof of the order.
        `  store: { engine: command, dump: "test -e '${log}' && cat data.txt", restore: "cat > data.txt" }`,
        'hooks:',
        `  beforePoint: 'echo "before $ROLLBACK_HOOK $ROLLBACK_POINT $ROLLBACK_KIND $ROLLBACK_DATABASES" >> "${log}"'`,
        `  afterPoint: 'echo "after $ROLLBACK_OUTCOME $ROLLBACK_POINT" >> "${log}"'`,
        '',
      ].join('\n'),
    );
    r.commit('config');
    await ok(r, ['point', '--name', 'p1']);
    assert.equal(readFileSync(log, 'utf8'), 'before beforePoint rollback/p1 point store\nafter ok rollback/p1\n');
    r.write('.rollbackrc.yaml', readFileSync(join(r.dir, '.rollbackrc.yaml'), 'utf8').replace("cat data.txt", 'exit 3'));
    const failed = await cli(r, ['point', '--name', 'p2']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(readFileSync(log, 'utf8'), /after failed rollback\/p2\n$/);
    assert.equal(r.git('tag', '-l', 'rollback/p2'), '', 'nothing recorded');
  });

  it('a failing afterPoint after a good snapshot keeps the point and says so (exit 1)', async () => {
    const r = repo({ files: { '.rollbackrc.yaml': 'hooks: { afterPoint: "echo server did not start >&2; exit 4" }\n' } });
    const res = await cli(r, ['point', '--name', 'p']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /^git-rollback: point rollback\/p was made, but hook afterPoint \(`echo server did not start >&2; exit 4`\) exited 4: server did not start\n/);
    assert.equal(r.git('tag', '-l', 'rollback/p'), 'rollback/p');
  });
});

describe('quiet', () => {
  it('-q keeps results and drops step lines and the plan from stderr', async () => {
    const r = repo({ files: { 'a.txt': '1\n' } });
    await ok(r, ['point', '--name', 'p']);
    r.commit('two');
    const res = await ok(r, ['to', 'p', '--yes', '-q']);
    assert.equal(res.stderr, '');
    assert.match(res.stdout, /^Rolled back to rollback\/p /);
  });
});

describe('shell completion', () => {
  it('with git\'s bash completion, git rollback <TAB> completes commands, flags, values and point names', async () => {
    // Debian's git package ships it; the README names git as a requirement.
    const gitCompletion = '/usr/share/bash-completion/completions/git';
    assert.ok(existsSync(gitCompletion), `${gitCompletion} is missing: install the git package`);
    const r = repo();
    await ok(r, ['point', '--name', 'before-deploy']);
    await ok(r, ['release', '0.1.0']);
    // git finds `git-rollback` on PATH, as after npm link.
    const bin = join(r.home, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'git-rollback'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'git-rollback'), 0o755);
    const env = { ...r.env, PATH: `${bin}:${r.env.PATH}` };
    const script = (await ok(r, ['completion', 'bash'])).stdout;
    writeFileSync(join(r.home, 'rollback-completion.bash'), script);
    const complete = (line: string) => {
      const program = [
        `source ${gitCompletion}`,
        `source ${join(r.home, 'rollback-completion.bash')}`,
        'fn=$(complete -p git | sed -n "s/.*-F \\([^ ]*\\) git$/\\1/p")',
        `COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}`,
        'read -ra COMP_WORDS <<< "$COMP_LINE"',
        '[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")',
        'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
        '"$fn" git "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
        'printf "%s\\n" "${COMPREPLY[@]}" | sed "s/ *$//" | sort',
      ].join('\n');
      const res = spawnSync('bash', ['-c', program], { cwd: r.dir, env, encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      return res.stdout.trim().split('\n').filter(Boolean);
    };
    const commands = complete('git rollback ');
    for (const c of ['point', 'list', 'to', 'undo', 'adopt', 'completion']) assert.ok(commands.includes(c), `${c} in ${commands.join(' ')}`);
    assert.ok(!commands.includes('__complete'));
    assert.deepEqual(complete('git rollback u'), ['undo', 'unprotect']);
    assert.ok(complete('git rollback to ').includes('rollback/before-deploy'));
    assert.ok(complete('git rollback to ').includes('previous-release'));
    assert.deepEqual(complete('git rollback to before'), ['before-deploy']);
    assert.deepEqual(complete('git rollback list --ki'), ['--kind']);
    assert.deepEqual(complete('git rollback list --kind '), ['backup', 'deploy', 'point', 'release']);
    assert.deepEqual(complete('git rollback to x --mode r'), ['reset', 'revert']);
    assert.ok(complete('git rollback to --dr').includes('--dry-run'));
    // The standalone command completes the same way.
    const standalone = spawnSync('bash', ['-c', `source ${join(r.home, 'rollback-completion.bash')}; complete -p git-rollback`], { env, encoding: 'utf8' });
    assert.match(standalone.stdout, /-F _git_rollback_standalone git-rollback/);
    const zshScript = (await ok(r, ['completion', 'zsh'])).stdout;
    assert.match(zshScript, /^#compdef git-rollback\n/);
    assert.match(zshScript, /_git-rollback \(\) \{/);
    if (spawnSync('zsh', ['--version']).status === 0) {
      const check = spawnSync('zsh', ['-n', '-c', zshScript], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
    }
    const syntax = spawnSync('bash', ['-n', '-c', script], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    execFileSync('true');
  });
});
