// The pack writer's contract: packs and indexes git reads as its own (same
// index as `git index-pack` makes, `git fsck --strict` clean, sha1 and sha256
// repositories), zlib streams any inflater accepts whatever encoding was
// chosen, truncated or altered packs refused; and the dump store's: packs
// installed whole (with `.keep` when large), private directories of killed
// stores removed by the next one, fixed-size chunking page-aligned.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { Chunker, FixedChunker, joinChunk } from '../../src/adapters/chunker.js';
import { blobId, cleanupInterruptedStores, GitDumpStore } from '../../src/adapters/dump-store.js';
import { buildIndex, chooseEncoding, encodeBlob, entropyRatio, entryHeader, PackWriter, readIndex, verifyPack, type HashAlgorithm } from '../../src/adapters/pack-writer.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rb-pack-'));
  dirs.push(d);
  return d;
}
function repo(format: HashAlgorithm = 'sha1'): string {
  const d = tempDir();
  execFileSync('git', ['init', '-q', `--object-format=${format}`, d]);
  return d;
}
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();

/** Text like a SQL dump: repetitive, compresses well with back-references. */
function sqlText(bytes: number): Buffer {
  let s = '';
  for (let i = 1; s.length < bytes; i++) s += `${i}\t${(i % 7) + 1}\t0\t${' '.repeat(84)}\n`;
  return Buffer.from(s.slice(0, bytes));
}
/** Base64 of random bytes: only entropy coding helps (~25%), not enough to be worth it. */
function base64Text(bytes: number): Buffer {
  return Buffer.from(randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes));
}
/** Pseudo-random bytes from a seed (xorshift32): incompressible, but the same in every run. */
function seeded(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out;
}
/** Rows of random numbers and a hex digest padded to 84 characters, like a char(84) column: runs, few repeats. */
function paddedRows(bytes: number): Buffer {
  let s = '';
  for (let i = 1; s.length < bytes; i++) s += `${i}\t${randomBytes(3).readUIntBE(0, 3)}\t${randomBytes(16).toString('hex').padEnd(84, ' ')}\n`;
  return Buffer.from(s.slice(0, bytes));
}
/** Hex digests and numbers: Huffman gets what level 1 gets (~50%). */
function hexText(bytes: number): Buffer {
  return Buffer.from(randomBytes(Math.ceil(bytes / 2)).toString('hex').slice(0, bytes));
}

async function writePack(dir: string, algorithm: HashAlgorithm, blobs: Buffer[]) {
  const w = await PackWriter.create(dir, algorithm);
  for (const b of blobs) await w.add(blobId(algorithm, b), b.length, (await encodeBlob(b)).z);
  const done = await w.finish();
  assert.ok(done);
  return done;
}

describe('pack entries', () => {
  it('encodes type and size as git does', () => {
    assert.deepEqual([...entryHeader(3, 15)], [0x3f]);
    assert.deepEqual([...entryHeader(3, 16)], [0xb0, 0x01]);
    assert.deepEqual([...entryHeader(3, 1 << 20)], [0xb0, 0x80, 0x80, 0x04]);
    assert.deepEqual([...entryHeader(3, 2 ** 33 + 5)], [0xb5, 0x80, 0x80, 0x80, 0x80, 0x02]);
  });

  it('chooses stored for random bytes and base64, Huffman for hex, run-length for padded columns, zlib for repetitive text; every choice inflates back', async () => {
    const cases: [Buffer, string][] = [
      [randomBytes(300_000), 'stored'],
      [base64Text(300_000), 'stored'],
      [hexText(300_000), 'huffman'],
      [paddedRows(300_000), 'rle'],
      [sqlText(300_000), 'deflate'],
      [Buffer.from('tiny'), 'stored'],
    ];
    for (const [data, expected] of cases) {
      assert.equal(await chooseEncoding(data), expected);
      const { z, encoding } = await encodeBlob(data);
      assert.equal(encoding, expected);
      assert.deepEqual(zlib.inflateSync(z), data);
      if (expected === 'stored') assert.ok(z.length >= data.length);
      else assert.ok(z.length < data.length * 0.7, `${expected}: ${z.length} of ${data.length}`);
    }
  });
});

