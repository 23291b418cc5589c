// The port every database engine implements (src/adapters/engines/<engine>.ts).
// Core and the CLI only speak to engines through this interface.
import type { Readable, Writable } from 'node:stream';
import type { ChunkRef, DatabaseEntry } from './types.js';

/** One entry of `databases:` in the config, after ${VAR} expansion. */
export interface DatabaseConfig {
  name: string;
  engine: string;
  [key: string]: unknown;
}

export interface EngineProbe {
  /** Client tool and version, e.g. "pg_dump 15.8". */
  tool: string;
  /** Server version when there is a server, e.g. "15.8". */
  serverVersion?: string;
}

export interface DumpOutcome {
  /** e.g. "pg_dump-custom", "sqlite-file", "redis-dump-v1", "mysqldump-sql", "command". */
  format: string;
  /** File extension for db/<name>.<ext> in the snapshot tree. */
  ext: string;
  tool: string;
  serverVersion?: string;
  /** Safe facts worth showing (database name, tables, key count…). Never secrets. */
  details?: Record<string, unknown>;
}

/** A dump restored somewhere beside the live database, ready to swap in. */
export interface StagedRestore {
  /** Makes the staged copy live, as atomically as the engine allows. */
  swap(): Promise<void>;
  /** After swap(): puts the previous live copy back (used when a later step fails). */
  unswap(): Promise<void>;
  /** Removes whatever is left over: the staged copy before swap, or nothing/old copy as configured. */
  discard(): Promise<void>;
  /** Name of the kept previous copy after swap (e.g. "shop_rollback_<id>"), if any. */
  keptAs?: string;
}

export interface RestoreStrategy {
  /** One line for the plan: "restore into shop_rb_tmp_<id>, then rename swap (old kept as …)". */
  text: string;
  /** What users of the database see during the swap: "connections ended; ~1 s unavailable". */
  downtime: string;
}

export interface Engine {
  readonly name: string;
  readonly engine: string;
  /** Where it is, without password: "postgres://app@127.0.0.1:5432/shop", "data/app.db". */
  describe(): string;
  strategy(jobId: string): RestoreStrategy;
  /**
   * Checks that the client tools exist and the server answers.
   * For 'restore', `entry` is the stored dump: check tool versions can read it.
   * Throws ExternalToolError / RollbackError with a hint (e.g. the Debian package).
   */
  check(mode: 'dump' | 'restore', entry?: DatabaseEntry): Promise<EngineProbe>;
  /**
   * Streams a consistent dump into `out`, after checking the tools and the server
   * itself (so callers need not call check('dump') first). Rejects (with the tool's
   * stderr) on any failure, and destroys `out` with the error.
   */
  dump(out: Writable): Promise<DumpOutcome>;
  /** Restores `input` (a stream of the stored dump) beside the live database. Touches nothing live. */
  stage(input: Readable, ctx: { jobId: string; entry: DatabaseEntry }): Promise<StagedRestore>;
  /** Previous copies kept by earlier rollbacks (`keptAs` names), for `prune`. */
  listKept?(): Promise<string[]>;
  /** Drops one kept previous copy (`prune`, `to --drop-old`). */
  dropKept?(name: string): Promise<void>;
}

/** Stores dump streams in the git object store and reads them back, with bounded memory. */
export interface DumpStore {
  write(input: Readable): Promise<{ chunks: ChunkRef[]; size: number; sha256: string }>;
  /** Streams the chunks in order; the stream errors if the sha256 of the whole does not match. */
  read(chunks: ChunkRef[], expectedSha256: string): Readable;
}
