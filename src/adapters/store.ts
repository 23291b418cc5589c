// Points in git: annotated tags, JSON notes on the tag objects
// (refs/notes/rollback) and snapshot refs. Reading all points costs three git
// processes however many there are (for-each-ref, ls-tree, cat-file --batch),
// the notes read and parsed while for-each-ref runs and its output is parsed;
// `list` (listFacts) reads only the tags and notes not in its cache (list-cache.ts).
import { hostname } from 'node:os';
import { ConflictError } from '../core/errors.js';
import { isTagFacts, listedTagFacts, noteFacts, parseTagName, snapshotRef, tagFacts, tagMessage, type ListedPoint, type NoteFacts, type TagFacts, type TagPrefixes } from '../core/points.js';
import { POINT_KINDS, type Person, type Point, type PointKind, type PointNote, type ReleaseInfo, type SnapshotInfo } from '../core/types.js';
import type { Git } from './git.js';
import { msg } from '../core/i18n.js';
import { readListCache, writeListCache, type ListCache } from './list-cache.js';
import { noteShapeProblem, type ShapeProblem } from '../core/note-shape.js';

export const NOTES_REF = 'refs/notes/rollback';

export interface RemovedPoint {
  tag: string;
  tagObject: string;
  snapshotRef: string | null;
  snapshotCommit: string | null;
  noteBlob: string | null;
}

export interface NewPoint {
  kind: PointKind;
  id: string;
  description: string;
  commit: string;
  branch: string | null;
  dirty: boolean;
  snapshot: SnapshotInfo | null;
  release: ReleaseInfo | null;
  date: Date;
  extra?: Record<string, unknown>;
}

/** A note's JSON, or null when it is missing or not a JSON object of ours (the tag still stands). */
function parseNote(data: Buffer | null): PointNote | null {
  if (!data) return null;
  try {
    const note = JSON.parse(data.toString('utf8')) as PointNote;
    return note && typeof note === 'object' ? note : null;
  } catch {
    return null;
  }
}

export class PointStore {
  constructor(
    readonly git: Git,
    readonly prefixes: TagPrefixes,
  ) {}

  private patterns(): string[] {
    return POINT_KINDS.map((k) => {
      const p = this.prefixes[k];
      return p.endsWith('/') ? `refs/tags/${p}` : `refs/tags/${p}*`;
    });
  }

