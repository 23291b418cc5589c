// Progress of dumps and restores: the meter around the dump store, and the
// bytes/s and ETA text the CLI shows after 2 s on a terminal.
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { meteredDumpStore } from '../../src/adapters/progress.js';
import type { DumpStore } from '../../src/core/engine.js';
import type { Transfer } from '../../src/core/progress.js';
import { transferText } from '../../src/cli/output.js';

/** A dump store in memory: write() keeps the bytes, read() gives them back (failing on a bad sha256). */
function memoryStore(): DumpStore & { kept: Buffer; extra(): string } {
  const store = {
    kept: Buffer.alloc(0),
    async write(input: Readable) {
      const parts: Buffer[] = [];
      for await (const c of input) parts.push(c as Buffer);
      store.kept = Buffer.concat(parts);
      return { chunks: [{ blob: 'b', size: store.kept.length }], size: store.kept.length, sha256: 'ok' };
    },
    read(_chunks: { blob: string; size: number }[], sha256: string) {
      if (sha256 !== 'ok') {
        const r = new PassThrough();
        setImmediate(() => r.destroy(new Error('sha256 mismatch')));
        return r;
      }
      return Readable.from([store.kept.subarray(0, 3), store.kept.subarray(3)]);
    },
    extra: () => 'passes through',
  };
  return store;
}

describe('progress', () => {
  it('meters writes and reads of the dump store, with the total known on reads', async () => {
    const seen: Transfer[] = [];
    let listening = true;
    const inner = memoryStore();
    const store = meteredDumpStore(inner, () => (listening ? (x) => seen.push({ ...x }) : null)) as typeof inner;
    const written = await store.write(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    assert.equal(written.size, 11);
    assert.deepEqual(seen.map((x) => [x.direction, x.bytes, x.total]), [['dump', 6, null], ['dump', 11, null]]);
    seen.length = 0;
    const out: Buffer[] = [];
    await pipeline(store.read([{ blob: 'b', size: 11 }], 'ok'), async function* (src) {
      for await (const c of src) out.push(c as Buffer);
    });
    assert.equal(Buffer.concat(out).toString(), 'hello world');
    assert.deepEqual(seen.map((x) => [x.direction, x.bytes, x.total]), [['restore', 3, 11], ['restore', 11, 11]]);
    assert.equal(store.extra(), 'passes through');
    await assert.rejects(pipeline(store.read([{ blob: 'b', size: 11 }], 'bad'), new PassThrough()), /sha256 mismatch/, 'a read error reaches the reader');
    listening = false;
    seen.length = 0;
    await store.write(Readable.from([Buffer.from('x')]));
    assert.equal(seen.length, 0);
  });

  it('shows bytes, bytes/s and an ETA when the total is known', () => {
    const x: Transfer = { direction: 'restore', bytes: 40 * 1024 * 1024, total: 100 * 1024 * 1024, startedAt: 0 };
    assert.equal(transferText(x, 10_000), '40 MiB of 100 MiB, 4.0 MiB/s, ETA 0:15');
    assert.equal(transferText({ ...x, direction: 'dump', total: null }, 4000), '40 MiB, 10 MiB/s');
  });
});
