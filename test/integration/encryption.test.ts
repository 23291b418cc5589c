// Encryption at rest (age): config files and dump chunks are sealed before
// they enter the object store; unchanged ones deduplicate across points;
// list, show and the plan need no key; a restore without a fitting key is
// refused before any change; a team shares through several recipients; push
// of clear snapshots needs --allow-clear. On SHA-1 and SHA-256.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, makeRepo, OBJECT_FORMATS, type Repo } from '../helpers/repo.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function git(repo: { dir: string; env: NodeJS.ProcessEnv }, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo.dir, env: repo.env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** Two identities (alice, bob) made with `git rollback keygen`, outside any repository. */
async function keys(r: Repo): Promise<{ alice: { file: string; recipient: string }; bob: { file: string; recipient: string }; eve: { file: string } }> {
  const dir = mkdtempSync(join(tmpdir(), 'git-rollback-keys-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const make = async (name: string) => {
    const res = await cli(r, ['keygen', '-o', join(dir, `${name}.key`), '--json']);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { identityFile: string; recipient: string };
    return { file: out.identityFile, recipient: out.recipient };
  };
  return { alice: await make('alice'), bob: await make('bob'), eve: await make('eve') };
}

const identityOf = (file: string) => readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) as string;

interface Note {
  snapshot: { config: { path: string; blob: string; enc?: string }[]; databases: { name: string; chunks: { blob: string; enc?: string }[] }[] };
}
function noteOf(r: { dir: string; env: NodeJS.ProcessEnv }, tag: string): Note {
  return JSON.parse(git(r, 'notes', '--ref=rollback', 'show', git(r, 'rev-parse', tag))) as Note;
}

