// Validation of everything read from git data (notes, manifests, snapshot
// trees, fetched points) before it may name a file to write or a mode to set.
// Pure: returns problems or throws CorruptSnapshotError naming the entry.
import { CorruptSnapshotError } from './errors.js';
import { joined, msg, type Msg } from './i18n.js';
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
export function pathProblem(path: unknown): Msg | null {
  if (typeof path !== 'string') return msg('valid.notString');
  if (path === '') return msg('valid.emptyPath');
  if (path.length > 4096) return msg('valid.pathTooLong');
  if (UNSAFE_CHARS.test(path)) return msg('valid.pathControl');
  if (path.startsWith('/')) return msg('valid.absolute');
  if (/^[A-Za-z]:/.test(path)) return msg('valid.drive');
  if (path.includes('\\')) return msg('valid.backslash');
  for (const part of path.split('/')) {
    if (part === '') return msg('valid.emptyComponent');
    if (part === '.') return msg('valid.dotComponent');
    if (part === '..') return msg('valid.dotdot');
    if (isGitDirName(part)) return msg('valid.insideGit');
  }
  return null;
}

/** ".git", ".GIT", ".git.", ".git " …: names that some filesystem resolves to the git dir. */
export function isGitDirName(part: string): boolean {
  return part.replace(/[. ]+$/, '').toLowerCase() === '.git';
}

/** Why a mode read from git must not be applied, or null for "100ddd" (permission bits only) or a symlink. */
export function modeProblem(mode: unknown): Msg | null {
  if (typeof mode !== 'string') return msg('valid.modeNotString');
  if (mode === SYMLINK_MODE || FILE_MODE.test(mode)) return null;
  if (/^10[0-7]{4}$/.test(mode)) return msg('valid.modeSpecial', { mode });
  return msg('valid.modeNotFile', { mode: mode.slice(0, 20) });
}

/**
 * Why a symlink at `path` pointing to `target` must not be restored, or null
 * when the link resolves inside the repository and outside `.git`.
 */
export function linkProblem(path: string, target: unknown): Msg | null {
  if (typeof target !== 'string' || target === '') return msg('valid.linkNoTarget');
  if (target.length > 4096) return msg('valid.linkTooLong');
  if (UNSAFE_CHARS.test(target)) return msg('valid.linkControl');
  if (target.startsWith('/')) return msg('valid.linkAbsolute');
  const parts = path.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return msg('valid.linkLeaves', { target });
      parts.pop();
      continue;
    }
    if (isGitDirName(part)) return msg('valid.linkGit');
    parts.push(part);
  }
  return null;
}

/** A problem with one entry of a point, named the way the user sees it. */
export interface EntryProblem {
  /** "config file", "data path file", "database", "uncommitted work", "snapshot" (catalog messages: what.*). */
  what: Msg;
  /** The entry's path or name as stored (shown escaped, never raw). */
  entry: string;
  reason: Msg;
}

/** "config file \".env\": absolute path": one problem, named the way the user sees it. */
export function problemMsg(p: EntryProblem): Msg {
  return msg('valid.problem', { what: p.what, entry: showName(p.entry), reason: p.reason });
}

const WHAT = {
  snapshot: msg('valid.what.snapshot'),
  config: msg('valid.what.config'),
  paths: msg('valid.what.paths'),
  database: msg('valid.what.database'),
  worktree: msg('valid.what.worktree'),
  capture: msg('valid.what.capture'),
  file: msg('valid.what.file'),
  tree: msg('valid.what.tree'),
} as const;

/** Shows a hostile name safely: JSON-escaped and cut. */
export function showName(name: unknown): string {
  const s = typeof name === 'string' ? name : String(name);
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);
}

