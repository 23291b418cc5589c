// Signals, locks and concurrency through the CLI. Signals are sent at named
// points (ROLLBACK_TEST_PAUSE makes the process write a marker file there and
// wait), so nothing here depends on timing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeApp, type App } from '../helpers/app.js';
import { BIN, cli, fsck, makeRepo, type CliResult, type Repo } from '../helpers/repo.js';

/** Runs the CLI, and each time it pauses, sends the next signal of `signals`. */
function runWithSignals(app: App, args: string[], pause: string, signals: NodeJS.Signals[]): Promise<CliResult & { pausedAt: string[] }> {
  const file = join(app.repo.home, `paused-${Date.now()}`);
  writeFileSync(file, '');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: app.repo.dir,
      env: { ...app.repo.env, ...app.env, ROLLBACK_TEST_PAUSE: pause, ROLLBACK_TEST_PAUSE_FILE: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    let sent = 0;
    const poll = setInterval(() => {
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      if (lines.length > sent && sent < signals.length) child.kill(signals[sent++]);
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, stdout, stderr, pausedAt: readFileSync(file, 'utf8').split('\n').filter(Boolean) });
    });
  });
}

let app: App;
before(async () => {
  app = await makeApp(14, 15);
});
after(() => app?.cleanup());

describe('signals during a rollback', () => {
  for (const [signal, db] of [['SIGINT', 'main'], ['SIGTERM', 'jobs']] as const) {
    it(`${signal} in the middle of loading database ${db}: everything is put back, checked, exit 130`, async () => {
      const start = app.fingerprint();
      const r = await runWithSignals(app, ['to', 'p1', '--yes'], `stage:${db}:mid`, [signal]);
      assert.deepEqual(r.pausedAt, [`stage:${db}:mid`], 'it paused mid-load, where the signal was sent');
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, new RegExp(`${signal}: finishing the current step, then putting everything back`));
      assert.match(r.stderr, /was interrupted and everything was put back/);
      assert.match(r.stderr, /nothing changed — checked: code \(/);
      assert.deepEqual(app.fingerprint(), start);
      assert.ok(!existsSync(join(app.repo.dir, '.git/rollback/journal.json')));
      const log = JSON.parse((await app.run(['log', '--json'])).stdout) as Array<{ type: string; outcome: string }>;
      assert.equal(log[0]?.outcome, 'cancelled');
    });
  }

  it('a signal while the code moves lets that step finish, then puts it back', async () => {
    const start = app.fingerprint();
    const r = await runWithSignals(app, ['to', 'p1', '--yes'], 'code:running', ['SIGHUP']);
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(app.fingerprint(), start);
  });

  it('a second Ctrl-C stops after the current step, keeps the journal, and says where things are', async () => {
    const start = app.fingerprint();
    const r = await runWithSignals(app, ['to', 'p1', '--yes'], 'swap:jobs:running,swap:main:revert-running', ['SIGINT', 'SIGINT']);
    assert.equal(r.code, 9, r.stderr);
    assert.match(r.stderr, /stopped part-way \(second interrupt\): .*database main/);
    assert.match(r.stderr, /git rollback to --abort/);
    assert.ok(existsSync(join(app.repo.dir, '.git/rollback/journal.json')));
    const status = await app.run(['status']);
    assert.match(status.stdout, /was being put back when it stopped/);
    const abort = await app.run(['to', '--abort', '--yes']);
    assert.equal(abort.code, 0, abort.stderr);
    assert.deepEqual(app.fingerprint(), start);
  });
});

describe('locks and concurrency', () => {
  let repo: Repo;
  before(() => {
    repo = makeRepo({ files: { 'app.txt': 'v1\n', '.rollbackrc.yaml': 'config: [".env"]\n', '.gitignore': '.env\n' } });
    repo.write('.env', 'A=1\n');
  });
  after(() => repo.cleanup());

  it('a lock file that cannot be read and that no process holds is taken over', async () => {
    mkdirSync(join(repo.dir, '.git/rollback'), { recursive: true });
    writeFileSync(join(repo.dir, '.git/rollback/lock'), '\0\0garbage');
    const r = await cli(repo, ['point', 'after garbage']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join(repo.dir, '.git/rollback/lock')));
  });

  it('20 concurrent points all succeed with distinct ids; 20 concurrent rollbacks leave one consistent state', async () => {
    const points = await Promise.all(Array.from({ length: 20 }, (_, i) => cli(repo, ['point', `p${i}`, '--wait', '2m', '--json'])));
    for (const p of points) assert.equal(p.code, 0, p.stderr);
    const tags = points.map((p) => JSON.parse(p.stdout).tag as string);
    assert.equal(new Set(tags).size, 20, 'no two points share an id');
    repo.write('app.txt', 'v2\n');
    repo.commit('v2');
    const target = tags[0] as string;
    const runs = await Promise.all(Array.from({ length: 20 }, () => cli(repo, ['to', target, '--yes'])));
    const ok = runs.filter((r) => r.code === 0).length;
    for (const r of runs) assert.ok(r.code === 0 || r.code === 5, `every run either rolled back or was refused as locked: ${r.code} ${r.stderr}`);
    assert.ok(ok >= 1);
    assert.ok(!existsSync(join(repo.dir, '.git/rollback/journal.json')));
    assert.ok(!existsSync(join(repo.dir, '.git/rollback/lock')));
    const backups = repo.git('tag', '-l', 'backup/*').split('\n').filter(Boolean);
    assert.equal(backups.length, ok, 'one backup per rollback that ran');
    const log = JSON.parse((await cli(repo, ['log', '--json'])).stdout) as Array<{ type: string }>;
    assert.equal(log.filter((e) => e.type === 'rollback').length, ok, 'one event per rollback that ran');
    fsck(repo);
  });
});
