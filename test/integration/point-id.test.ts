// point picks a free id from the refs next to the one it wants (for-each-ref
// refs/tags/<prefix><id>*): taken timestamps get -2, -3…, names are refused
// when taken, and other kinds' tags do not count.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { timestampId } from '../../src/core/points.js';
import { cli, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));

describe('point: a free id', () => {
  it('skips timestamp ids already taken (base and -2), whatever second it runs in', async () => {
    const r = makeRepo();
    repos.push(r);
    const now = Date.now();
    const head = r.git('rev-parse', 'HEAD');
    const taken: string[] = [];
    const commands: string[] = [];
    // Every second of the next ten minutes taken twice (ts, ts-2), plus a look-alike of another kind that must not count.
    for (let s = -5; s < 600; s++) {
      const id = timestampId(new Date(now + s * 1000));
      taken.push(id);
      commands.push(`create refs/tags/rollback/${id} ${head}`, `create refs/tags/rollback/${id}-2 ${head}`, `create refs/tags/backup/${id}-3 ${head}`);
    }
    execFileSync('git', ['update-ref', '--stdin'], { cwd: r.dir, env: r.env, input: commands.join('\n') + '\n' });
    const res = await cli(r, ['point', 'third of its second']);
    assert.equal(res.code, 0, res.stderr);
    const made = /Made point rollback\/(\S+)/.exec(res.stdout)?.[1] ?? '';
    assert.match(made, /^\d{8}-\d{6}-3$/);
    assert.ok(taken.includes(made.replace(/-3$/, '')), made);
  });

  it('refuses a --name that is taken, and takes one that only prefixes another', async () => {
    const r = makeRepo();
    repos.push(r);
    r.git('tag', 'rollback/keep-2');
    assert.equal((await cli(r, ['point', 'a', '--name', 'keep'])).code, 0);
    const again = await cli(r, ['point', 'b', '--name', 'keep']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /rollback\/keep already exists/);
  });
});
