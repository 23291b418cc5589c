// Every command on SHA-1 and SHA-256 repositories (`git init --object-format=sha256`):
// nothing may assume 40-hex ids or the SHA-1 empty tree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, fsck, makeRepo, OBJECT_FORMATS, type Repo } from '../helpers/repo.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

for (const format of OBJECT_FORMATS) {
  describe(`a ${format} repository`, () => {
    it('point, list, show, status, diff, to, undo, verify, release, delete, prune, undo, log, report', async () => {
      const r = makeRepo({ objectFormat: format, files: { 'app.py': 'v1\n', '.gitignore': '.env\ndata/\n', '.rollbackrc.yaml': 'config: [".env"]\npaths: ["data/"]\n' } });
      cleanups.push(() => r.cleanup());
      assert.equal(r.git('rev-parse', '--show-object-format'), format);
      const idLength = format === 'sha256' ? 64 : 40;
      r.write('.env', 'K=1\n', 0o600);
      r.write('data/u.txt', 'upload 1\n');
      const ok = async (args: string[]) => {
        const res = await cli(r, args);
        assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
        return res;
      };
      await ok(['point', 'first', '--name', 'one']);
      const list = JSON.parse((await ok(['list', '--json'])).stdout);
      assert.equal(list[0].commit.length, idLength);
      await ok(['show', 'one']);
      r.write('app.py', 'v2\n');
      r.commit('two');
      r.write('.env', 'K=2\n', 0o600);
      r.write('data/u.txt', 'upload 2\n');
      await ok(['status']);
      await ok(['diff', 'one']);
      await ok(['to', 'one', '--yes']);
      assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'K=1\n');
      assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'v1\n');
      await ok(['undo', '--yes']);
      assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'K=2\n');
      assert.equal(readFileSync(join(r.dir, 'app.py'), 'utf8'), 'v2\n');
      await ok(['verify', '--all']);
      await ok(['release', 'patch']);
      await ok(['delete', 'one', '--yes']);
      await ok(['undo', '--yes']);
      await ok(['prune', '--keep-last', '1', '--yes']);
      await ok(['log']);
      const events = JSON.parse((await ok(['log', '--json'])).stdout) as { id: string; type: string }[];
      const eventId = events.find((e) => e.type === 'undo' || e.type === 'rollback')?.id ?? '';
      assert.equal(eventId.length, idLength);
      await ok(['report', eventId.slice(0, 12)]);
      fsck(r);
    });

    it('push and fetch between repositories of the same format', async () => {
      const r = makeRepo({ objectFormat: format, files: { 'a.txt': 'a\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
      cleanups.push(() => r.cleanup());
      r.write('.env', 'K=1\n');
      const base = mkdtempSync(join(tmpdir(), 'git-rollback-fmt-'));
      cleanups.push(() => rmSync(base, { recursive: true, force: true }));
      const bare = join(base, 'remote.git');
      execFileSync('git', ['init', '-q', '--bare', `--object-format=${format}`, bare], { env: r.env });
      r.git('remote', 'add', 'origin', bare);
      r.git('push', '-q', 'origin', 'main');
      assert.equal((await cli(r, ['point', 'shared', '--name', 'shared'])).code, 0);
      const pushed = await cli(r, ['push', '--allow-clear']);
      assert.equal(pushed.code, 0, pushed.stderr);
      const clone = join(base, 'clone');
      execFileSync('git', ['clone', '-q', bare, clone], { env: r.env });
      const other: Repo = { ...r, dir: clone };
      const fetched = await cli(other, ['fetch']);
      assert.equal(fetched.code, 0, fetched.stderr);
      const v = await cli(other, ['verify', 'shared']);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      const to = await cli(other, ['to', 'shared', '--yes']);
      assert.equal(to.code, 0, to.stderr);
      assert.equal(readFileSync(join(clone, '.env'), 'utf8'), 'K=1\n');
    });
  });
}
