// The trust model: a config that runs commands or names databases is acted on
// only once its exact content is approved; a changed config is refused with
// what changed; undo uses the config approved when its backup was made.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));

/** A repository whose tests must approve configs themselves (GIT_ROLLBACK_TRUST unset). */
function repo(config: string): { r: Repo; canary: string } {
  const r = makeRepo({ files: { 'app.txt': 'v1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': config } });
  repos.push(r);
  delete r.env.GIT_ROLLBACK_TRUST;
  r.write('.env', 'K=1\n');
  return { r, canary: join(r.dir, '..', 'canary') };
}

describe('trust', () => {
  it('needs no approval for a config that runs nothing', async () => {
    const { r } = repo('config: [".env"]\n');
    const res = await cli(r, ['point', 'plain']);
    assert.equal(res.code, 0, res.stderr);
    assert.match((await cli(r, ['trust'])).stdout, /runs no command and names no database: there is nothing to approve/);
  });

  it('refuses to run a config never approved, then runs it once approved', async () => {
    const { r, canary } = repo(`config: [".env"]\ncapture: { pwn: "touch ../canary" }\n`);
    const refused = await cli(r, ['point', 'x']);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /the config \.rollbackrc\.yaml is not approved, and it runs commands or names databases: it has never been approved in this clone\. Nothing was run and nothing changed/);
    assert.match(refused.stderr, /hint: review what it runs and approve it: git rollback trust/);
    assert.ok(!existsSync(canary));
    assert.equal(r.git('tag', '-l'), '');

    const noTty = await cli(r, ['trust']);
    assert.equal(noTty.code, 4);
    assert.match(noTty.stdout, /capture\.pwn +touch \.\.\/canary/);
    assert.match(noTty.stderr, /refusing to approve the config without confirmation/);

    const ok = await cli(r, ['trust', '--yes']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Approved \.rollbackrc\.yaml \(sha256 [0-9a-f]{12}\)/);
    const made = await cli(r, ['point', 'x']);
    assert.equal(made.code, 0, made.stderr);
    assert.ok(existsSync(canary), 'the approved capture ran');
    const stored = JSON.parse(readFileSync(join(r.dir, '.git', 'rollback', 'trust.json'), 'utf8'));
    assert.equal(stored.approved.length, 1);
  });

  it('refuses a changed config with the keys that changed, until approved again', async () => {
    const { r } = repo(`config: [".env"]\nhooks: { beforeRollback: "true" }\n`);
    assert.equal((await cli(r, ['trust', '--yes'])).code, 0);
    assert.equal((await cli(r, ['point', 'p'])).code, 0);
    r.write('.rollbackrc.yaml', `config: [".env"]\nhooks: { beforeRollback: "echo changed", afterRollback: "touch ../canary" }\ncapture: { x: "true" }\n`);
    const res = await cli(r, ['to', 'latest', '--yes']);
    assert.equal(res.code, 4);
    assert.match(res.stderr, /changed since the version approved \d{4}-\d\d-\d\d: capture\.x added, hooks\.afterRollback added, hooks\.beforeRollback changed/);
    const show = JSON.parse((await cli(r, ['trust', '--show', '--json'])).stdout);
    assert.equal(show.state, 'not approved');
    assert.deepEqual(show.changes, ['capture.x added', 'hooks.afterRollback added', 'hooks.beforeRollback changed']);
  });

  it('--trust and GIT_ROLLBACK_TRUST=1 approve non-interactively (CI), and the approval is kept', async () => {
    const { r, canary } = repo(`config: [".env"]\ncapture: { c: "touch ../canary" }\n`);
    const flag = await cli(r, ['point', 'a', '--trust']);
    assert.equal(flag.code, 0, flag.stderr);
    assert.ok(existsSync(canary));
    assert.equal((await cli(r, ['point', 'b'])).code, 0, 'approved for later runs too');
    r.write('.rollbackrc.yaml', `config: [".env"]\ncapture: { c: "true" }\n`);
    assert.equal((await cli(r, ['point', 'c'])).code, 4);
    const env = await cli(r, ['point', 'c'], { env: { GIT_ROLLBACK_TRUST: '1' } });
    assert.equal(env.code, 0, env.stderr);
    const show = JSON.parse((await cli(r, ['trust', '--show', '--json'])).stdout);
    assert.deepEqual(show.approvals.map((a: { how: string }) => a.how).sort(), ['env', 'flag']);
  });

  it('--revoke forgets an approval', async () => {
    const { r } = repo(`config: [".env"]\nhooks: { afterRollback: "true" }\n`);
    assert.equal((await cli(r, ['trust', '--yes'])).code, 0);
    assert.equal((await cli(r, ['point', 'a'])).code, 0);
    const revoked = await cli(r, ['trust', '--revoke']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Revoked the approval of \.rollbackrc\.yaml/);
    assert.equal((await cli(r, ['point', 'b'])).code, 4);
    assert.equal((await cli(r, ['trust', '--revoke', 'ffff'])).code, 3);
  });

  it('a code config (rollback.config.mjs) is not even loaded until approved', async () => {
    const r = makeRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(r);
    delete r.env.GIT_ROLLBACK_TRUST;
    const canary = join(r.dir, '..', 'canary-js');
    r.write('rollback.config.mjs', `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(canary)}, 'ran');\nexport default { config: [] };\n`);
    const res = await cli(r, ['list']);
    assert.equal(res.code, 4);
    assert.match(res.stderr, /rollback\.config\.mjs is not approved, and it is code that runs when loaded/);
    assert.ok(!existsSync(canary));
    const shown = await cli(r, ['trust']);
    assert.match(shown.stdout, /It is JavaScript: it runs when loaded/);
    assert.ok(!existsSync(canary));
    assert.equal((await cli(r, ['trust', '--yes'])).code, 0);
    assert.equal((await cli(r, ['list'])).code, 0);
    assert.ok(existsSync(canary), 'runs once approved');
  });

  it('undo after a rollback to a commit whose config adds a hook uses the config approved before, and the hook never runs', async () => {
    const { r, canary } = repo(`config: [".env"]\nhooks: { afterRollback: "true" }\n`);
    assert.equal((await cli(r, ['trust', '--yes'])).code, 0);
    // An older commit (as a colleague could have pushed) whose config runs something else.
    r.write('.rollbackrc.yaml', `config: [".env"]\nhooks: { afterRollback: "touch ../canary" }\n`);
    r.write('app.txt', 'old\n');
    r.commit('old release with another hook');
    const old = r.git('rev-parse', 'HEAD');
    r.git('checkout', '-q', 'HEAD~1', '--', '.rollbackrc.yaml', 'app.txt');
    r.commit('current');
    assert.equal((await cli(r, ['point', 'today', '--name', 'today'])).code, 0);
    r.git('tag', '-a', '-m', 'old', 'rollback/old', old);
    // The rollback itself runs with the config approved when it started.
    const to = await cli(r, ['to', 'rollback/old', '--yes', '--skip', 'config']);
    assert.equal(to.code, 0, to.stderr);
    assert.equal(readFileSync(join(r.dir, 'app.txt'), 'utf8'), 'old\n');
    assert.ok(!existsSync(canary), 'the checked-out hook did not run during the rollback');
    // The working tree's config is now the old one, never approved: undo uses the approved one.
    const undo = await cli(r, ['undo', '--yes']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stderr, /using the config approved when backup\/\S+ was made \(\.rollbackrc\.yaml, sha256 [0-9a-f]{12}\); the working tree's \.rollbackrc\.yaml is not approved/);
    assert.equal(readFileSync(join(r.dir, 'app.txt'), 'utf8'), 'v1\n');
    assert.ok(!existsSync(canary), 'the checked-out hook did not run during undo');
  });
});
