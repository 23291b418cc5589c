// Snapshots: config files, data paths, database dumps and captured command
// output written as one commit (tree config/ paths/ db/ capture/ manifest.json)
// whose first parent is the code commit and second the uncommitted work.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { aboutDatabase, ConflictError, CorruptSnapshotError, RollbackError } from '../core/errors.js';
import { snapshotSize } from '../core/points.js';
import { msg, type Msg } from '../core/i18n.js';
import { DEFAULT_IDENTITY_ENV } from './crypto.js';
import type { Config } from '../core/config.js';
import type { DumpStore, Engine } from '../core/engine.js';
import type { CaptureEntry, DatabaseEntry, FileEntry, Manifest, PointKind, SnapshotInfo, WorktreeState } from '../core/types.js';
import { expandPatterns, fileFacts, finishFile, placeFile, placeSymlink, sha256File, treeMode } from './files.js';
import { linkProblem, pathProblem, showName } from '../core/validate.js';
import type { Git, RepoInfo } from './git.js';
import { captureWorktree } from './worktree.js';
import type { ChunkCipher } from './crypto.js';

export interface CaptureRequest {
  kind: PointKind;
  id: string;
  date: Date;
  head: string;
  branch: string | null;
  config: Config;
  includeUntracked: boolean;
  /** Which parts to take; code (uncommitted work) is always considered. */
  parts: { config: boolean; paths: boolean; databases: readonly Engine[]; captures: boolean; worktree: boolean };
  dumpStore?: DumpStore;
  /** security: when set, config files are sealed with age before they enter the object store. */
  cipher?: ChunkCipher | null;
  /** The newest dump of each database made in this clone: reused when its engine shows the database unchanged since. */
  previous?: ReadonlyMap<string, DatabaseEntry>;
  /** What is being snapshotted now, for progress lines in the user's language. */
  onProgress?: (text: Msg) => void;
  /** `git status`, asked by the caller ahead (only when nothing can change the work tree in between: no beforePoint hook). */
  status?: ReturnType<Git['status']>;
}

export interface CaptureResult {
  snapshot: SnapshotInfo;
  manifest: Manifest;
  warnings: (string | Msg)[];
}

export function stateDir(repo: RepoInfo): string {
  return join(repo.commonDir, 'rollback');
}

