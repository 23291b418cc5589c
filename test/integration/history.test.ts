// The history views end to end: status, diff, log and report after releases
// with config and a SQLite database changing between them, and push/fetch
// through a bare remote.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, fsck, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));

const sql = (r: Repo, query: string) => execFileSync('sqlite3', [join(r.dir, 'data/app.db'), query], { encoding: 'utf8' }).trim();

async function ok(r: Repo, args: string[], options?: Parameters<typeof cli>[2]) {
  const res = await cli(r, args, options);
  assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
  return res;
}

function state(r: Repo): string {
  return r.git('for-each-ref', '--format=%(refname) %(objectname)');
}

async function refused(r: Repo, args: string[], code: number, message: RegExp) {
  const before = state(r);
  const res = await cli(r, args);
  assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
  const lines = res.stderr.trimEnd().split('\n');
  assert.match(lines[0] ?? '', message);
  assert.ok(lines.length <= 2 && (lines.length === 1 || /^hint: /.test(lines[1] ?? '')), res.stderr);
  assert.equal(state(r), before, 'refs changed');
}

/** Releases 0.8.0 → 0.8.1 → 0.8.2 with .env and data/app.db changing between them. */
async function shop(): Promise<Repo> {
  const r = makeRepo({
    files: {
      'src/app.ts': 'export const v = 1;\n',
      '.gitignore': '.env\ndata/\n',
      '.rollbackrc.yaml': 'config: [".env"]\ndatabases:\n  main: { engine: sqlite, path: data/app.db }\ncapture:\n  schema: "sqlite3 data/app.db .tables"\n',
    },
  });
  repos.push(r);
  mkdirSync(join(r.dir, 'data'));
  sql(r, "create table users(id integer primary key, name text); insert into users(name) values ('张三'),('李四');");
  r.write('.env', 'PAYMENT_TIMEOUT=30\nAPI_KEY=sk-live-1111\n', 0o600);
  await ok(r, ['release', '0.8.0']);
  r.write('src/app.ts', 'export const v = 2;\n');
  r.commit('fix(payment): 支付接口超时重试');
  sql(r, "insert into users(name) values ('王五');");
  r.write('.env', 'PAYMENT_TIMEOUT=60\nAPI_KEY=sk-live-1111\n');
  await ok(r, ['release', 'patch']);
  r.write('src/app.ts', 'export const v = 3;\nexport const coupons = true;\n');
  r.commit('feat(orders): 优惠券');
  sql(r, "create table coupons(code text); insert into coupons values ('SPRING'); insert into users(name) values ('赵六');");
  r.write('.env', 'PAYMENT_TIMEOUT=60\nAPI_KEY=sk-live-2222\nCOUPONS=on\n');
  // Written well before the release copies it: its times then prove "not written since" (see 'tells a SQLite write...').
  const before = new Date(Date.now() - 60_000);
  utimesSync(join(r.dir, 'data/app.db'), before, before);
  await ok(r, ['release', 'patch', '-m', '优惠券上线']);
  return r;
}

