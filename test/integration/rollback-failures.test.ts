// How a rollback fails, as a user sees it: hooks when things are put back,
// the onFailure hook, a revert that cannot finish (exit 8, the journal kept,
// where each resource is), and leftovers of a job nobody can finish any more.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { cli, fsck, makeRepo, type Repo } from '../helpers/repo.js';
import { sqlite } from '../helpers/servers.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));

/** v1 with a point p1, then v2 (committed) with .env changed: a rollback to p1 has work to do. */
async function app(config: string, setup?: (r: Repo) => void): Promise<Repo> {
  const r = makeRepo({ files: { 'app.txt': 'v1\n', '.gitignore': '.env\ndata/\n', '.rollbackrc.yaml': config } });
  repos.push(r);
  r.write('.env', 'MODE=v1\n', 0o600);
  setup?.(r);
  const made = await cli(r, ['point', 'v1', '--name', 'p1']);
  assert.equal(made.code, 0, made.stderr);
  r.write('app.txt', 'v2\n');
  r.commit('v2');
  r.write('.env', 'MODE=v2\n', 0o600);
  return r;
}

const state = (r: Repo) => ({ head: r.git('rev-parse', 'HEAD'), branch: r.git('rev-parse', '--abbrev-ref', 'HEAD'), env: readFileSync(join(r.dir, '.env'), 'utf8'), status: r.git('status', '--porcelain') });