  /**
   * The ids of the points of one kind, from ref names alone (one
   * for-each-ref that reads no tag object): all that choosing a free id
   * needs, ~10× cheaper than list() with 10,000 points.
   */
  async ids(kind: PointKind, startsWith = ''): Promise<Set<string>> {
    const prefix = this.prefixes[kind];
    // With `startsWith` (letters, digits, . _ - only: no glob character), only
    // the ids that begin with it: what choosing a free id next to one name
    // needs, whatever the number of points.
    if (startsWith && !/^[A-Za-z0-9._-]+$/.test(startsWith)) throw new Error(`ids: unexpected characters in ${JSON.stringify(startsWith)}`);
    const pattern = startsWith ? `refs/tags/${prefix}${startsWith}*` : prefix.endsWith('/') ? `refs/tags/${prefix}` : `refs/tags/${prefix}*`;
    const r = await this.git.run(['for-each-ref', '--format=%(refname)', pattern]);
    const ids = new Set<string>();
    for (const refname of r.stdout.split('\n')) {
      if (!refname) continue;
      const parsed = parseTagName(this.prefixes, refname.replace(/^refs\/tags\//, ''));
      if (parsed?.kind === kind && parsed.id.startsWith(startsWith)) ids.add(parsed.id);
    }
    return ids;
  }

  /** Every point, with notes, in no particular order. */
  async list(options: { notes?: boolean } = {}): Promise<Point[]> {
    const notes = options.notes === false ? null : this.readNotes();
    notes?.catch(() => undefined); // awaited below
    const points: Point[] = (await this.readTags()).map((p) => ({ ...p, note: null }));
    if (notes) {
      const { index, parsed } = await notes;
      for (const p of points) {
        const blob = index.get(p.tagObject);
        const read = blob ? parsed.get(blob) : undefined;
        if (!read) continue;
        // security: a note not as documented is not read at all (says which field).
        if ('problem' in read) {
          p.noteProblem = read.problem;
          continue;
        }
        const { note } = read;
        p.note = note;
        if (!p.description && note.description) p.description = note.description;
      }
    }
    return points;
  }

  /**
   * Every point with what `list` shows of its tag and note, in no particular
   * order, through list's cache (list-cache.ts): `for-each-ref` prints only
   * ref names and object ids, and only the tags and notes whose object is not
   * in the cache are read (`for-each-ref` of those refs with the tag fields,
   * `cat-file --batch` of those notes) and parsed. The cache is rewritten
   * when something was read or an entry is gone.
   */
  async listFacts(cacheFile: string): Promise<ListedPoint[]> {
    const cache = readListCache(cacheFile);
    cache.catch(() => undefined); // awaited by both readers
    const notes = this.readFacts(cache);
    notes.catch(() => undefined); // awaited below
    const tags = await this.readTagFacts(cache);
    const { index, byBlob, changed } = await notes;
    if (changed || tags.changed) await writeListCache(cacheFile, { notes: byBlob, tags: tags.byObject });
    const points: ListedPoint[] = [];
    for (const [refname, object, tf] of tags.rows) {
      const p = this.pointOf(refname, object, tf);
      if (!p) continue;
      const blob = index.get(p.tagObject);
      const f = (blob && byBlob.get(blob)) || null;
      points.push({ ...p, description: !p.description && f?.description ? f.description : p.description, facts: f });
    }
    return points;
  }

  /**
   * Each point tag's ref, object and tag facts: names and objects from a
   * `for-each-ref` that reads no object, the facts from the cache, else from
   * a `for-each-ref` of the refs not known (of every point tag when there are
   * many: one process either way).
   */
  private async readTagFacts(cache: Promise<ListCache>): Promise<{ rows: [string, string, TagFacts][]; byObject: Map<string, TagFacts>; changed: boolean }> {
    const [refs, cached] = await Promise.all([this.git.forEachRef(this.patterns(), ['refname', 'objectname']), cache]);
    const byObject = new Map<string, TagFacts>();
    let rows: [string, string, TagFacts][] = [];
    const unknown: string[] = [];
    for (const [refname = '', object = ''] of refs) {
      if (!parseTagName(this.prefixes, refname.replace(/^refs\/tags\//, ''))) continue;
      const f = cached.tags.get(object);
      if (f) {
        byObject.set(object, f);
        rows.push([refname, object, f]);
      } else unknown.push(refname);
    }
    let added = false;
    if (unknown.length > 0) {
      // Ref names as patterns match those refs only (a ref name holds no glob character); past a few hundred, every tag is read.
      const all = unknown.length > 500;
      const read = (await this.readTagRows(all ? this.patterns() : unknown)).map(([r, o, f]): [string, string, TagFacts] => [r, o, listedTagFacts(f)]);
      if (all) rows = [];
      const wanted = new Set(unknown);
      for (const row of read) {
        if (!all && !wanted.has(row[0])) continue;
        rows.push(row);
        // Only what tagFacts() makes of well-formed output is cached; anything else is read again next time.
        if (!byObject.has(row[1]) && isTagFacts(row[2])) {
          byObject.set(row[1], row[2]);
          added ||= !cached.tags.has(row[1]);
        }
      }
    }
    return { rows, byObject, changed: added || [...cached.tags.keys()].some((o) => !byObject.has(o)) };
  }

  /** for-each-ref of the point tags with the fields `list` shows: ref name, object id and tag facts. */
  private async readTagRows(patterns: readonly string[]): Promise<[string, string, TagFacts][]> {
    const rows = await this.git.forEachRef(patterns, ['refname', 'objecttype', 'objectname', '*objectname', 'creatordate:unix', 'contents']);
    return rows.map(([refname = '', type = '', object = '', peeled = '', created = '', contents = '']) => [refname, object, tagFacts(type, peeled, created, contents)]);
  }

  /** A point from its tag ref: null for a ref that is not a point (not our prefix, or a plain ref that is not a release). */
  private pointOf(refname: string, object: string, f: TagFacts): Omit<Point, 'note'> | null {
    const tag = refname.replace(/^refs\/tags\//, '');
    const parsed = parseTagName(this.prefixes, tag);
    if (!parsed) return null;
    const annotated = f.type === 'tag';
    if (!annotated && parsed.kind !== 'release') return null;
    return {
      kind: parsed.kind,
      id: parsed.id,
      tag,
      tagObject: object,
      commit: annotated ? f.peeled : object,
      createdAt: new Date(Number(f.created) * 1000),
      description: f.description,
      trailers: f.trailers,
    };
  }

  /** The point tags, from one for-each-ref: names, objects, dates and the tag messages. */
  private async readTags(): Promise<Omit<Point, 'note'>[]> {
    const points: Omit<Point, 'note'>[] = [];
    for (const [refname, object, f] of await this.readTagRows(this.patterns())) {
      const p = this.pointOf(refname, object, f);
      if (p) points.push(p);
    }
    return points;
  }

  /** Every note of refs/notes/rollback, parsed as it streams in; object id → note blob, note blob → note. */
  private async readNotes(): Promise<{ index: Map<string, string>; parsed: Map<string, { note: PointNote } | { problem: ShapeProblem }> }> {
    const index = await this.git.noteIndex(NOTES_REF);
    const parsed = new Map<string, { note: PointNote } | { problem: ShapeProblem }>();
    await this.git.eachBlob([...index.values()], (blob, data) => {
      const note = parseNote(data);
      if (!note) return;
      const problem = noteShapeProblem(note);
      parsed.set(blob, problem ? { problem } : { note });
    });
    return { index, parsed };
  }

  /** The facts of every note: from the cache, else read, parsed and checked (noteFacts). */
  private async readFacts(cache: Promise<ListCache>): Promise<{ index: Map<string, string>; byBlob: Map<string, NoteFacts | null>; changed: boolean }> {
    const [index, { notes: cached }] = await Promise.all([this.git.noteIndex(NOTES_REF), cache]);
    const byBlob = new Map<string, NoteFacts | null>();
    const missing: string[] = [];
    for (const blob of new Set(index.values())) {
      const f = cached.get(blob);
      if (f === undefined) missing.push(blob);
      else byBlob.set(blob, f);
    }
    await this.git.eachBlob(missing, (blob, data) => {
      // A blob that is gone is not cached: it may come back (a fetch).
      if (data) byBlob.set(blob, noteFacts(parseNote(data)));
    });
    return { index, byBlob, changed: missing.length > 0 || cached.size !== byBlob.size };
  }

  async person(): Promise<Person> {
    const id = await this.git.identity();
    return { name: id.name, email: id.email, host: hostname() };
  }

  /**
   * Writes the tag object and its note, then creates the tag and snapshot refs in
   * one transaction: a point is all there or not at all.
   * `alsoUpdate` may still be in the making (the event's commit, written
   * while the tag and note are): it is awaited before the transaction, and
   * if it fails the note goes and nothing is created.
   */
  async create(p: NewPoint, options: { alsoUpdate?: readonly string[] | Promise<readonly string[]> } = {}): Promise<{ point: Point; note: PointNote }> {
    const also = Promise.resolve(options.alsoUpdate ?? []);
    also.catch(() => {}); // observed below, after the tag and note
    const tag = `${this.prefixes[p.kind]}${p.id}`;
    const note: PointNote = {
      schema: 1,
      id: p.id,
      kind: p.kind,
      description: p.description,
      createdAt: p.date.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      createdBy: await this.person(),
      commit: p.commit,
      branch: p.branch,
      dirty: p.dirty,
      snapshot: p.snapshot,
      protected: false,
      release: p.release,
      ...p.extra,
    };
    const s = p.snapshot;
    const message = tagMessage(p.description, {
      Id: p.id,
      Kind: p.kind,
      Branch: p.branch,
      Dirty: p.dirty ? 'yes' : null,
      Snapshot: s?.commit ?? null,
      Summary: s ? `config=${s.config.length} paths=${s.paths.length} databases=${s.databases.length} size=${s.size}` : null,
      Version: p.release?.version ?? null,
    });
    const tagObject = await this.git.makeTag(p.commit, tag, message, p.date);
    await this.git.writeNote(NOTES_REF, tagObject, JSON.stringify(note, null, 2) + '\n');
    const commands = [`create refs/tags/${tag} ${tagObject}`];
    if (s) commands.push(`create ${snapshotRef(p.kind, p.id)} ${s.commit}`);
    try {
      // The event (and anything else the caller needs) lands in the same
      // transaction: a point exists with its log entry, or neither does.
      commands.push(...(await also));
      await this.git.updateRefs(commands);
    } catch (error) {
      await this.git.removeNote(NOTES_REF, tagObject).catch(() => undefined);
      if (/already exists|reference already exists|cannot lock ref/i.test(String((error as Error).message))) {
        throw new ConflictError(msg('point.exists', { tag }), msg('store.existsHint', { tag }));
      }
      throw error;
    }
    const point: Point = {
      kind: p.kind,
      id: p.id,
      tag,
      tagObject,
      commit: p.commit,
      createdAt: new Date(Math.floor(p.date.getTime() / 1000) * 1000),
      description: p.description,
      trailers: {},
      note,
    };
    return { point, note };
  }

  async writeNote(point: Point, note: PointNote): Promise<void> {
    await this.git.writeNote(NOTES_REF, point.tagObject, JSON.stringify(note, null, 2) + '\n');
    point.note = note;
  }

  /**
   * Removes tags and snapshot refs in one transaction, then their notes.
   * Returns what was removed, so that `undo` can put it back while the objects
   * still exist (until `git gc` prunes them).
   */
  async delete(points: readonly Point[]): Promise<RemovedPoint[]> {
    if (points.length === 0) return [];
    const commands: string[] = [];
    const removed: RemovedPoint[] = [];
    const notes = await this.git.noteIndex(NOTES_REF);
    for (const p of points) {
      commands.push(`delete refs/tags/${p.tag} ${p.tagObject}`);
      // security: the ref is derived from the tag, never taken from the note (a fetched note could name refs/heads/main).
      const ref = snapshotRef(p.kind, p.id);
      const current = await this.git.revParse(ref);
      if (current) commands.push(`delete ${ref} ${current}`);
      removed.push({ tag: p.tag, tagObject: p.tagObject, snapshotRef: current ? ref : null, snapshotCommit: current, noteBlob: notes.get(p.tagObject) ?? null });
    }
    await this.git.updateRefs(commands);
    for (const p of points) await this.git.removeNote(NOTES_REF, p.tagObject).catch(() => undefined);
    return removed;
  }

  /**
   * Takes back a point made moments ago that nothing uses yet (the backup of a
   * rollback refused before any change): refs and the notes ref go back to
   * exactly where they were.
   */
  async discardNew(point: Point, notesBefore: string | null): Promise<void> {
    const commands = [`delete refs/tags/${point.tag} ${point.tagObject}`];
    const ref = point.note?.snapshot?.ref;
    const current = ref ? await this.git.revParse(ref) : null;
    if (ref && current) commands.push(`delete ${ref} ${current}`);
    const notesNow = await this.git.revParse(NOTES_REF);
    if (notesNow && notesBefore) commands.push(`update ${NOTES_REF} ${notesBefore} ${notesNow}`);
    else if (notesNow) commands.push(`delete ${NOTES_REF} ${notesNow}`);
    await this.git.updateRefs(commands);
  }

  /** Puts deleted points back (tags, snapshot refs, notes); refuses if an object is gone. */
  async restore(removed: readonly RemovedPoint[]): Promise<void> {
    const ids = removed.flatMap((r) => [r.tagObject, ...(r.snapshotCommit ? [r.snapshotCommit] : []), ...(r.noteBlob ? [r.noteBlob] : [])]);
    const sizes = await this.git.objectSizes(ids);
    const gone = [...sizes].filter(([, s]) => s === null);
    if (gone.length > 0) {
      throw new ConflictError(msg('store.gone', { n: gone.length }), msg('store.goneHint'));
    }
    const commands = removed.flatMap((r) => [`create refs/tags/${r.tag} ${r.tagObject}`, ...(r.snapshotRef && r.snapshotCommit ? [`create ${r.snapshotRef} ${r.snapshotCommit}`] : [])]);
    await this.git.updateRefs(commands);
    for (const r of removed) {
      if (r.noteBlob) await this.git.run(['notes', `--ref=${NOTES_REF}`, 'add', '-f', '-C', r.noteBlob, r.tagObject], { env: await this.git.identityEnv() });
    }
  }
}
