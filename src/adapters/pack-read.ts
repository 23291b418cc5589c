// Reading dump chunks straight from our kept packs (pack-files.ts), without
// a `git cat-file` process: the chunks of a dump sit one after another in a
// pack, so they are read with large preads, and an entry stored as it is
// (zlib "stored" blocks: what pack-writer.ts writes for data that does not
// compress) is copied out of its blocks with no inflate. Other entries are
// inflated in the thread pool, each in ONE call: zlib.inflate's default
// 16 KiB output chunk made ~64 thread-pool round trips and a concat per
// 1 MiB chunk, which cost more CPU than the inflating itself.
//
// Nothing here is trusted more than git's own reader would be: each entry's
// type and size are checked against the chunk expected there and every
// bound against the pack; the caller checks the size and sha256 of the whole
// before anything is used (dump-store.ts).
import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ChunkRef } from '../core/types.js';
import { CorruptSnapshotError } from '../core/errors.js';
import type { KeptPack } from './pack-files.js';

const inflate = promisify(zlib.inflate);
const OBJ_BLOB = 3;
/** Bytes per pread of a pack, and per piece handed on. */
const WINDOW = 8 << 20;

/** Where each chunk's entry is, or null when one is not in our kept packs (or is sealed). */
export function locateChunks(chunks: readonly ChunkRef[], packs: readonly KeptPack[]): Array<{ pack: number; offset: number; length: number }> | null {
  const where = new Map<string, { pack: number; offset: number; length: number }>();
  packs.forEach((p, pack) => {
    for (const e of p.entries) where.set(e.id, { pack, offset: e.offset, length: e.length });
  });
  const out: Array<{ pack: number; offset: number; length: number }> = [];
  for (const c of chunks) {
    const at = c.enc ? undefined : where.get(c.blob);
    if (!at) return null;
    out.push(at);
  }
  return out;
}

interface Window {
  pack: number;
  start: number;
  /** The bytes read, a view of `full`. */
  buf: Buffer;
  full: Buffer;
}

/**
 * Yields the chunks' contents in order: stored entries gathered in pieces of
 * up to WINDOW bytes, each inflated entry as a piece of its own (a fresh
 * buffer). `where` is locateChunks()'s answer for `chunks`. With `reuse`, two piece
 * buffers take turns (fresh 8 MiB buffers cost ~0.5 s of page faults per
 * 300 MiB): a piece's bytes are overwritten once the generator has been
 * resumed twice after yielding it, so the consumer must be done with a
 * piece by then (readIntoFile: at most one write in flight).
 */
