// Git pack files written directly (format: git's Documentation/gitformat-pack):
// a pack of blob entries and its version-2 index, built in a private
// directory and moved into objects/pack/ only when complete and checked.
//
// Why not `git fast-import` or `git index-pack`: both hash every byte again
// with git's collision-detecting SHA-1 (fast-import at core.compression=0
// took 12 s for 300 MiB here, index-pack 2.6 s), while the dump store has
// already hashed each chunk for its blob id. Here each entry is written once;
// the only second pass is the pack checksum (the object count in the header
// is known only at the end), ~0.2 s per 300 MiB with OpenSSL's SHA-1.
//
// The entries' zlib streams come from encodeBlob(): git requires zlib, but
// not any particular level, so each chunk gets the cheapest encoding that is
// worth it (docs/decisions.md, "Dump storage: own pack writer").
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile, chmod, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

export type HashAlgorithm = 'sha1' | 'sha256';
const HASH_BYTES: Record<HashAlgorithm, number> = { sha1: 20, sha256: 32 };

const deflate = promisify(zlib.deflate);
const OBJ_BLOB = 3;

/** Bytes of a chunk sampled to decide how to encode it (three slices: start, middle, end). */
const SAMPLE_SLICE = 16 * 1024;
/** Compress only when the sample shrinks to at most this fraction (≥ 30% saved): below that, zlib costs more time than the space is worth. */
const WORTH_IT = 0.7;

export type Encoding = 'stored' | 'huffman' | 'rle' | 'deflate';

/** Encoding options per choice; chunkSize near the input size so zlib hands back one buffer. */
function zlibOptions(encoding: Encoding, length: number): zlib.ZlibOptions {
  const chunkSize = Math.max(64 * 1024, Math.min(length + (length >> 6) + 64, 16 * 1024 * 1024));
  if (encoding === 'stored') return { level: 0, chunkSize };
  if (encoding === 'huffman') return { level: 1, strategy: zlib.constants.Z_HUFFMAN_ONLY, chunkSize };
  if (encoding === 'rle') return { level: 1, strategy: zlib.constants.Z_RLE, chunkSize };
  return { level: 1, chunkSize };
}

function sampleOf(data: Buffer): Buffer {
  if (data.length <= 3 * SAMPLE_SLICE) return data;
  const mid = Math.floor(data.length / 2 - SAMPLE_SLICE / 2);
  return Buffer.concat([data.subarray(0, SAMPLE_SLICE), data.subarray(mid, mid + SAMPLE_SLICE), data.subarray(data.length - SAMPLE_SLICE)]);
}

/**
 * The order-0 entropy of `data` (bytes as independent symbols, their
 * frequencies in `data`) as a fraction of 8 bits per byte: a lower bound on
 * what any Huffman coding of `data` reaches, Huffman-only deflate included
 * (its codes are length-limited and it adds block headers: only longer).
 * A 256-entry histogram of the 48 KiB sample: ~0.05 ms on the main thread,
 * where a Huffman trial through node:zlib's async API costs ~0.45 ms of it
 * per chunk (stream set-up, output buffer, copy) besides the thread pool's.
 */
export function entropyRatio(data: Uint8Array): number {
  const n = data.length;
  if (n === 0) return 0;
  const counts = new Uint32Array(256);
  for (let i = 0; i < n; i++) counts[data[i]!]!++;
  let bits = 0;
  for (let v = 0; v < 256; v++) {
    const c = counts[v]!;
    if (c > 0) bits -= c * Math.log2(c / n);
  }
  return bits / (8 * n);
}

/**
 * Chooses how to encode a chunk from a sample (the trials run in libuv's
 * thread pool, like the encoding itself): the fastest encoding whose ratio
 * is within 10% of the best, and none (stored) when even the best would save
 * less than 30%. From fastest to slowest: Huffman only (~150–200 MiB/s here;
 * all that hex digests and numbers allow), run-length (Z_RLE: runs such as
 * a char(n) column's padding, ~2.5× the speed of level 1 for 4% more on a
 * pgbench dump with md5 fillers), zlib level 1 (back-references; at its
 * fastest where text repeats most: ~1.2 GiB/s on pgbench's own dump).
 * Random, compressed, encrypted or base64 bytes stop before any trial: the
 * sample's entropy already rules out a saving (entropyRatio).
 */
