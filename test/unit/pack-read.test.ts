// Reading dump chunks straight from our kept packs (pack-read.ts): the same
// bytes as git's own reader, stored entries copied out without inflate,
// compressed ones inflated, windows stitched where an entry crosses one; a
// damaged pack is refused (type/size of an entry, or the sha256 of the whole).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { GitDumpStore } from '../../src/adapters/dump-store.js';
import { materialize } from '../../src/adapters/engines/common.js';
import { ourKeptPacks } from '../../src/adapters/pack-files.js';
import { meteredDumpStore } from '../../src/adapters/progress.js';
import { copyStored, locateChunks, readFromPacks } from '../../src/adapters/pack-read.js';

async function all(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

describe('copyStored', () => {
  const data = randomBytes(200_000);
  it('copies the data of a stream of stored blocks', () => {
    const out = Buffer.alloc(data.length + 10);
    assert.equal(copyStored(zlib.deflateSync(data, { level: 0 }), out, 10, data.length), true);
    assert.deepEqual(out.subarray(10), data);
  });
  it('leaves anything else to inflate', () => {
    const text = Buffer.from('row 1, row 2, row 3\n'.repeat(5000));
    assert.equal(copyStored(zlib.deflateSync(text, { level: 1 }), Buffer.alloc(text.length), 0, text.length), false);
    // A size that does not match, or a truncated stream, is not copied either.
    const z = zlib.deflateSync(data, { level: 0 });
    assert.equal(copyStored(z, Buffer.alloc(data.length + 1), 0, data.length + 1), false);
    assert.equal(copyStored(z.subarray(0, 1000), Buffer.alloc(data.length), 0, data.length), false);
  });
});

describe('reading chunks from our kept packs', () => {
  const repo = mkdtempSync(join(tmpdir(), 'rb-pack-read-'));
  execFileSync('git', ['init', '-q', repo]);
  after(() => rmSync(repo, { recursive: true, force: true }));
  // 1 MiB chunks on average, so entries cross the 8 MiB read windows; random
  // parts are stored, text parts compressed.
  const sizes = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };
  const text = Buffer.from('INSERT INTO t VALUES (1, \'some text that compresses\');\n'.repeat(40_000));
  const input = Buffer.concat([randomBytes(9 << 20), text, randomBytes(7 << 20), text, randomBytes(3 << 20)]);
  const sha256 = createHash('sha256').update(input).digest('hex');
  const store = new GitDumpStore(repo, { chunkSizes: sizes });
  let chunks: Awaited<ReturnType<GitDumpStore['write']>>['chunks'] = [];

  it('gives the same bytes as git cat-file, stored and compressed entries alike', async () => {
    chunks = (await store.write(Readable.from([input]))).chunks;
    const packDir = join(repo, '.git', 'objects', 'pack');
    const packs = await ourKeptPacks(packDir, 'sha1', true);
    const where = locateChunks(chunks, packs);
    assert.ok(where, 'every chunk is in a kept pack');
    assert.deepEqual(await all(readFromPacks(chunks, where, packs)), input);
    // Out of order (a later point reusing earlier chunks): windows are re-read where needed.
    const shuffled = [...chunks].reverse();
    assert.deepEqual(await all(readFromPacks(shuffled, locateChunks(shuffled, packs)!, packs)), Buffer.concat(shuffled.map((c) => input.subarray(offsetOf(chunks, c), offsetOf(chunks, c) + c.size))));
    assert.deepEqual(await all(store.read(chunks, sha256)), input);
    assert.deepEqual(await all(new GitDumpStore(repo, { directRead: false }).read(chunks, sha256)), input);
  });

  it('writes the dump into a file with its buffers reused (materialize), and refuses a wrong sha256', async () => {
    const file = join(repo, 'restored.bin');
    assert.equal(await materialize(store.read(chunks, sha256), file), input.length);
    assert.deepEqual(readFileSync(file), input);
    rmSync(file);
    await assert.rejects(materialize(store.read(chunks, '0'.repeat(64)), file), /does not match its checksum/);
    assert.equal(existsSync(file), false, 'nothing left behind');
    // Through git (a store that does not read packs itself), the same bytes.
    assert.equal(await materialize(new GitDumpStore(repo, { directRead: false }).read(chunks, sha256), file), input.length);
    assert.deepEqual(readFileSync(file), input);
    rmSync(file);
    // A stream destroyed (a cancelled stage) stops the writing.
    const stream = store.read(chunks, sha256);
    stream.destroy(new Error('cancelled here'));
    await assert.rejects(materialize(stream, file), /cancelled here/);
    assert.equal(existsSync(file), false);
  });

  it('keeps the file way through the progress meter, which hears of every piece written', async () => {
    let seen = 0;
    let last = 0;
    const metered = meteredDumpStore(store, () => (t) => {
      seen++;
      last = t.bytes;
    });
    const file = join(repo, 'metered.bin');
    assert.equal(await materialize(metered.read(chunks, sha256), file), input.length);
    assert.deepEqual(readFileSync(file), input);
    assert.ok(seen > 0 && last === input.length, `progress: ${seen} reports, last ${last}`);
    rmSync(file);
    // Read as a stream, through the meter, the same bytes.
    assert.deepEqual(await all(metered.read(chunks, sha256)), input);
    // Cancelled before anything was read: the file way stops too.
    const stream = metered.read(chunks, sha256);
    stream.destroy(new Error('cancelled there'));
    await assert.rejects(materialize(stream, file), /cancelled there|read stopped/);
    assert.equal(existsSync(file), false);
  });

  it('falls back to git for a chunk outside our kept packs', async () => {
    const loose = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: repo, input: 'loose chunk\n', encoding: 'utf8' }).trim();
    const withLoose = [...chunks, { blob: loose, size: 12 }];
    const whole = Buffer.concat([input, Buffer.from('loose chunk\n')]);
    assert.equal(locateChunks(withLoose, await ourKeptPacks(join(repo, '.git', 'objects', 'pack'), 'sha1', true)), null);
    assert.deepEqual(await all(store.read(withLoose, createHash('sha256').update(whole).digest('hex'))), whole);
  });

  it('refuses a damaged pack: a flipped data byte (sha256 of the whole), a wrong entry size', async () => {
    const packDir = join(repo, '.git', 'objects', 'pack');
    const packs = await ourKeptPacks(packDir, 'sha1', true);
    const pack = join(packDir, readdirSync(packDir).find((n) => n.endsWith('.pack'))!);
    const entry = packs[0]!.entries[0]!;
    const fd = openSync(pack, 'r+');
    try {
      const flip = (at: number) => {
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, at);
        b[0] = b[0]! ^ 0x55;
        writeSync(fd, b, 0, 1, at);
      };
      flip(entry.offset + 1000);
      await assert.rejects(all(store.read(chunks, sha256)), /does not match its checksum/);
      await assert.rejects(materialize(store.read(chunks, sha256), join(repo, 'damaged.bin')), /does not match its checksum/);
      assert.equal(existsSync(join(repo, 'damaged.bin')), false);
      flip(entry.offset + 1000);
      flip(entry.offset); // the type and low size bits of the entry header
      await assert.rejects(all(store.read(chunks, sha256)), /expected a blob of/);
      flip(entry.offset);
      assert.deepEqual(await all(store.read(chunks, sha256)), input);
    } finally {
      closeSync(fd);
    }
  });
});

