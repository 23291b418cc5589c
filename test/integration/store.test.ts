// The dump store through the built binary: a point killed (SIGKILL) while its
// dump is being stored leaves only its private directory, the next point
// removes it and succeeds, and nothing is left in objects/pack but whole,
// indexed packs; dump packs carry a `.keep`, so `git gc` leaves them
// alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, cli, fsck, makeRepo, type Repo } from '../helpers/repo.js';

const repos: Repo[] = [];
after(() => repos.forEach((r) => r.cleanup()));

function storeDirs(r: Repo): string[] {
  const tmp = join(r.dir, '.git', 'rollback', 'tmp');
  return existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('store-')) : [];
}

function packFiles(r: Repo): string[] {
  return readdirSync(join(r.dir, '.git', 'objects', 'pack')).sort();
}

/** Waits until `test` holds, polling; fails after `ms`. */
async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('dump store through the CLI', () => {
  it('a point killed while storing its dump leaves nothing the next point does not remove', async () => {
    // The dump writes 24 MiB of random bytes, then waits: the store has
    // written chunks into its private pack by then, and is killed there.
    const r = makeRepo({
      files: {
        '.rollbackrc.yaml': 'databases:\n  blob: { engine: command, dump: "head -c 25165824 /dev/urandom; sleep 30", restore: "cat > /dev/null" }\n',
      },
    });
    repos.push(r);
    const child = spawn(process.execPath, [BIN, 'point', 'killed'], { cwd: r.dir, env: r.env, stdio: 'ignore', detached: true });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await until(() => storeDirs(r).some((d) => {
        const pack = join(r.dir, '.git', 'rollback', 'tmp', d, 'incoming.pack');
        return existsSync(pack) && statSync(pack).size > 4 * 1024 * 1024;
      }), 60_000, 'the store to write its pack');
    } finally {
      process.kill(-child.pid!, 'SIGKILL'); // the CLI, sh, head and sleep
    }
    await exited;
    assert.equal(storeDirs(r).length, 1, 'the killed store left its private directory');
    assert.ok(!packFiles(r).some((f) => f.startsWith('tmp_')), packFiles(r).join(' '));

    r.write('.rollbackrc.yaml', 'databases:\n  blob: { engine: command, dump: "head -c 3000000 /dev/zero", restore: "cat > /dev/null" }\n');
    const res = await cli(r, ['point', 'after the kill']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(storeDirs(r), []);
    const packs = packFiles(r);
    assert.ok(!packs.some((f) => f.startsWith('tmp_') || f.endsWith('.tmp')), packs.join(' '));
    // Every pack has its index (none half-installed).
    for (const p of packs.filter((f) => f.endsWith('.pack'))) assert.ok(packs.includes(p.replace(/\.pack$/, '.idx')), `${p} without index`);
    fsck(r);
  });

  it('a dump gets a kept pack that `git gc` does not rewrite; the point verifies after gc', async () => {
    const r = makeRepo({
      files: {
        '.rollbackrc.yaml': 'databases:\n  blob: { engine: command, dump: "head -c 12000000 /dev/urandom | od -An -tx1", restore: "sha256sum > restored.sum" }\n',
      },
    });
    repos.push(r);
    const res = await cli(r, ['point', 'big']);
    assert.equal(res.code, 0, res.stderr);
    const kept = packFiles(r).filter((f) => f.endsWith('.keep'));
    assert.equal(kept.length, 1, packFiles(r).join(' '));
    const pack = kept[0]!.replace(/\.keep$/, '.pack');
    const before = statSync(join(r.dir, '.git', 'objects', 'pack', pack)).ino;
    r.git('gc', '--quiet');
    assert.ok(packFiles(r).includes(pack), 'gc removed the kept pack');
    assert.equal(statSync(join(r.dir, '.git', 'objects', 'pack', pack)).ino, before);
    fsck(r);
    const show = await cli(r, ['verify', '--all']);
    assert.equal(show.code, 0, show.stdout + show.stderr);
  });
});
