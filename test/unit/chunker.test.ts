// The chunker's contract: deterministic, content-defined (an edit only
// changes the chunks around it), sizes within bounds, bytes preserved; and
// the store's: round trip, dedup of known chunks, refusal of a wrong checksum.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Chunker, joinChunk } from '../../src/adapters/chunker.js';
import { GitDumpStore, blobId } from '../../src/adapters/dump-store.js';

const SIZES = { min: 4096, avg: 16384, max: 65536 };

/** Deterministic pseudo-random text-like data (a dump is mostly text). */
function data(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = 32 + ((x >>> 0) % 90);
  }
  return out;
}

function chunk(input: Buffer, pieceSize: number): Buffer[] {
  const c = new Chunker(SIZES);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += pieceSize) out.push(...c.push(input.subarray(i, i + pieceSize)).map(joinChunk));
  const last = c.end();
  if (last) out.push(joinChunk(last));
  return out;
}

const ids = (chunks: Buffer[]) => chunks.map((c) => createHash('sha1').update(c).digest('hex'));

describe('Chunker', () => {
  const input = data(2_000_000, 7);

  it('preserves the bytes and respects min/max', () => {
    const chunks = chunk(input, 65536);
    assert.deepEqual(Buffer.concat(chunks), input);
    chunks.slice(0, -1).forEach((c) => assert.ok(c.length >= SIZES.min && c.length <= SIZES.max, `chunk of ${c.length}`));
    const avg = input.length / chunks.length;
    assert.ok(avg > SIZES.min && avg < SIZES.max, `average ${avg}`);
  });

  it('cuts at the same places whatever the input buffering', () => {
    assert.deepEqual(ids(chunk(input, 65536)), ids(chunk(input, 1000)));
    assert.deepEqual(ids(chunk(input, 65536)), ids(chunk(input, input.length)));
  });

  it('is content-defined: an insertion changes only nearby chunks', () => {
    const edited = Buffer.concat([input.subarray(0, 1_000_000), Buffer.from('INSERTED ROW'), input.subarray(1_000_000)]);
    const before = new Set(ids(chunk(input, 65536)));
    const after = ids(chunk(edited, 65536));
    const changed = after.filter((id) => !before.has(id)).length;
    assert.ok(changed <= 3, `${changed} of ${after.length} chunks changed`);
  });

  it('rejects impossible sizes', () => {
    assert.throws(() => new Chunker({ min: 10, avg: 16384, max: 65536 }), RangeError);
    assert.throws(() => new Chunker({ min: 4096, avg: 10000, max: 65536 }), RangeError);
  });
});

describe('GitDumpStore', () => {
  const repo = mkdtempSync(join(tmpdir(), 'rb-store-'));
  execFileSync('git', ['init', '-q', repo]);
  after(() => rmSync(repo, { recursive: true, force: true }));
  const store = new GitDumpStore(repo, { chunkSizes: SIZES });
  const input = data(1_000_000, 11);
  const sha256 = createHash('sha256').update(input).digest('hex');

  it('round-trips, computing blob ids as git does', async () => {
    const written = await store.write(Readable.from([input.subarray(0, 300_000), input.subarray(300_000)]));
    assert.equal(written.sha256, sha256);
    assert.equal(written.size, input.length);
    assert.equal(written.reused, 0);
    const firstId = execFileSync('git', ['cat-file', '-s', written.chunks[0]!.blob], { cwd: repo, encoding: 'utf8' }).trim();
    assert.equal(Number(firstId), written.chunks[0]!.size);
    assert.deepEqual(await store.missing(written.chunks), []);
    const back: Buffer[] = [];
    for await (const piece of store.read(written.chunks, sha256)) back.push(piece as Buffer);
    assert.deepEqual(Buffer.concat(back), input);
    assert.equal(blobId('sha1', Buffer.from('hello\n')), 'ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('writes nothing for chunks git already has', async () => {
    const again = await store.write(Readable.from([input]));
    assert.equal(again.written, 0);
    assert.equal(again.reused, again.chunks.length);
  });

  it('refuses a wrong checksum and reports missing chunks', async () => {
    const { chunks } = await store.write(Readable.from([input]));
    await assert.rejects(store.verify(chunks, '0'.repeat(64)), /does not match its checksum/);
    const gone = { blob: '1'.repeat(40), size: 5 };
    assert.deepEqual(await store.missing([...chunks, gone]), [gone]);
    await assert.rejects(store.verify([...chunks, gone], sha256), /missing from the repository/);
  });

  it('stores an empty dump as no chunks', async () => {
    const empty = await store.write(Readable.from([]));
    assert.deepEqual(empty.chunks, []);
    assert.equal(empty.size, 0);
    assert.equal((await store.verify([], empty.sha256)).size, 0);
  });
});
