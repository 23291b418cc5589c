// Validation of everything read from git data (notes, manifests, snapshot
// trees, fetched points) before it may name a file to write or a mode to set.
// Pure: returns problems or throws CorruptSnapshotError naming the entry.
import { CorruptSnapshotError } from './errors.js';
import type { ChunkRef, DatabaseEntry, FileEntry, SnapshotInfo } from './types.js';

/** An object id of either format (40 or 64 lowercase hex digits). */
export const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** The modes a snapshot may restore: a regular file with permission bits only, or a symlink. */
const FILE_MODE = /^100[0-7]{3}$/;
export const SYMLINK_MODE = '120000';

/**
 * C0 and C1 controls, DEL, and the bidirectional overrides and isolates that
 * make a name display as something else (U+202A–U+202E, U+2066–U+2069).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/**
 * Why a path read from git must not be used, or null when it is a safe
 * repository-relative path: relative, normalised ("a/b", no "", "." or ".."
 * component, no trailing slash), no backslash, no control or bidi character,
 * and no `.git` component in any case (nor `.git` with trailing dots or
 * spaces, which some filesystems drop).
 */
export function pathProblem(path: unknown): string | null {
  if (typeof path !== 'string') return 'not a string';
  if (path === '') return 'empty path';
  if (path.length > 4096) return 'path longer than 4096 characters';
  if (UNSAFE_CHARS.test(path)) return 'control or bidirectional-override character in the path';
  if (path.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'absolute (drive) path';
  if (path.includes('\\')) return 'backslash in the path';
  for (const part of path.split('/')) {
    if (part === '') return 'empty component (leading, trailing or double "/")';
    if (part === '.') return '"." component';
    if (part === '..') return 'leaves the repository ("..")';
    if (isGitDirName(part)) return 'inside .git';
  }
  return null;
}

/** ".git", ".GIT", ".git.", ".git " …: names that some filesystem resolves to the git dir. */
export function isGitDirName(part: string): boolean {
  return part.replace(/[. ]+$/, '').toLowerCase() === '.git';
}

/** Why a mode read from git must not be applied, or null for "100ddd" (permission bits only) or a symlink. */
export function modeProblem(mode: unknown): string | null {
  if (typeof mode !== 'string') return 'mode is not a string';
  if (mode === SYMLINK_MODE || FILE_MODE.test(mode)) return null;
  if (/^10[0-7]{4}$/.test(mode)) return `mode ${mode} has setuid, setgid or sticky bits`;
  return `mode ${mode.slice(0, 20)} is not a regular file's permission bits`;
}

/**
 * Why a symlink at `path` pointing to `target` must not be restored, or null
 * when the link resolves inside the repository and outside `.git`.
 */
export function linkProblem(path: string, target: unknown): string | null {
  if (typeof target !== 'string' || target === '') return 'symlink without a target';
  if (target.length > 4096) return 'symlink target longer than 4096 characters';
  if (UNSAFE_CHARS.test(target)) return 'control character in the symlink target';
  if (target.startsWith('/')) return 'symlink to an absolute path';
  const parts = path.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return `symlink target ${target} leaves the repository`;
      parts.pop();
      continue;
    }
    if (isGitDirName(part)) return 'symlink into .git';
    parts.push(part);
  }
  return null;
}

/** A problem with one entry of a point, named the way the user sees it. */
export interface EntryProblem {
  /** "config file", "data path file", "database", "uncommitted work", "snapshot". */
  what: string;
  /** The entry's path or name as stored (shown escaped, never raw). */
  entry: string;
  reason: string;
}

/** Shows a hostile name safely: JSON-escaped and cut. */
export function showName(name: unknown): string {
  const s = typeof name === 'string' ? name : String(name);
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);
}

function isSize(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function fileEntryProblems(what: string, e: FileEntry): EntryProblem[] {
  const out: EntryProblem[] = [];
  const add = (reason: string) => out.push({ what, entry: typeof e?.path === 'string' ? e.path : String(e?.path), reason });
  if (!e || typeof e !== 'object') {
    out.push({ what, entry: '?', reason: 'not an entry' });
    return out;
  }
  const p = pathProblem(e.path);
  if (p) add(p);
  const m = modeProblem(e.mode);
  if (m) add(m);
  if (typeof e.blob !== 'string' || !OBJECT_ID.test(e.blob)) add('blob is not an object id');
  if (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256)) add('sha256 is not 64 hex digits');
  if (!isSize(e.size)) add('size is not a whole number');
  if (e.mode === SYMLINK_MODE && !p) {
    const l = linkProblem(e.path, e.link);
    if (l) add(l);
  } else if (e.link !== undefined && e.mode !== SYMLINK_MODE) add('a link target on an entry that is not a symlink');
  if (e.uid !== undefined && !isSize(e.uid)) add('uid is not a whole number');
  if (e.gid !== undefined && !isSize(e.gid)) add('gid is not a whole number');
  return out;
}

