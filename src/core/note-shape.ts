// The shape of a point's note and of a snapshot's manifest.json as read from
// git: every field the commands read has the type the format documents
// (docs/format.md), or the data is reported damaged, naming the field. This
// is what lets show, status, diff, verify and to read a note without a
// TypeError; what the values may be (safe paths, modes, ids) is checked on
// top of it by validate.ts before anything is restored.
// Fields are checked where present: notes of older versions that lack an
// optional field stay readable. Unknown fields are kept (the note is open).
import { msg, type Msg } from './i18n.js';

/** Where the data is not as documented: a field path ("snapshot.databases[0].chunks") and what it should be. */
export interface ShapeProblem {
  field: string;
  expected: string;
}

type Check = (v: unknown, at: string) => ShapeProblem | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const type =
  (expected: string, ok: (v: unknown) => boolean): Check =>
  (v, at) =>
    ok(v) ? null : { field: at, expected };

const str = type('a string', (v) => typeof v === 'string');
const num = type('a number', (v) => typeof v === 'number' && Number.isFinite(v));
const bool = type('true or false', (v) => typeof v === 'boolean');
const strOrNull = type('a string or null', (v) => v === null || typeof v === 'string');
const anyObject = type('an object', isObject);

/** An object whose listed fields, where present, pass their checks; `required` ones must be present. */
function obj(fields: Record<string, Check>, required: readonly string[] = []): Check {
  return (v, at) => {
    if (!isObject(v)) return { field: at, expected: 'an object' };
    for (const [k, check] of Object.entries(fields)) {
      const here = at ? `${at}.${k}` : k;
      if (!Object.hasOwn(v, k) || v[k] === undefined) {
        if (required.includes(k)) return { field: here, expected: 'present' };
        continue;
      }
      const p = check(v[k], here);
      if (p) return p;
    }
    return null;
  };
}

function list(item: Check): Check {
  return (v, at) => {
    if (!Array.isArray(v)) return { field: at, expected: 'a list' };
    for (let i = 0; i < v.length; i++) {
      const p = item(v[i], `${at}[${i}]`);
      if (p) return p;
    }
    return null;
  };
}

const orNull =
  (check: Check): Check =>
  (v, at) =>
    v === null ? null : check(v, at);

const fileEntry = obj({ path: str, mode: str, size: num, sha256: str, blob: str, link: str, uid: num, gid: num, enc: str, key: str }, ['path', 'mode', 'sha256', 'blob']);
const chunk = obj({ blob: str, size: num, key: str, enc: str }, ['blob', 'size']);
const database = obj(
  { name: str, engine: str, format: str, path: str, size: num, sha256: str, blob: str, chunks: list(chunk), tool: str, serverVersion: str, ms: num, details: anyObject, absent: bool },
  ['name', 'sha256'],
);
const capture = obj({ name: str, command: str, exitCode: num, size: num, blob: str, sha256: str }, ['name', 'blob']);
const worktree = obj({ commit: str, index: str, untracked: strOrNull, files: num }, ['commit', 'index']);

/** The snapshot facts a note holds, or a manifest.json: the lists it restores from must be lists of entries. */
const snapshotFacts = { config: list(fileEntry), paths: list(fileEntry), databases: list(database), captures: list(capture), worktree: orNull(worktree) };
const snapshot = obj({ commit: str, ref: str, size: num, ...snapshotFacts }, ['commit', 'config', 'paths', 'databases', 'captures']);

const note = obj({
  schema: type('1', (v) => v === 1),
  id: str,
  kind: str,
  description: str,
  createdAt: str,
  createdBy: obj({ name: str, email: str, host: str }),
  commit: str,
  branch: strOrNull,
  dirty: bool,
  protected: bool,
  release: orNull(obj({ version: str, previous: strOrNull, change: strOrNull }, ['version'])),
  snapshot: orNull(snapshot),
});

/** Why a parsed note cannot be read as a point's note, or null. */
export function noteShapeProblem(parsed: unknown): ShapeProblem | null {
  return named(note(parsed, ''), '(note)');
}

/** Why a parsed manifest.json cannot be read as a snapshot's facts, or null. */
export function manifestShapeProblem(parsed: unknown): ShapeProblem | null {
  return named(obj(snapshotFacts, ['config', 'paths', 'databases', 'captures'])(parsed, ''), '(manifest.json)');
}

/** The whole value, when it is the value itself that is not an object. */
function named(p: ShapeProblem | null, whole: string): ShapeProblem | null {
  return p && !p.field ? { ...p, field: whole } : p;
}

/** What every command says of a point whose note was set aside, or null when its note is fine (or absent). */
export function noteDamaged(point: { tag: string; noteProblem?: ShapeProblem }): Msg | null {
  return point.noteProblem ? msg('point.noteDamaged', { tag: point.tag, ...point.noteProblem }) : null;
}
