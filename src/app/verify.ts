// Verifying points before anything changes: the data read from git is
// validated (paths, modes, links, the tree it claims to come from), and every
// object a restore needs — code and uncommitted work included — is present
// and hashes to its id. `git rollback verify` runs the same checks and also
// reads each file and dump back against its sha256.
import { createHash } from 'node:crypto';
import type { Selection } from '../core/plan.js';
import { snapshotRef } from '../core/points.js';
import { ConflictError, CorruptSnapshotError, errorMsg, UsageError } from '../core/errors.js';
import { english, msg, type Msg } from '../core/i18n.js';
import { noteDamaged } from '../core/note-shape.js';
import { DEFAULT_IDENTITY_ENV } from '../adapters/crypto.js';
import { pointNameProblem, problemMsg, refuseProblems, showName, snapshotProblems, treeProblems, type EntryProblem, type TreeEntry } from '../core/validate.js';
import type { Point, SnapshotInfo } from '../core/types.js';
import type { Git } from '../adapters/git.js';
import type { Context } from './context.js';
import { loadSnapshot } from './state.js';

/** The entries of a snapshot commit's tree, or null when the commit or its tree cannot be read. */
export async function snapshotTree(git: Git, commit: string): Promise<TreeEntry[] | null> {
  const r = await git.run(['ls-tree', '-r', '-z', '--full-tree', '--end-of-options', commit], { allowFail: true });
  if (r.exitCode !== 0) return null;
  const out: TreeEntry[] = [];
  for (const record of r.stdout.split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [mode = '', type = '', id = ''] = record.slice(0, tab).split(' ');
    out.push({ mode, type, id, path: record.slice(tab + 1) });
  }
  return out;
}

/**
 * Everything wrong with what a point says about its snapshot: its fields
 * (snapshotProblems), its ref name, the tag's immutable trailer, and whether
 * the note/manifest matches the snapshot tree it names. Reads one tree.
 */
export async function pointDataProblems(ctx: Context, point: Point, snapshot: SnapshotInfo): Promise<EntryProblem[]> {
  const problems = snapshotProblems(snapshot);
  const expectedRef = snapshotRef(point.kind, point.id);
  if (snapshot.ref !== undefined && snapshot.ref !== expectedRef) {
    problems.push({ what: msg('valid.what.snapshot'), entry: String(snapshot.ref), reason: msg('verify.otherRef', { ref: expectedRef }) });
  }
  if (point.trailers.snapshot && point.trailers.snapshot !== snapshot.commit) {
    problems.push({ what: msg('valid.what.snapshot'), entry: String(snapshot.commit), reason: msg('verify.otherTrailer', { commit: point.trailers.snapshot.slice(0, 12) }) });
  }
  if (problems.some((p) => p.what.key === 'valid.what.snapshot' && p.entry === 'commit')) return problems;
  const tree = await snapshotTree(ctx.git, snapshot.commit);
  if (!tree) {
    problems.push({ what: msg('valid.what.snapshot'), entry: snapshot.commit.slice(0, 12), reason: msg('verify.snapshotUnreadable') });
    return problems;
  }
  problems.push(...treeProblems(snapshot, tree));
  if (problems.length === 0) problems.push(...(await symlinkParentProblems(ctx, point, snapshot)));
  return problems;
}

/**
 * A file the point restores must not lie under a symlink — neither one the
 * point's own code or uncommitted work checks out (a colleague could commit
 * `cfg -> ../outside` and snapshot `cfg/x`), nor one in the working tree now.
 * Found here, before any change; the writer refuses them again at write time.
 */
