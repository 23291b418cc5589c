// Database dumps in the git object store, as ordered lists of chunks (one
// blob each), with bounded memory both ways.
//
// Write: the dump stream is cut by a Splitter (content-defined by default);
// each chunk's blob id is computed here (git's "blob <len>\0" + data hash),
// chunks git already has are skipped before any byte is encoded (those in
// our kept packs without asking git), and the new ones are encoded in
// libuv's thread pool (stored, Huffman-only or zlib level 1, chosen per chunk
// by a sample: pack-writer.ts) and appended to ONE pack that this process
// writes itself, in a private directory under .git/rollback/tmp/. Only when
// the pack and its index are complete, checked and fsynced are they moved
// into objects/pack/ (index last: that is when git sees the pack), with a
// `.keep` file, so that `git gc` never rewrites dumps, however small (a few
// MiB of 1 MiB chunks cost gc a delta search several times its own work:
// bench/gc.ts); small dump packs are merged after each write and `git
// rollback prune` compacts them (pack-compact.ts). A process killed meanwhile
// leaves only its private directory, which the next write removes
// (cleanupInterruptedStores).
//
// Per chunk the steps are: hash → [a transform may sit here: see
// prepareChunk] → known? → encode → append; the reading loop keeps going
// while up to IN_FLIGHT chunks are in those steps, so the dump tool, the
// chunker, the encoders and the disk overlap.
//
// Read: straight from our kept packs when every chunk is in one
// (pack-read.ts: large preads, stored entries copied without inflate), else
// ONE `git cat-file --batch` streams the chunks in order; the size of
// each chunk and the sha256 and size of the whole are checked on the way, and
// the stream errors at the end when they do not match. Consumers (restores)
// must therefore treat the data as untrusted until the stream has ended
// without error: that is how a corrupt dump is refused before anything live
// is touched.
import { createHash } from 'node:crypto';
import { rm, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ChunkRef } from '../core/types.js';
import type { DumpStore } from '../core/engine.js';
import { CorruptSnapshotError, ExternalToolError } from '../core/errors.js';
import { joinChunk, makeSplitter, type Chunk, type ChunkSizes, type Chunking } from './chunker.js';
import { mergeSmallDumpPacks } from './pack-compact.js';
import { cleanupInterruptedStores, installPack, keptPackIds, makeQuarantine, ourKeptPacks, repoFacts, type KeptPack, type RepoFacts } from './pack-files.js';
import { locateChunks, readFromPacks } from './pack-read.js';
import { encodeBlob, PackWriter, type HashAlgorithm, type WrittenPack } from './pack-writer.js';
import type { ChunkCipher } from './crypto.js';
import { startPiped, type Piped } from './piped.js';

export type { Chunking } from './chunker.js';
export { cleanupInterruptedStores } from './pack-files.js';

export interface DumpStoreOptions {
  /** Explicit git dir (GIT_DIR); by default git finds it from cwd. */
  gitDir?: string;
  /** Chunk sizes; only tests should change them (see chunker.ts). */
  chunkSizes?: Partial<ChunkSizes>;
  /** The repository's object format, pack and state directories when the caller knows them (saves a `git rev-parse`). */
  repoFacts?: RepoFacts;
  /** Merge small dump packs after each write (default true; tests of compaction turn it off). */
  mergePacks?: boolean;
  /** Seals each chunk before it is stored and opens sealed chunks when read (src/adapters/crypto.ts). */
  cipher?: ChunkCipher | null;
  /** Read chunks straight from our kept packs when they are all there (default true; tests of git's path turn it off). */
  directRead?: boolean;
}

export interface WriteOptions {
  /**
   * How to cut the stream. Default: content-defined chunks (dumps whose
   * rows shift when others are inserted). `{ kind: 'fixed', size }` cuts
   * every `size` bytes, for files of fixed-size pages (SQLite: a multiple of
   * the page size), so unchanged page ranges are unchanged chunks.
   */
  chunking?: Chunking;
}

export interface WriteResult {
  chunks: ChunkRef[];
  size: number;
  sha256: string;
  /** Chunks that were already in the repository (or repeated in this dump). */
  reused: number;
  /** Bytes of new chunks (before encoding). */
  written: number;
  /** Bytes of the pack installed for them (0 when nothing was new). */
  packed: number;
}

/**
 * Chunks between the reading loop and the pack (hashed, waiting to be
 * checked, encoded or appended). Enough to keep both cores' encoders busy;
 * each holds its data and its encoding, ~2 MiB at the 1 MiB average chunk.
 */
const IN_FLIGHT = 3;

