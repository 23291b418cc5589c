// The history views' facts: where HEAD is among points and releases, what
// drifted since the state was last set, and the differences between two
// points (or a point and the working tree). Reads only; never changes anything.
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { recordedFacts, sinceCopy, SQLITE_FORMAT } from '../adapters/engines/sqlite-facts.js';
import { expandPatterns, fileFacts } from '../adapters/files.js';
import { JournalFile, processGone, type Journal } from '../adapters/journal.js';
import type { LockInfo } from '../adapters/lock.js';
import type { DatabaseConfig } from '../core/engine.js';
import { english, msg, type Msg } from '../core/i18n.js';
import {
  diffCaptureEntries,
  diffDatabases,
  diffFiles,
  diffKeys,
  diffTables,
  looksLikeEnvFile,
  parseDescribe,
  parseEnv,
  type CaptureChange,
  type DatabaseChange,
  type FileDiff,
  type FileSide,
} from '../core/diff.js';
import { releasesByVersion, releaseVersion, resolvePoint, sortNewestFirst } from '../core/points.js';
import type { DatabaseEntry, FileEntry, Point, SnapshotInfo } from '../core/types.js';
import { safePattern } from '../core/validate.js';
import type { Context } from './context.js';
import { describeState, lastAction, loadSnapshot } from './state.js';

/** Files under data paths larger than this are compared by size only, unless --deep. */
export const HASH_LIMIT = 16 * 1024 * 1024;
/** SQLite dumps up to this size are opened to list tables and row counts in `diff`. */
export const TABLES_LIMIT = 64 * 1024 * 1024;

export interface CurrentFiles {
  files: FileSide[];
  /** Files compared by size only (large, and --deep not given). */
  unhashed: number;
}

/** Facts of the files matching `patterns` now. sha256 is "" for files not hashed. */
export async function currentFiles(root: string, patterns: readonly string[], known: readonly FileEntry[], deep: boolean): Promise<CurrentFiles> {
  if (patterns.length === 0) return { files: [], unhashed: 0 };
  const { files } = await expandPatterns(root, patterns);
  const before = new Map(known.map((f) => [f.path, f]));
  let unhashed = 0;
  const out = await Promise.all(
    files.map(async (path): Promise<FileSide> => {
      const st = await lstat(join(root, path));
      const old = before.get(path);
      // Big data files are compared by size unless --deep: the same size counts as unchanged.
      if (!deep && !st.isSymbolicLink() && st.size > HASH_LIMIT) {
        const sameSize = !!old && old.size === st.size;
        if (sameSize) unhashed++;
        return { path, mode: `100${(st.mode & 0o7777).toString(8).padStart(3, '0')}`, size: st.size, sha256: sameSize ? old.sha256 : '' };
      }
      const f = await fileFacts(join(root, path));
      return { path, mode: f.mode, size: f.size, sha256: f.sha256 };
    }),
  );
  return { files: out, unhashed };
}

function patternsOf(ctx: Context, s: SnapshotInfo): { config: string[]; paths: string[] } {
  const stored = (s as SnapshotInfo & { patterns?: { config: string[]; paths: string[] } }).patterns;
  // security: patterns read from a point are only read with, and only when they stay inside the repository.
  const safe = (list: unknown): string[] | null => (Array.isArray(list) && list.every((p) => typeof p === 'string' && safePattern(p)) ? (list as string[]) : null);
  return { config: safe(stored?.config) ?? ctx.config.config, paths: safe(stored?.paths) ?? ctx.config.paths };
}

// ---------------------------------------------------------------- status

export interface Position {
  tag: string;
  ahead: number;
}

export interface DatabaseDrift {
  name: string;
  engine: string;
  state: 'same' | 'changed' | 'unknown' | 'missing' | 'new';
  /** English, for JSON. */
  detail: string;
  /** The same as a catalog message (left out of JSON: statusToJSON). */
  local: Msg;
}

function drift(name: string, engine: string, state: DatabaseDrift['state'], local: Msg): DatabaseDrift {
  return { name, engine, state, detail: english(local), local };
}