describe('entropyRatio (the test that skips the Huffman trial)', () => {
  it('is the order-0 entropy over 8 bits: 0 for one symbol, 1/8 for two, 1 for all 256 equally often', () => {
    assert.equal(entropyRatio(Buffer.alloc(0)), 0);
    assert.equal(entropyRatio(Buffer.alloc(4096, 7)), 0);
    assert.equal(entropyRatio(Buffer.from('abababab')), 1 / 8);
    assert.equal(entropyRatio(Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256))), 1);
  });

  it('never exceeds the ratio of Huffman-only deflate, so skipping the trial above 3/4 decides as the trial would', () => {
    for (const data of [randomBytes(48 * 1024), base64Text(48 * 1024), hexText(48 * 1024), paddedRows(48 * 1024), sqlText(48 * 1024), seeded(48 * 1024, 3), Buffer.from('x'.repeat(1000) + 'y')]) {
      const huffman = zlib.deflateSync(data, { level: 1, strategy: zlib.constants.Z_HUFFMAN_ONLY }).length / data.length;
      assert.ok(entropyRatio(data) <= huffman, `entropy ${entropyRatio(data)} > Huffman ${huffman}`);
    }
    // Random bytes and base64 in 76-column lines (as bench/store.ts makes) stop before any trial (over 3/4);
    // base64 without line breaks (exactly 6 bits a byte at best), hex and padded text go on to the trials.
    let lines = '';
    while (lines.length < 48 * 1024) lines += randomBytes(57).toString('base64') + '\n';
    assert.ok(entropyRatio(randomBytes(48 * 1024)) > 0.75);
    assert.ok(entropyRatio(Buffer.from(lines)) > 0.75);
    assert.ok(entropyRatio(base64Text(48 * 1024)) <= 0.75);
    assert.ok(entropyRatio(hexText(48 * 1024)) <= 0.75);
    assert.ok(entropyRatio(paddedRows(48 * 1024)) <= 0.75);
  });
});

