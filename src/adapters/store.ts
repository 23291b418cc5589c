// Points in git: annotated tags, JSON notes on the tag objects
// (refs/notes/rollback) and snapshot refs. Reading all points costs three git
// processes however many there are (for-each-ref, ls-tree, cat-file --batch).
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

  /** Every point, with notes, in no particular order. */
  async list(options: { notes?: boolean } = {}): Promise<Point[]> {
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
    if (options.notes !== false && points.length > 0) await this.attachNotes(points);
    return points;
  }

  private async attachNotes(points: Point[]): Promise<void> {
    const index = await this.git.noteIndex(NOTES_REF);
    if (index.size === 0) return;
    const wanted = points.map((p) => index.get(p.tagObject)).filter((x): x is string => !!x);
    const blobs = await this.git.readBlobs(wanted);
    for (const p of points) {
      const blob = index.get(p.tagObject);
      const data = blob ? blobs.get(blob) : null;
      if (!data) continue;
      try {
        p.note = JSON.parse(data.toString('utf8')) as PointNote;
        if (p.note && !p.description && p.note.description) p.description = p.note.description;
      } catch {
        // A note that is not our JSON is left alone; the tag still stands.
      }
    }
  }

  async person(): Promise<Person> {
    const id = await this.git.identity();
    return { name: id.name, email: id.email, host: hostname() };
  }

  /**
   * Writes the tag object and its note, then creates the tag and snapshot refs in
   * one transaction: a point is all there or not at all.
   */
  async create(p: NewPoint, options: { alsoUpdate?: readonly string[] } = {}): Promise<{ point: Point; note: PointNote }> {
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
    // The event (and anything else the caller needs) lands in the same
    // transaction: a point exists with its log entry, or neither does.
    commands.push(...(options.alsoUpdate ?? []));
    try {
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