export async function chooseEncoding(data: Buffer): Promise<Encoding> {
  if (data.length < 256) return 'stored';
  const sample = sampleOf(data);
  // No Huffman coding beats the order-0 entropy: above 3/4 the trial below
  // would say "stored" too, at ~8× the main thread's time.
  if (entropyRatio(sample) > 0.75) return 'stored';
  const h = (await deflate(sample, zlibOptions('huffman', sample.length))).length / sample.length;
  // When entropy coding leaves over 3/4, back-references within zlib's
  // 32 KiB window do not get it under WORTH_IT either (random bytes,
  // compressed or encrypted dumps, base64): no further trials.
  if (h > 0.75) return 'stored';
  const head = sample.subarray(0, SAMPLE_SLICE);
  const [rle, lz] = await Promise.all([deflate(head, zlibOptions('rle', head.length)), deflate(head, zlibOptions('deflate', head.length))]);
  const r = rle.length / head.length;
  const l = lz.length / head.length;
  const best = Math.min(h, r, l);
  if (best > WORTH_IT) return 'stored';
  if (l <= 0.2) return 'deflate';
  if (h <= best * 1.1) return 'huffman';
  if (r <= best * 1.1) return 'rle';
  return 'deflate';
}

/** The zlib stream of a blob entry's content, encoded as chooseEncoding() decides. */
export async function encodeBlob(data: Buffer, encoding?: Encoding): Promise<{ z: Buffer; encoding: Encoding }> {
  const chosen = encoding ?? (await chooseEncoding(data));
  return { z: await deflate(data, zlibOptions(chosen, data.length)), encoding: chosen };
}

/** Type-and-size header of a pack entry: 3 bits of type, the size in little-endian 7-bit groups. */
export function entryHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let c = (type << 4) | (size % 16);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest % 128;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

interface Entry {
  id: Buffer;
  offset: number;
  crc: number;
}

export interface WrittenPack {
  /** Hex checksum of the pack: its name is pack-<name>.pack / .idx. */
  name: string;
  pack: string;
  idx: string;
  objects: number;
  bytes: number;
}

/**
 * Writes one pack of blobs into `dir`. add() appends entries (call it
 * sequentially); finish() writes the count, the checksum and the index,
 * fsyncs both, and returns their paths; abort() removes what was written.
 */
export class PackWriter {
  private readonly entries: Entry[] = [];
  private offset = 12;
  private finished = false;