export interface Status {
  head: { commit: string; branch: string | null; uncommitted: number };
  /** Nearest point (any kind but backup) and nearest release in HEAD's history. */
  nearestPoint: Position | null;
  nearestRelease: Position | null;
  latestRelease: { tag: string; version: string; inHead: boolean } | null;
  /** What the drift is measured against: the latest point, or the target of a later rollback/undo. */
  baseline: { tag: string; since: string; why: 'point' | 'rollback' | 'undo' } | null;
  drift: {
    config: FileDiff;
    paths: FileDiff;
    unhashed: number;
    databases: DatabaseDrift[];
  } | null;
  inProgress: InProgress | null;
  lock: LockInfo | null;
  /** What `git rollback undo` would do (the same function undo uses). */
  undo:
    | { kind: 'rollback'; backup: string; exists: boolean; type: string; target: string | null; time: string }
    | { kind: 'delete'; points: string[]; type: string; time: string }
    | null;
}

/** A rollback job found in the journal. */
export interface InProgress {
  action: string;
  target: string;
  startedAt: string;
  pid: number;
  host: string;
  /** Its process is still running it; otherwise it was interrupted. */
  running: boolean;
  direction: Journal['direction'];
  error: string | null;
  steps: Array<{ id: string; title: string; state: string }>;
  /** Per resource: at the target, as before, part-way (English, for JSON). */
  where: string[];
  /** What the CLI shows in the user's language (left out of JSON: statusToJSON). */
  local: { where: Msg[]; error: Msg | null };
  /** Temporary objects the journal recorded and that are not removed yet. */
  leftovers: string[];
}

/** The status as JSON: language-neutral, without the catalog messages the CLI shows. */
export function statusToJSON(s: Status): unknown {
  const { local: _, ...inProgress } = s.inProgress ?? { local: null };
  return {
    ...s,
    drift: s.drift && { ...s.drift, databases: s.drift.databases.map(({ local: _l, ...d }) => d) },
    inProgress: s.inProgress ? inProgress : null,
  };
}

async function inProgress(ctx: Context): Promise<InProgress | null> {
  const j = await new JournalFile(ctx.stateDir).read();
  if (!j) return null;
  const gone = processGone(j.pid, j.host);
  return {
    action: j.request.action,
    target: j.request.target,
    startedAt: j.startedAt,
    pid: j.pid,
    host: j.host,
    running: gone === false,
    direction: j.direction,
    error: j.error ?? null,
    steps: j.steps.map((s) => ({ id: s.id, title: s.title, state: s.state })),
    where: describeState(j).map(english),
    local: { where: describeState(j), error: j.errorLocal ?? null },
    leftovers: j.temps.filter((t) => !t.removed).map((t) => `${t.kind} ${t.name}${t.database ? ` (database ${t.database})` : ''}`),
  };
}

export async function collectStatus(ctx: Context, options: { deep: boolean }): Promise<Status> {
  const head = await ctx.git.head();
  const status = await ctx.git.status();
  const points = sortNewestFirst(await ctx.store.list());
  const t = ctx.config.tags;
  const describe = async (prefixes: string[]): Promise<Position | null> => {
    const args = ['describe', '--tags', '--long', '--abbrev=12'];
    for (const p of prefixes) args.push('--match', `${p}*`);
    const r = await ctx.git.run([...args, 'HEAD'], { allowFail: true });
    return r.exitCode === 0 ? parseDescribe(r.stdout) : null;
  };
  const nearestPoint = await describe([t.point, t.release, t.deploy]);
  const nearestRelease = await describe([t.release]);
  const latest = releasesByVersion(points)[0];
  let latestRelease: Status['latestRelease'] = null;
  if (latest) {
    const r = await ctx.git.run(['merge-base', '--is-ancestor', latest.commit, 'HEAD'], { allowFail: true });
    latestRelease = { tag: latest.tag, version: releaseVersion(latest) as string, inHead: r.exitCode === 0 };
  }

  const last = await lastAction(ctx);
  let baseline: Status['baseline'] = null;
  let basePoint: Point | undefined;
  // A code-only point (release --at) has nothing to compare with: the newest point with a snapshot is the baseline.
  const newest = points.find((p) => p.kind !== 'backup' && (p.note?.snapshot || p.trailers.snapshot)) ?? points.find((p) => p.kind !== 'backup');
  if (newest) {
    basePoint = newest;
    baseline = { tag: newest.tag, since: newest.createdAt.toISOString(), why: 'point' };
  }
  if (last?.kind === 'rollback') {
    const events = await ctx.log.read(200);
    const restore = events.find((e) => (e.event.type === 'rollback' || e.event.type === 'undo') && e.event.outcome === 'ok');
    const target = restore ? points.find((p) => p.tag === restore.event.target) : undefined;
    if (restore && target && (!newest || new Date(restore.event.time) > newest.createdAt)) {
      basePoint = target;
      baseline = { tag: target.tag, since: restore.event.time, why: restore.event.type as 'rollback' | 'undo' };
    }
  }

  let drift: Status['drift'] = null;
  const snapshot = basePoint ? await loadSnapshot(ctx, basePoint) : null;
  if (snapshot && baseline) {
    const patterns = patternsOf(ctx, snapshot);
    const config = await currentFiles(ctx.repo.root, patterns.config, snapshot.config, true);
    const paths = await currentFiles(ctx.repo.root, patterns.paths, snapshot.paths, options.deep);
    drift = {
      config: diffFiles(snapshot.config, config.files),
      paths: diffFiles(snapshot.paths, paths.files),
      unhashed: paths.unhashed,
      databases: await databaseDrift(ctx, snapshot.databases, new Date(baseline.since), baseline.why, options.deep),
    };
  }

  const undo: Status['undo'] = !last
    ? null
    : last.kind === 'rollback'
      ? { kind: 'rollback', backup: last.backup, exists: points.some((p) => p.tag === last.backup), type: last.event.type, target: last.event.target, time: last.event.time }
      : { kind: 'delete', points: last.removed.map((r) => r.tag), type: last.event.type, time: last.event.time };
  return {
    head: { commit: head.commit as string, branch: head.branch, uncommitted: status.tracked.length + status.untracked.length },
    nearestPoint,
    nearestRelease,
    latestRelease,
    baseline,
    drift,
    inProgress: await inProgress(ctx),
    lock: await ctx.lock.read(),
    undo,
  };
}

