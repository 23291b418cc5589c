// list's cache of what it shows of each point: note facts (core/points.ts
// NoteFacts) keyed by note blob id, and tag facts (TagFacts: type, target,
// date, description and trailers of the tag message) keyed by the id of the
// object the tag ref names. An object id names its content, so an entry can
// never be stale: a note that changes (protect, verify) is a new blob, a tag
// moved or re-made is another object, and either is read again. Reading
// 10,000 notes (12 MB of JSON) and every tag message costs `list` more than
// everything else; the cache holds a few hundred bytes per point. The file
// is ours but lives in .git: every entry is checked on the way in, and any
// entry that is not exactly what we write makes the whole file ignored (and
// rewritten).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isNoteFacts, isTagFacts, type NoteFacts, type TagFacts } from '../core/points.js';
import { OBJECT_ID } from '../core/validate.js';
import { pidAlive } from './pid.js';

/** 2: tag facts added (a version 1 file is read as empty, once). */
const VERSION = 2;

export interface ListCache {
  /** Note blob id → facts, or null for a note that is not ours. */
  notes: Map<string, NoteFacts | null>;
  /** Tag ref's object id → facts. */
  tags: Map<string, TagFacts>;
}

const empty = (): ListCache => ({ notes: new Map(), tags: new Map() });

/** The cache, or an empty one when the file is missing or not exactly ours. */
export async function readListCache(file: string): Promise<ListCache> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return empty();
  }
  if (typeof data !== 'object' || data === null || (data as { v?: unknown }).v !== VERSION) return empty();
  const { notes, tags } = data as { notes?: unknown; tags?: unknown };
  if (!isRecord(notes) || !isRecord(tags)) return empty();
  const out = empty();
  for (const [blob, facts] of Object.entries(notes)) {
    if (!OBJECT_ID.test(blob) || (facts !== null && !isNoteFacts(facts))) return empty();
    out.notes.set(blob, facts);
  }
  // Written as arrays ([type, peeled, created, description, trailers]): a third of the size of objects to parse.
  for (const [object, entry] of Object.entries(tags)) {
    if (!OBJECT_ID.test(object) || !Array.isArray(entry) || entry.length !== 5) return empty();
    const [type, peeled, created, description, trailers] = entry as unknown[];
    const facts = { type, peeled, created, description, trailers };
    if (!isTagFacts(facts)) return empty();
    out.tags.set(object, facts);
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Replaces the file atomically (temp file + rename); a failure (read-only
 * repository) only costs the next list its speed. Tag facts that are not
 * what tagFacts() makes are left out (read from git again next time).
 */
export async function writeListCache(file: string, cache: ListCache): Promise<void> {
  const notes: Record<string, NoteFacts | null> = {};
  for (const [blob, facts] of cache.notes) notes[blob] = facts;
  const tags: Record<string, unknown[]> = {};
  for (const [object, f] of cache.tags) if (OBJECT_ID.test(object) && isTagFacts(f)) tags[object] = [f.type, f.peeled, f.created, f.description, f.trailers];
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await removeOrphans(file);
    await writeFile(tmp, JSON.stringify({ v: VERSION, notes, tags }));
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