describe('PackWriter', () => {
  for (const algorithm of ['sha1', 'sha256'] as const) {
    it(`writes a pack and index that git reads, identical to git index-pack's (${algorithm})`, async () => {
      const r = repo(algorithm);
      const blobs = [randomBytes(200_000), sqlText(150_000), hexText(70_000), Buffer.alloc(0), Buffer.from('x')];
      const done = await writePack(tempDir(), algorithm, blobs);
      assert.equal(done.objects, blobs.length);
      // git's own index of our pack must be byte for byte ours.
      const theirs = join(tempDir(), 'theirs.idx');
      execFileSync('git', ['index-pack', `--object-format=${algorithm}`, '-o', theirs, done.pack], { cwd: r, stdio: 'ignore' });
      assert.deepEqual(readFileSync(theirs), readFileSync(done.idx));
      const packDir = join(r, '.git', 'objects', 'pack');
      copyFileSync(done.pack, join(packDir, 'pack-x.pack'));
      copyFileSync(done.idx, join(packDir, 'pack-x.idx'));
      for (const b of blobs) {
        const id = blobId(algorithm, b);
        assert.deepEqual(execFileSync('git', ['cat-file', 'blob', id], { cwd: r, maxBuffer: 1 << 26 }), b);
      }
      git(r, 'verify-pack', join(packDir, 'pack-x.idx'));
      git(r, 'fsck', '--strict', '--no-dangling');
      assert.deepEqual(await verifyPack(done.pack, done.idx, algorithm), { objects: blobs.length });
    });
  }

  it('refuses a truncated pack, an altered byte and a pack that is not its index’s', async () => {
    const algorithm = 'sha1';
    const done = await writePack(tempDir(), algorithm, [randomBytes(100_000), randomBytes(50_000)]);
    const dir = tempDir();
    const cut = join(dir, 'cut.pack');
    copyFileSync(done.pack, cut);
    truncateSync(cut, readFileSync(cut).length - 1000);
    await assert.rejects(verifyPack(cut, done.idx, algorithm), /truncated|shorter|damaged/);
    const flipped = join(dir, 'flipped.pack');
    copyFileSync(done.pack, flipped);
    const fd = openSync(flipped, 'r+');
    writeSync(fd, Buffer.from([0x55]), 0, 1, 5000);
    closeSync(fd);
    await assert.rejects(verifyPack(flipped, done.idx, algorithm), /damaged/);
    const other = await writePack(tempDir(), algorithm, [randomBytes(10_000)]);
    await assert.rejects(verifyPack(other.pack, done.idx, algorithm), /objects|index/);
    // git agrees that the truncated one is not a pack.
    assert.throws(() => execFileSync('git', ['index-pack', '-o', join(dir, 'x.idx'), cut], { stdio: 'ignore' }));
  });

  it('writes 64-bit offsets past 2 GiB in the index, and reads them back', async () => {
    const entries = [
      { id: Buffer.from('aa'.repeat(20), 'hex'), offset: 12, crc: 1 },
      { id: Buffer.from('01'.repeat(20), 'hex'), offset: 2 ** 31 + 7, crc: 2 },
      { id: Buffer.from('ff'.repeat(20), 'hex'), offset: 2 ** 33, crc: 3 },
    ];
    const file = join(tempDir(), 'big.idx');
    writeFileSync(file, buildIndex(entries, Buffer.alloc(20, 9), 'sha1'));
    const back = await readIndex(file, 'sha1');
    assert.deepEqual(
      back.entries.map((e) => [e.id.slice(0, 2), e.offset, e.crc]),
      [['01', 2 ** 31 + 7, 2], ['aa', 12, 1], ['ff', 2 ** 33, 3]],
    );
    const bytes = readFileSync(file);
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(file, bytes);
    await assert.rejects(readIndex(file, 'sha1'), /not a valid pack index/);
  });

  it('abort() leaves nothing behind', async () => {
    const dir = tempDir();
    const w = await PackWriter.create(dir, 'sha1');
    await w.add(blobId('sha1', Buffer.from('a')), 1, (await encodeBlob(Buffer.from('a'))).z);
    await w.abort();
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('FixedChunker', () => {
  it('cuts every `size` bytes whatever the buffering; a changed page changes one chunk', () => {
    const size = 64 * 1024;
    const input = randomBytes(10 * size + 123);
    const cut = (data: Buffer, piece: number) => {
      const c = new FixedChunker(size);
      const out: Buffer[] = [];
      for (let i = 0; i < data.length; i += piece) out.push(...c.push(data.subarray(i, i + piece)).map(joinChunk));
      const last = c.end();
      if (last) out.push(joinChunk(last));
      return out;
    };
    const a = cut(input, 1000);
    assert.deepEqual(a.map((c) => c.length), [...Array(10).fill(size), 123]);
    assert.deepEqual(Buffer.concat(a), input);
    assert.deepEqual(cut(input, size * 3 + 5).map((c) => c.toString('hex')), a.map((c) => c.toString('hex')));
    const edited = Buffer.from(input);
    edited[4 * size + 100] = edited[4 * size + 100]! ^ 0xff;
    const b = cut(edited, 4096);
    assert.deepEqual(b.map((c, i) => c.equals(a[i]!)), a.map((_, i) => i !== 4));
    assert.throws(() => new FixedChunker(100), RangeError);
  });
});

describe('GitDumpStore packs', () => {
  it('installs one kept pack per write, nothing left in its private dir', async () => {
    const r = repo();
    const store = new GitDumpStore(r, { chunkSizes: { min: 4096, avg: 16384, max: 65536 }});
    const big = await store.write(Readable.from([randomBytes(300_000)]));
    const small = await store.write(Readable.from([sqlText(50_000)]));
    assert.equal(big.written, 300_000);
    assert.ok(big.packed > 300_000);
    assert.ok(small.packed < 10_000, `small pack ${small.packed}`);
    const packs = readdirSync(join(r, '.git', 'objects', 'pack')).sort();
    assert.equal(packs.filter((f) => f.endsWith('.pack')).length, 2);
    assert.equal(packs.filter((f) => f.endsWith('.keep')).length, 2, packs.join(' '));
    assert.deepEqual(readdirSync(join(r, '.git', 'rollback', 'tmp')), []);
    git(r, 'fsck', '--strict', '--no-dangling');
    const again = await store.write(Readable.from([sqlText(50_000)]));
    assert.equal(again.packed, 0);
  });

  it('stores and reads back in a sha256 repository', async () => {
    const r = repo('sha256');
    const store = new GitDumpStore(r, { chunkSizes: { min: 4096, avg: 16384, max: 65536 } });
    const data = Buffer.concat([randomBytes(100_000), sqlText(100_000), hexText(50_000)]);
    const w = await store.write(Readable.from([data]));
    assert.equal(w.chunks[0]!.blob.length, 64);
    const back: Buffer[] = [];
    for await (const piece of store.read(w.chunks, w.sha256)) back.push(piece as Buffer);
    assert.deepEqual(Buffer.concat(back), data);
    assert.equal((await store.write(Readable.from([data]))).packed, 0);
    git(r, 'fsck', '--strict', '--no-dangling');
  });

  it('fixed chunking: a changed page stores one new chunk', async () => {
    const r = repo();
    const store = new GitDumpStore(r);
    const size = 64 * 1024;
    const file = randomBytes(8 * size);
    const first = await store.write(Readable.from([file]), { chunking: { kind: 'fixed', size } });
    assert.equal(first.chunks.length, 8);
    file[3 * size + 7] = file[3 * size + 7]! ^ 1;
    const second = await store.write(Readable.from([file]), { chunking: { kind: 'fixed', size } });
    assert.equal(second.reused, 7);
    assert.equal(second.written, size);
    const back: Buffer[] = [];
    for await (const piece of store.read(second.chunks, second.sha256)) back.push(piece as Buffer);
    assert.deepEqual(Buffer.concat(back), file);
  });

  it('a long dump in odd pieces: the chunks the chunker makes of it whole, each stored once', async () => {
    const r = repo();
    const store = new GitDumpStore(r);
    // 20 MiB in odd-sized pieces, part of it repeated (seeded: the same cut points every run).
    const block = Buffer.concat([seeded(9 * 1024 * 1024, 1), sqlText(2 * 1024 * 1024)]);
    const input = Buffer.concat([block, seeded(3 * 1024 * 1024, 2), block.subarray(0, 6 * 1024 * 1024)]);
    const pieces: Buffer[] = [];
    for (let i = 0; i < input.length; i += 70_001) pieces.push(input.subarray(i, i + 70_001));
    const w = await store.write(Readable.from(pieces));
    const expected = (splitter: { push(b: Buffer): { parts: Buffer[]; length: number }[]; end(): { parts: Buffer[]; length: number } | null }) => {
      const out = [...splitter.push(input)];
      const last = splitter.end();
      if (last) out.push(last);
      return out.map((c) => ({ blob: blobId('sha1', joinChunk(c)), size: c.length }));
    };
    assert.deepEqual(w.chunks, expected(new Chunker()));
    assert.equal(w.sha256, createHash('sha256').update(input).digest('hex'));
    assert.equal(w.size, input.length);
    assert.ok(w.reused > 0, 'the repeated chunks were not recognised');
    const back: Buffer[] = [];
    for await (const piece of store.read(w.chunks, w.sha256)) back.push(piece as Buffer);
    assert.ok(Buffer.concat(back).equals(input));
    // Again: everything known, nothing written.
    const again = await store.write(Readable.from(pieces));
    assert.deepEqual(again.chunks, w.chunks);
    assert.equal(again.packed, 0);
    // Fixed chunks too.
    const fixed = await store.write(Readable.from(pieces), { chunking: { kind: 'fixed', size: 1024 * 1024 } });
    assert.deepEqual(fixed.chunks, expected(new FixedChunker(1024 * 1024)));
    git(r, 'fsck', '--strict', '--no-dangling');
  });

  it('a failed input leaves no pack and no private dir', async () => {
    const r = repo();
    const store = new GitDumpStore(r, { chunkSizes: { min: 4096, avg: 16384, max: 65536 } });
    const failing = new Readable({
      read() {
        this.push(randomBytes(100_000));
        this.destroy(new Error('dump tool died'));
      },
    });
    await assert.rejects(store.write(failing), /dump tool died/);
    assert.deepEqual(readdirSync(join(r, '.git', 'objects', 'pack')), []);
    const tmp = join(r, '.git', 'rollback', 'tmp');
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], []);
    // The same after 20 MiB.
    let sent = 0;
    const late = new Readable({
      read() {
        if (sent < 20) {
          sent++;
          this.push(randomBytes(1024 * 1024));
        } else this.destroy(new Error('dump tool died late'));
      },
    });
    await assert.rejects(store.write(late), /dump tool died late/);
    assert.deepEqual(readdirSync(join(r, '.git', 'objects', 'pack')), []);
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], []);
  });
});

