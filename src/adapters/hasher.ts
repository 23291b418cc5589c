// Hashing of a dump's chunks on another thread: each chunk's git blob id and
// the sha256 of the whole stream (the chunks arrive in stream order). This is
// ~40% of the CPU a store spends on the reading side; on its own thread it
// runs beside the chunker and the encoders (docs/decisions.md, "Dump
// storage: own pack writer"). Chunk buffers are transferred, not copied,
// both ways.
//
// Small dumps never start the thread: a dump shorter than one chunk is
// hashed where it is (starting a worker costs ~30 ms of CPU, 30–150 ms of
// latency here).
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { HashAlgorithm } from './pack-writer.js';

/** The worker's source (CommonJS, run with `eval`: nothing to bundle or locate on disk). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const algorithm = workerData.algorithm;
const whole = createHash('sha256');
parentPort.on('message', (m) => {
  if (m === null) {
    parentPort.postMessage({ sha256: whole.digest('hex') });
    return;
  }
  const data = Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  whole.update(data);
  const blob = createHash(algorithm).update('blob ' + data.length + '\\0').update(data).digest('hex');
  parentPort.postMessage({ blob, data: m }, [m.buffer]);
});
`;

export interface HashedChunk {
  blob: string;
  data: Buffer;
}

/** git's object id for a blob: hash of "blob <len>\0" + data. */
export function blobId(algorithm: HashAlgorithm, data: Buffer): string {
  return createHash(algorithm).update(`blob ${data.length}\0`).update(data).digest('hex');
}

/**
 * Hashes chunks in submission order. hash() resolves with the chunk's blob
 * id and its data (a buffer owning its memory: the worker hands it back);
 * finish() with the sha256 of every chunk submitted, in order.
 */
export class ChunkHasher {
  private worker: Worker | null = null;
  private readonly waiting: Array<{ resolve: (c: HashedChunk) => void; reject: (e: Error) => void }> = [];
  private finishing: { resolve: (sha256: string) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  /** Used until the first chunk goes to the worker; after that the worker owns the sha256. */
  private local: ReturnType<typeof createHash> | null = createHash('sha256');
  private submitted = 0;

  constructor(private readonly algorithm: HashAlgorithm) {}

  hash(chunk: Buffer, options: { last?: boolean } = {}): Promise<HashedChunk> {
    if (this.failure) return Promise.reject(this.failure);
    this.submitted++;
    if (this.local && this.submitted === 1 && options.last) {
      // The whole dump is this one chunk: no thread.
      this.local.update(chunk);
      return Promise.resolve({ blob: blobId(this.algorithm, chunk), data: chunk });
    }
    this.local = null;
    const worker = this.start();
    const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : copyOwned(chunk);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      const view = new Uint8Array(owned.buffer, owned.byteOffset, owned.byteLength);
      worker.postMessage(view, [view.buffer as ArrayBuffer]);
    });
  }

  async finish(): Promise<string> {
    if (this.failure) throw this.failure;
    if (this.local) return this.local.digest('hex');
    const worker = this.start();
    return new Promise((resolve, reject) => {
      this.finishing = { resolve, reject };
      worker.postMessage(null);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { algorithm: this.algorithm } });
    worker.on('message', (m: { blob?: string; data?: Uint8Array; sha256?: string }) => {
      if (m.sha256 !== undefined) {
        this.finishing?.resolve(m.sha256);
        this.finishing = null;
        return;
      }
      const data = Buffer.from(m.data!.buffer, m.data!.byteOffset, m.data!.byteLength);
      this.waiting.shift()?.resolve({ blob: m.blob!, data });
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const w of this.waiting.splice(0)) w.reject(error);
      this.finishing?.reject(error);
      this.finishing = null;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.worker === worker) fail(new Error(`the hashing thread exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }
}

/** A copy in memory of its own, so that it can be transferred to the worker without detaching a shared pool. */
function copyOwned(chunk: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(chunk.length);
  chunk.copy(copy);
  return copy;
}