export class GitDumpStore implements DumpStore {
  private repoFacts?: Promise<RepoFacts>;

  constructor(
    readonly cwd: string,
    private readonly options: DumpStoreOptions = {},
  ) {}

  private git(args: string[]): string[] {
    return this.options.gitDir ? [`--git-dir=${this.options.gitDir}`, ...args] : args;
  }

  private facts(): Promise<RepoFacts> {
    this.repoFacts ??= this.options.repoFacts ? Promise.resolve(this.options.repoFacts) : repoFacts(this.cwd, this.options.gitDir);
    return this.repoFacts;
  }

  async write(input: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    // Listen for 'error' before the first await: a producer that fails at
    // once destroys `input` with its error, which must reach the loop below
    // (the iterator rethrows it) rather than crash the process as an
    // unhandled 'error' event.
    input.on('error', () => {});
    let facts: RepoFacts;
    let splitter;
    // Chunks in our kept packs are known without asking git; the others are
    // checked with one `cat-file --batch-check` (loose objects, git's packs).
    let kept: Set<string>;
    try {
      splitter = makeSplitter(options.chunking, this.options.chunkSizes);
      facts = await this.facts();
      await cleanupInterruptedStores(facts.stateDir);
      kept = await keptPackIds(facts);
    } catch (error) {
      input.destroy();
      throw error;
    }
    const { algorithm } = facts;
    const whole = createHash('sha256');
    const chunks: ChunkRef[] = [];
    const seen = new Set<string>();
    let size = 0;
    let reused = 0;
    let written = 0;
    let check: BatchCheck | undefined;
    let quarantine: string | undefined;
    let pack: PackWriter | undefined;

    // Per chunk: hash → known? → encode (thread pool) → append. Appends run
    // one after another (a pack is written sequentially); the checks and
    // encodings they wait for run ahead, concurrently, while the loop keeps
    // reading.
    let chain: Promise<void> = Promise.resolve();
    const inFlight: Promise<void>[] = [];
    const cipher = this.options.cipher ?? null;
    const enqueue = async (chunk: Chunk) => {
      const prepared = await prepareChunk(algorithm, chunk, cipher, async (id) => {
        check ??= new BatchCheck(this.cwd, this.git([]));
        return check.info(id);
      });
      if (prepared.known) {
        chunks.push(prepared.ref);
        reused++;
        return;
      }
      const { ref, payload } = prepared;
      const blob = ref.blob;
      chunks.push(ref);
      if (seen.has(blob) || kept.has(blob)) {
        reused++;
        seen.add(blob);
        return;
      }
      seen.add(blob);
      check ??= new BatchCheck(this.cwd, this.git([]));
      const known = check.exists(blob);
      const encoded = known.then((yes) => (yes ? null : encodeBlob(payload())));
      encoded.catch(() => {}); // observed through the chain
      chain = chain.then(async () => {
        const e = await encoded;
        if (!e) {
          reused++;
          return;
        }
        if (!pack) {
          quarantine = await makeQuarantine(facts.stateDir);
          pack = await PackWriter.create(quarantine, algorithm);
        }
        await pack.add(blob, ref.size, e.z);
        written += ref.size;
      });
      chain.catch(() => {}); // observed below, through inFlight or the final await
      inFlight.push(chain);
      if (inFlight.length > IN_FLIGHT) await inFlight.shift();
    };

    let installed: WrittenPack | null = null;
    try {
      try {
        for await (const piece of input) {
          const data = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as string);
          whole.update(data);
          size += data.length;
          for (const chunk of splitter.push(data)) await enqueue(chunk);
        }
        const last = splitter.end();
        if (last) await enqueue(last);
        await chain;
      } catch (error) {
        await chain.catch(() => {});
        input.destroy();
        throw error;
      } finally {
        await check?.close();
      }
      if (pack) {
        const done = await pack.finish();
        if (done) {
          await installPack(done, facts.packDir, true);
          installed = done;
          // An optimisation only: a failed merge leaves the packs as they
          // were (the merged pack goes in before the small ones go out).
          if (this.options.mergePacks !== false) await mergeSmallDumpPacks(facts).catch(() => 0);
        }
      }
    } finally {
      if (pack?.open) await pack.abort();
      if (quarantine) await rm(quarantine, { recursive: true, force: true });
    }
    return { chunks, size, sha256: whole.digest('hex'), reused, written, packed: installed?.bytes ?? 0 };
  }

  read(chunks: ChunkRef[], expectedSha256: string): Readable {
    const readable = Readable.from(this.readAny(chunks, expectedSha256), { objectMode: false, highWaterMark: 1024 * 1024 });
    // A consumer that only writes the dump into a file may take this way instead of reading the stream (materialize).
    const intoFile: IntoFile = (file, onBytes) => this.readIntoFile(chunks, expectedSha256, file, readable, onBytes);
    return Object.assign(readable, { [INTO_FILE]: intoFile });
  }

  /**
   * Writes the dump into `file` from offset 0 (not synced), with the same
   * checks as read(): it throws at the end when the size or sha256 does not
   * match, so the file is untrusted until this resolves. From our kept
   * packs, the piece buffers are reused (no page faults for 300 MiB of fresh
   * buffers): at most one write is in flight, and a piece is written before
   * its buffer comes round again. Stops when `stream` (the read() stream
   * standing for this read) is destroyed. Returns the bytes written.
   */
  async readIntoFile(chunks: ChunkRef[], expectedSha256: string, file: FileHandle, stream?: Readable, onBytes?: (bytes: number) => void): Promise<number> {
    const direct = await this.direct(chunks);
    const pieces = direct ? readFromPacks(chunks, direct.where, direct.packs, { reuse: true }) : this.readChunks(chunks, expectedSha256);
    const expectedSize = chunks.reduce((sum, c) => sum + c.size, 0);
    const whole = createHash('sha256');
    let pos = 0;
    let pending: Promise<void> | undefined;
    try {
      for await (const piece of pieces) {
        if (stream?.destroyed) throw stream.errored ?? new Error('read stopped');
        if (direct) whole.update(piece);
        await pending;
        pending = writeAll(file, piece, pos).then(() => onBytes?.(piece.length));
        pending.catch(() => undefined); // awaited below
        pos += piece.length;
      }
      await pending;
    } finally {
      await pending?.catch(() => undefined);
    }
    if (stream?.destroyed) throw stream.errored ?? new Error('read stopped');
    if (direct) checkWhole(pos, expectedSize, whole.digest('hex'), expectedSha256);
    return pos;
  }

  /** Where every chunk is in our kept packs, or null (one elsewhere, or sealed: git reads them). */
  private async direct(chunks: ChunkRef[]): Promise<{ where: NonNullable<ReturnType<typeof locateChunks>>; packs: KeptPack[] } | null> {
    if (chunks.length === 0 || this.options.directRead === false || chunks.some((c) => c.enc)) return null;
    try {
      const facts = await this.facts();
      const packs = await ourKeptPacks(facts.packDir, facts.algorithm, true);
      const where = locateChunks(chunks, packs);
      // Compressed entries too: each is inflated in one call in the thread
      // pool (pack-read.ts), which costs about half the CPU of `git
      // cat-file` inflating and piping it to us (docs/decisions.md, "Reading
      // dumps: from our packs, inflated in one call per chunk").
      return where ? { where, packs } : null;
    } catch {
      return null; // git's own reader can still try
    }
  }

  /**
   * Straight from our kept packs when every chunk is in one of them (none
   * sealed): large preads, no inflate for stored entries, one inflate call
   * per compressed one (pack-read.ts); otherwise through `git cat-file --batch`. Either way
   * the size and sha256 of the whole are checked at the end.
   */
  private async *readAny(chunks: ChunkRef[], expectedSha256: string): AsyncGenerator<Buffer> {
    const direct = await this.direct(chunks);
    if (!direct) {
      yield* this.readChunks(chunks, expectedSha256);
      return;
    }
    const expectedSize = chunks.reduce((sum, c) => sum + c.size, 0);
    const whole = createHash('sha256');
    let total = 0;
    for await (const piece of readFromPacks(chunks, direct.where, direct.packs)) {
      whole.update(piece);
      total += piece.length;
      yield piece;
    }
    checkWhole(total, expectedSize, whole.digest('hex'), expectedSha256);
  }

  /** Reads the whole dump back and checks it; throws CorruptSnapshotError / ExternalToolError. */
  async verify(chunks: ChunkRef[], expectedSha256: string): Promise<{ size: number }> {
    let size = 0;
    for await (const piece of this.read(chunks, expectedSha256)) size += (piece as Buffer).length;
    return { size };
  }

  /**
   * The chunks that are not in the repository as blobs of their recorded
   * size (one `cat-file --batch-check`). Cheap: reads no contents, so it
   * proves presence, not integrity — verify() does that.
   */
  async missing(chunks: ChunkRef[]): Promise<ChunkRef[]> {
    if (chunks.length === 0) return [];
    const check = new BatchCheck(this.cwd, this.git([]));
    try {
      const infos = await Promise.all(chunks.map((c) => check.info(c.blob)));
      return chunks.filter((c, i) => {
        const info = infos[i];
        return !info || info.type !== 'blob' || info.size !== c.size;
      });
    } finally {
      await check.close();
    }
  }

  private async *readChunks(chunks: ChunkRef[], expectedSha256: string): AsyncGenerator<Buffer> {
    const expectedSize = chunks.reduce((sum, c) => sum + c.size, 0);
    const whole = createHash('sha256');
    // Bytes as stored (the size check); the sha256 is of the plain dump.
    let total = 0;
    // A sealed chunk is opened whole, once all its bytes have arrived.
    let sealedParts: Buffer[] = [];
    if (chunks.length > 0) {
      const cat = startPiped(
        'git',
        this.git(['-c', 'core.bigFileThreshold=1m', '-c', 'core.packedGitWindowSize=32m', '-c', 'core.packedGitLimit=64m', 'cat-file', '--batch']),
        { cwd: this.cwd, label: 'git cat-file' },
      );
      let finished = false;
      try {
        // Requests flow in as cat-file answers (pipe backpressure), so even
        // a dump of a million chunks never sits in memory as a list of ids.
        Readable.from(chunks.map((c) => `${c.blob}\n`), { objectMode: false }).pipe(cat.stdin);
        let index = 0;
        let header = '';
        let remaining = -1; // bytes of the current chunk still to come; -1 = reading a header
        let newline = false; // the "\n" that follows each chunk's data
        for await (const piece of cat.stdout) {
          let buf = piece as Buffer;
          while (buf.length > 0) {
            if (newline) {
              buf = buf.subarray(1);
              newline = false;
              index++;
              continue;
            }
            if (remaining < 0) {
              const eol = buf.indexOf(10);
              if (eol < 0) {
                header += buf.toString('latin1');
                if (header.length > 1024) throw new CorruptSnapshotError('unexpected output from git cat-file');
                break;
              }
              header += buf.toString('latin1', 0, eol);
              buf = buf.subarray(eol + 1);
              remaining = expectChunk(chunks, index, header);
              header = '';
              if (remaining === 0) {
                remaining = -1;
                newline = true;
              }
              continue;
            }
            const take = Math.min(remaining, buf.length);
            const data = buf.subarray(0, take);
            buf = buf.subarray(take);
            total += take;
            remaining -= take;
            const sealed = chunks[index]?.enc;
            if (sealed) sealedParts.push(Buffer.from(data));
            else {
              whole.update(data);
            }
            if (remaining === 0) {
              remaining = -1;
              newline = true;
            }
            if (!sealed) yield data;
            else if (remaining < 0) {
              if (!this.options.cipher) throw new CorruptSnapshotError(`dump chunk ${index + 1} of ${chunks.length} is encrypted and no age identity is available`);
              const plain = await this.options.cipher.open(Buffer.concat(sealedParts));
              sealedParts = [];
              whole.update(plain);
              yield plain;
            }
          }
        }
        if (newline) index++;
        const code = await cat.exit();
        if (code !== 0 || index < chunks.length) {
          const stderr = cat.stderr();
          throw new CorruptSnapshotError(
            `dump chunk ${Math.min(index + 1, chunks.length)} of ${chunks.length} could not be read from git` +
              (stderr ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''),
            'run `git fsck` to see the damage; this snapshot cannot be restored as stored',
          );
        }
        finished = true;
      } finally {
        if (!finished) cat.kill();
      }
    }
    checkWhole(total, expectedSize, whole.digest('hex'), expectedSha256);
  }
}