describe('cleanupInterruptedStores', () => {
  it('removes the dirs of dead processes only', async () => {
    const state = tempDir();
    const tmp = join(state, 'tmp');
    mkdirSync(tmp);
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => resolve(child.pid!));
    });
    const sleeper = spawn('sleep', ['30']);
    after(() => sleeper.kill());
    const make = (name: string, owner?: object) => {
      mkdirSync(join(tmp, name));
      writeFileSync(join(tmp, name, 'incoming.pack'), 'PACK');
      if (owner) writeFileSync(join(tmp, name, 'owner.json'), JSON.stringify(owner));
    };
    make(`store-${dead}-aa01`, { pid: dead, host: hostname(), start: null });
    make(`store-${dead}-aa02`); // killed before owner.json was written
    make(`store-${sleeper.pid}-bb01`, { pid: sleeper.pid, host: hostname(), start: null });
    make(`store-${dead}-cc01`, { pid: dead, host: 'another-host', start: null });
    make(`store-${process.pid}-dd01`, { pid: process.pid, host: hostname(), start: null });
    make(`stage-job1`);
    const removed = await cleanupInterruptedStores(state);
    assert.deepEqual(removed.map((d) => d.split('/').pop()).sort(), [`store-${dead}-aa01`, `store-${dead}-aa02`]);
    assert.deepEqual(readdirSync(tmp).sort(), [`stage-job1`, `store-${dead}-cc01`, `store-${process.pid}-dd01`, `store-${sleeper.pid}-bb01`].sort());
    assert.deepEqual(await cleanupInterruptedStores(join(state, 'nothing-here')), []);
    assert.ok(existsSync(join(tmp, 'stage-job1')));
  });
});