  private constructor(
    private readonly dir: string,
    private readonly algorithm: HashAlgorithm,
    private readonly file: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(dir: string, algorithm: HashAlgorithm): Promise<PackWriter> {
    const file = join(dir, 'incoming.pack');
    const fh = await open(file, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_RDWR, 0o600);
    // The real header is written by finish(), when the count is known.
    await fh.write(Buffer.alloc(12), 0, 12, 0);
    return new PackWriter(dir, algorithm, file, fh);
  }

  get objects(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.offset;
  }

  /** Appends a blob whose content is `size` bytes, `z` being its zlib stream; `id` its object id (hex). */
  async add(id: string, size: number, z: Buffer): Promise<void> {
    const header = entryHeader(OBJ_BLOB, size);
    const crc = zlib.crc32(z, zlib.crc32(header));
    const offset = this.offset;
    await this.fh.writev([header, z], offset);
    this.entries.push({ id: Buffer.from(id, 'hex'), offset, crc });
    this.offset += header.length + z.length;
  }

  /** Appends an entry copied whole from another pack (header + zlib stream), whose CRC-32 is known. */
  async addEntry(id: string, entry: Buffer, crc: number): Promise<void> {
    const offset = this.offset;
    await this.fh.write(entry, 0, entry.length, offset);
    this.entries.push({ id: Buffer.from(id, 'hex'), offset, crc });
    this.offset += entry.length;
  }

  async finish(): Promise<WrittenPack | null> {
    this.finished = true;
    if (this.entries.length === 0) {
      await this.abort();
      return null;
    }
    const header = Buffer.alloc(12);
    header.write('PACK', 0, 'latin1');
    header.writeUInt32BE(2, 4);
    header.writeUInt32BE(this.entries.length, 8);
    await this.fh.write(header, 0, 12, 0);
    // The checksum is computed from the file as it is on disk, so the pack
    // is consistent with itself whatever happened to the writes; the data
    // goes to disk meanwhile, so the fsync after the trailer has little left.
    const flushing = this.fh.datasync();
    flushing.catch(() => undefined); // awaited below
    const trailer = await checksumFile(this.fh, this.offset, this.algorithm, []);
    await flushing;
    await this.fh.write(trailer, 0, trailer.length, this.offset);
    await this.fh.sync();
    await this.fh.close();
    const name = trailer.toString('hex');
    const pack = join(this.dir, `pack-${name}.pack`);
    const idx = join(this.dir, `pack-${name}.idx`);
    await rename(this.file, pack);
    await chmod(pack, 0o444);
    const index = buildIndex(this.entries, trailer, this.algorithm);
    await writeFile(idx, index, { mode: 0o444, flag: 'wx' });
    const fh = await open(idx, 'r');
    await fh.sync().finally(() => fh.close());
    return { name, pack, idx, objects: this.entries.length, bytes: this.offset + trailer.length };
  }

  async abort(): Promise<void> {
    this.finished = true;
    await this.fh.close().catch(() => undefined);
    await rm(this.file, { force: true });
  }

  /** True until finish() or abort() ran. */
  get open(): boolean {
    return !this.finished;
  }
}

/** Hashes the first `length` bytes of the pack; checks the CRC-32 of each of `entries` (sorted by offset) on the way. */
async function checksumFile(fh: FileHandle, length: number, algorithm: HashAlgorithm, entries: readonly Entry[]): Promise<Buffer> {
  const hash = createHash(algorithm);
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  let pos = 0;
  let next = 0; // index of the entry whose CRC is being computed
  let crc = 0;
  while (pos < length) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) throw new Error(`pack file shorter than written (${pos} of ${length} bytes)`);
    const piece = buf.subarray(0, bytesRead);
    hash.update(piece);
    // CRC of each entry = bytes from its offset to the next entry's (or the end).
    let at = 0;
    while (at < piece.length) {
      const abs = pos + at;
      const entry = entries[next];
      if (!entry || abs < entry.offset) {
        // Header bytes before the first entry.
        at = entry ? Math.min(piece.length, entry.offset - pos) : piece.length;
        continue;
      }
      const end = (entries[next + 1]?.offset ?? length) - pos;
      const take = Math.min(piece.length, end);
      crc = zlib.crc32(piece.subarray(at, take), crc);
      at = take;
      if (take === end) {
        if (crc !== entry.crc) throw new Error(`the entry at offset ${entry.offset} is damaged or truncated (CRC-32 differs from the index)`);
        crc = 0;
        next++;
      }
    }
    pos += bytesRead;
  }
  return hash.digest();
}

/** A version-2 pack index: fan-out, sorted ids, CRC-32s, offsets (64-bit table past 2 GiB), checksums. */
export function buildIndex(entries: readonly Entry[], packChecksum: Buffer, algorithm: HashAlgorithm): Buffer {
  const hashBytes = HASH_BYTES[algorithm];
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.id, b.id));
  const n = sorted.length;
  const large = sorted.filter((e) => e.offset >= 0x80000000).length;
  const size = 8 + 256 * 4 + n * (hashBytes + 4 + 4) + large * 8 + 2 * hashBytes;
  const out = Buffer.alloc(size);
  out.writeUInt32BE(0xff744f63, 0);
  out.writeUInt32BE(2, 4);
  const fanout = new Uint32Array(256);
  for (const e of sorted) fanout[e.id[0]!]!++;
  let pos = 8;
  let total = 0;
  for (let i = 0; i < 256; i++) {
    total += fanout[i]!;
    out.writeUInt32BE(total, pos);
    pos += 4;
  }
  for (const e of sorted) {
    e.id.copy(out, pos);
    pos += hashBytes;
  }
  for (const e of sorted) {
    out.writeUInt32BE(e.crc >>> 0, pos);
    pos += 4;
  }
  let largeIndex = 0;
  const largeOffsets: number[] = [];
  for (const e of sorted) {
    if (e.offset >= 0x80000000) {
      out.writeUInt32BE((0x80000000 | largeIndex++) >>> 0, pos);
      largeOffsets.push(e.offset);
    } else {
      out.writeUInt32BE(e.offset, pos);
    }
    pos += 4;
  }
  for (const off of largeOffsets) {
    out.writeBigUInt64BE(BigInt(off), pos);
    pos += 8;
  }
  packChecksum.copy(out, pos);
  pos += hashBytes;
  createHash(algorithm).update(out.subarray(0, pos)).digest().copy(out, pos);
  return out;
}

