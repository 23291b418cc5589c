// A full disk: a repository on a 20 MiB tmpfs, nearly filled, gets points
// with ever larger config files until the disk is full. After each attempt a
// point exists with its event, or neither does and the command said so; the
// lock and temp files never stay behind. As root the tmpfs is mounted
// directly; otherwise in a user namespace (unshare -rm).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, pinnedEnv } from '../helpers/repo.js';

const DRIVER = String.raw`
set -u
mnt="$1"; bin="$2"
mount -t tmpfs -o size=20m tmpfs "$mnt" || { echo "MOUNT-FAILED"; exit 0; }
cd "$mnt"
git init -q -b main repo && cd repo
printf 'config: [".env"]\n' > .rollbackrc.yaml
printf '.env\n' > .gitignore
echo first > app.txt
git add -A && git commit -qm first
# Leave about 1.5 MiB free.
dd if=/dev/zero of="$mnt/filler" bs=1M count=18 status=none 2>/dev/null
# Same size every time: rewriting .env frees its old blocks, so the space
# runs out inside point (the blobs it stores), not in our own write.
for i in $(seq 1 8); do
  head -c $((600 * 1024)) /dev/urandom > .env
  out=$(node "$bin" point "attempt $i" --name "a$i" 2>&1); code=$?
  tags=$(git tag -l "rollback/a$i" | wc -l)
  events=$(git log --format=%B refs/rollback/log 2>/dev/null | grep -c "\"target\":\"rollback/a$i\"")
  lock=$(test -e .git/rollback/lock && echo 1 || echo 0)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$code" "$tags" "$events" "$lock" "$(printf '%s' "$out" | tr '\n\t' '  ' | cut -c1-300)"
done
cd / && umount "$mnt"
`;

describe('a full disk', () => {
  it('a point exists with its event, or neither does and the command says so', () => {
    const base = mkdtempSync(join(tmpdir(), 'rb-diskfull-'));
    const mnt = join(base, 'mnt');
    const home = join(base, 'home');
    spawnSync('mkdir', ['-p', mnt, home]);
    writeFileSync(join(home, '.gitconfig'), '[user]\n\tname = T\n\temail = t@example.com\n[gc]\n\tauto = 0\n');
    const env = pinnedEnv(home);
    const root = process.getuid?.() === 0;
    const r = root
      ? spawnSync('bash', ['-c', DRIVER, 'driver', mnt, BIN], { env, encoding: 'utf8' })
      : spawnSync('unshare', ['-rm', 'bash', '-c', DRIVER, 'driver', mnt, BIN], { env, encoding: 'utf8' });
    rmSync(base, { recursive: true, force: true });
    assert.doesNotMatch(r.stdout, /MOUNT-FAILED/, `cannot mount a tmpfs here (root: ${root}): ${r.stderr}`);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.ok(rows.length >= 2, r.stdout + r.stderr);
    let ok = 0;
    let failed = 0;
    for (const [i, code, tags, events, lock, out] of rows) {
      assert.equal(lock, '0', `attempt ${i}: no lock left behind`);
      if (code === '0') {
        ok++;
        assert.equal(`${tags}/${events}`, '1/1', `attempt ${i} succeeded: the point and its event are there`);
      } else {
        failed++;
        assert.equal(`${tags}/${events}`, '0/0', `attempt ${i} failed: neither the point nor its event is there (${out})`);
        assert.match(out ?? '', /the disk is full/, `attempt ${i}: the error says why`);
        assert.match(out ?? '', /no point was made/, `attempt ${i}: and that nothing was made`);
      }
    }
    assert.ok(ok >= 1 && failed >= 1, `some points fit and then the disk was full: ${ok} ok, ${failed} failed`);
  });
});