function chunkProblems(d: DatabaseEntry): string[] {
  const out: string[] = [];
  const chunks: ChunkRef[] = d.chunks ?? (d.blob !== undefined ? [{ blob: d.blob, size: d.size }] : []);
  if (d.chunks !== undefined && !Array.isArray(d.chunks)) return ['chunks is not a list'];
  for (const c of chunks) {
    if (!c || typeof c.blob !== 'string' || !OBJECT_ID.test(c.blob)) {
      out.push('a chunk is not an object id');
      break;
    }
    if (!isSize(c.size)) {
      out.push('a chunk size is not a whole number');
      break;
    }
  }
  return out;
}

/**
 * Every problem in a snapshot's facts (from a note or manifest.json): paths,
 * modes, links, ids, duplicates. Duplicates count across config and data
 * paths (they restore into one tree): the same path twice, the same path in
 * another case or Unicode form (one file on case-insensitive filesystems), and
 * a file that is also a directory of another entry ("d" and "d/x": restoring
 * both writes through whatever "d" is, e.g. a symlink).
 */
export function snapshotProblems(s: SnapshotInfo): EntryProblem[] {
  const out: EntryProblem[] = [];
  if (!s || typeof s !== 'object') return [{ what: 'snapshot', entry: '?', reason: 'not an object' }];
  if (typeof s.commit !== 'string' || !OBJECT_ID.test(s.commit)) out.push({ what: 'snapshot', entry: 'commit', reason: 'not an object id' });
  const lists: [string, unknown][] = [
    ['config file', s.config],
    ['data path file', s.paths],
  ];
  const files: FileEntry[] = [];
  for (const [what, list] of lists) {
    if (!Array.isArray(list)) {
      out.push({ what, entry: '(list)', reason: 'not a list' });
      continue;
    }
    for (const e of list as FileEntry[]) {
      out.push(...fileEntryProblems(what, e));
      files.push(e);
    }
  }
  out.push(...duplicateProblems(files.filter((f) => f && typeof f.path === 'string' && !pathProblem(f.path))));
  if (!Array.isArray(s.databases)) out.push({ what: 'database', entry: '(list)', reason: 'not a list' });
  else {
    const names = new Set<string>();
    for (const d of s.databases) {
      const name = typeof d?.name === 'string' ? d.name : String(d?.name);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name)) out.push({ what: 'database', entry: name, reason: 'not a database name' });
      if (names.has(name)) out.push({ what: 'database', entry: name, reason: 'listed twice' });
      names.add(name);
      if (typeof d?.sha256 !== 'string' || !SHA256.test(d.sha256)) out.push({ what: 'database', entry: name, reason: 'sha256 is not 64 hex digits' });
      if (!isSize(d?.size)) out.push({ what: 'database', entry: name, reason: 'size is not a whole number' });
      for (const reason of chunkProblems(d)) out.push({ what: 'database', entry: name, reason });
    }
  }
  if (s.worktree !== null && s.worktree !== undefined) {
    const w = s.worktree;
    for (const [k, v] of [['commit', w.commit], ['index', w.index], ['untracked', w.untracked ?? null]] as const) {
      if (v === null && k === 'untracked') continue;
      if (typeof v !== 'string' || !OBJECT_ID.test(v)) out.push({ what: 'uncommitted work', entry: k, reason: 'not an object id' });
    }
  }
  if (Array.isArray(s.captures)) {
    for (const c of s.captures) {
      if (typeof c?.blob !== 'string' || !OBJECT_ID.test(c.blob)) out.push({ what: 'capture', entry: String(c?.name), reason: 'blob is not an object id' });
    }
  }
  return out;
}

/** Same path, case/Unicode-fold duplicates, and file-vs-directory-prefix clashes. */
export function duplicateProblems(files: readonly { path: string }[]): EntryProblem[] {
  const out: EntryProblem[] = [];
  const exact = new Set<string>();
  const folded = new Map<string, string>();
  for (const f of files) {
    if (exact.has(f.path)) {
      out.push({ what: 'file', entry: f.path, reason: 'listed twice' });
      continue;
    }
    exact.add(f.path);
    const key = fold(f.path);
    const other = folded.get(key);
    if (other !== undefined) out.push({ what: 'file', entry: f.path, reason: `the same file as ${showName(other)} on a case-insensitive filesystem` });
    else folded.set(key, f.path);
  }
  for (const f of files) {
    const parts = fold(f.path).split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const clash = folded.get(prefix);
      if (clash !== undefined) {
        out.push({ what: 'file', entry: f.path, reason: `lies under ${showName(clash)}, which is a file (or link) of the same point` });
        break;
      }
    }
  }
  return out;
}

