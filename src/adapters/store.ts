// Points in git: annotated tags, JSON notes on the tag objects
// (refs/notes/rollback) and snapshot refs. Reading all points costs three git
// processes however many there are (for-each-ref, ls-tree, cat-file --batch),
// the notes read and parsed while for-each-ref runs and its output is parsed.
import { hostname } from 'node:os';
import { ConflictError } from '../core/errors.js';
import { parseTagMessage, parseTagName, snapshotRef, tagMessage, type TagPrefixes } from '../core/points.js';
import { POINT_KINDS, type Person, type Point, type PointKind, type PointNote, type ReleaseInfo, type SnapshotInfo } from '../core/types.js';
import type { Git } from './git.js';
import { msg } from '../core/i18n.js';

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
  async ids(kind: PointKind): Promise<Set<string>> {
    const prefix = this.prefixes[kind];
    const pattern = prefix.endsWith('/') ? `refs/tags/${prefix}` : `refs/tags/${prefix}*`;
    const r = await this.git.run(['for-each-ref', '--format=%(refname)', pattern]);
    const ids = new Set<string>();
    for (const refname of r.stdout.split('\n')) {
      if (!refname) continue;
      const parsed = parseTagName(this.prefixes, refname.replace(/^refs\/tags\//, ''));
      if (parsed?.kind === kind) ids.add(parsed.id);
    }
    return ids;
  }

  /** Every point, with notes, in no particular order. */
  async list(options: { notes?: boolean } = {}): Promise<Point[]> {
    const notes = options.notes === false ? null : this.readNotes();
    notes?.catch(() => undefined); // awaited below
    const rows = await this.git.forEachRef(this.patterns(), [
      'refname',
      'objecttype',
      'objectname',
      '*objectname',
      'creatordate:unix',
      'contents',
    ]);
    const points: Point[] = [];
    for (const [refname = '', type, object = '', peeled, created, contents = ''] of rows) {
      const tag = refname.replace(/^refs\/tags\//, '');
      const parsed = parseTagName(this.prefixes, tag);
      if (!parsed) continue;
      const annotated = type === 'tag';
      if (!annotated && parsed.kind !== 'release') continue;
      const { description, trailers } = annotated ? parseTagMessage(contents) : { description: '', trailers: {} };
      points.push({
        kind: parsed.kind,
        id: parsed.id,
        tag,
        tagObject: object,
        commit: annotated ? (peeled ?? '') : object,
        createdAt: new Date(Number(created) * 1000),
        description,
        trailers,
        note: null,
      });
    }
    if (notes) {
      const { index, parsed } = await notes;
      for (const p of points) {
        const blob = index.get(p.tagObject);
        const note = blob ? parsed.get(blob) : undefined;
        if (!note) continue;
        p.note = note;
        if (!p.description && note.description) p.description = note.description;
      }
    }
    return points;
  }

  /** Every note of refs/notes/rollback, parsed as it streams in; object id → note blob, note blob → note. */
  private async readNotes(): Promise<{ index: Map<string, string>; parsed: Map<string, PointNote> }> {
    const index = await this.git.noteIndex(NOTES_REF);
    const parsed = new Map<string, PointNote>();
    await this.git.eachBlob([...index.values()], (blob, data) => {
      if (!data) return;
      try {
        const note = JSON.parse(data.toString('utf8')) as PointNote;
        if (note && typeof note === 'object') parsed.set(blob, note);
      } catch {
        // A note that is not our JSON is left alone; the tag still stands.
      }
    });
    return { index, parsed };
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