/**
 * Whether each database changed since `since`, as cheaply as the engine
 * allows: SQLite by the file's (and its -wal's) mtime and size; other engines
 * are only compared with --deep, by taking a fresh dump and comparing its
 * sha256 and size with the stored one.
 */
async function databaseDrift(ctx: Context, stored: readonly DatabaseEntry[], since: Date, why: NonNullable<Status['baseline']>['why'], deep: boolean): Promise<DatabaseDrift[]> {
  const out: DatabaseDrift[] = [];
  const configured = ctx.config.databases;
  for (const d of configured) {
    const entry = stored.find((e) => e.name === d.name);
    if (!entry) {
      out.push(drift(d.name, d.engine, 'new', msg('drift.new')));
      continue;
    }
    if (deep) {
      out.push(await deepDrift(ctx, d, entry));
      continue;
    }
    if (d.engine === 'sqlite' && typeof d.path === 'string') {
      out.push(await sqliteDrift(ctx, d, entry, since, why));
      continue;
    }
    out.push(drift(d.name, d.engine, 'unknown', msg('drift.notChecked')));
  }
  for (const e of stored) {
    if (!configured.some((d) => d.name === e.name)) out.push(drift(e.name, e.engine, 'missing', msg('drift.notConfigured')));
  }
  return out;
}

/**
 * SQLite without reading the data: a point records the file's identity
 * (inode, size, nanosecond mtimes of the file and its -wal) as it copied it,
 * which proves "not written since" when it still matches and was settled
 * before the copy. Without that record (a baseline set by a rollback, a point
 * of 0.1, a file written while it was copied) only a write after the
 * baseline's time proves anything: the rest is "cannot tell", never "same".
 */
async function sqliteDrift(ctx: Context, d: DatabaseConfig, entry: DatabaseEntry, since: Date, why: NonNullable<Status['baseline']>['why']): Promise<DatabaseDrift> {
  const path = isAbsolute(d.path as string) ? (d.path as string) : resolve(ctx.repo.root, d.path as string);
  const st = await lstat(path).catch(() => null);
  if (!st) return drift(d.name, d.engine, 'missing', msg('drift.noFile', { path: d.path as string }));
  const wal = await lstat(`${path}-wal`).catch(() => null);
  const sizes = { size: st.size + (wal?.size ?? 0), dump: entry.size };
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const recordedPath = typeof entry.details?.path === 'string' ? resolve(ctx.repo.root, entry.details.path) : undefined;
  const recorded = why === 'point' && entry.format === SQLITE_FORMAT && !entry.absent && recordedPath === path ? recordedFacts(entry.details?.source) : undefined;
  if (recorded) {
    const seen = await sinceCopy(path, recorded);
    if (seen.state === 'same') return drift(d.name, d.engine, 'same', msg('drift.notWritten', sizes));
    if (seen.state === 'written') return drift(d.name, d.engine, 'changed', msg('drift.written', { time: stamp(seen.mtimeMs), ...sizes }));
    if (seen.state === 'unsure') return drift(d.name, d.engine, 'unknown', msg('drift.racy', { time: stamp(seen.mtimeMs), ...sizes }));
    return drift(d.name, d.engine, 'missing', msg('drift.noFile', { path: d.path as string }));
  }
  const mtime = Math.max(st.mtimeMs, wal?.mtimeMs ?? 0);
  // The baseline's time is second-precise: a write within that second proves nothing either way.
  if (mtime > since.getTime() + 1000) return drift(d.name, d.engine, 'changed', msg('drift.written', { time: stamp(mtime), ...sizes }));
  return drift(d.name, d.engine, 'unknown', msg(why === 'point' ? 'drift.unrecorded' : 'drift.restored', { time: stamp(mtime), ...sizes }));
}