/** Symbol under which read()'s stream offers readIntoFile (see materialize in engines/common.ts). */
export const INTO_FILE = Symbol.for('git-rollback.dump-store.intoFile');

/** Writes the dump into `file` instead of the stream being read; `onBytes` hears of each piece written. */
export type IntoFile = (file: FileHandle, onBytes?: (bytes: number) => void) => Promise<number>;

async function writeAll(file: FileHandle, piece: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < piece.length) {
    const { bytesWritten } = await file.write(piece, done, piece.length - done, position + done);
    done += bytesWritten;
  }
}

function checkWhole(total: number, expectedSize: number, sha256: string, expectedSha256: string): void {
  if (total !== expectedSize || sha256 !== expectedSha256) {
    throw new CorruptSnapshotError(
      `dump does not match its checksum (expected sha256 ${expectedSha256.slice(0, 12)}…, ${expectedSize} bytes; ` +
        `read ${sha256.slice(0, 12)}…, ${total} bytes)`,
      'the stored dump is damaged; restore from another point',
    );
  }
}

/** Validates one `cat-file --batch` header against the chunk we expect there; returns its size. */
function expectChunk(chunks: ChunkRef[], index: number, header: string): number {
  const chunk = chunks[index];
  if (!chunk) throw new CorruptSnapshotError(`unexpected output from git cat-file: ${header.slice(0, 80)}`);
  const [id, type, size] = header.split(' ');
  const where = `dump chunk ${index + 1} of ${chunks.length} (${chunk.blob})`;
  if (id !== chunk.blob) throw new CorruptSnapshotError(`unexpected output from git cat-file: ${header.slice(0, 80)}`);
  if (type === 'missing') {
    throw new CorruptSnapshotError(`${where} is missing from the repository`, 'fetch the snapshot refs again, or restore from another point');
  }
  if (type !== 'blob' || Number(size) !== chunk.size) {
    throw new CorruptSnapshotError(`${where} is a ${type} of ${size} bytes, expected a blob of ${chunk.size}`);
  }
  return chunk.size;
}