function fold(path: string): string {
  return path.normalize('NFC').toLowerCase();
}

/** One entry of a snapshot tree (`git ls-tree -r -z`). */
export interface TreeEntry {
  mode: string;
  type: string;
  id: string;
  path: string;
}

/**
 * The snapshot's file entries must be exactly the tree's config/ and paths/
 * entries (same path, same blob, a compatible git mode): a note or manifest
 * naming a blob outside its own tree (another point's .env, a code blob) or a
 * path the tree does not hold is refused. Database chunks must be blobs of
 * the tree too, under db/.
 */
export function treeProblems(s: SnapshotInfo, tree: readonly TreeEntry[]): EntryProblem[] {
  const out: EntryProblem[] = [];
  const byPath = new Map<string, TreeEntry>();
  for (const t of tree) {
    if (byPath.has(t.path)) out.push({ what: 'snapshot tree', entry: t.path, reason: 'listed twice in the tree' });
    byPath.set(t.path, t);
    const top = t.path.split('/')[0];
    if (top === 'config' || top === 'paths') {
      const rest = t.path.slice(top.length + 1);
      const p = pathProblem(rest);
      if (p) out.push({ what: 'snapshot tree', entry: t.path, reason: p });
    }
  }
  const check = (what: string, prefix: string, list: readonly FileEntry[]) => {
    for (const e of list) {
      const t = byPath.get(`${prefix}/${e.path}`);
      if (!t) {
        out.push({ what, entry: e.path, reason: 'not in the snapshot tree' });
        continue;
      }
      if (t.type !== 'blob' || t.id !== e.blob) out.push({ what, entry: e.path, reason: 'names an object other than the snapshot tree holds there' });
      else if ((e.mode === SYMLINK_MODE) !== (t.mode === SYMLINK_MODE)) out.push({ what, entry: e.path, reason: 'a symlink in one place and a file in the other' });
    }
    const listed = new Set(list.map((e) => `${prefix}/${e.path}`));
    for (const t of tree) {
      if (t.path.startsWith(`${prefix}/`) && !listed.has(t.path)) out.push({ what, entry: t.path.slice(prefix.length + 1), reason: 'in the snapshot tree but not in its manifest' });
    }
  };
  check('config file', 'config', s.config);
  check('data path file', 'paths', s.paths);
  const dbBlobs = new Set(tree.filter((t) => t.path.startsWith('db/') && t.type === 'blob').map((t) => t.id));
  for (const d of s.databases) {
    const chunks = d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : []);
    if (chunks.some((c) => !dbBlobs.has(c.blob))) out.push({ what: 'database', entry: d.name, reason: 'a chunk is not in the snapshot tree' });
  }
  return out;
}

/** Throws CorruptSnapshotError (exit 6) naming the first entries at fault; nothing has been changed yet. */
export function refuseProblems(pointTag: string, problems: readonly EntryProblem[]): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 3).map((p) => `${p.what} ${showName(p.entry)}: ${p.reason}`);
  const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
  throw new CorruptSnapshotError(
    `point ${pointTag} is refused (damaged or hostile data): ${shown.join('; ')}${more}`,
    'nothing was changed; do not roll back to this point. If it came from a remote, ask who made it (git rollback show, git rollback log)',
  );
}

/**
 * Config/paths patterns read from a point are never used to find files to
 * delete (deletion uses the local config); this only decides whether such a
 * pattern may be used for reading (status, diff).
 */
export function safePattern(pattern: string): boolean {
  const p = pattern.replace(/^\.\//, '');
  if (p === '' || UNSAFE_CHARS.test(p) || p.startsWith('/') || p.includes('\\')) return false;
  return !p.split('/').some((part) => part === '..' || isGitDirName(part));
}

/** Words `<point>` arguments already mean (src/core/points.ts resolvePoint) and git's own HEAD-like refs. */
const RESERVED_NAMES = new Set(['head', 'fetch_head', 'orig_head', 'merge_head', 'cherry_pick_head', 'revert_head', 'rebase_head', 'bisect_head', 'auto_merge', 'stash', 'latest', 'latest-backup', 'latest-release', 'previous-release', 'current', 'now']);

/**
 * Why a point name (`--name`) must not be used, beyond git's ref-name rules:
 * it would shadow HEAD, a branch, a word `<point>` already means, or a commit
 * id, so that `git rollback to main` would no longer mean the branch.
 */
export function pointNameProblem(name: string, branches: readonly string[]): string | null {
  if (RESERVED_NAMES.has(name.toLowerCase()) || /^release~\d+$/i.test(name)) return `"${name}" already means something else where a point is named (HEAD, latest, previous-release…)`;
  if (branches.includes(name)) return `a branch is called "${name}": the point would shadow it`;
  if (/^[0-9a-f]{7,64}$/i.test(name)) return `"${name}" looks like a commit id`;
  return null;
}
