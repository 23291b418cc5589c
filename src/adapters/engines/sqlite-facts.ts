// What a SQLite file's metadata proves about its contents since a point copied it:
// the same file, size and nanosecond mtimes (of the file and its -wal) as recorded
// while copying, settled well before that copy, and no hot journal.
import { lstat, stat, statfs } from 'node:fs/promises';

/** The format name of a SQLite point: a consistent copy of the file. */
export const SQLITE_FORMAT = 'sqlite-file';

/** Identity of a SQLite file (and its -wal) as seen right before and after a point copied it. */
export interface SourceFacts {
  ino: string;
  size: number;
  mtimeNs: string;
  walSize: number | null;
  walMtimeNs: string | null;
  /** Wall clock (ms) when these were read. */
  statAtMs: number;
}

export async function sourceFacts(path: string): Promise<SourceFacts> {
  const statAtMs = Date.now();
  const s = await stat(path, { bigint: true });
  // An empty -wal holds nothing: the same as none (opening a WAL database makes one, closing removes it).
  const wal = await stat(`${path}-wal`, { bigint: true }).then((w) => (w.size > 0n ? w : undefined), () => undefined);
  return {
    ino: String(s.ino), size: Number(s.size), mtimeNs: String(s.mtimeNs),
    walSize: wal ? Number(wal.size) : null, walMtimeNs: wal ? String(wal.mtimeNs) : null, statAtMs,
  };
}

/** The same file in the same state, ignoring when it was looked at. */
export function sameFacts(a: SourceFacts, b: SourceFacts): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.walSize === b.walSize && a.walMtimeNs === b.walMtimeNs;
}

/**
 * Linux file systems whose timestamps keep nanoseconds (ext2/3/4, XFS,
 * Btrfs, tmpfs, F2FS): the kernel stamps a write with its clock as of the
 * last tick (or finer), so two writes more than two ticks apart get
 * different mtimes. A tick is 10 ms at the lowest HZ (100).
 */
const FINE_TIMESTAMPS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0xf2f52010]);

/**
 * How much older than our stat an mtime must be for a later write to be
 * sure to change it: 100 ms (ten ticks at HZ=100; both clocks are the same
 * CLOCK_REALTIME) on the local file systems above, 2 s elsewhere (FAT keeps
 * 2 s; a network file system's server may stamp with its own clock).
 */
export async function racyWindowMs(path: string): Promise<number> {
  if (process.platform !== 'linux') return 2000;
  const fs = await statfs(path).catch(() => undefined);
  return fs && FINE_TIMESTAMPS.has(Number(fs.type)) ? 100 : 2000;
}

export type SinceCopy =
  /** Provably the file that was copied: nothing written since. */
  | { state: 'same' }
  /** Written since the copy (or replaced): its facts differ from the recorded ones. */
  | { state: 'written'; mtimeMs: number }
  /** Facts match, but were written too close to the copy to prove anything. */
  | { state: 'unsure'; mtimeMs: number }
  | { state: 'absent' };

/** Compares the live file with the facts recorded while it was copied. Reads metadata only. */
export async function sinceCopy(path: string, recorded: SourceFacts): Promise<SinceCopy> {
  const now = await sourceFacts(path).catch(() => undefined);
  if (!now) return { state: 'absent' };
  const mtimeMs = Math.max(nsToMs(now.mtimeNs), now.walMtimeNs === null ? 0 : nsToMs(now.walMtimeNs));
  if (!sameFacts(now, recorded)) return { state: 'written', mtimeMs };
  const window = await racyWindowMs(path);
  const settled = (ns: string | null) => ns === null || nsToMs(ns) < recorded.statAtMs - window;
  if (!settled(recorded.mtimeNs) || !settled(recorded.walMtimeNs)) return { state: 'unsure', mtimeMs };
  // A hot journal means a write was under way (or crashed) since: not provably the same.
  const journal = await lstat(`${path}-journal`).catch(() => undefined);
  if (journal && journal.size > 0) return { state: 'unsure', mtimeMs: Math.max(mtimeMs, journal.mtimeMs) };
  return { state: 'same' };
}

/** Recorded facts from untrusted note data, or undefined when they are not well-formed. */
export function recordedFacts(value: unknown): SourceFacts | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const digits = (x: unknown) => typeof x === 'string' && /^\d{1,30}$/.test(x);
  const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!digits(v.ino) || !count(v.size) || !digits(v.mtimeNs) || !count(v.statAtMs)) return undefined;
  if (!(v.walSize === null || count(v.walSize)) || !(v.walMtimeNs === null || digits(v.walMtimeNs))) return undefined;
  return { ino: v.ino as string, size: v.size as number, mtimeNs: v.mtimeNs as string, walSize: v.walSize as number | null, walMtimeNs: v.walMtimeNs as string | null, statAtMs: v.statAtMs as number };
}

function nsToMs(ns: string): number {
  return Number(BigInt(ns) / 1_000_000n);
}