async function deepDrift(ctx: Context, d: DatabaseConfig, entry: DatabaseEntry): Promise<DatabaseDrift> {
  const [engine] = await ctx.engines([d.name]);
  if (!engine) return drift(d.name, d.engine, 'unknown', msg('drift.noEngine'));
  const store = await ctx.dumpStore();
  const stored = () => store.read(entry.chunks ?? (entry.blob ? [{ blob: entry.blob, size: entry.size }] : []), entry.sha256);
  if (engine.digest) {
    // What matters, not the bytes: a dump carries volatile lines (pg_dump's
    // random \restrict key) and countdowns (Redis TTLs); the engine's digest
    // leaves them out, for the fresh dump and the stored one alike.
    let size = 0;
    const fresh = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    const [now] = await Promise.all([engine.digest(fresh), engine.dump(fresh).then(() => (fresh.writableEnded ? undefined : fresh.end()))]);
    const was = entry.absent ? null : await engine.digest(stored());
    const same = now === was;
    return drift(d.name, d.engine, same ? 'same' : 'changed', same ? msg('drift.sameData', { size }) : msg('drift.differs', { was: entry.size, size }));
  }
  // A SQLite file's 100-byte header carries change counters that a restore bumps:
  // compare the pages only, for the fresh dump and the stored one alike.
  const skip = entry.format === 'sqlite-file' ? 100 : 0;
  const fresh = hashSink(skip);
  await engine.dump(fresh.sink);
  if (!fresh.sink.writableEnded) fresh.sink.end();
  let expected = entry.sha256;
  if (skip) {
    const storedHash = hashSink(skip);
    await pipeline(stored(), storedHash.sink);
    expected = storedHash.digest();
  }
  const same = fresh.digest() === expected;
  return drift(d.name, d.engine, same ? 'same' : 'changed', same ? msg('drift.identical', { size: fresh.size() }) : msg('drift.differs', { was: entry.size, size: fresh.size() }));
}

/** Dumps up to this size are compared by content (the engine's digest) in `diff` when their bytes differ. */
export const DIGEST_LIMIT = 64 * 1024 * 1024;

/**
 * Two stored dumps whose bytes differ may hold the same data (a volatile line,
 * a countdown): compare them through the engine's digest. Needs the engine;
 * when it cannot be made (no credentials for a read command), the byte
 * comparison stands.
 */
async function settleByDigest(ctx: Context, changes: DatabaseChange[], a: readonly DatabaseEntry[], b: readonly DatabaseEntry[], deep: boolean): Promise<void> {
  for (const c of changes) {
    if (c.state !== 'changed') continue;
    const x = a.find((d) => d.name === c.name);
    const y = b.find((d) => d.name === c.name);
    if (!x || !y || x.absent || y.absent || x.engine !== y.engine || (!deep && Math.max(x.size, y.size) > DIGEST_LIMIT)) continue;
    const engine = await ctx.engines([c.name]).then((e) => e[0], () => undefined);
    if (!engine?.digest) continue;
    const store = await ctx.dumpStore();
    const read = (e: DatabaseEntry) => store.read(e.chunks ?? (e.blob ? [{ blob: e.blob, size: e.size }] : []), e.sha256);
    const [dx, dy] = [await engine.digest(read(x)), await engine.digest(read(y))];
    if (dx === dy) c.state = 'same';
  }
}