function isSize(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function fileEntryProblems(what: Msg, e: FileEntry): EntryProblem[] {
  const out: EntryProblem[] = [];
  const add = (reason: Msg) => out.push({ what, entry: typeof e?.path === 'string' ? e.path : String(e?.path), reason });
  if (!e || typeof e !== 'object') {
    out.push({ what, entry: '?', reason: msg('valid.notEntry') });
    return out;
  }
  const p = pathProblem(e.path);
  if (p) add(p);
  const m = modeProblem(e.mode);
  if (m) add(m);
  if (typeof e.blob !== 'string' || !OBJECT_ID.test(e.blob)) add(msg('valid.blobNotId'));
  if (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256)) add(msg('valid.sha256'));
  if (!isSize(e.size)) add(msg('valid.size'));
  if (e.mode === SYMLINK_MODE && !p) {
    const l = linkProblem(e.path, e.link);
    if (l) add(l);
  } else if (e.link !== undefined && e.mode !== SYMLINK_MODE) add(msg('valid.linkOnFile'));
  if (e.uid !== undefined && !isSize(e.uid)) add(msg('valid.uid'));
  if (e.gid !== undefined && !isSize(e.gid)) add(msg('valid.gid'));
  return out;
}

function chunkProblems(d: DatabaseEntry): Msg[] {
  const out: Msg[] = [];
  const chunks: ChunkRef[] = d.chunks ?? (d.blob !== undefined ? [{ blob: d.blob, size: d.size }] : []);
  if (d.chunks !== undefined && !Array.isArray(d.chunks)) return [msg('valid.chunksNotList')];
  for (const c of chunks) {
    if (!c || typeof c.blob !== 'string' || !OBJECT_ID.test(c.blob)) {
      out.push(msg('valid.chunkNotId'));
      break;
    }
    if (!isSize(c.size)) {
      out.push(msg('valid.chunkSize'));
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
  if (!s || typeof s !== 'object') return [{ what: WHAT.snapshot, entry: '?', reason: msg('valid.notObject') }];
  if (typeof s.commit !== 'string' || !OBJECT_ID.test(s.commit)) out.push({ what: WHAT.snapshot, entry: 'commit', reason: msg('valid.notId') });
  const lists: [Msg, unknown][] = [
    [WHAT.config, s.config],
    [WHAT.paths, s.paths],
  ];
  const files: FileEntry[] = [];
  for (const [what, list] of lists) {
    if (!Array.isArray(list)) {
      out.push({ what, entry: '(list)', reason: msg('valid.notList') });
      continue;
    }
    for (const e of list as FileEntry[]) {
      out.push(...fileEntryProblems(what, e));
      files.push(e);
    }
  }
  out.push(...duplicateProblems(files.filter((f) => f && typeof f.path === 'string' && !pathProblem(f.path))));
  if (!Array.isArray(s.databases)) out.push({ what: WHAT.database, entry: '(list)', reason: msg('valid.notList') });
  else {
    const names = new Set<string>();
    for (const d of s.databases) {
      const name = typeof d?.name === 'string' ? d.name : String(d?.name);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name)) out.push({ what: WHAT.database, entry: name, reason: msg('valid.notDbName') });
      if (names.has(name)) out.push({ what: WHAT.database, entry: name, reason: msg('valid.twice') });
      names.add(name);
      if (typeof d?.sha256 !== 'string' || !SHA256.test(d.sha256)) out.push({ what: WHAT.database, entry: name, reason: msg('valid.sha256') });
      if (!isSize(d?.size)) out.push({ what: WHAT.database, entry: name, reason: msg('valid.size') });
      for (const reason of chunkProblems(d)) out.push({ what: WHAT.database, entry: name, reason });
    }
  }
  if (s.worktree !== null && s.worktree !== undefined) {
    const w = s.worktree;
    for (const [k, v] of [['commit', w.commit], ['index', w.index], ['untracked', w.untracked ?? null]] as const) {
      if (v === null && k === 'untracked') continue;
      if (typeof v !== 'string' || !OBJECT_ID.test(v)) out.push({ what: WHAT.worktree, entry: k, reason: msg('valid.notId') });
    }
  }
  if (Array.isArray(s.captures)) {
    for (const c of s.captures) {
      if (typeof c?.blob !== 'string' || !OBJECT_ID.test(c.blob)) out.push({ what: WHAT.capture, entry: String(c?.name), reason: msg('valid.blobNotId') });
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
      out.push({ what: WHAT.file, entry: f.path, reason: msg('valid.twice') });
      continue;
    }
    exact.add(f.path);
    const key = fold(f.path);
    const other = folded.get(key);
    if (other !== undefined) out.push({ what: WHAT.file, entry: f.path, reason: msg('valid.sameFile', { other: showName(other) }) });
    else folded.set(key, f.path);
  }
  for (const f of files) {
    const parts = fold(f.path).split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const clash = folded.get(prefix);
      if (clash !== undefined) {
        out.push({ what: WHAT.file, entry: f.path, reason: msg('valid.under', { clash: showName(clash) }) });
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
    if (byPath.has(t.path)) out.push({ what: WHAT.tree, entry: t.path, reason: msg('valid.twiceInTree') });
    byPath.set(t.path, t);
    const top = t.path.split('/')[0];
    if (top === 'config' || top === 'paths') {
      const rest = t.path.slice(top.length + 1);
      const p = pathProblem(rest);
      if (p) out.push({ what: WHAT.tree, entry: t.path, reason: p });
    }
  }
  const check = (what: Msg, prefix: string, list: readonly FileEntry[]) => {
    for (const e of list) {
      const t = byPath.get(`${prefix}/${e.path}`);
      if (!t) {
        out.push({ what, entry: e.path, reason: msg('valid.notInTree') });
        continue;
      }
      if (t.type !== 'blob' || t.id !== e.blob) out.push({ what, entry: e.path, reason: msg('valid.otherObject') });
      else if ((e.mode === SYMLINK_MODE) !== (t.mode === SYMLINK_MODE)) out.push({ what, entry: e.path, reason: msg('valid.linkVsFile') });
    }
    const listed = new Set(list.map((e) => `${prefix}/${e.path}`));
    for (const t of tree) {
      if (t.path.startsWith(`${prefix}/`) && !listed.has(t.path)) out.push({ what, entry: t.path.slice(prefix.length + 1), reason: msg('valid.notInManifest') });
    }
  };
  check(WHAT.config, 'config', s.config);
  check(WHAT.paths, 'paths', s.paths);
  const dbBlobs = new Set(tree.filter((t) => t.path.startsWith('db/') && t.type === 'blob').map((t) => t.id));
  for (const d of s.databases) {
    const chunks = d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : []);
    if (chunks.some((c) => !dbBlobs.has(c.blob))) out.push({ what: WHAT.database, entry: d.name, reason: msg('valid.chunkNotInTree') });
  }
  return out;
}

/** Throws CorruptSnapshotError (exit 6) naming the first entries at fault; nothing has been changed yet. */
export function refuseProblems(pointTag: string, problems: readonly EntryProblem[]): void {
  if (problems.length === 0) return;
  const shown = joined(problems.slice(0, 3).map(problemMsg), 'semicolon');
  const more = problems.length > 3 ? msg('valid.more', { n: problems.length - 3 }) : '';
  throw new CorruptSnapshotError(msg('valid.refused', { tag: pointTag, problems: shown, more }), msg('valid.refusedHint'));
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
export function pointNameProblem(name: string, branches: readonly string[]): Msg | null {
  if (RESERVED_NAMES.has(name.toLowerCase()) || /^release~\d+$/i.test(name)) return msg('valid.nameReserved', { name });
  if (branches.includes(name)) return msg('valid.nameBranch', { name });
  if (/^[0-9a-f]{7,64}$/i.test(name)) return msg('valid.nameCommit', { name });
  return null;
}
