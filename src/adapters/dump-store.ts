// Database dumps in the git object store, as ordered lists of
// content-defined chunks (one blob each), with bounded memory both ways.
//
// Write: the dump stream is cut by the Chunker; each chunk's blob id is
// computed here (git's "blob <len>\0" + data hash) so that chunks git already
// has are skipped before any byte is written, and the new ones go through ONE
// `git fast-import` per dump, straight into a pack (unpackLimit=0: small runs
// would otherwise be exploded into loose objects; compression=1: ~3x faster
// than git's default level for ~10% more space; big-file-threshold=1m: chunks
// are streamed, never delta-searched, so the process stays at a few MiB).
// fast-import would deduplicate against existing packs by itself, but only
// after compressing and writing the chunk, and not against loose objects.
//
// Read: ONE `git cat-file --batch` streams the chunks in order; the size of
// each chunk and the sha256 and size of the whole are checked on the way, and
// the stream errors at the end when they do not match. Consumers (restores)
// must therefore treat the data as untrusted until the stream has ended
// without error: that is how a corrupt dump is refused before anything live
// is touched.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ChunkRef } from '../core/types.js';
import type { DumpStore } from '../core/engine.js';
import { CorruptSnapshotError, ExternalToolError } from '../core/errors.js';
import { Chunker, type ChunkSizes } from './chunker.js';
import { drained, startPiped, type Piped } from './piped.js';
import { run } from './process.js';
import type { ChunkCipher } from './crypto.js'; // security seam

export interface DumpStoreOptions {
  /** Explicit git dir (GIT_DIR); by default git finds it from cwd. */
  gitDir?: string;
  /** Chunk sizes; only tests should change them (see chunker.ts). */
  chunkSizes?: Partial<ChunkSizes>;
  /** security seam: seals each chunk before it is stored and opens sealed chunks when read (src/adapters/crypto.ts). */
  cipher?: ChunkCipher;
}

export interface WriteResult {
  chunks: ChunkRef[];
  size: number;
  sha256: string;
  /** Chunks that were already in the repository (or repeated in this dump). */
  reused: number;
  /** Bytes actually handed to git. */
  written: number;
}

/** Chunks waiting to be stored while the dump is still being read. */
const IN_FLIGHT = 1;

export class GitDumpStore implements DumpStore {
  private objectFormat?: Promise<'sha1' | 'sha256'>;

  constructor(
    readonly cwd: string,
    private readonly options: DumpStoreOptions = {},
  ) {}

  private git(args: string[]): string[] {
    return this.options.gitDir ? [`--git-dir=${this.options.gitDir}`, ...args] : args;
  }

  /** The repository's object hash ("sha1" unless it was made with --object-format=sha256). */
  private format(): Promise<'sha1' | 'sha256'> {
    this.objectFormat ??= run('git', this.git(['rev-parse', '--show-object-format']), { cwd: this.cwd }).then((r) =>
      r.stdout.trim() === 'sha256' ? 'sha256' : 'sha1',
    );
    return this.objectFormat;
  }