/** git's object id for a blob: hash of "blob <len>\0" + data. */
export function blobId(algorithm: HashAlgorithm, data: Buffer | Chunk): string {
  const hash = createHash(algorithm);
  if (Buffer.isBuffer(data)) return hash.update(`blob ${data.length}\0`).update(data).digest('hex');
  hash.update(`blob ${data.length}\0`);
  for (const part of data.parts) hash.update(part);
  return hash.digest('hex');
}

/**
 * The one place where a chunk becomes what is stored. In clear: the chunk
 * itself, under its own blob id. Encrypted (a cipher given): the chunk sealed
 * with age, stored under the id of the sealed bytes, deduplicated by a keyed
 * hash of the plain bytes (an earlier point's sealed blob for the same
 * plaintext is reused, `known`). The sha256 of the whole dump stays that of
 * the plain stream.
 */
async function prepareChunk(
  algorithm: HashAlgorithm,
  chunk: Chunk,
  cipher: ChunkCipher | null,
  info: (id: string) => Promise<{ type: string; size: number } | null>,
): Promise<{ ref: ChunkRef; payload: () => Buffer; known: boolean }> {
  // Joined only for chunks that are written: a repeated dump copies nothing.
  if (!cipher) return { ref: { blob: blobId(algorithm, chunk), size: chunk.length }, payload: () => joinChunk(chunk), known: false };
  const plain = joinChunk(chunk);
  const key = cipher.dedupKey(plain);
  const earlier = key ? cipher.lookup(key) : undefined;
  if (earlier && key) {
    const found = await info(earlier.blob);
    if (found?.type === 'blob') return { ref: { blob: earlier.blob, size: found.size, enc: 'age', key }, payload: () => Buffer.alloc(0), known: true };
  }
  const sealed = await cipher.seal(plain);
  const blob = blobId(algorithm, sealed);
  if (key) cipher.remember(key, { blob, size: sealed.length });
  return { ref: { blob, size: sealed.length, enc: 'age', ...(key ? { key } : {}) }, payload: () => sealed, known: false };
}