export interface PackIndexEntry {
  id: string;
  offset: number;
  crc: number;
}

/** Reads a version-2 pack index, checking its own checksum; entries in id order. */
export async function readIndex(file: string, algorithm: HashAlgorithm): Promise<{ entries: PackIndexEntry[]; packChecksum: Buffer }> {
  const hashBytes = HASH_BYTES[algorithm];
  const buf = await readFile(file);
  const bad = (why: string) => new Error(`${file}: not a valid pack index (${why})`);
  if (buf.length < 8 + 1024 + 2 * hashBytes || buf.readUInt32BE(0) !== 0xff744f63 || buf.readUInt32BE(4) !== 2) throw bad('header');
  const body = buf.subarray(0, buf.length - hashBytes);
  if (!createHash(algorithm).update(body).digest().equals(buf.subarray(buf.length - hashBytes))) throw bad('checksum');
  const n = buf.readUInt32BE(8 + 255 * 4);
  const ids = 8 + 1024;
  const crcs = ids + n * hashBytes;
  const offsets = crcs + n * 4;
  const large = offsets + n * 4;
  if (large + 2 * hashBytes > buf.length) throw bad('size');
  const entries: PackIndexEntry[] = [];
  for (let i = 0; i < n; i++) {
    let offset = buf.readUInt32BE(offsets + i * 4);
    if (offset & 0x80000000) {
      const at = large + (offset & 0x7fffffff) * 8;
      if (at + 8 > buf.length - 2 * hashBytes) throw bad('large offset');
      offset = Number(buf.readBigUInt64BE(at));
    }
    entries.push({ id: buf.toString('hex', ids + i * hashBytes, ids + (i + 1) * hashBytes), offset, crc: buf.readUInt32BE(crcs + i * 4) });
  }
  return { entries, packChecksum: Buffer.from(buf.subarray(buf.length - 2 * hashBytes, buf.length - hashBytes)) };
}

/**
 * Checks that a pack matches its index without inflating anything: header,
 * object count, every entry's CRC-32, the trailing checksum and the index's
 * copy of it. A truncated or altered pack is refused.
 */
export async function verifyPack(pack: string, idx: string, algorithm: HashAlgorithm): Promise<{ objects: number }> {
  const hashBytes = HASH_BYTES[algorithm];
  const { entries, packChecksum } = await readIndex(idx, algorithm);
  const bad = (why: string) => new Error(`${pack}: ${why}`);
  const { size } = await stat(pack);
  if (size < 12 + hashBytes) throw bad('too short to be a pack');
  const fh = await open(pack, 'r');
  try {
    const header = Buffer.alloc(12);
    await fh.read(header, 0, 12, 0);
    if (header.toString('latin1', 0, 4) !== 'PACK' || header.readUInt32BE(4) !== 2) throw bad('not a version-2 pack');
    if (header.readUInt32BE(8) !== entries.length) throw bad(`holds ${header.readUInt32BE(8)} objects, its index ${entries.length}`);
    const byOffset = entries.map((e) => ({ id: Buffer.from(e.id, 'hex'), offset: e.offset, crc: e.crc })).sort((a, b) => a.offset - b.offset);
    const end = size - hashBytes;
    if (byOffset.some((e) => e.offset < 12 || e.offset >= end)) throw bad('is shorter than its index says (truncated?)');
    let sum: Buffer;
    try {
      sum = await checksumFile(fh, end, algorithm, byOffset);
    } catch (error) {
      throw bad((error as Error).message);
    }
    const trailer = Buffer.alloc(hashBytes);
    await fh.read(trailer, 0, hashBytes, end);
    if (!sum.equals(trailer)) throw bad('checksum does not match its content (truncated or damaged)');
    if (!trailer.equals(packChecksum)) throw bad('is not the pack its index was made for');
    return { objects: entries.length };
  } finally {
    await fh.close();
  }
}
