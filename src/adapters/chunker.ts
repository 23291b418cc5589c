// Content-defined chunking (FastCDC: a gear rolling hash with normalized
// chunking, Xia et al., USENIX ATC 2016), as restic and borg use to split
// backups. Cut points depend on the bytes around them, not on their offset,
// so inserting or deleting rows in the middle of a dump only changes the
// chunks around the edit: the rest of the dump hashes to blobs git already
// has and costs nothing (docs/decisions.md, "Dump storage: content-defined
// chunks", has the measurements behind the sizes).
//
// Changing the gear table or the sizes never breaks old snapshots (chunks
// are listed explicitly in the manifest); it only stops new dumps from
// sharing chunks with older ones, so both are fixed here on purpose.

export interface ChunkSizes {
  /** No cut before this many bytes (FastCDC skips hashing them). */
  min: number;
  /** Expected chunk size; a power of two. */
  avg: number;
  /** Forced cut at this size: bounds the memory a chunk can take. */
  max: number;
}

export const DEFAULT_CHUNK_SIZES: Readonly<ChunkSizes> = Object.freeze({
  min: 512 * 1024,
  avg: 1024 * 1024,
  max: 8 * 1024 * 1024,
});

/** 256 pseudo-random 32-bit values (splitmix32 from a fixed seed): same table on every machine, forever. */
const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  let state = 0x9e3779b9 | 0;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
})();

/**
 * A mask of `bits` ones in the top bits of a 32-bit word. After
 * h = (h << 1) + GEAR[byte], bit k of h depends on the last k+1 bytes, so the
 * top bits see the widest window (32 bytes).
 */
function topMask(bits: number): number {
  return bits >= 32 ? -1 : ((2 ** bits - 1) * 2 ** (32 - bits)) | 0;
}

/**
 * A chunk as the pieces of input it spans, not copied: hashing reads the
 * pieces, and only a chunk that must be written is joined (joinChunk).
 */
export interface Chunk {
  parts: Buffer[];
  length: number;
}

/** Cuts a byte stream into chunks: push() returns the chunks it completed, end() the last one. */
export interface Splitter {
  push(data: Buffer): Chunk[];
  end(): Chunk | null;
}

/** The chunk's bytes as one buffer (the piece itself when it lies in one). */
export function joinChunk(chunk: Chunk): Buffer {
  return chunk.parts.length === 1 ? chunk.parts[0]! : Buffer.concat(chunk.parts, chunk.length);
}

/** How a dump is cut: content-defined (the default) or every `size` bytes (page-aligned files). */
export type Chunking = { kind: 'cdc' } | { kind: 'fixed'; size: number };

/** Smallest and largest fixed chunk: a git blob per 4 KiB page would drown the tree; over 64 MiB breaks memory bounds. */
export const FIXED_CHUNK_LIMITS = Object.freeze({ min: 64 * 1024, max: 64 * 1024 * 1024 });

export function makeSplitter(chunking: Chunking | undefined, sizes?: Partial<ChunkSizes>): Splitter {
  if (!chunking || chunking.kind === 'cdc') return new Chunker(sizes);
  return new FixedChunker(chunking.size);
}

/**
 * Cuts every `size` bytes. For files made of fixed-size pages (SQLite), whose
 * edits change pages in place and never shift the bytes after them: with
 * `size` a multiple of the page size, an unchanged page range is an
 * unchanged chunk, which content-defined cut points cannot promise there.
 */
export class FixedChunker implements Splitter {
  private parts: Buffer[] = [];
  private length = 0;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < FIXED_CHUNK_LIMITS.min || size > FIXED_CHUNK_LIMITS.max) {
      throw new RangeError(`invalid fixed chunk size ${size}: need an integer from ${FIXED_CHUNK_LIMITS.min} to ${FIXED_CHUNK_LIMITS.max}`);
    }
  }

  push(data: Buffer): Chunk[] {
    const out: Chunk[] = [];
    let start = 0;
    while (start < data.length) {
      const take = Math.min(this.size - this.length, data.length - start);
      this.parts.push(data.subarray(start, start + take));
      this.length += take;
      start += take;
      if (this.length === this.size) out.push(this.take());
    }
    return out;
  }

  end(): Chunk | null {
    return this.length > 0 ? this.take() : null;
  }

  private take(): Chunk {
    const chunk = { parts: this.parts, length: this.length };
    this.parts = [];
    this.length = 0;
    return chunk;
  }
}