/** A writable that hashes what it gets, leaving out the first `skip` bytes. */
function hashSink(skip: number): { sink: Writable; digest(): string; size(): number } {
  const hash = createHash('sha256');
  let seen = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const from = Math.max(0, Math.min(chunk.length, skip - seen));
      seen += chunk.length;
      if (from < chunk.length) hash.update(chunk.subarray(from));
      cb();
    },
  });
  let result: string | undefined;
  return { sink, digest: () => (result ??= hash.digest('hex')), size: () => seen };
}

// ---------------------------------------------------------------- diff

export interface Side {
  /** The point, or null for the current state. */
  point: Point | null;
  label: string;
  commit: string;
  snapshot: SnapshotInfo | null;
}

export interface CommitRange {
  ahead: number;
  behind: number;
  /** Commits in b not in a, newest first (at most 20). */
  log: { hash: string; subject: string }[];
  files: { path: string; added: number | null; deleted: number | null }[];
  insertions: number;
  deletions: number;
}

export interface FileDiffWithKeys extends FileDiff {
  unhashed: number;
}

export interface Diff {
  a: { label: string; commit: string; snapshot: boolean };
  b: { label: string; commit: string; snapshot: boolean };
  commits: CommitRange;
  config: FileDiffWithKeys | null;
  paths: FileDiffWithKeys | null;
  databases: DatabaseChange[] | null;
  captures: CaptureChange[] | null;
}

export async function resolveSide(ctx: Context, spec: string | undefined, points: Point[]): Promise<Side> {
  if (spec === undefined || spec === 'current' || spec === 'now') {
    const head = await ctx.git.head();
    return { point: null, label: 'current state', commit: head.commit as string, snapshot: null };
  }
  const p = await resolvePoint(spec, { points, prefixes: ctx.config.tags, commitOf: (r) => ctx.git.revParse(`${r}^{commit}`) });
  return { point: p, label: p.tag, commit: p.commit, snapshot: await loadSnapshot(ctx, p) };
}

export async function collectDiff(ctx: Context, a: Side, b: Side, options: { deep: boolean; tables: boolean }): Promise<Diff> {
  const commits = await commitRange(ctx, a, b);
  const current = b.point === null;
  let config: FileDiffWithKeys | null = null;
  let paths: FileDiffWithKeys | null = null;
  let databases: DatabaseChange[] | null = null;
  let captures: CaptureChange[] | null = null;
  if (a.snapshot && (b.snapshot || current)) {
    const sa = a.snapshot;
    let bConfig: FileSide[];
    let bPaths: FileSide[];
    let unhashed = 0;
    if (b.snapshot) {
      bConfig = b.snapshot.config;
      bPaths = b.snapshot.paths;
    } else {
      const patterns = patternsOf(ctx, sa);
      bConfig = (await currentFiles(ctx.repo.root, patterns.config, sa.config, true)).files;
      const cur = await currentFiles(ctx.repo.root, patterns.paths, sa.paths, options.deep);
      bPaths = cur.files;
      unhashed = cur.unhashed;
    }
    config = { ...diffFiles(sa.config, bConfig), unhashed: 0 };
    await addKeyChanges(ctx, config, sa.config, b.snapshot?.config ?? null);
    paths = { ...diffFiles(sa.paths, bPaths), unhashed };
    if (b.snapshot) {
      databases = diffDatabases(sa.databases, b.snapshot.databases);
      await settleByDigest(ctx, databases, sa.databases, b.snapshot.databases, options.deep);
      if (options.tables) await addTables(ctx, databases, sa.databases, b.snapshot.databases);
      const blobs = await ctx.git.readBlobs([...sa.captures, ...b.snapshot.captures].map((c) => c.blob));
      captures = diffCaptureEntries(sa.captures, b.snapshot.captures, (id) => blobs.get(id)?.toString('utf8') ?? '');
    }
  }
  return {
    a: { label: a.label, commit: a.commit, snapshot: !!a.snapshot },
    b: { label: b.label, commit: b.commit, snapshot: !!b.snapshot || current },
    commits,
    config,
    paths,
    databases,
    captures,
  };
}