describe('a failing rollback', () => {
  it('a failed health check puts everything back: the service is stopped and started again, onFailure is told', async () => {
    const log = 'hooks.log';
    const r = await app(
      [
        'config: [".env"]',
        'hooks:',
        `  beforeRollback: "echo stop >> ${log}"`,
        `  afterRollback: "echo start >> ${log}"`,
        `  onFailure: "echo failure $ROLLBACK_OUTCOME $ROLLBACK_EXIT_CODE: $ROLLBACK_ERROR >> ${log}"`,
        'health: { command: "exit 3", retries: 1, interval: "10ms" }',
        '',
      ].join('\n'),
    );
    r.write('.gitignore', `.env\ndata/\n${log}\n`);
    r.commit('ignore the hook log');
    const before = state(r);
    const res = await cli(r, ['to', 'p1', '--yes']);
    assert.equal(res.code, 7, res.stderr);
    assert.match(res.stderr, /rollback to rollback\/p1 failed and was reverted: health check failed after 1 attempt: `exit 3` exited 3/);
    assert.match(res.stderr, /hint: nothing changed — checked: code \([0-9a-f]{12} on main\), files \(1 file as they were\)/);
    assert.deepEqual(state(r), before);
    // stop (beforeRollback), start (afterRollback), then putting back: stop again before the code
    // moves back, start again on the state put back, and onFailure last.
    assert.deepEqual(readFileSync(join(r.dir, log), 'utf8').trim().split('\n'), [
      'stop',
      'start',
      'stop',
      'start',
      'failure reverted 7: health check failed after 1 attempt: `exit 3` exited 3',
    ]);
    const events = JSON.parse((await cli(r, ['log', '--json'])).stdout) as Array<{ type: string; outcome: string; checks: Array<{ what: string; ok: boolean }> }>;
    assert.equal(events[0]?.outcome, 'reverted');
    assert.ok(events[0]?.checks.every((c) => c.ok));
    const undo = await cli(r, ['undo', '--dry-run']);
    assert.match(undo.stderr, /nothing to undo/, 'a rollback that was put back is not undone');
  });

  it('a revert that cannot finish keeps the journal, says where each resource is (exit 8); --abort finishes once the cause is fixed', async () => {
    // The hook fails after putting a directory with content where .env must be put back.
    const r = await app('config: [".env"]\nhooks: { afterRollback: "rm -f .env && mkdir -p .env/x && exit 1" }\n');
    const before = state(r);
    const res = await cli(r, ['to', 'p1', '--yes']);
    assert.equal(res.code, 8, res.stderr);
    assert.match(res.stderr, /hook .* exited 1.*; putting things back also failed: cannot restore .*\.env: a directory is in its place/);
    assert.match(res.stderr, /Where things are: code as before; files part-way/, "what could be put back was");
    assert.match(res.stderr, /hint: when the cause is fixed, put everything back: git rollback to --abort/);
    assert.ok(existsSync(join(r.dir, '.git/rollback/journal.json')));
    const refused = await cli(r, ['point', 'meanwhile']);
    assert.equal(refused.code, 0, 'making a point is not a rollback: allowed');
    const blocked = await cli(r, ['to', 'p1', '--yes']);
    assert.equal(blocked.code, 9, blocked.stderr);
    const cont = await cli(r, ['to', '--continue', '--yes']);
    assert.equal(cont.code, 4, 'a job being put back is not continued');
    assert.match(cont.stderr, /was being put back when it stopped.*\nhint: finish putting it back with: git rollback to --abort/);
    rmSync(join(r.dir, '.env'), { recursive: true });
    const abort = await cli(r, ['to', '--abort', '--yes']);
    assert.equal(abort.code, 0, abort.stderr);
    assert.deepEqual(state(r), before);
    fsck(r);
  });

  it('--remove-extra and --drop-old are remembered by --continue', async () => {
    const r = await app('config: [".env", "conf/*.yml"]\n');
    r.write('conf/extra.yml', 'new since p1\n');
    const crashed = await cli(r, ['to', 'p1', '--yes', '--remove-extra', '--drop-old'], { env: { ROLLBACK_TEST_CRASH: 'code:after' } });
    assert.notEqual(crashed.code, 0);
    const journal = JSON.parse(readFileSync(join(r.dir, '.git/rollback/journal.json'), 'utf8'));
    assert.equal(journal.request.removeExtra, true);
    assert.equal(journal.request.dropOld, true);
    const res = await cli(r, ['to', '--continue', '--yes']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(!existsSync(join(r.dir, 'conf/extra.yml')), 'the file the point did not have is gone');
    const undo = await cli(r, ['undo', '--yes']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(readFileSync(join(r.dir, 'conf/extra.yml'), 'utf8'), 'new since p1\n', 'and undo brings it back');
  });

  it('prune removes what a job left when its journal is gone', async () => {
    const r = await app('config: [".env"]\ndatabases:\n  local: { engine: sqlite, path: "data/app.db" }\n', (x) => {
      mkdirSync(join(x.dir, 'data'), { recursive: true });
      sqlite(join(x.dir, 'data/app.db'), 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
    });
    sqlite(join(r.dir, 'data/app.db'), 'INSERT INTO t VALUES (2);');
    const crashed = await cli(r, ['to', 'p1', '--yes'], { env: { ROLLBACK_TEST_CRASH: 'stage:local:after' } });
    assert.notEqual(crashed.code, 0);
    const staged = readdirSync(join(r.dir, 'data')).filter((f) => f.includes('rb-stage'));
    assert.equal(staged.length, 1, 'a loaded copy waits beside the database');
    rmSync(join(r.dir, '.git/rollback/journal.json'));
    const dry = await cli(r, ['prune', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Would remove loaded copy .*rb-stage.* of database local/);
    assert.match(dry.stdout, /Would remove staging folder .*stage-/);
    const res = await cli(r, ['prune', '--yes']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(readdirSync(join(r.dir, 'data')).filter((f) => f.includes('rb-')), []);
    assert.deepEqual(readdirSync(join(r.dir, '.git/rollback/tmp')).filter((f) => f.startsWith('stage-')), []);
    assert.deepEqual(readdirSync(join(r.dir, 'data')), ['app.db']);
  });

  it("undo never acts on a colleague's rollback that a fetch brought in", async () => {
    const a = await app('config: [".env"]\n');
    const bare = join(a.home, 'remote.git');
    execFileSync('git', ['init', '-q', '--bare', bare], { env: a.env });
    a.git('remote', 'add', 'origin', bare);
    a.git('push', '-q', 'origin', 'main');
    assert.equal((await cli(a, ['to', 'p1', '--yes'])).code, 0);
    assert.equal((await cli(a, ['push', '--allow-clear'])).code, 0);

    const b = makeRepo({ empty: true });
    repos.push(b);
    b.git('remote', 'add', 'origin', bare);
    b.git('fetch', '-q', 'origin', 'main');
    b.git('checkout', '-q', '-b', 'main', 'origin/main');
    assert.equal((await cli(b, ['fetch'])).code, 0);
    const log = JSON.parse((await cli(b, ['log', '--json'])).stdout) as Array<{ type: string }>;
    assert.ok(log.some((e) => e.type === 'rollback'), "the colleague's rollback is in the fetched log");
    const undo = await cli(b, ['undo', '--dry-run']);
    assert.equal(undo.code, 3, undo.stdout + undo.stderr);
    assert.match(undo.stderr, /nothing to undo/);
    const mine = await cli(a, ['undo', '--dry-run']);
    assert.equal(mine.code, 0, mine.stderr);
  });
});