export async function* readFromPacks(
  chunks: readonly ChunkRef[],
  where: ReadonlyArray<{ pack: number; offset: number; length: number }>,
  packs: readonly KeptPack[],
  options: { reuse?: boolean } = {},
): AsyncGenerator<Buffer> {
  const handles = new Map<number, FileHandle>();
  // Two windows at most: the one being used and the one being read ahead;
  // their buffers are reused (fresh 8 MiB buffers cost page faults and GC).
  const spare: Buffer[] = [];
  const take = (length: number) => (length <= WINDOW ? (spare.pop() ?? Buffer.allocUnsafe(WINDOW)) : Buffer.allocUnsafe(length));
  const give = (full: Buffer | undefined) => {
    if (full?.length === WINDOW) spare.push(full);
  };
  let win: Window | undefined;
  let next: { pack: number; start: number; full: Buffer; read: Promise<Buffer> } | undefined;
  try {
    for (const w of where) {
      if (!handles.has(w.pack)) handles.set(w.pack, await open(`${packs[w.pack]!.base}.pack`, 'r'));
    }
    const readAt = async (pack: number, start: number, full: Buffer): Promise<Buffer> => {
      const length = Math.max(0, Math.min(packs[pack]!.size - start, full.length));
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handles.get(pack)!.read(full, got, length - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return full.subarray(0, got);
    };
    const prefetch = (pack: number, start: number) => {
      const full = take(WINDOW);
      const read = readAt(pack, start, full);
      read.catch(() => undefined); // awaited when used
      next = { pack, start, full, read };
    };
    /** Moves on to the window read ahead, and reads ahead the one after it. */
    const advance = async (): Promise<Window> => {
      const n = next!;
      next = undefined;
      const buf = await n.read;
      give(win?.full);
      win = { pack: n.pack, start: n.start, buf, full: n.full };
      if (buf.length === WINDOW) prefetch(n.pack, n.start + WINDOW);
      return win;
    };
    const inside = (x: Window | undefined, w: { pack: number; offset: number; length: number }): boolean =>
      x !== undefined && x.pack === w.pack && w.offset >= x.start && w.offset + w.length <= x.start + x.buf.length;
    /** The bytes of the entry at `w` (a view into a window when it fits in one). */
    const entryBytes = async (w: { pack: number; offset: number; length: number }): Promise<Buffer> => {
      if (win && inside(win, w)) return win.buf.subarray(w.offset - win.start, w.offset - win.start + w.length);
      if (win && next && win.pack === w.pack && next.pack === w.pack && w.offset >= win.start && w.offset < win.start + win.buf.length && next.start === win.start + win.buf.length) {
        // Runs on into the window being read ahead: stitched, and reading goes on from there.
        const tail = Buffer.from(win.buf.subarray(w.offset - win.start));
        const ahead = await advance();
        if (w.length - tail.length <= ahead.buf.length) return Buffer.concat([tail, ahead.buf.subarray(0, w.length - tail.length)]);
      } else if (next && next.pack === w.pack && w.offset >= next.start && w.offset < next.start + WINDOW) {
        const ahead = await advance();
        if (inside(ahead, w)) return ahead.buf.subarray(w.offset - ahead.start, w.offset - ahead.start + w.length);
      }
      // Not where the reading was heading (or larger than a window): read from here.
      if (next) {
        await next.read.catch(() => undefined);
        give(next.full);
        next = undefined;
      }
      give(win?.full);
      win = undefined;
      const full = take(Math.max(WINDOW, w.length));
      const buf = await readAt(w.pack, w.offset, full);
      win = { pack: w.pack, start: w.offset, buf, full };
      if (buf.length >= WINDOW) prefetch(w.pack, w.offset + buf.length);
      if (!inside(win, w)) throw new CorruptSnapshotError(`a dump chunk's entry runs past the end of ${packs[w.pack]!.base}.pack`);
      return buf.subarray(0, w.length);
    };

    // Pieces handed on: fresh buffers, or (options.reuse) two that take turns.
    const ring = options.reuse ? [Buffer.allocUnsafe(WINDOW), Buffer.allocUnsafe(WINDOW)] : [];
    let turn = 0;
    const nextOut = (size: number) => (ring.length > 0 && size <= WINDOW ? ring[turn++ % ring.length]! : Buffer.allocUnsafe(Math.max(WINDOW, size)));
    let out = nextOut(0);
    // out[start, used) is gathered and not yet handed on.
    let start = 0;
    let used = 0;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const what = `dump chunk ${i + 1} of ${chunks.length} (${chunk.blob})`;
      const entry = await entryBytes(where[i]!);
      const { type, size, at } = entryHeader(entry, what);
      if (type !== OBJ_BLOB || size !== chunk.size) throw new CorruptSnapshotError(`${what} is an object of type ${type} and ${size} bytes in its pack, expected a blob of ${chunk.size}`);
      if (used + size > out.length) {
        if (used > start) yield out.subarray(start, used);
        out = nextOut(size);
        start = used = 0;
      }
      const z = entry.subarray(at);
      if (copyStored(z, out, used, size)) {
        used += size;
        continue;
      }
      // Room for one byte more than expected, so the end of the stream is
      // seen in the same call; and no more, so a damaged or hostile entry
      // cannot inflate to gigabytes.
      const plain = await inflate(z, { chunkSize: Math.max(zlib.constants.Z_MIN_CHUNK, size + 1), maxOutputLength: size + 1 }).catch((error: Error) => {
        throw new CorruptSnapshotError(`${what} cannot be inflated: ${error.message}`);
      });
      if (plain.length !== size) throw new CorruptSnapshotError(`${what} inflates to ${plain.length} bytes, expected ${size}`);
      // Handed on as it is, not copied into `out` (a buffer of its own: the
      // reuse rule above is kept); what `out` gathered goes first.
      if (used > start) yield out.subarray(start, used);
      start = used;
      yield plain;
    }
    if (used > start) yield out.subarray(start, used);
  } finally {
    await next?.read.catch(() => undefined);
    for (const h of handles.values()) await h.close().catch(() => undefined);
  }
}

/** A pack entry's type and size, and where its zlib stream starts. */
function entryHeader(entry: Buffer, where: string): { type: number; size: number; at: number } {
  let c = entry[0] ?? 0;
  const type = (c >> 4) & 7;
  let size = c & 15;
  let shift = 4;
  let at = 1;
  while (c & 0x80) {
    if (at >= entry.length || shift > 49) throw new CorruptSnapshotError(`${where} has a broken entry header in its pack`);
    c = entry[at++]!;
    size += (c & 0x7f) * 2 ** shift;
    shift += 7;
  }
  return { type, size, at };
}

/**
 * When `z` is a zlib stream of stored blocks only, copies its `size` bytes
 * of data into `out` at `pos` and returns true; false for anything else (the
 * caller inflates it). The Adler-32 is not checked: the sha256 of the whole
 * dump is.
 */
export function copyStored(z: Buffer, out: Buffer, pos: number, size: number): boolean {
  if (z.length < 2 || (z[0]! & 0x0f) !== 8 || (z[1]! & 0x20) !== 0 || ((z[0]! << 8) | z[1]!) % 31 !== 0) return false;
  let p = 2;
  let got = 0;
  for (;;) {
    if (p + 5 > z.length) return false;
    const h = z[p]!;
    // BFINAL in bit 0, BTYPE 00 (stored) in bits 1-2; the rest pads to the byte.
    if ((h & 0xfe) !== 0) return false;
    const len = z[p + 1]! | (z[p + 2]! << 8);
    const nlen = z[p + 3]! | (z[p + 4]! << 8);
    if ((len ^ 0xffff) !== nlen) return false;
    p += 5;
    if (p + len > z.length || got + len > size) return false;
    z.copy(out, pos + got, p, p + len);
    got += len;
    p += len;
    if (h & 1) break;
  }
  return got === size;
}
