// Compaction of our kept dump packs: what anything reaches (or the caller
// names) stays, byte for byte; packs with nothing reachable go; partly dead
// packs are rewritten; many small ones merged; the user's own kept packs and
// everything else are left alone; an interrupted removal is finished.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { compactDumpPacks } from '../../src/adapters/pack-compact.js';
import type { ChunkRef } from '../../src/core/types.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const SIZES = { min: 4096, avg: 16384, max: 65536 };

function setup(options: { mergePacks?: boolean } = { mergePacks: false }) {
  const dir = mkdtempSync(join(tmpdir(), 'rb-compact-'));
  dirs.push(dir);
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1', HOME: dir };
  const git = (args: string[], input?: string) => execFileSync('git', args, { cwd: dir, env, input, encoding: 'utf8' }).trim();
  git(['init', '-q']);
  const store = new GitDumpStore(dir, { chunkSizes: SIZES, ...options });
  /** A snapshot-like commit on `ref` whose tree lists `chunks`. */
  const refer = (ref: string, chunks: ChunkRef[]) => {
    const index = join(dir, '.git', `index-${ref.replace(/\W/g, '_')}`);
    const ienv = { ...env, GIT_INDEX_FILE: index };
    execFileSync('git', ['update-index', '--add', '--index-info'], { cwd: dir, env: ienv, input: chunks.map((c, i) => `100644 ${c.blob}\tdb/x/${String(i).padStart(6, '0')}\n`).join('') });
    const tree = execFileSync('git', ['write-tree'], { cwd: dir, env: ienv, encoding: 'utf8' }).trim();
    rmSync(index);
    const commit = git(['commit-tree', tree, '-m', ref]);
    git(['update-ref', ref, commit]);
    return commit;
  };
  const packs = () => readdirSync(join(dir, '.git', 'objects', 'pack')).sort();
  const read = async (chunks: ChunkRef[], sha256: string) => {
    const out: Buffer[] = [];
    for await (const p of store.read(chunks, sha256)) out.push(p as Buffer);
    return Buffer.concat(out);
  };
  return { dir, git, store, refer, packs, read };
}