describe('a dump of SQL text (every chunk compressed)', () => {
  const repo = mkdtempSync(join(tmpdir(), 'rb-pack-read-text-'));
  execFileSync('git', ['init', '-q', repo]);
  after(() => rmSync(repo, { recursive: true, force: true }));
  const sizes = { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 };
  const rows: string[] = [];
  for (let i = 0; i < 60_000; i++) rows.push(`${i}\t${(i * 7919) % 100_003}\t${createHash('md5').update(String(i)).digest('hex')}\n`);
  const input = Buffer.from(rows.join(''));
  const sha256 = createHash('sha256').update(input).digest('hex');
  const store = new GitDumpStore(repo, { chunkSizes: sizes });

  it('is read from our packs, each chunk inflated whole, and refused when an entry in the middle is damaged', async () => {
    const { chunks } = await store.write(Readable.from([input]));
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    const packs = await ourKeptPacks(join(repo, '.git', 'objects', 'pack'), 'sha1', true);
    const where = locateChunks(chunks, packs)!;
    assert.ok(where.every((w, i) => w.length < chunks[i]!.size), 'every entry is compressed');
    assert.deepEqual(await all(store.read(chunks, sha256)), input);
    // The last byte of a middle entry's zlib stream is its Adler-32: zlib
    // refuses it. That the message is ours (not "could not be read from
    // git") shows the chunks were read from the pack, not by git cat-file.
    const mid = where[Math.floor(chunks.length / 2)]!;
    const fd = openSync(`${packs[mid.pack]!.base}.pack`, 'r+');
    try {
      const at = mid.offset + mid.length - 1;
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, at);
      writeSync(fd, Buffer.from([b[0]! ^ 0xff]), 0, 1, at);
      let seen = 0;
      await assert.rejects(
        (async () => {
          for await (const piece of store.read(chunks, sha256)) seen += (piece as Buffer).length;
        })(),
        /dump chunk \d+ of \d+ .*cannot be inflated/,
      );
      assert.ok(seen > 0 && seen < input.length, `stopped mid-stream after ${seen} bytes`);
      writeSync(fd, b, 0, 1, at);
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(await all(store.read(chunks, sha256)), input);
  });

  it('refuses an entry that inflates to more than its recorded size without inflating all of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-pack-read-long-'));
    try {
      // A blob of 1 KiB by its entry header, whose zlib stream holds 64 MiB.
      const size = 1024;
      const z = zlib.deflateSync(Buffer.alloc(64 << 20, 0x61));
      const header = Buffer.from([0x80 | (3 << 4) | (size & 15), size >> 4]);
      const base = join(dir, 'pack-fake');
      const bytes = Buffer.concat([header, z]);
      writeFileSync(`${base}.pack`, bytes);
      const packs = [{ base, size: bytes.length, entries: [] }];
      const chunks = [{ blob: 'f'.repeat(40), size }];
      await assert.rejects(all(readFromPacks(chunks, [{ pack: 0, offset: 0, length: bytes.length }], packs)), /dump chunk 1 of 1 .*cannot be inflated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function offsetOf(chunks: readonly { blob: string; size: number }[], c: { blob: string }): number {
  let at = 0;
  for (const x of chunks) {
    if (x.blob === c.blob) return at;
    at += x.size;
  }
  return -1;
}
