// Counts the bytes of dumps and restores as they stream through the dump
// store, for the CLI's bytes/s and ETA (core/progress.ts). A wrapper, so the
// store and the engines need not know about progress at all.
import { pipeline, Transform, type Readable } from 'node:stream';
import type { DumpStore } from '../core/engine.js';
import type { Transfer, TransferListener } from '../core/progress.js';
import { INTO_FILE, type IntoFile } from './dump-store.js';

/** A pass-through stream that reports every chunk's bytes to `listener`. */
export function meter(direction: Transfer['direction'], total: number | null, listener: TransferListener): Transform {
  const progress: Transfer = { direction, bytes: 0, total, startedAt: Date.now() };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      progress.bytes += chunk.length;
      listener(progress);
      done(null, chunk);
    },
  });
}

/**
 * `store` with its streams metered for whoever `listener()` names at the time
 * (none: no cost). Other methods of the store pass through untouched.
 */
export function meteredDumpStore(store: DumpStore, listener: () => TransferListener | null): DumpStore {
  const through = (source: Readable, m: Transform) => {
    // pipeline() carries an error of either side to the other (a sha256
    // mismatch of a read must reach the reader).
    pipeline(source, m, () => undefined);
    return m;
  };
  /**
   * A read whose stream can write itself into a file (dump-store.ts,
   * INTO_FILE) keeps that way: the meter hears of the pieces written, and
   * the stream is only piped through the meter once someone reads it.
   */
  const throughLazily = (source: Readable & { [INTO_FILE]: IntoFile }, m: Transform, progress: (bytes: number) => void) => {
    let piped = false;
    const read = m._read.bind(m);
    m._read = (size: number) => {
      if (!piped) {
        piped = true;
        pipeline(source, m, () => undefined);
      }
      read(size);
    };
    // Not piped yet, the source's error has no reader: intoFile reports it (source.errored).
    source.on('error', () => {});
    m.on('close', () => {
      if (!piped) source.destroy(m.errored ?? undefined);
    });
    const intoFile: IntoFile = (file, onBytes) => source[INTO_FILE](file, (n) => {
      progress(n);
      onBytes?.(n);
    });
    return Object.assign(m, { [INTO_FILE]: intoFile });
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'write') {
        return (input: Readable, ...rest: unknown[]) => {
          const l = listener();
          const write = target.write.bind(target) as (input: Readable, ...rest: unknown[]) => ReturnType<DumpStore['write']>;
          return write(l ? through(input, meter('dump', null, l)) : input, ...rest);
        };
      }
      if (prop === 'read') {
        return (chunks: Parameters<DumpStore['read']>[0], ...rest: unknown[]) => {
          const read = target.read.bind(target) as (chunks: Parameters<DumpStore['read']>[0], ...rest: unknown[]) => Readable;
          const stream = read(chunks, ...rest) as Readable & { [INTO_FILE]?: IntoFile };
          const l = listener();
          if (!l) return stream;
          const total = chunks.reduce((n, c) => n + c.size, 0);
          if (stream[INTO_FILE]) {
            const progress: Transfer = { direction: 'restore', bytes: 0, total, startedAt: Date.now() };
            return throughLazily(stream as Readable & { [INTO_FILE]: IntoFile }, meter('restore', total, l), (n) => {
              progress.bytes += n;
              l(progress);
            });
          }
          return through(stream, meter('restore', total, l));
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
