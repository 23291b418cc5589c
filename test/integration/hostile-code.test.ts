// Damaged or forged code objects (the part of a rollback git itself does not
// check): a forged loose blob, a missing one, a deleted snapshot commit. The
// rollback is refused before any change and uncommitted work is kept; verify
// names the object. On SHA-1 and SHA-256.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { cli, makeRepo, OBJECT_FORMATS, type Repo } from '../helpers/repo.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function git(repo: Repo, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo.dir, env: repo.env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

describe('damaged or forged code objects', () => {
  for (const format of OBJECT_FORMATS) {
    it(`a forged or missing code blob, a deleted snapshot commit: refused before any change, uncommitted work kept (${format})`, async () => {
      const r = makeRepo({ objectFormat: format, files: { 'app.txt': 'v1\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
      cleanups.push(() => r.cleanup());
      r.write('.env', 'K=1\n');
      r.write('lib.txt', 'library v1\n');
      r.commit('lib');
      assert.equal((await cli(r, ['point', 'good', '--name', 'good'])).code, 0);
      r.write('lib.txt', 'library v2\n');
      r.commit('lib v2');
      r.write('app.txt', 'my uncommitted edit\n');
      // Forge the loose object of lib.txt at the point: same id, other content.
      const id = git(r, 'rev-parse', 'rollback/good:lib.txt');
      const path = join(r.dir, '.git', 'objects', id.slice(0, 2), id.slice(2));
      const forged = Buffer.from('library v1 with a backdoor\n');
      rmSync(path, { force: true });
      writeFileSync(path, deflateSync(Buffer.concat([Buffer.from(`blob ${forged.length}\0`), forged])));
      const res = await cli(r, ['to', 'good', '--yes']);
      assert.equal(res.code, 6, res.stderr);
      assert.match(res.stderr, new RegExp(`code object ${id.slice(0, 12)} does not match its id \\(damaged or forged\\)`));
      assert.match(res.stderr, /nothing was changed/);
      assert.equal(readFileSync(join(r.dir, 'app.txt'), 'utf8'), 'my uncommitted edit\n');
      assert.equal(readFileSync(join(r.dir, 'lib.txt'), 'utf8'), 'library v2\n');
      const v = await cli(r, ['verify', 'good']);
      assert.equal(v.code, 6);
      assert.match(v.stdout, /does not match its id/);
      // Missing instead of forged.
      rmSync(path, { force: true });
      const missing = await cli(r, ['to', 'good', '--yes']);
      assert.equal(missing.code, 6, missing.stderr);
      assert.match(missing.stderr, new RegExp(`code object ${id.slice(0, 12)} is missing`));
      assert.equal(readFileSync(join(r.dir, 'app.txt'), 'utf8'), 'my uncommitted edit\n');
      // A deleted snapshot commit fails verify.
      const snap = git(r, 'rev-parse', 'refs/rollback/snapshots/point/good');
      rmSync(join(r.dir, '.git', 'objects', snap.slice(0, 2), snap.slice(2)), { force: true });
      const v2 = await cli(r, ['verify', 'good']);
      assert.equal(v2.code, 6);
      assert.match(v2.stdout, /the snapshot commit is missing or unreadable/);
    });
  }
});
