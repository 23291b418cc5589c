// What a SQLite file's metadata proves about its contents since a point copied it:
// the same file, size and nanosecond mtimes (of the file and its -wal) as recorded
// while copying, settled well before that copy, and no hot journal.
import { lstat, stat } from 'node:fs/promises';

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
 * How long a write must lie before the copy for its mtime to prove anything:
 * a write within the timestamp's granularity of the copy could leave the same
 * size and mtime (git's "racy clean" rule, with a wide margin).
 */
export const RACY_MS = 2000;

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
  const settled = (ns: string | null) => ns === null || nsToMs(ns) < recorded.statAtMs - RACY_MS;
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