async function commitRange(ctx: Context, a: Side, b: Side): Promise<CommitRange> {
  const git = ctx.git;
  const counts = await git.text(['rev-list', '--left-right', '--count', `${a.commit}...${b.commit}`]);
  const [behind = 0, ahead = 0] = counts.split(/\s+/).map(Number);
  const log = (await git.text(['log', '-n20', '--format=%h%x00%s', `${a.commit}..${b.commit}`]))
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [hash = '', subject = ''] = l.split('\0');
      return { hash, subject };
    });
  // Against the current state, the diff is against the working tree (uncommitted changes included).
  const range = b.point === null ? [a.commit] : [a.commit, b.commit];
  const numstat = (await git.run(['diff', '--numstat', '-z', '--no-renames', ...range])).stdout;
  const files: CommitRange['files'] = [];
  for (const rec of numstat.split('\0')) {
    const m = /^(-|\d+)\t(-|\d+)\t(.+)$/s.exec(rec.replace(/^\n/, ''));
    if (!m) continue;
    files.push({ path: m[3] as string, added: m[1] === '-' ? null : Number(m[1]), deleted: m[2] === '-' ? null : Number(m[2]) });
  }
  return {
    ahead,
    behind,
    log,
    files,
    insertions: files.reduce((n, f) => n + (f.added ?? 0), 0),
    deletions: files.reduce((n, f) => n + (f.deleted ?? 0), 0),
  };
}

/** Adds the changed keys of .env-style files. Contents are read here and dropped; only key names are kept. */
async function addKeyChanges(ctx: Context, diff: FileDiff, a: readonly FileEntry[], b: readonly FileEntry[] | null): Promise<void> {
  if (diff.changed.length === 0) return;
  const before = new Map(a.map((f) => [f.path, f]));
  const after = b ? new Map(b.map((f) => [f.path, f])) : null;
  const ids = diff.changed.flatMap((c) => [before.get(c.path)?.blob ?? '', after?.get(c.path)?.blob ?? ''].filter(Boolean));
  const blobs = await ctx.git.readBlobs(ids);
  for (const c of diff.changed) {
    if (c.modeOnly) continue;
    const oldEntry = before.get(c.path);
    const oldText = oldEntry ? blobs.get(oldEntry.blob)?.toString('utf8') : undefined;
    let newText: string | undefined;
    if (after) {
      const e = after.get(c.path);
      newText = e ? blobs.get(e.blob)?.toString('utf8') : undefined;
    } else {
      newText = await readFile(join(ctx.repo.root, c.path), 'utf8').catch(() => undefined);
    }
    if (oldText === undefined || newText === undefined) continue;
    const x = parseEnv(oldText);
    const y = parseEnv(newText);
    if ((x && y) || (looksLikeEnvFile(c.path) && (x || y))) c.keys = diffKeys(x ?? new Map(), y ?? new Map());
  }
}

/**
 * Table list and row counts of SQLite dumps: the stored file is written to a
 * private temp dir and queried with sqlite3 (no server, no restore). Skipped
 * for other engines, big dumps, or when sqlite3 is missing.
 */
async function addTables(ctx: Context, changes: DatabaseChange[], a: readonly DatabaseEntry[], b: readonly DatabaseEntry[]): Promise<void> {
  for (const c of changes) {
    if (c.state !== 'changed') continue;
    const x = a.find((d) => d.name === c.name);
    const y = b.find((d) => d.name === c.name);
    if (!x || !y || x.format !== 'sqlite-file' || y.format !== 'sqlite-file' || x.size > TABLES_LIMIT || y.size > TABLES_LIMIT) continue;
    const tx = await sqliteTables(ctx, x).catch(() => null);
    const ty = tx ? await sqliteTables(ctx, y).catch(() => null) : null;
    if (tx && ty) c.tables = diffTables(tx, ty);
  }
}

async function sqliteTables(ctx: Context, entry: DatabaseEntry): Promise<Map<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'git-rollback-diff-'));
  const file = join(dir, 'db.sqlite');
  try {
    const store = await ctx.dumpStore();
    const { createWriteStream } = await import('node:fs');
    await pipeline(store.read(entry.chunks ?? (entry.blob ? [{ blob: entry.blob, size: entry.size }] : []), entry.sha256), createWriteStream(file, { mode: 0o600 }));
    const { run } = await import('../adapters/process.js');
    const names = (await run('sqlite3', ['-batch', '-readonly', file, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"])).stdout
      .split('\n')
      .filter(Boolean);
    const map = new Map<string, number>();
    if (names.length === 0) return map;
    const quote = (n: string) => `"${n.replace(/"/g, '""')}"`;
    const sql = names.map((n) => `SELECT count(*) FROM ${quote(n)};`).join('\n');
    const counts = (await run('sqlite3', ['-batch', '-readonly', file], { input: sql })).stdout.split('\n').filter(Boolean);
    names.forEach((n, i) => map.set(n, Number(counts[i] ?? 0)));
    return map;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

