// The port every database engine implements (src/adapters/engines/<engine>.ts).
// Core, app and the CLI only speak to engines through this interface.
//
// Restores are journaled (docs/format.md, "Journal"): the step runner in
// src/app/runner.ts calls stage → swap (→ unswap on revert) as separate
// steps, possibly in different processes (a crash, then `to --continue` or
// `to --abort`). So the restore methods hold no state in memory: every call
// gets the job (its id, the dump, and a JSON `memo` the journal keeps for the
// engine) and works out from the server or disk where the job stands. Each
// one can run twice, or after a crash part-way through itself, and must then
// still end in its own end state. Every object a job makes beside the live
// database is named by tempObjects(jobId), and the runner records those names
// in the journal (fsynced) before the call that may make them.
import type { Readable, Writable } from 'node:stream';
import type { Msg } from './i18n.js';
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
  /** e.g. "pg_dump-plain", "sqlite-file", "redis-dump-v1", "mysqldump-sql", "command". */
  format: string;
  /** File extension for db/<name>.<ext> in the snapshot tree. */
  ext: string;
  tool: string;
  serverVersion?: string;
  /** Safe facts worth showing and needed to restore exactly (database attributes…). Never secrets. */
  details?: Record<string, unknown>;
  /** Non-fatal things the user should know (e.g. a dump command's stderr when it exited 0). */
  warnings?: (string | Msg)[];
}

/**
 * Something a restore makes beside the live database: the restored copy
 * before it goes live ('staged'), the previous live copy after the swap
 * ('parked'), or working space ('scratch'). Names derive from the job id
 * only, so the journal can name them before they exist.
 */
export interface TempObject {
  /** The `databases:` entry it belongs to. */
  database: string;
  engine: string;
  role: 'staged' | 'parked' | 'scratch';
  /** What the server or disk calls such a thing, for messages: "database", "schema", "redis db", "file". */
  kind: string;
  /** Its name there: "shop_rb_tmp_20261123_010203", "15", "data/.app.db.rb-stage-…". */
  name: string;
  /** The job that made it (leftovers() fills it in from the name). */
  jobId: string;
}

/** What a restore call gets: which job, which dump, and where to keep facts across processes. */
export interface RestoreJob {
  /** [a-z0-9_]+, unique per rollback (the backup id with "-" as "_"). */
  jobId: string;
  /** The stored dump being restored (the target point's). */
  entry: DatabaseEntry;
  /**
   * Facts the engine needs in a later call, maybe in another process
   * (e.g. whether the live database existed before the swap). JSON only.
   * The runner writes the journal (fsynced) before and after every call.
   */
  memo: Record<string, unknown>;
  /** Writes the journal now, memo included: call it after recording a fact and before the change that depends on it. */
  save(): Promise<void>;
  /** Set when the user interrupts: long calls (stage) stop, clean up what they made, and reject. */
  signal: AbortSignal;
  /** Non-fatal notices for the user (catalog messages: shown in the user's language, kept in English). */
  warn(text: string | Msg): void;
}

export interface RestoreCheck {
  tool: string;
  serverVersion?: string;
  /**
   * Lines for the plan: what the restore carries beyond rows (database
   * attributes, objects), what it cannot (and why), open transactions or
   * sessions it will wait for or end. Catalog messages (core/i18n.ts), so
   * the plan shows them in the user's language; plain text for tool output.
   */
  notes: (string | Msg)[];
}

export interface RestoreStrategy {
  /** One line for the plan: "restore into shop_rb_tmp_<id>, then rename swap (old kept as …)". */
  text: string | Msg;
  /** What users of the database see during the swap: "connections ended; ~1 s unavailable". */
  downtime: string | Msg;
}