async function symlinkParentProblems(ctx: Context, point: Point, snapshot: SnapshotInfo): Promise<EntryProblem[]> {
  const entries = [...snapshot.config.map((e) => [msg('valid.what.config'), e.path] as const), ...snapshot.paths.map((e) => [msg('valid.what.paths'), e.path] as const)];
  const parents = new Map<string, { what: Msg; path: string }>();
  for (const [what, path] of entries) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (!parents.has(prefix)) parents.set(prefix, { what, path });
    }
  }
  if (parents.size === 0) return [];
  const links = new Set<string>();
  const trees = [point.commit, snapshot.worktree?.commit, snapshot.worktree?.untracked].filter((c): c is string => typeof c === 'string');
  for (const commit of trees) {
    const r = await ctx.git.run(['ls-tree', '-z', '--full-tree', '--end-of-options', commit, '--', ...parents.keys()], { allowFail: true });
    for (const record of r.stdout.split('\0')) {
      const tab = record.indexOf('\t');
      if (tab > 0 && record.startsWith('120000 ')) links.add(record.slice(tab + 1));
    }
  }
  const { lstat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const out: EntryProblem[] = [];
  for (const [prefix, { what, path }] of parents) {
    const local = links.has(prefix) ? msg('verify.inPointCode') : (await lstat(join(ctx.repo.root, prefix)).catch(() => null))?.isSymbolicLink() ? msg('verify.inWorktree') : null;
    if (local) out.push({ what, entry: path, reason: msg('verify.underLink', { prefix: showName(prefix), where: local }) });
  }
  return out;
}

/**
 * Refuses (CorruptSnapshotError, exit 6, naming the entry) a point whose data
 * fails validation. Call before planning: nothing has changed yet.
 */
export async function checkPointData(ctx: Context, point: Point, snapshot: SnapshotInfo | null): Promise<void> {
  if (!snapshot) return;
  refuseProblems(point.tag, await pointDataProblems(ctx, point, snapshot));
}

/** The objects that make up a commit as checked out: the commit, its trees and blobs (not its history). */
export async function treeObjects(git: Git, commit: string): Promise<string[] | null> {
  const tree = await git.revParse(`${commit}^{tree}`);
  if (!tree) return null;
  const r = await git.run(['ls-tree', '-r', '-t', '-z', '--full-tree', '--end-of-options', commit], { allowFail: true });
  if (r.exitCode !== 0) return null;
  const ids = [commit, tree];
  for (const record of r.stdout.split('\0')) {
    if (!record) continue;
    const [, type, id] = record.slice(0, record.indexOf('\t')).split(' ');
    // Submodule entries are commits of another repository: not ours to check.
    if (id && type !== 'commit') ids.push(id);
  }
  return ids;
}

/**
 * The verify phase of a rollback (the runner calls it before any change):
 * the target commit's trees and blobs and the uncommitted-work commits are
 * present and re-hash to their ids; the snapshot commit and every selected
 * file blob and dump chunk are present (their contents are checked against
 * sha256 while they are staged). Throws CorruptSnapshotError naming the
 * first object at fault.
 */
export async function verifyPointObjects(ctx: Context, point: Point, snapshot: SnapshotInfo | null, selection: Selection, options: { needKey?: boolean } = {}): Promise<void> {
  const problems = await objectProblems(ctx, point, snapshot, selection, options.needKey !== false);
  if (problems.length === 0) return;
  const [first] = problems;
  throw new CorruptSnapshotError(
    msg('verify.cannotRestore', { tag: point.tag, problem: first, more: problems.length > 1 ? msg('verify.moreProblems', { n: problems.length - 1 }) : '' }),
    msg('verify.cannotRestoreHint'),
  );
}

