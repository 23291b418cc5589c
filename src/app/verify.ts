// Verifying points before anything changes: the data read from git is
// validated (paths, modes, links, the tree it claims to come from), and every
// object a restore needs — code and uncommitted work included — is present
// and hashes to its id. `git rollback verify` runs the same checks and also
// reads each file and dump back against its sha256.
import { createHash } from 'node:crypto';
import type { Selection } from '../core/plan.js';
import { snapshotRef } from '../core/points.js';
import { ConflictError, CorruptSnapshotError, UsageError } from '../core/errors.js';
import { DEFAULT_IDENTITY_ENV } from '../adapters/crypto.js';
import { pointNameProblem, refuseProblems, showName, snapshotProblems, treeProblems, type EntryProblem, type TreeEntry } from '../core/validate.js';
import type { Point, SnapshotInfo } from '../core/types.js';
import type { Git } from '../adapters/git.js';
import type { Context } from './context.js';
import { loadSnapshot } from './rollback.js';

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
    problems.push({ what: 'snapshot', entry: String(snapshot.ref), reason: `names a ref other than ${expectedRef}` });
  }
  if (point.trailers.snapshot && point.trailers.snapshot !== snapshot.commit) {
    problems.push({ what: 'snapshot', entry: String(snapshot.commit), reason: `differs from the tag's Rollback-Snapshot (${point.trailers.snapshot.slice(0, 12)})` });
  }
  if (problems.some((p) => p.what === 'snapshot' && p.entry === 'commit')) return problems;
  const tree = await snapshotTree(ctx.git, snapshot.commit);
  if (!tree) {
    problems.push({ what: 'snapshot', entry: snapshot.commit.slice(0, 12), reason: 'the snapshot commit is missing or unreadable' });
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
  const entries = [...snapshot.config.map((e) => ['config file', e.path] as const), ...snapshot.paths.map((e) => ['data path file', e.path] as const)];
  const parents = new Map<string, { what: string; path: string }>();
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
    const local = links.has(prefix) ? 'the point\'s code' : (await lstat(join(ctx.repo.root, prefix)).catch(() => null))?.isSymbolicLink() ? 'the working tree' : null;
    if (local) out.push({ what, entry: path, reason: `lies under ${showName(prefix)}, a symbolic link in ${local}: a restore never writes through one` });
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
    `${point.tag} cannot be restored: ${first}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length === 2 ? '' : 's'})` : ''}`,
    'nothing was changed; fetch the objects again (git rollback fetch), run git fsck, or roll back to another point',
  );
}

async function objectProblems(ctx: Context, point: Point, snapshot: SnapshotInfo | null, selection: Selection, needKey: boolean): Promise<string[]> {
  const problems: string[] = [];
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
    if (sizes.get(snapshot.commit) === null) problems.push(`the snapshot commit ${snapshot.commit.slice(0, 12)} is missing`);
    for (const f of files) if (sizes.get(f.blob) === null) problems.push(`file ${showName(f.path)}: object ${f.blob.slice(0, 12)} is missing`);
    for (const d of dbs) {
      const chunks = d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : []);
      const bad = chunks.findIndex((c) => sizes.get(c.blob) !== c.size);
      if (bad >= 0) problems.push(`database ${d.name}: chunk ${bad + 1} of ${chunks.length} (${chunks[bad]?.blob.slice(0, 12)}) is ${sizes.get(chunks[bad]?.blob ?? '') === null ? 'missing' : 'not the size recorded'}`);
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
  if (!cipher) throw new ConflictError(`${snapshot.ref}: the snapshot is encrypted and no age identity is available`, `export ${DEFAULT_IDENTITY_ENV}="AGE-SECRET-KEY-1…" or set encryption.identity; nothing was changed`);
  await cipher.open(data);
}

/** Presence and integrity (re-hash) of the code commit's objects and the uncommitted-work commits. */
async function codeObjectProblems(git: Git, point: Point, snapshot: SnapshotInfo | null, withCode: boolean, skip: ReadonlySet<string> = new Set()): Promise<{ problems: string[]; checked: number; bytes: number }> {
  const problems: string[] = [];
  if (!withCode) return { problems, checked: 0, bytes: 0 };
  const roots: { label: string; commit: string }[] = [{ label: `code commit ${point.commit.slice(0, 12)}`, commit: point.commit }];
  const w = snapshot?.worktree;
  if (w) {
    roots.push({ label: 'uncommitted work', commit: w.commit }, { label: 'uncommitted work (index)', commit: w.index });
    if (w.untracked) roots.push({ label: 'uncommitted work (untracked files)', commit: w.untracked });
  }
  const ids: string[] = [];
  for (const root of roots) {
    const objects = await treeObjects(git, root.commit);
    if (!objects) problems.push(`${root.label}: ${root.commit.slice(0, 12)} or its tree is missing`);
    else ids.push(...objects);
  }
  const check = await git.checkObjects(ids.filter((id) => !skip.has(id)));
  for (const id of check.missing) problems.push(`code object ${id.slice(0, 12)} is missing`);
  for (const id of check.forged) problems.push(`code object ${id.slice(0, 12)} does not match its id (damaged or forged)`);
  return { problems, checked: check.checked, bytes: check.bytes };
}

export interface Verification {
  tag: string;
  ok: boolean;
  checked: number;
  bytes: number;
  problems: string[];
  ms: number;
}

/**
 * `git rollback verify`: the point's data is valid, its code objects and
 * uncommitted work are present and intact, its snapshot commit exists, and
 * every file, capture and dump reads back matching its sha256.
 */
export async function verifyPoint(ctx: Context, point: Point): Promise<Verification> {
  const started = Date.now();
  const problems: string[] = [];
  let checked = 0;
  let bytes = 0;
  let snapshot: SnapshotInfo | null = null;
  try {
    snapshot = await loadSnapshot(ctx, point);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (snapshot) {
    for (const p of await pointDataProblems(ctx, point, snapshot)) problems.push(`${p.what} ${showName(p.entry)}: ${p.reason}`);
  }
  // Invalid data is reported, not read further: its ids may not even be ids.
  if (problems.length > 0) return { tag: point.tag, ok: false, checked, bytes, problems, ms: Date.now() - started };

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
        problems.push(`${f.path}: object ${f.blob.slice(0, 12)} is missing`);
        continue;
      }
      bytes += data.length;
      if (f.enc) {
        if (!opener.ok) continue; // counted once below
        const plain = await opener.open(data).catch((e: Error) => e);
        if (plain instanceof Error) problems.push(`${f.path}: cannot be decrypted (${plain.message})`);
        else if (createHash('sha256').update(plain).digest('hex') !== f.sha256) problems.push(`${f.path}: content does not match its sha256`);
      } else if (createHash('sha256').update(data).digest('hex') !== f.sha256) problems.push(`${f.path}: content does not match its sha256`);
    }
    if (!opener.ok) problems.push(opener.reason);
    if (snapshot.databases.length > 0) {
      const store = await ctx.dumpStore();
      for (const d of snapshot.databases) {
        checked++;
        try {
          for await (const piece of store.read(d.chunks ?? (d.blob ? [{ blob: d.blob, size: d.size }] : []), d.sha256)) bytes += (piece as Buffer).length;
        } catch (error) {
          problems.push(`database ${d.name}: ${(error as Error).message}`);
        }
      }
    }
  }
  return { tag: point.tag, ok: problems.length === 0, checked, bytes, problems, ms: Date.now() - started };
}

/** A --name must make a valid tag (git check-ref-format) and shadow nothing (HEAD, a branch, latest…). */
export async function checkPointName(ctx: Pick<Context, 'git'>, tag: string, name: string): Promise<void> {
  if (!(await ctx.git.isValidRefName(`refs/tags/${tag}`))) throw new UsageError(`invalid point name "${name}": refs/tags/${tag} is not a valid git ref name`, 'see git help check-ref-format');
  const problem = pointNameProblem(name, await ctx.git.branches());
  if (problem) throw new UsageError(`invalid point name "${name}": ${problem}`, 'choose another --name');
}