export interface Engine {
  readonly name: string;
  readonly engine: string;
  /** How its dumps are chunked when not content-defined (SQLite: 1 MiB, a multiple of every page size). */
  readonly chunking?: DumpChunking;
  /**
   * True when swap() keeps the previous data whole (parked), so the automatic
   * backup's dump of this database can be stored after the swap, from the
   * parked copy, and service comes back without waiting for it. False
   * (command engines): the runner stores the backup dump before the swap, and
   * reverts a swap by restoring that dump.
   */
  readonly parks: boolean;
  /** Where it is, without password: "postgres://app@127.0.0.1:5432/shop", "data/app.db". */
  describe(): string;
  strategy(jobId: string): RestoreStrategy;
  /** Checks that the client tools exist and the server answers, for a dump. */
  check(mode: 'dump'): Promise<EngineProbe>;
  /**
   * The verify phase of a restore, before any change: tools and their
   * versions fit the dump, the server answers, the user has every privilege
   * the restore and the swap need (create/drop, rename, end other sessions…),
   * the temp names are free (or belong to this same job). Changes nothing.
   * Throws RollbackError with a hint naming the fix.
   */
  checkRestore(entry: DatabaseEntry, jobId: string): Promise<RestoreCheck>;
  /**
   * Streams a consistent dump into `out`, after checking the tools and the server
   * itself (so callers need not call check('dump') first). Rejects (with the tool's
   * stderr) on any failure, and destroys `out` with the error. A database that
   * does not exist (a fresh clone, a SQLite file not made yet) is not an error
   * when `allowAbsent` is set: it resolves with `{ absent: true }` and writes nothing.
   */
  dump(out: Writable, options?: { allowAbsent?: boolean }): Promise<DumpOutcome & { absent?: boolean }>;
  /**
   * Whether the live database provably has not changed since `previous` (a
   * dump this engine made in this clone) was taken — e.g. SQLite: the same
   * inode, size and nanosecond mtimes of the file and its -wal, settled
   * before that dump began. A point then reuses that dump instead of reading
   * the database again. False whenever it cannot tell.
   */
  unchangedSince?(previous: DatabaseEntry): Promise<boolean>;
  /** Every object a job of this id may make, so the journal can record them first. */
  tempObjects(jobId: string): TempObject[];
  /**
   * Restores `input` (a stream of the stored dump; `job.entry.absent` means
   * "no database": nothing to load) into the staged copy. Touches nothing
   * live. Removes a staged copy left by an earlier attempt of the same job
   * first. On failure or abort it removes what it made, then rejects. The
   * input must be read to its end without error before the staged copy counts
   * as good (the store checks the sha256 at the end).
   */
  stage(input: Readable, job: RestoreJob): Promise<void>;
  /**
   * Makes the staged copy live and parks the previous live copy, as
   * atomically as the engine allows; with `job.entry.absent`, only parks the
   * live copy. Already swapped (by an earlier attempt) → does nothing. Must
   * leave the live database usable on every path, failure included (no
   * blocked connections, no missing objects): a swap that cannot happen
   * leaves everything as before and rejects.
   */
  swap(job: RestoreJob): Promise<void>;
  /** Puts the parked copy back live and the restored copy back to staged. Not swapped → does nothing. */
  unswap(job: RestoreJob): Promise<void>;
  /** Removes the staged copy (before swap, or after unswap). Nothing there → does nothing. */
  discardStaged(job: RestoreJob): Promise<void>;
  /**
   * After swap(), when `parks`: streams a dump of the parked previous copy
   * into `out`, in the format dump() writes. This is the automatic backup's
   * dump of the database. Resolves `{ absent: true }` when nothing was live
   * before the swap.
   */
  dumpParked?(job: RestoreJob, out: Writable): Promise<DumpOutcome & { absent?: boolean }>;
  /** Drops the parked copy of a job (after its dump is stored, with --drop-old; or prune). Nothing there → does nothing. */
  dropParked(jobId: string): Promise<void>;
  /**
   * Fast undo: makes the parked copy of an earlier job the staged copy of
   * `job` (a rename), instead of stage() from a dump. Resolves false, having
   * changed nothing, when that copy is gone or cannot be shown to be
   * unchanged since its dump (`job.entry.details.parked` records what the
   * engine needs to tell).
   */
  adoptParked?(fromJobId: string, job: RestoreJob): Promise<boolean>;
  /** Every object of ours on the server or disk, of any job (status, prune, cleanup after a crash). */
  leftovers(): Promise<TempObject[]>;
  /**
   * Identity of the live copy now (PostgreSQL: the database's oid; SQLite:
   * the file's inode…): equal before a rollback and after its revert is how
   * "nothing changed" is checked rather than assumed. null when the engine
   * cannot tell.
   */
  fingerprint(): Promise<string | null>;
  /**
   * A digest of what matters in a dump stream (rows, schema, settings; not
   * volatile lines such as pg_dump's random \restrict key or a countdown
   * TTL), so a fresh dump and a stored one compare equal when the data is.
   * Used by `status --deep` and `diff`. Absent: the raw sha256 is compared.
   */
  digest?(input: Readable): Promise<string>;
}

/** Stores dump streams in the git object store and reads them back, with bounded memory. */
/** How a dump is cut into chunks: content-defined (the default), or every `size` bytes (files of fixed-size pages). */
export type DumpChunking = { kind: 'cdc' } | { kind: 'fixed'; size: number };

export interface DumpStore {
  write(input: Readable, options?: { chunking?: DumpChunking }): Promise<{ chunks: ChunkRef[]; size: number; sha256: string }>;
  /** Streams the chunks in order; the stream errors if the sha256 of the whole does not match. */
  read(chunks: ChunkRef[], expectedSha256: string): Readable;
}