export async function captureSnapshot(git: Git, repo: RepoInfo, req: CaptureRequest): Promise<CaptureResult> {
  const warnings: (string | Msg)[] = [];
  const tmp = join(stateDir(repo), 'tmp');
  await mkdir(tmp, { recursive: true });

  // Unmerged paths fail the point before any database is dumped.
  const status = req.parts.worktree ? await (req.status ?? git.status()) : null;
  if (status && status.conflicted.length > 0) await captureWorktree(git, repo, req.head, req.branch, req.includeUntracked, req.date, tmp, status);

  // The dumps start first and run while the uncommitted work and the files
  // are captured (git processes and file reads: independent of the dumps).
  let dumpMessage: Msg | null = null;
  const dumping = (async () => {
    const databases: DatabaseEntry[] = [];
    for (const engine of req.parts.databases) {
      if (!req.dumpStore) throw new RollbackError(msg('snap.noDumpStore'));
      dumpMessage = msg('snap.database', { name: engine.name, engine: engine.engine });
      req.onProgress?.(dumpMessage);
      databases.push((await reusedDump(git, engine, req.previous?.get(engine.name))) ?? (await dumpDatabase(engine, req.dumpStore)));
    }
    dumpMessage = null;
    return databases;
  })();
  dumping.catch(() => undefined); // awaited below, also when the rest fails
  let worktree: WorktreeState | null;
  let config: FileEntry[];
  let paths: FileEntry[];
  try {
    worktree = status ? await captureWorktree(git, repo, req.head, req.branch, req.includeUntracked, req.date, tmp, status) : null;

  const collect = async (patterns: string[], label: 'config' | 'paths'): Promise<FileEntry[]> => {
    if (patterns.length === 0) return [];
    const expanded = await expandPatterns(repo.root, patterns);
    const unmatched = expanded.unmatched;
    let files = expanded.files;
    for (const u of unmatched) warnings.push(msg('snap.unmatched', { label: msg(`snap.label.${label}`), pattern: u }));
    const all = await Promise.all(files.map((f) => fileFacts(join(repo.root, f))));
    // A symlink is kept as a link only when it points inside the repository (a
    // restore refuses any other: docs/security.md); its target is never read.
    const keep = files.map((f, i) => {
      const link = all[i]?.link;
      if (link === undefined) return true;
      const problem = linkProblem(f, link);
      if (problem) warnings.push(msg('snap.linkOutside', { label: msg(`snap.label.${label}`), path: f, link }));
      else warnings.push(msg('snap.linkKept', { label: msg(`snap.label.${label}`), path: f, link }));
      return !problem;
    });
    files = files.filter((_, i) => keep[i]);
    const facts = all.filter((_, i) => keep[i]);
    const regular = files.filter((_, i) => facts[i]?.mode !== '120000');
    const seal = label === 'config' && req.cipher ? req.cipher : null;
    const blobs = seal ? [] : await git.hashFiles(regular.map((f) => join(repo.root, f)));
    const byPath = new Map(regular.map((f, i) => [f, blobs[i] as string]));
    const sealedKeys = new Map<string, string>();
    if (seal) {
      // Sealed files: an unchanged one (same keyed hash) reuses the blob an earlier point stored.
      for (const f of regular) {
        const plain = await readFile(join(repo.root, f));
        const key = seal.dedupKey(plain);
        const known = key ? seal.lookup(key) : undefined;
        if (known && key && (await git.objectSizes([known.blob])).get(known.blob) != null) byPath.set(f, known.blob);
        else {
          const blob = await git.hashBuffer(await seal.seal(plain));
          byPath.set(f, blob);
          if (key) seal.remember(key, { blob });
        }
        if (key) sealedKeys.set(f, key);
      }
    }
    const entries: FileEntry[] = [];
    for (let i = 0; i < files.length; i++) {
      const path = files[i] as string;
      const f = facts[i] as Awaited<ReturnType<typeof fileFacts>>;
      const blob = f.link !== undefined ? await git.hashBuffer(f.link) : (byPath.get(path) as string);
      const sealed = seal && f.link === undefined ? { enc: 'age' as const, ...(sealedKeys.has(path) ? { key: sealedKeys.get(path) as string } : {}) } : {};
      entries.push({ path, mode: f.mode, size: f.size, sha256: f.sha256, blob, ...(f.link !== undefined ? { link: f.link } : {}), uid: f.uid, gid: f.gid, ...sealed });
    }
    return entries;
  };

    req.onProgress?.(msg('snap.config'));
    config = req.parts.config ? await collect(req.config.config, 'config') : [];
    req.onProgress?.(msg('snap.paths'));
    paths = req.parts.paths ? await collect(req.config.paths, 'paths') : [];
  } catch (error) {
    // A dump never runs on unattended: it finishes (or fails) before the point fails.
    await dumping.catch(() => undefined);
    throw error;
  }
  // Still dumping: say so again (the file steps' lines came after the dump's).
  if (dumpMessage) req.onProgress?.(dumpMessage);
  const databases = await dumping;

  const captures: CaptureEntry[] = [];
  if (req.parts.captures) {
    for (const [name, command] of Object.entries(req.config.capture)) {
      req.onProgress?.(msg('snap.capture', { name }));
      const { execa } = await import('execa');
      const r = await execa('sh', ['-c', command], { cwd: repo.root, reject: false, encoding: 'buffer', all: true, timeout: 60_000 });
      const out = Buffer.from((r.all as unknown as Uint8Array) ?? new Uint8Array());
      if (r.exitCode !== 0) warnings.push(r.exitCode === undefined ? msg('snap.captureSignal', { name }) : msg('snap.captureExit', { name, code: r.exitCode }));
      const blob = await git.hashBuffer(out);
      captures.push({ name, command, exitCode: r.exitCode ?? -1, size: out.length, blob, sha256: createHash('sha256').update(out).digest('hex') });
    }
  }

  const manifest: Manifest = {
    schema: 1,
    id: req.id,
    kind: req.kind,
    createdAt: req.date.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    commit: req.head,
    branch: req.branch,
    config,
    paths,
    databases,
    captures,
    worktree,
    patterns: { config: req.config.config, paths: req.config.paths },
  };
  const manifestBlob = await git.hashBuffer(JSON.stringify(manifest, null, 2) + '\n');

  const entries: { mode: string; blob: string; path: string }[] = [{ mode: '100644', blob: manifestBlob, path: 'manifest.json' }];
  for (const f of config) entries.push({ mode: treeMode(f.mode), blob: f.blob, path: `config/${f.path}` });
  for (const f of paths) entries.push({ mode: treeMode(f.mode), blob: f.blob, path: `paths/${f.path}` });
  for (const d of databases) {
    if (d.blob) entries.push({ mode: '100644', blob: d.blob, path: d.path });
    d.chunks?.forEach((c, i) => entries.push({ mode: '100644', blob: c.blob, path: `${d.path}/${String(i + 1).padStart(6, '0')}` }));
  }
  for (const c of captures) entries.push({ mode: '100644', blob: c.blob, path: `capture/${c.name}.txt` });
  const tree = await git.makeTree(entries, join(tmp, `index-snapshot-${process.pid}`));
  const parents = [req.head, ...(worktree ? [worktree.commit] : [])];
  const commit = await git.commitTree(tree, parents, `git-rollback snapshot ${req.kind}/${req.id}\n`, req.date);

  const size = snapshotSize({ config, paths, databases, captures });
  const snapshot: SnapshotInfo = {
    commit,
    ref: `refs/rollback/snapshots/${req.kind}/${req.id}`,
    config,
    paths,
    databases,
    captures,
    worktree,
    size,
  };
  return { snapshot, manifest, warnings };
}