/** Bytes hashed before `min` so that the window is full when cut points become possible. */
const WARMUP = 64;

/** The gear hash after the last scan() (a second return value without an allocation). */
let scanned = 0;

/**
 * Rolls the gear hash over data[i, stop) from `h`; returns the index just
 * after the first position where (hash & mask) is 0, or -1. The hot loop of
 * the store: kept apart and unrolled by two so V8 compiles it tight
 * (~30% faster than inline in push()), with the very same cut points.
 */
function scan(data: Uint8Array, i: number, stop: number, h: number, mask: number): number {
  const gear = GEAR;
  const last = stop - 1;
  while (i < last) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & mask) === 0) {
      scanned = h;
      return i + 1;
    }
    h = ((h << 1) + gear[data[i + 1]!]!) | 0;
    if ((h & mask) === 0) {
      scanned = h;
      return i + 2;
    }
    i += 2;
  }
  if (i < stop) {
    h = ((h << 1) + gear[data[i]!]!) | 0;
    if ((h & mask) === 0) {
      scanned = h;
      return i + 1;
    }
  }
  scanned = h;
  return -1;
}

/**
 * Splits a byte stream into content-defined chunks. Feed it with push() and
 * collect the completed chunks it returns; end() returns the last one.
 * Input buffers are referenced, not copied, so memory stays at about one
 * `max`-sized chunk plus what the caller keeps.
 */
export class Chunker implements Splitter {
  private readonly sizes: ChunkSizes;
  private readonly maskS: number;
  private readonly maskL: number;
  private parts: Buffer[] = [];
  private length = 0;
  private hash = 0;

  constructor(sizes: Partial<ChunkSizes> = {}) {
    const s = { ...DEFAULT_CHUNK_SIZES, ...sizes };
    const bits = Math.log2(s.avg);
    if (!Number.isInteger(bits) || s.min < WARMUP || s.min >= s.avg || s.avg >= s.max) {
      throw new RangeError(`invalid chunk sizes: need ${WARMUP} <= min < avg < max and avg a power of two`);
    }
    this.sizes = s;
    // Normalized chunking, level 2: harder to cut before avg, easier after,
    // which narrows the size distribution around avg.
    this.maskS = topMask(bits + 2);
    this.maskL = topMask(bits - 2);
  }

  /** Adds bytes; returns the chunks this completed (often none). */
  push(data: Buffer): Chunk[] {
    const out: Chunk[] = [];
    const { min, avg, max } = this.sizes;
    let start = 0;
    let i = 0;
    const n = data.length;
    while (i < n) {
      const len = this.length + (i - start);
      let cut = -1;
      let h = this.hash;
      if (len < min - WARMUP) {
        // Nothing to look at yet: jump.
        i = Math.min(n, i + (min - WARMUP - len));
        h = 0;
      } else if (len < min) {
        const stop = Math.min(n, i + (min - len));
        for (; i < stop; i++) h = ((h << 1) + GEAR[data[i]!]!) | 0;
      } else {
        // Before avg the stricter mask, after it the looser one, up to max.
        const before = len < avg;
        const stop = Math.min(n, i + ((before ? avg : max) - len));
        cut = scan(data, i, stop, h, before ? this.maskS : this.maskL);
        i = cut >= 0 ? cut : stop;
        h = scanned;
        if (!before && cut < 0 && this.length + (i - start) >= max) cut = i;
      }
      this.hash = h;
      if (cut >= 0) {
        this.parts.push(data.subarray(start, cut));
        this.length += cut - start;
        out.push(this.take());
        start = cut;
      } else if (i >= n) {
        break;
      } else {
        // Crossed a phase boundary inside this buffer: account for the bytes so far.
        this.parts.push(data.subarray(start, i));
        this.length += i - start;
        start = i;
      }
    }
    if (start < n) {
      this.parts.push(data.subarray(start, n));
      this.length += n - start;
    }
    return out;
  }

  /** The last, possibly short, chunk; null when nothing is pending. */
  end(): Chunk | null {
    return this.length > 0 ? this.take() : null;
  }

  private take(): Chunk {
    const chunk = { parts: this.parts, length: this.length };
    this.parts = [];
    this.length = 0;
    this.hash = 0;
    return chunk;
  }
}