describe('compactDumpPacks', () => {
  it('drops unreachable chunks, keeps reachable ones intact, leaves other packs alone', async () => {
    const t = setup();
    const a = randomBytes(400_000);
    const b = randomBytes(300_000);
    const wa = await t.store.write(Readable.from([a]));
    const wb = await t.store.write(Readable.from([b]));
    // Reference all of a and the first half of b's chunks.
    t.refer('refs/rollback/snapshots/point/a', wa.chunks);
    const half = wb.chunks.slice(0, Math.floor(wb.chunks.length / 2));
    t.refer('refs/rollback/snapshots/point/b', half);
    // The user's own kept pack and an ordinary commit: not ours to touch.
    t.git(['commit', '--allow-empty', '-q', '-m', 'code']);
    t.git(['repack', '-q']);
    const userKeep = t.packs().find((f) => f.endsWith('.pack') && !t.packs().includes(f.replace('.pack', '.keep')))!.replace('.pack', '.keep');
    writeFileSync(join(t.dir, '.git', 'objects', 'pack', userKeep), 'mine\n');
    const before = t.packs();
    assert.equal(before.filter((f) => f.endsWith('.keep')).length, 3);

    const dry = await compactDumpPacks(t.dir, { dryRun: true });
    assert.deepEqual(t.packs(), before);
    assert.equal(dry.packs, 2);
    assert.equal(dry.dropped, wb.chunks.length - half.length);

    const res = await compactDumpPacks(t.dir);
    assert.equal(res.packs, 2);
    assert.equal(res.removed, 1);
    assert.equal(res.copied, half.length);
    assert.ok(res.bytesAfter < res.bytesBefore);
    assert.deepEqual(await t.read(wa.chunks, wa.sha256), a);
    for (const c of half) assert.equal(t.git(['cat-file', '-s', c.blob]), String(c.size));
    for (const c of wb.chunks.slice(half.length)) assert.throws(() => t.git(['cat-file', '-e', c.blob]));
    assert.ok(t.packs().includes(userKeep));
    t.git(['fsck', '--strict', '--no-dangling']);
    // Nothing more to do the second time.
    const again = await compactDumpPacks(t.dir);
    assert.equal(again.removed, 0);
    assert.equal(again.dropped, 0);
  });

  it('keeps what the caller names (a deleted point that can still be undone), and removes a pack nothing reaches', async () => {
    const t = setup();
    const data = randomBytes(200_000);
    const w = await t.store.write(Readable.from([data]));
    const commit = t.refer('refs/rollback/snapshots/point/gone', w.chunks);
    t.git(['update-ref', '-d', 'refs/rollback/snapshots/point/gone']);
    const kept = await compactDumpPacks(t.dir, { keep: [commit, 'f'.repeat(40)] });
    assert.equal(kept.dropped, 0);
    assert.deepEqual(await t.read(w.chunks, w.sha256), data);
    const res = await compactDumpPacks(t.dir);
    assert.equal(res.removed, 1);
    assert.deepEqual(t.packs().filter((f) => f.includes('.keep')), []);
  });

  it('merges many small kept packs into one, and finishes an interrupted removal', async () => {
    const t = setup();
    const all: { chunks: ChunkRef[]; sha256: string; data: Buffer }[] = [];
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(30_000);
      const w = await t.store.write(Readable.from([data]));
      t.refer(`refs/rollback/snapshots/point/p${i}`, w.chunks);
      all.push({ ...w, data });
    }
    // A removal that stopped after the index: pack and our .keep remain.
    const orphan = await t.store.write(Readable.from([randomBytes(30_000)]));
    assert.ok(orphan.packed > 0);
    const packDir = join(t.dir, '.git', 'objects', 'pack');
    const idx = t.packs().filter((f) => f.endsWith('.idx'));
    const orphanIdx = idx.find((f) => !execFileSync('git', ['show-index'], { input: execFileSync('cat', [join(packDir, f)]), encoding: 'utf8' }).includes(all[0]!.chunks[0]!.blob.slice(0, 10)) && execFileSync('git', ['show-index'], { input: execFileSync('cat', [join(packDir, f)]), encoding: 'utf8' }).includes(orphan.chunks[0]!.blob))!;
    rmSync(join(packDir, orphanIdx));
    const res = await compactDumpPacks(t.dir, { mergeWhenMore: 2 });
    assert.equal(res.packs, 5);
    assert.equal(res.removed, 5);
    assert.equal(t.packs().filter((f) => f.endsWith('.pack')).length, 1);
    assert.equal(t.packs().filter((f) => f.endsWith('.keep')).length, 1);
    for (const w of all) assert.deepEqual(await t.read(w.chunks, w.sha256), w.data);
    t.git(['fsck', '--strict', '--no-dangling']);
  });

  it('the store keeps the number of packs logarithmic: small packs are merged, the big one is left alone', async () => {
    const t = setup({});
    const big = await t.store.write(Readable.from([randomBytes(600_000)]));
    const bigPack = t.packs().find((f) => f.endsWith('.pack'))!;
    const all = [{ w: big, data: null as Buffer | null }];
    for (let i = 0; i < 8; i++) {
      const data = randomBytes(20_000);
      all.push({ w: await t.store.write(Readable.from([data])), data });
    }
    const packs = t.packs().filter((f) => f.endsWith('.pack'));
    assert.ok(packs.length <= 4, packs.join(' '));
    assert.ok(packs.includes(bigPack), 'the big pack was rewritten');
    assert.equal(t.packs().filter((f) => f.endsWith('.keep')).length, packs.length);
    for (const { w, data } of all.slice(1)) assert.deepEqual(await t.read(w.chunks, w.sha256), data);
    t.git(['fsck', '--strict']);
  });
});