/**
 * The previous dump of the database, when its engine shows the database has
 * not changed since and every chunk is still in the repository: nothing is
 * read or stored again.
 */
async function reusedDump(git: Git, engine: Engine, previous: DatabaseEntry | undefined): Promise<DatabaseEntry | null> {
  if (!previous || !engine.unchangedSince) return null;
  const started = Date.now();
  if (!(await engine.unchangedSince(previous).catch(() => false))) return null;
  const chunks = previous.chunks ?? (previous.blob ? [{ blob: previous.blob, size: previous.size }] : []);
  const sizes = await git.objectSizes(chunks.map((c) => c.blob));
  if (chunks.some((c) => sizes.get(c.blob) !== c.size)) return null;
  return { ...previous, ms: Date.now() - started, details: { ...previous.details, reusedUnchanged: true } };
}

async function dumpDatabase(engine: Engine, store: DumpStore): Promise<DatabaseEntry> {
  return storeDump(engine, store, (out) => engine.dump(out));
}

/**
 * Streams a dump into the store and describes it as a snapshot entry.
 * `produce` is engine.dump, or engine.dumpParked for a rollback's backup; a
 * producer that finds no database (`absent`) gives an entry that says so.
 */
export async function storeDump(
  engine: Engine,
  store: DumpStore,
  produce: (out: PassThrough) => Promise<Awaited<ReturnType<Engine['dump']>>>,
  warn?: (text: string | Msg) => void,
): Promise<DatabaseEntry> {
  try {
    return await storeDumpUnlabelled(engine, store, produce, warn);
  } catch (error) {
    throw aboutDatabase(error, engine.name);
  }
}