  async write(input: Readable): Promise<WriteResult> {
    // Listen for 'error' before the first await: a producer that fails at
    // once destroys `input` with its error, which must reach the loop below
    // (the iterator rethrows it) rather than crash the process as an
    // unhandled 'error' event.
    input.on('error', () => {});
    const algorithm = await this.format().catch((error: unknown) => {
      input.destroy();
      throw error;
    });
    const chunker = new Chunker(this.options.chunkSizes);
    const whole = createHash('sha256');
    const chunks: ChunkRef[] = [];
    const seen = new Set<string>();
    let size = 0;
    let reused = 0;
    let written = 0;
    let check: BatchCheck | undefined;
    let importer: Piped | undefined;

    const store = async (plain: Buffer) => {
      // ---- security seam: encryption (src/adapters/crypto.ts) ----
      let data = plain;
      let sealed: Pick<ChunkRef, 'enc' | 'key'> = {};
      const cipher = this.options.cipher;
      if (cipher) {
        const key = cipher.dedupKey(plain);
        const known = key ? cipher.lookup(key) : undefined;
        check ??= new BatchCheck(this.cwd, this.git([]));
        const info = known ? await check.info(known.blob) : null;
        if (known && key && info?.type === 'blob') {
          chunks.push({ blob: known.blob, size: info.size, enc: 'age', key });
          reused++;
          return;
        }
        data = await cipher.seal(plain);
        sealed = { enc: 'age', ...(key ? { key } : {}) };
      }
      // ---- end security seam ----
      const blob = blobId(algorithm, data);
      chunks.push({ blob, size: data.length, ...sealed });
      if (sealed.key) cipher?.remember(sealed.key, { blob, size: data.length }); // security seam
      if (seen.has(blob)) {
        reused++;
        return;
      }
      seen.add(blob);
      check ??= new BatchCheck(this.cwd, this.git([]));
      if (await check.exists(blob)) {
        reused++;
        return;
      }
      importer ??= startPiped(
        'git',
        this.git([
          '-c', 'fastimport.unpackLimit=0',
          '-c', 'core.compression=1',
          'fast-import', '--big-file-threshold=1m', '--quiet', '--done',
        ]),
        { cwd: this.cwd, stdout: 'ignore', label: 'git fast-import' },
      );
      const stdin = importer.stdin;
      stdin.write(`blob\ndata ${data.length}\n`);
      stdin.write(data);
      written += data.length;
      if (!stdin.write('\n')) {
        const drain = drained(stdin);
        drain.catch(() => {}); // if fast-import exits instead, the check below reports why
        await Promise.race([drain, importer.exit().then(() => undefined)]);
      }
      if (stdin.writableEnded || stdin.destroyed) throw await importerFailure(importer);
    };

    // Chunks are stored in order by one promise chain while the loop keeps
    // reading the producer, so the dump tool, the chunker, the existence
    // check and fast-import overlap instead of taking turns. One chunk may
    // wait while another is stored: a 325 MB pg_dump point went from 4.5–4.9 s
    // to 3.6–3.9 s at the same peak RSS (~124 MB); 3 or 8 waiting chunks were
    // no faster and cost 10–25 MB more.
    let chain: Promise<void> = Promise.resolve();
    const inFlight: Promise<void>[] = [];
    const enqueue = async (chunk: Buffer) => {
      chain = chain.then(() => store(chunk));
      chain.catch(() => {}); // observed below, through inFlight or the final await
      inFlight.push(chain);
      if (inFlight.length > IN_FLIGHT) await inFlight.shift();
    };
    let inputError: unknown;
    try {
      for await (const piece of input) {
        const data = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as string);
        whole.update(data);
        size += data.length;
        for (const chunk of chunker.push(data)) await enqueue(chunk);
      }
      const last = chunker.end();
      if (last) await enqueue(last);
      await chain;
    } catch (error) {
      inputError = error;
      await chain.catch(() => {});
      input.destroy();
    }

    // Finish fast-import cleanly even when the input failed: the chunks it
    // already has are valid objects (unreferenced until a snapshot lists
    // them; `git gc` prunes them), and a killed fast-import leaves a
    // temporary pack and a crash report behind in .git.
    try {
      if (importer) {
        importer.stdin.end('done\n');
        const code = await importer.exit();
        if (code !== 0 && !inputError) throw await importerFailure(importer);
      }
    } finally {
      await check?.close();
    }
    if (inputError) throw inputError;
    return { chunks, size, sha256: whole.digest('hex'), reused, written };
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
        let sealedParts: Buffer[] = []; // security seam: the sealed chunk being read
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
            // ---- security seam: a sealed chunk is opened whole, then checked and passed on ----
            if (chunks[index]?.enc) {
              sealedParts.push(Buffer.from(data));
              if (remaining === 0) {
                if (!this.options.cipher) throw new CorruptSnapshotError(`dump chunk ${index + 1} of ${chunks.length} is encrypted and no cipher was given`);
                const plain = await this.options.cipher.open(Buffer.concat(sealedParts));
                sealedParts = [];
                remaining = -1;
                newline = true;
                whole.update(plain);
                yield plain;
              }
              continue;
            }
            // ---- end security seam ----
            whole.update(data);
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
export function blobId(algorithm: 'sha1' | 'sha256', data: Buffer): string {
  return createHash(algorithm).update(`blob ${data.length}\0`).update(data).digest('hex');
}

async function importerFailure(importer: Piped): Promise<Error> {
  const code = await importer.exit();
  return new ExternalToolError('git fast-import', code, importer.stderr(), undefined, 'is the disk full or the repository read-only?');
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