for (const format of OBJECT_FORMATS) {
  describe(`encryption (${format})`, () => {
    it('round trip, dedup across points, no key and wrong key refused before any change, a clone with the key and one without', async () => {
      const r = makeRepo({ objectFormat: format, files: { 'app.txt': 'v1\n', '.gitignore': '.env\ndump.txt\n' } });
      cleanups.push(() => r.cleanup());
      const k = await keys(r);
      r.write(
        '.rollbackrc.yaml',
        `config: [".env"]\ndatabases:\n  blobs: { engine: command, dump: "cat dump.txt", restore: "cat > dump.txt" }\nencryption:\n  recipients: ["${k.alice.recipient}", "${k.bob.recipient}"]\n  identity: ${JSON.stringify(k.alice.file)}\n`,
      );
      r.commit('config');
      r.write('.env', 'DB_PASSWORD=hunter2\n', 0o600);
      r.write('dump.txt', 'row 1\n'.repeat(50_000));

      const one = await cli(r, ['point', 'one', '--name', 'one']);
      assert.equal(one.code, 0, one.stderr);
      const two = await cli(r, ['point', 'two', '--name', 'two']);
      assert.equal(two.code, 0, two.stderr);

      // Nothing readable in the object store; the same plaintext reuses the same blobs.
      const snap = git(r, 'rev-parse', 'refs/rollback/snapshots/point/one');
      assert.match(git(r, 'cat-file', 'blob', `${snap}:config/.env`), /^age-encryption\.org\/v1/);
      assert.doesNotMatch(execFileSync('git', ['cat-file', '--batch-all-objects', '--batch'], { cwd: r.dir, env: r.env }).toString('latin1'), /hunter2|row 1/);
      const [n1, n2] = [noteOf(r, 'rollback/one'), noteOf(r, 'rollback/two')];
      assert.equal(n1.snapshot.config[0]?.enc, 'age');
      assert.equal(n1.snapshot.config[0]?.blob, n2.snapshot.config[0]?.blob, 'an unchanged config file reuses its sealed blob');
      assert.deepEqual(n1.snapshot.databases[0]?.chunks.map((c) => c.blob), n2.snapshot.databases[0]?.chunks.map((c) => c.blob), 'unchanged dump chunks reuse their sealed blobs');
      assert.ok(n1.snapshot.databases[0]?.chunks.every((c) => c.enc === 'age'));

      // Round trip.
      r.write('.env', 'DB_PASSWORD=changed\n', 0o600);
      r.write('dump.txt', 'row 2\n');
      const to = await cli(r, ['to', 'one', '--yes']);
      assert.equal(to.code, 0, to.stderr);
      assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'DB_PASSWORD=hunter2\n');
      assert.equal(readFileSync(join(r.dir, 'dump.txt'), 'utf8'), 'row 1\n'.repeat(50_000));
      assert.equal((await cli(r, ['verify', 'one'])).code, 0);
      assert.equal((await cli(r, ['undo', '--yes'])).code, 0);
      assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'DB_PASSWORD=changed\n');

      // Wrong key (eve's) and no key: list, show and the plan work; the restore is refused, nothing changed.
      const noKey = { GIT_ROLLBACK_AGE_IDENTITY: '' };
      const asEve = { GIT_ROLLBACK_AGE_IDENTITY: identityOf(k.eve.file) };
      r.write('.rollbackrc.yaml', readFileSync(join(r.dir, '.rollbackrc.yaml'), 'utf8').replace(/ {2}identity: .*\n/, ''));
      r.commit('no identity file in the config');
      for (const [env, message] of [
        [noKey, /encrypted and no (age )?identity is available/],
        [asEve, /encrypted for other keys: none of the identities in \$GIT_ROLLBACK_AGE_IDENTITY opens it/],
      ] as const) {
        assert.equal((await cli(r, ['list'], { env })).code, 0);
        assert.match((await cli(r, ['show', 'one'], { env })).stdout, /\.env .*encrypted/);
        assert.equal((await cli(r, ['to', 'one', '--dry-run'], { env })).code, 0);
        const refused = await cli(r, ['to', 'one', '--yes'], { env });
        assert.equal(refused.code, 4, refused.stderr);
        assert.match(refused.stderr, message);
        assert.match(refused.stderr, /nothing was changed/);
        assert.equal(readFileSync(join(r.dir, '.env'), 'utf8'), 'DB_PASSWORD=changed\n');
        assert.equal(readFileSync(join(r.dir, 'dump.txt'), 'utf8'), 'row 2\n');
        assert.equal(git(r, 'tag', '-l', 'backup/*').split('\n').filter(Boolean).length, 2, 'no backup left behind');
      }

      // A team: push (encrypted: no --allow-clear needed), then bob's clone restores, a clone without a key cannot.
      const base = mkdtempSync(join(tmpdir(), 'git-rollback-enc-'));
      cleanups.push(() => rmSync(base, { recursive: true, force: true }));
      const bare = join(base, 'remote.git');
      execFileSync('git', ['init', '-q', '--bare', `--object-format=${format}`, bare], { env: r.env });
      git(r, 'remote', 'add', 'origin', bare);
      git(r, 'push', '-q', 'origin', 'main');
      const pushed = await cli(r, ['push']);
      assert.equal(pushed.code, 0, pushed.stderr);
      for (const [who, env, code] of [
        ['bob', { GIT_ROLLBACK_AGE_IDENTITY: identityOf(k.bob.file) }, 0],
        ['nobody', noKey, 4],
      ] as const) {
        const dir = join(base, who);
        execFileSync('git', ['clone', '-q', bare, dir], { env: r.env });
        const clone = { dir, env: { ...r.env, ...env } };
        writeFileSync(join(dir, 'dump.txt'), 'data of this machine\n'); // the live data the backup dumps
        assert.equal((await cli(clone, ['fetch'])).code, 0);
        assert.ok(git(clone, 'rev-parse', 'refs/rollback/keys/dedup'), 'the sealed dedup key travels with the points');
        const res = await cli(clone, ['to', 'one', '--yes']);
        assert.equal(res.code, code, `${who}: ${res.stderr}`);
        if (code === 0) {
          assert.equal(readFileSync(join(dir, '.env'), 'utf8'), 'DB_PASSWORD=hunter2\n');
          // bob can make points that dedup with alice's (he can open the sealed dedup key).
          assert.equal((await cli(clone, ['point', 'bob', '--name', 'bob'])).code, 0);
          assert.deepEqual(noteOf(clone, 'rollback/bob').snapshot.databases[0]?.chunks.map((c) => c.blob), n1.snapshot.databases[0]?.chunks.map((c) => c.blob));
        }
      }
    });

    it('push of a snapshot with config files or dumps in clear says so and needs --allow-clear', async () => {
      const r = makeRepo({ objectFormat: format, files: { 'a.txt': 'a\n', '.gitignore': '.env\n', '.rollbackrc.yaml': 'config: [".env"]\n' } });
      cleanups.push(() => r.cleanup());
      r.write('.env', 'K=1\n');
      const base = mkdtempSync(join(tmpdir(), 'git-rollback-clear-'));
      cleanups.push(() => rmSync(base, { recursive: true, force: true }));
      execFileSync('git', ['init', '-q', '--bare', `--object-format=${format}`, join(base, 'r.git')], { env: r.env });
      git(r, 'remote', 'add', 'origin', join(base, 'r.git'));
      assert.equal((await cli(r, ['point', 'clear', '--name', 'clear'])).code, 0);
      const res = await cli(r, ['push']);
      assert.equal(res.code, 4);
      assert.match(res.stderr, /1 snapshot holds config files or database dumps in clear: rollback\/clear \(\.env\)\. Anyone who can read origin could read them; nothing was pushed/);
      assert.match(res.stderr, /git rollback push --allow-clear/);
      assert.equal(git({ dir: join(base, 'r.git'), env: r.env }, 'for-each-ref'), '');
      assert.equal((await cli(r, ['push', '--allow-clear'])).code, 0);
    });
  });
}
