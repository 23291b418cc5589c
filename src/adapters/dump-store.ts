// Database dumps in the git object store, as ordered lists of chunks (one
// blob each), with bounded memory both ways.
//
// Write: the dump stream is cut by a Splitter (content-defined by default);
// each chunk's blob id is computed here (git's "blob <len>\0" + data hash),
// chunks git already has are skipped before any byte is encoded, and the new
// ones are encoded in libuv's thread pool (stored, Huffman-only or zlib
// level 1, chosen per chunk by a sample: pack-writer.ts) and appended to ONE
// pack that this process writes itself, in a private directory under
// .git/rollback/tmp/. Only when the pack and its index are complete, checked
// and fsynced are they moved into objects/pack/ (index last: that is when
// git sees the pack), with a `.keep` file, so that `git gc` never rewrites
// dumps, however small (even a few MiB of 1 MiB chunks cost gc a delta search
// several times its own work: bench/gc.ts); `git rollback prune` compacts
// and merges them (pack-compact.ts). A process killed meanwhile leaves only its private
// directory, which the next write removes (cleanupInterruptedStores).
//
// Per chunk the steps are: hash → [a transform may sit here: see
// prepareChunk] → known? → encode → append; the reading loop keeps going
// while up to IN_FLIGHT chunks are in those steps, so the dump tool, the
// chunker, the encoders and the disk overlap.
//
// Read: ONE `git cat-file --batch` streams the chunks in order; the size of
// each chunk and the sha256 and size of the whole are checked on the way, and
// the stream errors at the end when they do not match. Consumers (restores)
// must therefore treat the data as untrusted until the stream has ended
// without error: that is how a corrupt dump is refused before anything live
// is touched.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile, copyFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ChunkRef } from '../core/types.js';
import type { DumpStore } from '../core/engine.js';
import { CorruptSnapshotError, ExternalToolError } from '../core/errors.js';
import { makeSplitter, type ChunkSizes, type Chunking } from './chunker.js';
import { encodeBlob, PackWriter, type HashAlgorithm, type WrittenPack } from './pack-writer.js';

import { startPiped, type Piped } from './piped.js';
import { run } from './process.js';

export type { Chunking } from './chunker.js';

