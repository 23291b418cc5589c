// Owner and group of restored files (issue 8, file part): kept where the
// process may set them; where it may not, the plan says so beforehand and the
// rollback warns. The "may not" half needs two users: as root, the CLI is run
// as nobody (setpriv); as any other user, only the first half can happen.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { binForAnyUser, cli, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));
const isRoot = process.geteuid?.() === 0;
const NOBODY = 65534;

describe('owners and groups', () => {
  it('to and undo keep the owner and group of the replaced files (and their modes)', async () => {
    const r = makeRepo({ files: { 'app.txt': 'v1\n', '.gitignore': '.env\ndata/\n', '.rollbackrc.yaml': 'config: [".env"]\npaths: ["data/"]\n' } });
    repos.push(r);
    r.write('.env', 'K=1\n', 0o640);
    r.write('data/u.txt', 'upload\n', 0o664);
    const owner = isRoot ? { uid: NOBODY, gid: NOBODY } : { uid: process.geteuid!(), gid: process.getegid!() };
    for (const f of ['.env', 'data/u.txt', 'data']) chownSync(join(r.dir, f), owner.uid, owner.gid);
    assert.equal((await cli(r, ['point', 'p', '--name', 'p'])).code, 0);
    r.write('.env', 'K=2\n');
    r.write('data/u.txt', 'changed\n');
    const to = await cli(r, ['to', 'p', '--yes']);
    assert.equal(to.code, 0, to.stderr);
    assert.doesNotMatch(to.stderr, /owner/);
    for (const [f, mode] of [['.env', 0o640], ['data/u.txt', 0o664]] as const) {
      const st = statSync(join(r.dir, f));
      assert.deepEqual({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, { ...owner, mode }, f);
    }
    const undo = await cli(r, ['undo', '--yes']);
    assert.equal(undo.code, 0, undo.stderr);
    const st = statSync(join(r.dir, '.env'));
    assert.deepEqual({ uid: st.uid, gid: st.gid }, owner);
  });

  it('when the user running the rollback may not keep an owner, the plan says so and the rollback warns', async () => {
    const r = makeRepo({ files: { 'app.txt': 'v1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
    repos.push(r);
    r.write('.env', 'K=1\n', 0o644);
    assert.equal((await cli(r, ['point', 'p', '--name', 'p'])).code, 0);
    r.write('.env', 'K=2\n', 0o644);
    if (!isRoot) {
      // Every file here is ours: nothing to report.
      const plan = await cli(r, ['to', 'p', '--dry-run']);
      assert.doesNotMatch(plan.stdout, /owner kept: no/);
      return;
    }
    // The repository belongs to nobody, .env to root: nobody may replace .env (its folder is theirs) but not keep root as owner.
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, r.dir]);
    chmodSync(dirname(r.dir), 0o755); // mkdtemp made it 0700
    chownSync(join(r.dir, '.env'), 0, 0);
    // (PATH without folders nobody may not search, such as root's home.)
    const asNobody = (args: string[]) =>
      spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, binForAnyUser(), ...args], { cwd: r.dir, env: { ...r.env, PATH: '/usr/local/bin:/usr/bin:/bin' }, encoding: 'utf8' });
    const plan = asNobody(['to', 'p', '--dry-run']);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`owner kept: no for 1 file: \\.env \\(0:0\\) — they will belong to ${NOBODY}:${NOBODY}`));
    const to = asNobody(['to', 'p', '--yes']);
    assert.equal(to.status, 0, to.stderr);
    assert.match(to.stderr, /owner and group could not be kept for \.env/);
    assert.equal(statSync(join(r.dir, '.env')).uid, NOBODY);
  });
});