async function objectProblems(ctx: Context, point: Point, snapshot: SnapshotInfo | null, selection: Selection, needKey: boolean): Promise<Msg[]> {
  const problems: Msg[] = [];
  // A plan (--dry-run) is shown without the key; only a restore needs it.
  if (snapshot && needKey) await checkKey(ctx, snapshot, selection);
  // Objects HEAD's tree already holds are checked out now and are not rewritten by
  // the checkout: only the others are read and re-hashed (a rollback to a nearby
  // point reads a few objects, not the whole tree; docs/security.md has figures).
  const head = selection.code ? await ctx.git.revParse('HEAD') : null;
  const inUse = head ? new Set(await treeObjects(ctx.git, head)) : new Set<string>();
  const code = await codeObjectProblems(ctx.git, point, snapshot, selection.code, inUse);
  problems.push(...code.problems);
  if (snapshot) {
    const files = [...(selection.config ? snapshot.config : []), ...(selection.paths ? snapshot.paths : [])];
    const dbs = snapshot.databases.filter((d) => selection.databases.has(d.name));
    const ids = [snapshot.commit, ...files.map((f) => f.blob), ...dbs.flatMap((d) => (d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : [])).map((c) => c.blob))];
    const sizes = await ctx.git.objectSizes(ids);
    if (sizes.get(snapshot.commit) === null) problems.push(msg('verify.snapshotMissing', { commit: snapshot.commit.slice(0, 12) }));
    for (const f of files) if (sizes.get(f.blob) === null) problems.push(msg('verify.fileObjectMissing', { path: showName(f.path), blob: f.blob.slice(0, 12) }));
    for (const d of dbs) {
      const chunks = d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : []);
      const bad = chunks.findIndex((c) => sizes.get(c.blob) !== c.size);
      if (bad >= 0) {
        const chunk = { i: bad + 1, n: chunks.length, blob: chunks[bad]?.blob.slice(0, 12) };
        problems.push(msg('error.inDatabase', { name: d.name, text: msg(sizes.get(chunks[bad]?.blob ?? '') === null ? 'verify.chunkMissing' : 'verify.chunkSize', chunk) }));
      }
    }
  }
  return problems;
}

/**
 * An encrypted point can be restored only with an identity that opens it:
 * refused here (exit 4), before any change, when there is none or it does
 * not fit (the smallest sealed object is opened to find out).
 */
async function checkKey(ctx: Context, snapshot: SnapshotInfo, selection: Selection): Promise<void> {
  const sealed: { blob: string; size: number }[] = [];
  for (const f of [...(selection.config ? snapshot.config : []), ...(selection.paths ? snapshot.paths : [])]) if (f.enc) sealed.push({ blob: f.blob, size: f.size });
  for (const d of snapshot.databases) if (selection.databases.has(d.name)) for (const c of d.chunks ?? []) if (c.enc) sealed.push(c);
  if (sealed.length === 0) return;
  const cipher = await ctx.cipher();
  const smallest = sealed.reduce((a, b) => (b.size < a.size ? b : a));
  const data = (await ctx.git.readBlobs([smallest.blob])).get(smallest.blob);
  if (!data) return; // reported as missing by the presence check
  if (!cipher) throw new ConflictError(msg('verify.encrypted', { ref: snapshot.ref }), msg('crypto.noIdentityHint', { env: DEFAULT_IDENTITY_ENV }));
  await cipher.open(data);
}

/** Presence and integrity (re-hash) of the code commit's objects and the uncommitted-work commits. */
async function codeObjectProblems(git: Git, point: Point, snapshot: SnapshotInfo | null, withCode: boolean, skip: ReadonlySet<string> = new Set()): Promise<{ problems: Msg[]; checked: number; bytes: number }> {
  const problems: Msg[] = [];
  if (!withCode) return { problems, checked: 0, bytes: 0 };
  const roots: { label: Msg; commit: string }[] = [{ label: msg('verify.codeCommit', { commit: point.commit.slice(0, 12) }), commit: point.commit }];
  const w = snapshot?.worktree;
  if (w) {
    roots.push({ label: msg('verify.worktree'), commit: w.commit }, { label: msg('verify.worktreeIndex'), commit: w.index });
    if (w.untracked) roots.push({ label: msg('verify.worktreeUntracked'), commit: w.untracked });
  }
  const ids: string[] = [];
  for (const root of roots) {
    const objects = await treeObjects(git, root.commit);
    if (!objects) problems.push(msg('verify.rootMissing', { label: root.label, commit: root.commit.slice(0, 12) }));
    else ids.push(...objects);
  }
  const check = await git.checkObjects(ids.filter((id) => !skip.has(id)));
  for (const id of check.missing) problems.push(msg('verify.codeMissing', { id: id.slice(0, 12) }));
  for (const id of check.forged) problems.push(msg('verify.codeForged', { id: id.slice(0, 12) }));
  return { problems, checked: check.checked, bytes: check.bytes };
}

