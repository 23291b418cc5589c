// Fault injection, backward: a `to` over code, config files, a data path,
// SQLite, PostgreSQL, MariaDB and Redis is killed (SIGKILL) at every step
// boundary; `to --abort` must then end exactly at the state before
// (uncommitted and untracked work included), and a second `--abort` must
// find nothing to do. Once the backup and the event are recorded the
// rollback has happened: there --abort finishes the clean-up and says so.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeApp, type App } from '../helpers/app.js';
import { fsck } from '../helpers/repo.js';
import { boundaries, EVERY_STEP } from '../helpers/faults.js';

let app: App;
before(async () => {
  app = await makeApp(12, 13);
});
after(() => app?.cleanup());

describe('kill -9 at every step boundary, then to --abort', () => {
  it('ends exactly at the state before every time (after the commit point: at the target, with undo)', async (t) => {
    const start = app.fingerprint();
    const points = await boundaries(app);
    t.diagnostic(`${points.length} step boundaries: ${points.join(' ')}`);
    assert.deepEqual(points.filter((p) => p.endsWith(':before')).map((p) => p.slice(0, -7)), EVERY_STEP, 'every kind of step is in the matrix');
    const committed = (at: string) => at.startsWith('cleanup:') || at === 'finish:after';
    for (const at of points) {
      const crashed = await app.run(['to', 'p1', '--yes'], { ROLLBACK_TEST_CRASH: at });
      assert.equal(crashed.code, -1, `${at}: the run was killed (SIGKILL), not stopped: exit ${crashed.code}: ${crashed.stderr.split('\n').filter((l) => /^(git-rollback|hint)/.test(l)).join(' | ')}`);
      const status = await app.run(['status', '--json']);
      const j = JSON.parse(status.stdout).inProgress;
      assert.equal(j?.running, false, `${at}: status says interrupted, not in progress`);
      const aborted = await app.run(['to', '--abort', '--yes']);
      assert.equal(aborted.code, 0, `${at}: --abort: ${aborted.stderr}`);
      if (committed(at)) {
        assert.match(aborted.stdout, /had already gone through/, at);
        const undo = await app.run(['undo', '--yes']);
        assert.equal(undo.code, 0, `${at}: undo: ${undo.stderr}`);
      } else {
        assert.match(aborted.stdout, /Aborted: .* put back/, at);
      }
      assert.deepEqual(app.fingerprint(), start, `${at}: --abort ends exactly at the state before`);
      const again = await app.run(['to', '--abort', '--yes']);
      assert.equal(again.code, 3, `${at}: a second --abort finds nothing to do`);
      assert.deepEqual(readdirSync(join(app.repo.dir, '.git/rollback/tmp')).filter((f) => f.startsWith('stage-')), [], `${at}: no staging left`);
    }
    const log = await app.run(['log', '--json']);
    assert.ok(JSON.parse(log.stdout).some((e: { type: string }) => e.type === 'abort'), 'aborts are logged as aborts');
    fsck(app.repo);
  });
});