describe('history views', () => {
  it('status, diff, log and report around a rollback to the previous release', async () => {
    const r = await shop();

    let st = await ok(r, ['status']);
    assert.match(st.stdout, /^HEAD +on main at [0-9a-f]{12}\n/);
    assert.match(st.stdout, /\nRelease +release\/v0\.8\.2 \(exactly\)\n/);
    assert.match(st.stdout, /Drift +since the latest point release\/v0\.8\.2 /);
    assert.match(st.stdout, /config +unchanged \(1 file\)/);
    assert.match(st.stdout, /database +main \(sqlite\): unchanged/);
    assert.match(st.stdout, /In progress +nothing/);
    assert.match(st.stdout, /Undo +nothing to undo/);

    // Drift: a new commit, a changed .env and a written database.
    r.commit('chore: 依赖升级');
    r.write('.env', 'PAYMENT_TIMEOUT=90\nAPI_KEY=sk-live-2222\nCOUPONS=on\n');
    // Written within the second of the release: told by the file's identity recorded at the copy, not by its time.
    sql(r, "insert into users(name) values ('钱七');");
    st = await ok(r, ['status']);
    assert.match(st.stdout, /Release +release\/v0\.8\.2 \+ 1 commit\n/);
    assert.match(st.stdout, /config +~ \.env \(content changed, same size 51 B\)/);
    assert.match(st.stdout, /database +main \(sqlite\): changed — written /);
    const stJSON = JSON.parse((await ok(r, ['status', '--json'])).stdout);
    assert.deepEqual(stJSON.nearestRelease, { tag: 'release/v0.8.2', ahead: 1 });
    assert.equal(stJSON.drift.config.changed[0].path, '.env');

    // diff between two releases: commits, .env keys (no values), tables and rows, captures.
    const diff = await ok(r, ['diff', 'release/v0.8.1', 'release/v0.8.2']);
    assert.match(diff.stdout, /^release\/v0\.8\.1 \([0-9a-f]{12}\) → release\/v0\.8\.2 \([0-9a-f]{12}\)/);
    assert.match(diff.stdout, /Code: 1 commit added; 1 file changed, \+2 -1\n +[0-9a-f]{7} feat\(orders\): 优惠券/);
    assert.match(diff.stdout, /src\/app\.ts +\+2 -1/);
    assert.match(diff.stdout, /~ \.env +\d+ B → \d+ B; keys \+COUPONS ~API_KEY\n/);
    assert.doesNotMatch(diff.stdout, /sk-live/);
    assert.match(diff.stdout, /~ main \(sqlite\): changed, dump/);
    assert.match(diff.stdout, /tables added: coupons/);
    assert.match(diff.stdout, /users: 3 → 4 rows \(\+1\)/);
    assert.match(diff.stdout, /schema: changed\n +- users\n +\+ coupons +users/);
    const dj = JSON.parse((await ok(r, ['diff', 'v0.8.1', 'v0.8.2', '--json'])).stdout);
    assert.deepEqual(dj.config.changed[0].keys, { added: ['COUPONS'], removed: [], changed: ['API_KEY'] });
    assert.deepEqual(dj.databases[0].tables, { added: ['coupons'], removed: [], rows: [{ table: 'users', from: 3, to: 4 }] });
    assert.doesNotMatch(JSON.stringify(dj), /sk-live/);

    // diff against the current state.
    const cur = await ok(r, ['diff', 'latest']);
    assert.match(cur.stdout, /→ current state/);
    assert.match(cur.stdout, /~ \.env .*keys ~PAYMENT_TIMEOUT/);
    assert.match(cur.stdout, /chore: 依赖升级/);

    // The rollback, then status, log and report.
    const dry = await ok(r, ['to', 'release/v0.8.1', '--dry-run']);
    assert.match(dry.stdout, /Dry run: nothing was changed/);
    await ok(r, ['to', 'release/v0.8.1', '--yes', '--reason', '支付接口大量超时 (INC-142)']);
    assert.equal(sql(r, 'select count(*) from users'), '3');
    st = await ok(r, ['status']);
    assert.match(st.stdout, /HEAD +detached at /);
    assert.match(st.stdout, /Release +release\/v0\.8\.1 \(exactly\)/);
    assert.match(st.stdout, /Latest +release\/v0\.8\.2 is not in HEAD's history/);
    assert.match(st.stdout, /Drift +since the rollback to release\/v0\.8\.1 /);
    assert.match(st.stdout, /config +unchanged/);
    assert.match((await ok(r, ['status', '--deep'])).stdout, /database +main \(sqlite\): unchanged — a fresh dump holds the same data/);
    assert.match(st.stdout, /Undo +git rollback undo returns to backup\/\S+ \(the state before the rollback to release\/v0\.8\.1, /);

    const log = await ok(r, ['log']);
    const lines = log.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +TIME +EVENT +TARGET +OUTCOME +TOOK +BY +REASON +DETAILS$/);
    assert.match(lines[1] ?? '', /^[0-9a-f]{8} +\S+ \S+ +rollback +release\/v0\.8\.1 +ok +\d+(?:\.\d+)? m?s +Test User@\S+ +支付接口大量超时 \(INC-142\) +main@[0-9a-f]{8} → [0-9a-f]{8}, mode checkout, backup backup\/\S+, 2 commits undone$/);
    assert.match(lines[2] ?? '', / release +release\/v0\.8\.2 +ok /);
    assert.equal(lines.length, 5);
    const only = JSON.parse((await ok(r, ['log', '--type', 'release', '-n', '2', '--json'])).stdout);
    assert.deepEqual(only.map((e: { target: string }) => e.target), ['release/v0.8.2', 'release/v0.8.1']);
    assert.match(only[0].id, /^[0-9a-f]{40}$/);

    const report = await ok(r, ['report']);
    assert.match(report.stdout, /^# Incident report: rollback to release\/v0\.8\.1\n/);
    assert.match(report.stdout, /\| Reason \| 支付接口大量超时 \(INC-142\) \|/);
    assert.match(report.stdout, /\| From \| `main` at `[0-9a-f]{12}` \|/);
    assert.match(report.stdout, /\| Backup of the state before \| `backup\/\S+` — return to it with `git rollback undo` \|/);
    assert.match(report.stdout, /\| \d \| [\d:]+ \+00:00 \| swap in database main \| \d+(?:\.\d)? m?s \| ok \|/);
    assert.match(report.stdout, /## Commits undone \(2\)\n\n```\n[0-9a-f]{7} chore: 依赖升级\n[0-9a-f]{7} feat\(orders\): 优惠券\n```/);
    assert.match(report.stdout, /## Root cause\n\n_To be written\._/);
    assert.match(report.stdout, /## Follow-ups/);
    const id = (lines[1] ?? '').slice(0, 8);
    await ok(r, ['report', id, '-o', 'incident.md']);
    assert.equal(readFileSync(join(r.dir, 'incident.md'), 'utf8'), report.stdout);
    fsck(r);
  });

  it('tells a SQLite write by what the point recorded, and says "cannot tell" rather than "unchanged" when times prove nothing', async () => {
    const r = makeRepo({ files: { '.gitignore': 'data/\n', '.rollbackrc.yaml': 'databases:\n  main: { engine: sqlite, path: data/app.db }\n' } });
    repos.push(r);
    mkdirSync(join(r.dir, 'data'));
    const db = join(r.dir, 'data/app.db');
    sql(r, "create table t(id integer primary key, v text); insert into t(v) values ('a');");
    const dbState = async (): Promise<{ state: string; detail: string }> => {
      const st = JSON.parse((await ok(r, ['status', '--json'])).stdout) as { drift: { databases: Array<{ state: string; detail: string }> } };
      return st.drift.databases[0]!;
    };
    // A file whose times lie after the copy began (written during the copy, or
    // within the clock's granularity of it): the same size and times later prove
    // nothing. Dated ahead so the test does not race the clock.
    const ahead = new Date(Date.now() + 60_000);
    utimesSync(db, ahead, ahead);
    await ok(r, ['point', '--name', 'racy']);
    let d = await dbState();
    assert.equal(d.state, 'unknown', d.detail);
    assert.match(d.detail, /^cannot tell: last written .*too close to when the point copied it .*--deep/);
    const zh = await ok(r, ['status'], { env: { LANG: 'zh_CN.UTF-8', LC_ALL: '' } });
    assert.match(zh.stdout, /数据库 +main \(sqlite\): 不确定 — 无法判断/);
    const deep = JSON.parse((await ok(r, ['status', '--deep', '--json'])).stdout) as { drift: { databases: Array<{ state: string }> } };
    assert.equal(deep.drift.databases[0]!.state, 'same', '--deep compares the data');

    // Settled before the copy: proved unchanged, then any write shows at once.
    const past = new Date(Date.now() - 60_000);
    utimesSync(db, past, past);
    await ok(r, ['point', '--name', 'settled']);
    d = await dbState();
    assert.equal(d.state, 'same', d.detail);
    assert.match(d.detail, /^not written since then: the same file, size and times/);
    sql(r, "update t set v = 'b';");
    d = await dbState();
    assert.equal(d.state, 'changed', d.detail);
    assert.match(d.detail, /^written /);

    // After a rollback the file is a new one the point never saw: its times cannot
    // show a write made while the rollback ran, so status does not claim "unchanged".
    await ok(r, ['to', 'settled', '--yes']);
    assert.equal(sql(r, 'select v from t'), 'a');
    d = await dbState();
    assert.equal(d.state, 'unknown', d.detail);
    assert.match(d.detail, /the rollback replaced the file/);
  });

  it('a note of this clone with a damaged database list is passed over when a point looks for a dump to reuse', async () => {
    const r = makeRepo({ files: { '.gitignore': 'data/\n', '.rollbackrc.yaml': 'databases:\n  main: { engine: sqlite, path: data/app.db }\n' } });
    repos.push(r);
    mkdirSync(join(r.dir, 'data'));
    sql(r, "create table t(v text); insert into t values ('a');");
    await ok(r, ['point', '--name', 'p1']);
    const clone = readFileSync(join(r.dir, '.git/rollback/clone-id'), 'utf8').trim();
    const tag = r.git('rev-parse', 'rollback/p1').trim();
    for (const databases of ['5', '"main"', '[null, 7, {"name": 5}]']) {
      r.git('notes', '--ref=rollback', 'add', '-f', '-m', `{"clone": "${clone}", "snapshot": {"databases": ${databases}}}`, tag);
      const made = await cli(r, ['point', '--json']);
      assert.equal(made.code, 0, `${databases}: ${made.stderr}`);
    }
    assert.equal(sql(r, 'select v from t'), 'a');
  });

  it('refuses what it cannot show, changing nothing', async () => {
    const r = makeRepo();
    repos.push(r);
    assert.match((await ok(r, ['log'])).stdout, /^No events yet/);
    await refused(r, ['report'], 3, /^git-rollback: there is no rollback in the event log yet$/);
    await ok(r, ['point', '测试', '--name', 'a']);
    const id = r.git('rev-parse', '--short=8', 'refs/rollback/log');
    await refused(r, ['report', id], 2, /^git-rollback: event [0-9a-f]{8} is a point, not a rollback or undo$/);
    await refused(r, ['report', 'nothing-like-this'], 3, /no rollback event matches "nothing-like-this"/);
    await refused(r, ['diff', 'nope'], 3, /unknown point "nope"/);
    const bogus = await cli(r, ['log', '--type', 'bogus']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /^git-rollback: Invalid values:/);
    const st = await ok(r, ['status']);
    assert.match(st.stdout, /Release +no release in HEAD's history/);
    assert.match(st.stdout, /Drift +since the latest point rollback\/a /);
    fsck(r);
  });

  it('shows an interrupted rollback in status', async () => {
    const r = makeRepo({ files: { 'app.txt': 'v1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
    repos.push(r);
    r.write('.env', 'K=1\n');
    await ok(r, ['point', 'x', '--name', 'x']);
    r.write('app.txt', 'v2\n');
    r.commit('v2');
    const crashed = await cli(r, ['to', 'x', '--yes'], { env: { ROLLBACK_TEST_CRASH: 'files:after' } });
    assert.notEqual(crashed.code, 0);
    const st = await ok(r, ['status']);
    assert.match(st.stdout, /In progress +rollback to rollback\/x was interrupted \(started \S+, pid \d+ is gone\)/);
    assert.match(st.stdout, /where things are: code at the target; files part-way/);
    assert.match(st.stdout, /left over: folder \S+stage-\S+/);
    assert.match(st.stdout, /finish it: git rollback to --continue, or put it back: git rollback to --abort/);
    const json = JSON.parse((await ok(r, ['status', '--json'])).stdout);
    assert.equal(json.inProgress.running, false);
    assert.equal(json.inProgress.steps.find((s: { id: string }) => s.id === 'files').state, 'running');
  });
});

describe('push and fetch', () => {
  it('share points, notes, snapshots and the event log through a bare remote; logs of both sides are joined', async () => {
    const a = makeRepo({ files: { 'app.py': '1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
    repos.push(a);
    a.write('.env', 'K=1\n');
    const bare = join(a.home, 'remote.git');
    execFileSync('git', ['init', '-q', '--bare', bare], { env: a.env });
    a.git('remote', 'add', 'origin', bare);
    a.git('push', '-q', 'origin', 'main');
    await ok(a, ['release', '0.1.0']);
    await ok(a, ['point', '上线前', '--name', 'before']);
    const pushed = await ok(a, ['push', '--allow-clear']);
    assert.match(pushed.stdout, /^Pushed to origin: \d+ new, 0 updated, 0 already there\.\n  new points: /);
    assert.ok(execFileSync('git', ['--git-dir', bare, 'rev-parse', 'refs/rollback/log'], { encoding: 'utf8' }).trim());
    assert.match((await ok(a, ['push', '--allow-clear'])).stdout, /0 new, 0 updated, \d+ already there/);

    // A second clone fetches everything, adds its own event; the first adds one too.
    const b = makeRepo({ empty: true });
    repos.push(b);
    b.git('remote', 'add', 'origin', bare);
    b.git('fetch', '-q', 'origin', 'main');
    b.git('checkout', '-q', '-b', 'main', 'origin/main');
    b.write('.env', 'K=1\n');
    const fetched = await ok(b, ['fetch']);
    assert.match(fetched.stdout, /^Fetched from origin: \d+ new, 0 updated\.\n  new points: .*release\/v0\.1\.0/);
    assert.match(fetched.stdout, /event log: taken in\n  notes: taken in/);
    const listed = JSON.parse((await ok(b, ['list', '--json'])).stdout);
    assert.deepEqual(listed.map((p: { tag: string }) => p.tag).sort(), ['release/v0.1.0', 'rollback/before']);
    assert.equal(listed.find((p: { tag: string }) => p.tag === 'rollback/before').description, '上线前');
    assert.ok(listed.every((p: { snapshot: unknown }) => p.snapshot));
    assert.equal(JSON.parse((await ok(b, ['log', '--json'])).stdout).length, 2);

    await ok(b, ['release', 'patch', '-m', 'from b']);
    await ok(a, ['point', 'from a', '--name', 'a2']);
    await ok(a, ['push', '--allow-clear']);
    // The remote's log and notes have moved on: pushing from b is refused for them until b fetches.
    const res = await cli(b, ['push', '--allow-clear']);
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, /^git-rollback: \d refs? (was|were) rejected by origin: /);
    assert.match(res.stderr, /hint: take in what the remote has first: git rollback fetch origin/);
    const again = await ok(b, ['fetch']);
    assert.match(again.stdout, /event log: joined with the local log \(both kept\)/);
    assert.match(again.stdout, /notes: not updated/);
    assert.match(again.stderr, /warning: the notes of origin and the local notes have both changed.*git notes --ref=rollback merge -s ours refs\/rollback-remote\/origin\/notes/);
    const events = JSON.parse((await ok(b, ['log', '--json'])).stdout).map((e: { target: string }) => e.target);
    assert.deepEqual([...events].sort(), ['release/v0.1.0', 'release/v0.1.1', 'rollback/a2', 'rollback/before']);
    // After the merge b's log contains the remote's, so it pushes (notes still differ).
    const p2 = await cli(b, ['push', '--allow-clear']);
    assert.match(p2.stderr, /refs\/notes\/rollback/);
    assert.doesNotMatch(p2.stderr, /refs\/rollback\/log/);
    b.git('notes', '--ref=rollback', 'merge', '-s', 'ours', 'refs/rollback-remote/origin/notes');
    await ok(b, ['push', '--allow-clear']);
    assert.match((await ok(a, ['fetch'])).stdout, /event log: new events taken in\n  notes: updated/);
    const aList = JSON.parse((await ok(a, ['list', '--json'])).stdout).map((p: { tag: string }) => p.tag).sort();
    assert.deepEqual(aList, ['release/v0.1.0', 'release/v0.1.1', 'rollback/a2', 'rollback/before']);
    fsck(a);
    fsck(b);
  });

  it('refuses an unknown remote, and a tag that differs on the remote', async () => {
    const a = makeRepo();
    repos.push(a);
    await refused(a, ['push'], 3, /^git-rollback: no remote named "origin"$/);
    await refused(a, ['fetch', 'upstream'], 3, /no remote named "upstream"/);
    const bare = join(a.home, 'r.git');
    execFileSync('git', ['init', '-q', '--bare', bare], { env: a.env });
    await ok(a, ['point', 'one', '--name', 'same']);
    await ok(a, ['push', bare, '--allow-clear']);
    await ok(a, ['delete', 'rollback/same', '--yes']);
    a.commit('other');
    await ok(a, ['point', 'two', '--name', 'same']);
    const res = await cli(a, ['fetch', bare]);
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, /^git-rollback: 1 point of \S+ differs from the local one and was not taken: rollback\/same\n/);
    assert.equal(a.git('tag', '-l', '--format=%(contents:subject)', 'rollback/same'), 'two');
    assert.ok(!existsSync(join(a.dir, '.git', 'rollback', 'lock')));
    fsck(a);
  });
});