export interface Verification {
  tag: string;
  ok: boolean;
  checked: number;
  bytes: number;
  /** English (JSON, the point's note). */
  problems: string[];
  /** The same as catalog messages, for the user's language (not in JSON). */
  local: (string | Msg)[];
  ms: number;
}

/**
 * `git rollback verify`: the point's data is valid, its code objects and
 * uncommitted work are present and intact, its snapshot commit exists, and
 * every file, capture and dump reads back matching its sha256.
 */
export async function verifyPoint(ctx: Context, point: Point): Promise<Verification> {
  const started = Date.now();
  const problems: (string | Msg)[] = [];
  const result = (ok: boolean): Verification => ({ tag: point.tag, ok, checked, bytes, problems: problems.map(english), local: problems, ms: Date.now() - started });
  let checked = 0;
  let bytes = 0;
  let snapshot: SnapshotInfo | null = null;
  try {
    snapshot = await loadSnapshot(ctx, point);
  } catch (error) {
    problems.push(errorMsg(error));
  }
  if (snapshot) {
    for (const p of await pointDataProblems(ctx, point, snapshot)) problems.push(problemMsg(p));
  }
  // Invalid data is reported, not read further: its ids may not even be ids.
  if (problems.length > 0) return result(false);
  // A damaged note is not read (the snapshot above came from the tag's manifest): reported, the objects still checked.
  const damaged = noteDamaged(point);
  if (damaged) problems.push(damaged);

  const code = await codeObjectProblems(ctx.git, point, snapshot, true);
  problems.push(...code.problems);
  checked += code.checked;
  bytes += code.bytes;
  if (snapshot) {
    const files = [...snapshot.config, ...snapshot.paths, ...snapshot.captures.map((c) => ({ path: `capture/${c.name}.txt`, blob: c.blob, sha256: c.sha256, size: c.size, mode: '100644', enc: undefined as 'age' | undefined }))];
    const blobs = await ctx.git.readBlobs(files.filter((f) => f.mode !== '120000').map((f) => f.blob));
    const { openerFor } = await import('../adapters/crypto.js');
    const opener = await openerFor(ctx, files);
    for (const f of files) {
      if (f.mode === '120000') continue;
      const data = blobs.get(f.blob);
      checked++;
      if (!data) {
        problems.push(msg('verify.objectMissing', { path: f.path, blob: f.blob.slice(0, 12) }));
        continue;
      }
      bytes += data.length;
      if (f.enc) {
        if (!opener.ok) continue; // counted once below
        const plain = await opener.open(data).catch((e: Error) => e);
        if (plain instanceof Error) problems.push(msg('verify.cannotDecrypt', { path: f.path, error: errorMsg(plain) }));
        else if (createHash('sha256').update(plain).digest('hex') !== f.sha256) problems.push(msg('verify.sha256', { path: f.path }));
      } else if (createHash('sha256').update(data).digest('hex') !== f.sha256) problems.push(msg('verify.sha256', { path: f.path }));
    }
    if (!opener.ok) problems.push(opener.reason);
    if (snapshot.databases.length > 0) {
      const store = await ctx.dumpStore();
      for (const d of snapshot.databases) {
        checked++;
        try {
          for await (const piece of store.read(d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : []), d.sha256)) bytes += (piece as Buffer).length;
        } catch (error) {
          problems.push(msg('error.inDatabase', { name: d.name, text: errorMsg(error) }));
        }
      }
    }
  }
  return result(problems.length === 0);
}

/** A --name must make a valid tag (git check-ref-format) and shadow nothing (HEAD, a branch, latest…). */
export async function checkPointName(ctx: Pick<Context, 'git'>, tag: string, name: string): Promise<void> {
  if (!(await ctx.git.isValidRefName(`refs/tags/${tag}`))) throw new UsageError(msg('verify.badRefName', { name, tag }), msg('verify.badRefNameHint'));
  const problem = pointNameProblem(name, await ctx.git.branches());
  if (problem) throw new UsageError(msg('verify.badName', { name, problem }), msg('verify.badNameHint'));
}