async function storeDumpUnlabelled(
  engine: Engine,
  store: DumpStore,
  produce: (out: PassThrough) => Promise<Awaited<ReturnType<Engine['dump']>>>,
  warn?: (text: string | Msg) => void,
): Promise<DatabaseEntry> {
  const started = Date.now();
  const pipe = new PassThrough({ highWaterMark: 1024 * 1024 });
  const stored = store.write(pipe, engine.chunking ? { chunking: engine.chunking } : {});
  let outcome;
  try {
    outcome = await produce(pipe);
  } catch (error) {
    pipe.destroy();
    await stored.catch(() => undefined);
    throw error;
  }
  if (!pipe.writableEnded) pipe.end();
  const written = await stored;
  for (const w of outcome.warnings ?? []) warn?.(msg('error.inDatabase', { name: engine.name, text: w }));
  if (outcome.absent) {
    return { name: engine.name, engine: engine.engine, format: outcome.format, path: `db/${engine.name}.${outcome.ext}`, size: 0, sha256: written.sha256, chunks: [], tool: outcome.tool, ms: Date.now() - started, absent: true };
  }
  if (written.size === 0) {
    throw new RollbackError(msg('error.inDatabase', { name: engine.name, text: msg('snap.emptyDump') }), msg('snap.emptyDumpHint'));
  }
  return {
    name: engine.name,
    engine: engine.engine,
    format: outcome.format,
    path: `db/${engine.name}.${outcome.ext}`,
    size: written.size,
    sha256: written.sha256,
    chunks: written.chunks,
    tool: outcome.tool,
    ...(outcome.serverVersion ? { serverVersion: outcome.serverVersion } : {}),
    ms: Date.now() - started,
    ...(outcome.details ? { details: outcome.details } : {}),
  };
}

/** A file written beside its target, checked and ready to be renamed into place. */
export interface StagedFile {
  entry: FileEntry;
  /** Repository root and the path under it (validated: relative, no "..", not in .git). */
  root: string;
  rel: string;
  target: string;
  temp: string | null;
}

/**
 * Writes every file of `entries` to a temp file beside its target and checks
 * its sha256. Nothing live changes; on any mismatch every temp file is removed.
 */
export async function stageFiles(git: Git, repo: RepoInfo, entries: readonly { entry: FileEntry; rel: string }[], job: string, cipher?: ChunkCipher | null): Promise<StagedFile[]> {
  const staged: StagedFile[] = [];
  const root = repo.root;
  // Staged files live in the git dir, not the working tree, so that a backup
  // taken meanwhile does not see them as untracked files.
  const stageDir = join(stateDir(repo), 'tmp', `stage-${job}`);
  await mkdir(stageDir, { recursive: true });
  let n = 0;
  try {
    // Sealed files are read whole to be opened (security: src/adapters/crypto.ts).
    const small = entries.filter((e) => (e.entry.size <= 8 * 1024 * 1024 || e.entry.enc) && e.entry.mode !== '120000');
    const contents = await git.readBlobs(small.map((e) => e.entry.blob));
    for (const { entry, rel } of entries) {
      const problem = pathProblem(rel);
      if (problem) throw new CorruptSnapshotError(msg('snap.refuseRestore', { path: showName(rel), problem }), msg('snap.hostileHint'));
      const target = join(root, rel);
      if (entry.mode === '120000') {
        staged.push({ entry, root, rel, target, temp: null });
        continue;
      }
      const temp = join(stageDir, String(++n));
      staged.push({ entry, root, rel, target, temp });
      const data = contents.get(entry.blob);
      if (data === null) throw new CorruptSnapshotError(msg('snap.objectMissing', { path: rel, blob: entry.blob.slice(0, 12) }), msg('snap.damagedHint'));
      if (data !== undefined && entry.enc) {
        if (!cipher) throw new ConflictError(msg('crypto.noIdentityFor', { what: rel }), msg('crypto.noIdentityHint', { env: DEFAULT_IDENTITY_ENV }));
        await writeFile(temp, await cipher.open(data), { mode: 0o600, flag: 'w' });
      } else if (data !== undefined) {
        await writeFile(temp, data, { mode: 0o600, flag: 'w' });
      } else {
        await rm(temp, { force: true });
        await git.blobToFile(entry.blob, temp);
      }
      const sum = await sha256File(temp);
      if (sum !== entry.sha256) {
        throw new CorruptSnapshotError(msg('snap.checksum', { path: rel }), msg('snap.damagedHint'));
      }
      await finishFile(temp, entry.mode);
    }
    return staged;
  } catch (error) {
    await discardStaged(staged);
    throw error;
  }
}

/**
 * Renames every staged file into place (src/adapters/files.ts: no symlinked
 * parent is followed, nothing in .git is written, owner and group kept where
 * permitted). Returns the paths whose owner could not be kept.
 */
