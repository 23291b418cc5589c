// Safe writes (src/adapters/files.ts) on a real filesystem: no symlinked
// parent is followed, nothing is written in .git, renames are atomic, and
// mode, owner and group are kept where the process may set them.
import assert from 'node:assert/strict';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { mayChown, ownershipNotes, placeFile, placeSymlink, removeFileSafely, UnsafePathError } from '../../src/adapters/files.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fake repository root, a canary directory beside it, and a staging dir. */
function setup(): { root: string; outside: string; stage: string; staged(content: string, mode?: number): string } {
  const base = mkdtempSync(join(tmpdir(), 'git-rollback-files-'));
  dirs.push(base);
  const root = join(base, 'repo');
  const outside = join(base, 'outside');
  const stage = join(base, 'stage');
  for (const d of [root, outside, stage, join(root, '.git')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(outside, 'canary.txt'), 'canary\n');
  let n = 0;
  return {
    root,
    outside,
    stage,
    staged(content, mode = 0o600) {
      const p = join(stage, String(++n));
      writeFileSync(p, content, { mode });
      return p;
    },
  };
}

const isRoot = process.geteuid?.() === 0;

describe('placeFile', () => {
  it('writes new files and folders, replaces old ones atomically with their mode', async () => {
    const t = setup();
    await placeFile(t.root, 'config/app/.env', t.staged('A=1\n'), { job: 'j', mode: '100640' });
    assert.equal(readFileSync(join(t.root, 'config/app/.env'), 'utf8'), 'A=1\n');
    assert.equal(statSync(join(t.root, 'config/app/.env')).mode & 0o7777, 0o640);
    await placeFile(t.root, 'config/app/.env', t.staged('A=2\n'), { job: 'j', mode: '100600' });
    assert.equal(readFileSync(join(t.root, 'config/app/.env'), 'utf8'), 'A=2\n');
    assert.equal(statSync(join(t.root, 'config/app/.env')).mode & 0o7777, 0o600);
  });

  it('refuses to write through a symlinked parent directory, and writes nothing outside', async () => {
    const t = setup();
    symlinkSync(t.outside, join(t.root, 'link'));
    await assert.rejects(placeFile(t.root, 'link/pwned.txt', t.staged('x'), { job: 'j', mode: '100644' }), (e: unknown) => e instanceof UnsafePathError && /"link": it is a symbolic link/.test((e as Error).message));
    assert.ok(!existsSync(join(t.outside, 'pwned.txt')));
    symlinkSync(t.outside, join(t.root, 'deep'));
    await assert.rejects(placeFile(t.root, 'deep/a/b/pwned.txt', t.staged('x'), { job: 'j', mode: '100644' }), UnsafePathError);
    assert.ok(!existsSync(join(t.outside, 'a')));
  });

  it('replaces a symlink at the target itself instead of writing through it', async () => {
    const t = setup();
    symlinkSync(join(t.outside, 'canary.txt'), join(t.root, '.env'));
    await placeFile(t.root, '.env', t.staged('mine\n'), { job: 'j', mode: '100600' });
    assert.ok(!lstatSync(join(t.root, '.env')).isSymbolicLink());
    assert.equal(readFileSync(join(t.outside, 'canary.txt'), 'utf8'), 'canary\n');
  });

  it('refuses .git, "..", absolute paths', async () => {
    const t = setup();
    for (const rel of ['.git/hooks/post-checkout', '.GIT/config', '../outside/x', '/tmp/x', 'a/../../x']) {
      await assert.rejects(placeFile(t.root, rel, t.staged('x'), { job: 'j', mode: '100755' }), UnsafePathError, rel);
    }
    assert.ok(!existsSync(join(t.root, '.git', 'hooks')));
  });

  it('refuses a directory in the target place', async () => {
    const t = setup();
    mkdirSync(join(t.root, 'd'));
    await assert.rejects(placeFile(t.root, 'd', t.staged('x'), { job: 'j', mode: '100644' }), /a directory is in its place/);
  });

  it('keeps the owner and group of the replaced file', async () => {
    const t = setup();
    writeFileSync(join(t.root, '.env'), 'old\n');
    // As root the file is given away first; otherwise it is ours, and stays ours.
    const owner = isRoot ? { uid: 65534, gid: 65534 } : { uid: process.geteuid!(), gid: process.getegid!() };
    if (isRoot) chownSync(join(t.root, '.env'), owner.uid, owner.gid);
    const placed = await placeFile(t.root, '.env', t.staged('new\n'), { job: 'j', mode: '100640' });
    assert.equal(placed.ownerKept, true);
    const st = statSync(join(t.root, '.env'));
    assert.deepEqual({ uid: st.uid, gid: st.gid }, owner);
    assert.equal(st.mode & 0o7777, 0o640);
  });

  it('gives a new file the recorded owner only when it owns the folder (or is us)', async () => {
    const t = setup();
    const me = { uid: process.geteuid!(), gid: process.getegid!() };
    const app = isRoot ? { uid: 65534, gid: 65534 } : me;
    mkdirSync(join(t.root, 'app'));
    if (isRoot) chownSync(join(t.root, 'app'), app.uid, app.gid);
    await placeFile(t.root, 'app/new.txt', t.staged('x'), { job: 'j', mode: '100644', owner: app });
    assert.equal(statSync(join(t.root, 'app/new.txt')).uid, app.uid);
    await placeFile(t.root, 'other.txt', t.staged('x'), { job: 'j', mode: '100644', owner: { uid: 12345, gid: 12345 } });
    assert.equal(statSync(join(t.root, 'other.txt')).uid, me.uid, 'an arbitrary recorded uid is not applied');
  });
});

describe('ownershipNotes', () => {
  it('says nothing when the owner can be kept, and names the files whose owner cannot be', async () => {
    const t = setup();
    writeFileSync(join(t.root, '.env'), 'x');
    assert.deepEqual(await ownershipNotes(t.root, [{ path: '.env', mode: '100600' }]), []);
    // Whoever we are, we may not give a file to another user unless we are root.
    assert.equal(mayChown(4242, 4242), isRoot);
  });
});

describe('placeSymlink and removeFileSafely', () => {
  it('makes links atomically and removes files, never through a symlinked parent', async () => {
    const t = setup();
    await placeSymlink(t.root, 'cfg/current.yml', 'prod.yml', 'j');
    assert.equal(readlinkSync(join(t.root, 'cfg/current.yml')), 'prod.yml');
    await placeSymlink(t.root, 'cfg/current.yml', 'dev.yml', 'j');
    assert.equal(readlinkSync(join(t.root, 'cfg/current.yml')), 'dev.yml');
    symlinkSync(t.outside, join(t.root, 'out'));
    await assert.rejects(removeFileSafely(t.root, 'out/canary.txt'), UnsafePathError);
    await assert.rejects(placeSymlink(t.root, 'out/x', 'y', 'j'), UnsafePathError);
    assert.equal(readFileSync(join(t.outside, 'canary.txt'), 'utf8'), 'canary\n');
    assert.equal(await removeFileSafely(t.root, 'cfg/current.yml'), true);
    assert.equal(await removeFileSafely(t.root, 'cfg/current.yml'), false);
    assert.equal(await removeFileSafely(t.root, 'missing/dir/x'), false);
    await assert.rejects(removeFileSafely(t.root, '../outside/canary.txt'), UnsafePathError);
  });
});