export interface DumpStoreOptions {
  /** Explicit git dir (GIT_DIR); by default git finds it from cwd. */
  gitDir?: string;
  /** Chunk sizes; only tests should change them (see chunker.ts). */
  chunkSizes?: Partial<ChunkSizes>;
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

/** Content of our `.keep` files; its first word is how compaction tells our kept packs from the user's. */
export const KEEP_TEXT = 'git-rollback: database dump chunks; `git gc` leaves this pack alone, `git rollback prune` compacts it\n';
const STORE_PREFIX = 'store-';

export interface RepoFacts {
  algorithm: HashAlgorithm;
  /** objects/pack of the repository (GIT_OBJECT_DIRECTORY respected). */
  packDir: string;
  /** .git/rollback in the common git dir. */
  stateDir: string;
}

/** Object format and where packs and our state live (one `git rev-parse`). */
export async function repoFacts(cwd: string, gitDir?: string): Promise<RepoFacts> {
  const args = ['rev-parse', '--show-object-format', '--git-common-dir', '--git-path', 'objects'];
  const r = await run('git', gitDir ? [`--git-dir=${gitDir}`, ...args] : args, { cwd });
  const [format, common, objects] = r.stdout.split('\n').map((l) => l.trim());
  if (!common || !objects) throw new ExternalToolError('git rev-parse', 0, `unexpected output: ${r.stdout.slice(0, 200)}`);
  return {
    algorithm: format === 'sha256' ? 'sha256' : 'sha1',
    packDir: join(resolve(cwd, objects), 'pack'),
    stateDir: join(resolve(cwd, common), 'rollback'),
  };
}

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
    this.repoFacts ??= repoFacts(this.cwd, this.options.gitDir);
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
    try {
      splitter = makeSplitter(options.chunking, this.options.chunkSizes);
      facts = await this.facts();
      await cleanupInterruptedStores(facts.stateDir);
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

    // Per chunk: hash → known? (cat-file) → encode (thread pool) → append.
    // Appends run one after another (a pack is written sequentially); the
    // checks and encodings they wait for run ahead, concurrently, while the
    // loop keeps reading.
    let chain: Promise<void> = Promise.resolve();
    const inFlight: Promise<void>[] = [];
    const enqueue = async (data: Buffer) => {
      const { blob, payload } = prepareChunk(algorithm, data);
      chunks.push({ blob, size: payload.length });
      if (seen.has(blob)) {
        reused++;
        return;
      }
      seen.add(blob);
      check ??= new BatchCheck(this.cwd, this.git([]));
      const known = check.exists(blob);
      const encoded = known.then((yes) => (yes ? null : encodeBlob(payload)));
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
        await pack.add(blob, payload.length, e.z);
        written += payload.length;
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
        }
      }
    } finally {
      if (pack?.open) await pack.abort();
      if (quarantine) await rm(quarantine, { recursive: true, force: true });
    }
    return { chunks, size, sha256: whole.digest('hex'), reused, written, packed: installed?.bytes ?? 0 };
  }

  read(chunks: ChunkRef[], expectedSha256: string): Readable {
    return Readable.from(this.readChunks(chunks, expectedSha256), { objectMode: false, highWaterMark: 1024 * 1024 });
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
    let total = 0;
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
            whole.update(data);
            total += take;
            remaining -= take;
            if (remaining === 0) {
              remaining = -1;
              newline = true;
            }
            yield data;
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
    const sha256 = whole.digest('hex');
    if (total !== expectedSize || sha256 !== expectedSha256) {
      throw new CorruptSnapshotError(
        `dump does not match its checksum (expected sha256 ${expectedSha256.slice(0, 12)}…, ${expectedSize} bytes; ` +
          `read ${sha256.slice(0, 12)}…, ${total} bytes)`,
        'the stored dump is damaged; restore from another point',
      );
    }
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
export function blobId(algorithm: HashAlgorithm, data: Buffer): string {
  return createHash(algorithm).update(`blob ${data.length}\0`).update(data).digest('hex');
}

/**
 * The one place where a chunk becomes what is stored: today the chunk
 * itself. A per-chunk transform (encryption: seal the chunk, store it under
 * the id of the sealed bytes, and deduplicate by an id derived from a key
 * and the plain bytes) belongs here; everything after this works on
 * `payload` and `blob` only. The sha256 of the whole dump stays that of the
 * plain stream.
 */
function prepareChunk(algorithm: HashAlgorithm, data: Buffer): { blob: string; payload: Buffer } {
  return { blob: blobId(algorithm, data), payload: data };
}

/** A private directory for one store's pack, named so that cleanupInterruptedStores() can tell whose it is. */
export async function makeQuarantine(stateDir: string): Promise<string> {
  const tmp = join(stateDir, 'tmp');
  await mkdir(tmp, { recursive: true });
  const dir = join(tmp, `${STORE_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  const owner: StoreOwner = { pid: process.pid, host: hostname(), start: processStart(process.pid) };
  await writeFile(join(dir, 'owner.json'), JSON.stringify(owner) + '\n');
  return dir;
}

interface StoreOwner {
  pid: number;
  host: string;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat field 22), so a reused pid is not mistaken for the owner. */
  start: string | null;
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the private pack directories of dump stores whose process is gone
 * (killed during a point or a backup): they hold only a pack that was never
 * installed, so nothing refers to it. A directory of a live process, or of
 * another host (a git dir on a shared disk), is left alone. Every store
 * calls it before writing; callers that hold the repository lock may call it
 * on their own (status, prune, recovery of an interrupted job). Returns the
 * directories removed.
 */
export async function cleanupInterruptedStores(stateDir: string): Promise<string[]> {
  const tmp = join(stateDir, 'tmp');
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = new RegExp(`^${STORE_PREFIX}(\\d+)-[0-9a-f]+$`).exec(name);
    if (!m) continue;
    const dir = join(tmp, name);
    const pid = Number(m[1]);
    let owner: Partial<StoreOwner> = {};
    try {
      owner = JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as StoreOwner;
    } catch {
      // Killed between mkdir and writing owner.json: the name still has the pid, and it is this host's tmp dir.
    }
    if (owner.host && owner.host !== hostname()) continue;
    if (pid === process.pid) continue;
    const running = alive(pid) && (owner.start == null || processStart(pid) === null || processStart(pid) === owner.start);
    if (running) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * Moves a finished pack into objects/pack: the pack, then its `.keep` (when
 * asked), then the index, then an fsync of the directory. git only uses a
 * pack once its index exists, so no reader ever sees half of it, and `git gc`
 * never sees it without its `.keep`.
 */
export async function installPack(written: WrittenPack, packDir: string, keep: boolean): Promise<void> {
  await mkdir(packDir, { recursive: true });
  const pack = join(packDir, basename(written.pack));
  const idx = join(packDir, basename(written.idx));
  if (await exists(idx)) return; // the very same pack (same checksum) is already there
  await moveFile(written.pack, pack);
  if (keep) await writeFile(join(packDir, basename(written.pack).replace(/\.pack$/, '.keep')), KEEP_TEXT);
  await moveFile(written.idx, idx);
  const dir = await open(packDir, 'r');
  await dir.sync().finally(() => dir.close());
}

async function exists(path: string): Promise<boolean> {
  try {
    await open(path, 'r').then((f) => f.close());
    return true;
  } catch {
    return false;
  }
}

/** rename(), or copy + fsync + remove when objects/ is on another file system (GIT_OBJECT_DIRECTORY). */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    const f = await open(to, 'r');
    await f.sync().finally(() => f.close());
    await rm(from, { force: true });
  }
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