/** One `git cat-file --batch-check` answering "what is <id>?" questions in order. */
class BatchCheck {
  private readonly proc: Piped;
  private readonly waiting: Array<(line: string | null) => void> = [];
  private buffered = '';

  constructor(cwd: string, gitArgs: string[]) {
    this.proc = startPiped('git', [...gitArgs, 'cat-file', '--batch-check'], { cwd, label: 'git cat-file' });
    this.proc.stdout.setEncoding('latin1');
    this.proc.stdout.on('data', (text: string) => {
      this.buffered += text;
      let eol: number;
      while ((eol = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, eol);
        this.buffered = this.buffered.slice(eol + 1);
        this.waiting.shift()?.(line);
      }
    });
    this.proc.stdout.on('close', () => {
      for (const resolve of this.waiting.splice(0)) resolve(null);
    });
  }

  async info(id: string): Promise<{ type: string; size: number } | null> {
    const line = await new Promise<string | null>((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin.write(`${id}\n`);
    });
    if (line === null) {
      const code = await this.proc.exit();
      throw new ExternalToolError('git cat-file', code, this.proc.stderr());
    }
    const [, type, size] = line.split(' ');
    return type === 'missing' || type === undefined ? null : { type, size: Number(size) };
  }

  async exists(id: string): Promise<boolean> {
    return (await this.info(id)) !== null;
  }

  async close(): Promise<void> {
    this.proc.stdin.end();
    await this.proc.exit().catch(() => {});
  }
}
