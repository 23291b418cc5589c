// list's cache of note facts (core/points.ts NoteFacts), keyed by note blob
// id: a blob id names its content, so an entry can never be stale; a note
// that changes (protect, verify) is a new blob and is read again. Reading
// 10,000 notes (12 MB of JSON) costs `list` more than everything else; the
// cache holds ~150 bytes per point. The file is ours but lives in .git:
// every entry is checked on the way in, and any entry that is not exactly
// what we write makes the whole file ignored (and rewritten).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isNoteFacts, type NoteFacts } from '../core/points.js';
import { OBJECT_ID } from '../core/validate.js';
import { pidAlive } from './pid.js';

const VERSION = 1;

/** Blob id → facts, or null for a note that is not ours. Empty when the file is missing or not ours. */
export async function readFactsCache(file: string): Promise<Map<string, NoteFacts | null>> {
  const map = new Map<string, NoteFacts | null>();
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return map;
  }
  if (typeof data !== 'object' || data === null || (data as { v?: unknown }).v !== VERSION) return map;
  const notes = (data as { notes?: unknown }).notes;
  if (typeof notes !== 'object' || notes === null || Array.isArray(notes)) return map;
  for (const [blob, facts] of Object.entries(notes)) {
    if (!OBJECT_ID.test(blob) || (facts !== null && !isNoteFacts(facts))) return new Map();
    map.set(blob, facts);
  }
  return map;
}

/** Replaces the file atomically (temp file + rename); a failure (read-only repository) only costs the next list its speed. */
export async function writeFactsCache(file: string, entries: Iterable<[string, NoteFacts | null]>): Promise<void> {
  const notes: Record<string, NoteFacts | null> = {};
  for (const [blob, facts] of entries) notes[blob] = facts;
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await removeOrphans(file);
    await writeFile(tmp, JSON.stringify({ v: VERSION, notes }));
    await rename(tmp, file);
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Temp files of a list that was killed between write and rename (its pid is gone): nothing is left for a human to clean. */
async function removeOrphans(file: string): Promise<void> {
  const prefix = `${basename(file)}.`;
  for (const name of await readdir(dirname(file)).catch(() => [] as string[])) {
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : '');
    if (m && !pidAlive(Number(m[1]))) await rm(join(dirname(file), name), { force: true }).catch(() => undefined);
  }
}

