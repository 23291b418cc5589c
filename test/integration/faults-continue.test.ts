// Fault injection, forward: a `to` that touches code, config files, a data
// path, SQLite, PostgreSQL, MariaDB and Redis is killed (SIGKILL) at every
// step boundary; `to --continue` must then end exactly at the target, a
// second `--continue` must find nothing to do, and `undo` must bring back
// exactly the state before. (faults-abort.test.ts does the same with --abort.)
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeApp, type App } from '../helpers/app.js';
import { fsck } from '../helpers/repo.js';
import { boundaries, EVERY_STEP } from '../helpers/faults.js';

let app: App;
before(async () => {
  app = await makeApp(10, 11);
});
after(() => app?.cleanup());

describe('kill -9 at every step boundary, then to --continue', () => {
  it('ends exactly at the target every time, and undo returns exactly to before', async (t) => {
    const start = app.fingerprint();
    const clean = await app.run(['to', 'p1', '--yes']);
    assert.equal(clean.code, 0, clean.stderr);
    const target = app.fingerprint();
    assert.notDeepEqual(target, start);
    const back = await app.run(['undo', '--yes']);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(app.fingerprint(), start, 'a plain to + undo returns exactly');

    const points = await boundaries(app);
    t.diagnostic(`${points.length} step boundaries: ${points.join(' ')}`);
    assert.deepEqual(points.filter((p) => p.endsWith(':before')).map((p) => p.slice(0, -7)), EVERY_STEP, 'every kind of step is in the matrix');
    for (const at of points) {
      const crashed = await app.run(['to', 'p1', '--yes'], { ROLLBACK_TEST_CRASH: at });
      assert.equal(crashed.code, -1, `${at}: the run was killed (SIGKILL), not stopped: exit ${crashed.code}: ${crashed.stderr.split('\n').filter((l) => /^(git-rollback|hint)/.test(l)).join(' | ')}`);
      assert.ok(existsSync(join(app.repo.dir, '.git/rollback/journal.json')), `${at}: the journal is there after the crash`);
      const refused = await app.run(['to', 'p1', '--yes']);
      assert.equal(refused.code, 9, `${at}: a new rollback is refused while one waits: ${refused.stderr}`);
      const done = await app.run(['to', '--continue', '--yes']);
      assert.equal(done.code, 0, `${at}: --continue: ${done.stderr}`);
      assert.deepEqual(app.fingerprint(), target, `${at}: --continue ends exactly at the target`);
      const again = await app.run(['to', '--continue', '--yes']);
      assert.equal(again.code, 3, `${at}: a second --continue finds nothing to do`);
      assert.deepEqual(readdirSync(join(app.repo.dir, '.git/rollback/tmp')).filter((f) => f.startsWith('stage-')), [], `${at}: no staging left`);
      const undo = await app.run(['undo', '--yes']);
      assert.equal(undo.code, 0, `${at}: undo: ${undo.stderr}`);
      assert.deepEqual(app.fingerprint(), start, `${at}: undo returns exactly to the state before`);
    }
    fsck(app.repo);
  });
});