export async function applyStaged(staged: readonly StagedFile[], job: string): Promise<string[]> {
  const ownerLost: string[] = [];
  for (const s of staged) {
    if (s.temp === null) await placeSymlink(s.root, s.rel, s.entry.link ?? '', job);
    else {
      const placed = await placeFile(s.root, s.rel, s.temp, { job, mode: s.entry.mode, owner: { ...(s.entry.uid !== undefined ? { uid: s.entry.uid } : {}), ...(s.entry.gid !== undefined ? { gid: s.entry.gid } : {}) } });
      if (!placed.ownerKept) ownerLost.push(s.rel);
    }
  }
  return ownerLost;
}

/** Removes staged files that were not applied, and their staging folder. */
export async function discardStaged(staged: readonly StagedFile[]): Promise<void> {
  const dirs = new Set(staged.filter((s) => s.temp).map((s) => dirname(s.temp as string)));
  await Promise.all([...dirs].map((d) => rm(d, { recursive: true, force: true })));
}

/**
 * Files that match `patterns` now but were not in the snapshot. The patterns
 * must be the local config's, never ones read from a point: this list is
 * what --remove-extra deletes.
 */
export async function extraFiles(root: string, patterns: readonly string[], kept: readonly FileEntry[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const now = await expandPatterns(root, patterns);
  const had = new Set(kept.map((f) => f.path));
  const extra: string[] = [];
  for (const f of now.files) {
    if (had.has(f)) continue;
    // A symlink to outside the repository is never snapshotted (see collect), so it is not "extra" either.
    const st = await lstat(join(root, f)).catch(() => null);
    if (st?.isSymbolicLink() && linkProblem(f, await readlink(join(root, f)).catch(() => '')) !== null) continue;
    extra.push(f);
  }
  return extra;
}

/**
 * A snapshot commit like `base` (made by captureSnapshot without databases),
 * with database dumps added: same files, parents and date, a manifest that
 * lists the databases too. The automatic backup of a rollback is made this
 * way, because its database dumps are taken after the swap, from the parked
 * previous copies, while its files had to be captured before anything moved.
 */
export async function addDatabases(git: Git, repo: RepoInfo, base: string, databases: readonly DatabaseEntry[]): Promise<{ snapshot: SnapshotInfo; manifest: Manifest }> {
  const manifest = JSON.parse(await git.text(['cat-file', 'blob', `${base}:manifest.json`])) as Manifest;
  manifest.databases = [...databases];
  const listing = await git.run(['ls-tree', '-r', '-z', '--full-tree', base]);
  const entries: { mode: string; blob: string; path: string }[] = [];
  for (const line of listing.stdout.split('\0')) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    const [mode = '', , blob = ''] = line.slice(0, tab).split(' ');
    const path = line.slice(tab + 1);
    if (path === 'manifest.json' || path.startsWith('db/')) continue;
    entries.push({ mode, blob, path });
  }
  entries.push({ mode: '100644', blob: await git.hashBuffer(JSON.stringify(manifest, null, 2) + '\n'), path: 'manifest.json' });
  for (const d of databases) {
    if (d.blob) entries.push({ mode: '100644', blob: d.blob, path: d.path });
    d.chunks?.forEach((c, i) => entries.push({ mode: '100644', blob: c.blob, path: `${d.path}/${String(i + 1).padStart(6, '0')}` }));
  }
  const tmp = join(stateDir(repo), 'tmp');
  await mkdir(tmp, { recursive: true });
  const tree = await git.makeTree(entries, join(tmp, `index-backup-${process.pid}`));
  const parents = (await git.text(['rev-list', '--parents', '-n1', base])).split(' ').slice(1);
  const commit = await git.commitTree(tree, parents, `git-rollback snapshot ${manifest.kind}/${manifest.id}\n`, new Date(manifest.createdAt));
  const size = snapshotSize({ ...manifest, databases });
  return {
    manifest,
    snapshot: {
      commit,
      ref: `refs/rollback/snapshots/${manifest.kind}/${manifest.id}`,
      config: manifest.config,
      paths: manifest.paths,
      databases: [...databases],
      captures: manifest.captures,
      worktree: manifest.worktree,
      size,
    },
  };
}
