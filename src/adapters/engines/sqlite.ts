// SQLite: a consistent copy of the file while the app writes (`VACUUM INTO`,
// one read transaction: WAL readers never block writers; a plain file copy
// could tear a page or miss the -wal), streamed into the store. Restore
// writes the dump beside the live file as `.<file>.rb-stage-<job>` (same
// filesystem, so rename is atomic), checks it, gives it the live file's
// journal mode, mode, owner and group, and renames it over the live file; the
// previous file is kept as `.<file>.rb-old-<job>` (parked) until its dump is
// stored and the user prunes it, so undo right after is a rename.
//
// Every restore step works out where the job stands from which of the three
// files exist (and their inodes), so it can run again after a crash part-way
// through itself; the one fact the files cannot tell — whether a live file
// existed before the swap — is in `job.memo.liveExisted`, saved before the
// first rename.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, chown, constants, link, lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreCheck, RestoreJob, RestoreStrategy, TempObject,
} from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { CancelledError, ConflictError, CorruptSnapshotError, NotFoundError, RollbackError } from '../../core/errors.js';
import { run } from '../process.js';
import { materialize, privateTempDir, safeJobId, validateKeys, versionOf, type EngineContext } from './common.js';

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
/** sqlite3 waits this long for a writer's lock instead of failing at once. */
const BUSY_MS = '10000';
const SIDECARS = ['-wal', '-shm', '-journal'];
export const SQLITE_FORMAT = 'sqlite-file';

/** What the parked copy was when its dump was stored: enough to tell later that it did not change. */
interface ParkedFacts {
  job: string;
  ino: string;
  size: number;
  mtimeNs: string;
  sha256: string;
}

interface FileMeta {
  mode: number;
  uid: number;
  gid: number;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

async function inode(path: string): Promise<bigint | undefined> {
  return lstat(path, { bigint: true }).then((s) => s.ino, () => undefined);
}

/** Renames each sidecar (-wal, -shm, -journal) of `from` that exists to the same sidecar of `to`. */
async function moveSidecars(from: string, to: string): Promise<void> {
  for (const suffix of SIDECARS) {
    if (await exists(from + suffix)) await rename(from + suffix, to + suffix);
  }
}

async function removeWithSidecars(path: string): Promise<void> {
  for (const suffix of ['', ...SIDECARS]) await rm(path + suffix, { force: true });
}

/** Makes renames in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class SqliteEngine implements Engine {
  readonly engine = 'sqlite';
  readonly parks = true;
  readonly name: string;
  private readonly relPath: string;
  private readonly path: string;
  private readonly dir: string;
  private readonly base: string;

  constructor(config: DatabaseConfig, private readonly ctx: EngineContext) {
    validateKeys(config, { path: 'string' });
    this.name = config.name;
    this.relPath = config.path as string;
    this.path = isAbsolute(this.relPath) ? this.relPath : resolve(ctx.cwd, this.relPath);
    this.dir = dirname(this.path);
    this.base = basename(this.path);
  }

  describe(): string {
    return this.relPath;
  }

  private staged(jobId: string): string {
    return join(this.dir, `.${this.base}.rb-stage-${safeJobId(jobId)}`);
  }

  private parked(jobId: string): string {
    return join(this.dir, `.${this.base}.rb-old-${safeJobId(jobId)}`);
  }

  /** A path as the user wrote it: relative to the repository when it is inside. */
  private shown(path: string): string {
    const rel = relative(this.ctx.cwd, path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  }

  strategy(jobId: string): RestoreStrategy {
    return {
      text: `write ${this.shown(this.staged(jobId))}, check it, then rename it over ${this.relPath} (journal mode, mode, owner and group kept; the previous file kept as ${this.shown(this.parked(jobId))})`,
      downtime: 'none for new connections; connections already open keep the old file: stop the app around the rollback',
    };
  }

  private sqlite(args: string[]) {
    return run('sqlite3', ['-batch', '-bail', '-cmd', `.timeout ${BUSY_MS}`, ...args], { cwd: this.ctx.cwd, env: this.ctx.env });
  }

  private async tool(): Promise<EngineProbe> {
    const version = versionOf((await run('sqlite3', ['-version'], { env: this.ctx.env })).stdout);
    return { tool: `sqlite3 ${version}`, serverVersion: version };
  }

  async check(_mode: 'dump'): Promise<EngineProbe> {
    const probe = await this.tool();
    try {
      await access(this.path, constants.R_OK);
    } catch {
      throw new NotFoundError(`database ${this.name}: ${this.relPath} does not exist or is not readable`, `check databases.${this.name}.path`);
    }
    return probe;
  }

  async checkRestore(entry: DatabaseEntry, jobId: string): Promise<RestoreCheck> {
    const probe = await this.tool();
    if (!entry.absent && entry.format !== SQLITE_FORMAT) {
      throw new ConflictError(`database ${this.name}: the stored dump has format ${entry.format}, which the sqlite engine cannot restore`);
    }
    // The nearest existing folder must be writable: stage, park and rename all happen there.
    let dir = this.dir;
    while (!(await exists(dir)) && dirname(dir) !== dir) dir = dirname(dir);
    try {
      await access(dir, constants.W_OK);
    } catch {
      throw new RollbackError(`database ${this.name}: cannot write in ${this.shown(dir) || '.'}`, 'the restore writes a file beside the database and renames it: run as a user who may write there');
    }
    for (const path of [this.staged(jobId), this.parked(jobId)]) {
      const s = await lstat(path).catch(() => undefined);
      if (s && !s.isFile()) throw new ConflictError(`database ${this.name}: ${this.shown(path)} exists and is not a file`, 'move it away');
    }
    const notes: string[] = [];
    const live = await stat(this.path).catch(() => undefined);
    const details = (entry.details ?? {}) as Record<string, unknown>;
    if (entry.absent) {
      notes.push(live ? `${this.relPath} did not exist at the point: it is moved aside (kept as ${this.shown(this.parked(jobId))})` : `${this.relPath} did not exist at the point and does not exist now: nothing to do`);
      return { ...probe, notes };
    }
    const meta = live ? { mode: live.mode, uid: live.uid, gid: live.gid } : recordedMeta(details);
    if (meta) {
      notes.push(`keeps mode ${(meta.mode & 0o7777).toString(8).padStart(4, '0')}, owner ${meta.uid}:${meta.gid}${live ? ' of the live file' : ' recorded at the point'}`);
      const why = ownershipProblem(meta);
      if (why) notes.push(why);
    }
    const journal = typeof details.journalMode === 'string' ? details.journalMode : undefined;
    notes.push(journal ? `journal_mode ${journal}` : 'journal_mode of the live file (the point did not record it)');
    if (!live) notes.push(`${this.relPath} does not exist now: the restore creates it`);
    return { ...probe, notes };
  }

  async dump(out: Writable, options: { allowAbsent?: boolean } = {}): Promise<DumpOutcome & { absent?: boolean }> {
    let probe: EngineProbe;
    try {
      probe = await this.tool();
      if (options.allowAbsent && !(await exists(this.path))) {
        out.end();
        return { format: SQLITE_FORMAT, ext: 'sqlite', ...probe, absent: true, details: { path: this.relPath } };
      }
      probe = await this.check('dump');
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const result = await this.dumpFile(this.path, out);
    return { format: SQLITE_FORMAT, ext: 'sqlite', ...probe, details: result.details };
  }

  /** Streams a consistent copy of the database at `path` into `out`; details say what it was. */
  private async dumpFile(path: string, out: Writable): Promise<{ details: Record<string, unknown> }> {
    const dir = await privateTempDir('sqlite');
    const copy = join(dir, 'snapshot.sqlite');
    try {
      let facts: { journalMode: string; meta: FileMeta; tables: number };
      try {
        const live = await stat(path);
        const journalMode = (await this.sqlite([path, 'PRAGMA journal_mode'])).stdout.trim().toLowerCase();
        await this.sqlite([path, `VACUUM INTO ${sqlString(copy)}`]);
        const tables = Number((await this.sqlite([copy, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"])).stdout.trim());
        facts = { journalMode, meta: { mode: live.mode, uid: live.uid, gid: live.gid }, tables };
      } catch (error) {
        out.destroy(error as Error);
        throw error;
      }
      const size = (await stat(copy)).size;
      await pipeline(createReadStream(copy), out);
      return {
        details: {
          path: this.relPath,
          tables: facts.tables,
          bytes: size,
          journalMode: facts.journalMode,
          mode: (facts.meta.mode & 0o7777).toString(8).padStart(4, '0'),
          uid: facts.meta.uid,
          gid: facts.meta.gid,
        },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  tempObjects(jobId: string): TempObject[] {
    const object = (role: 'staged' | 'parked', path: string): TempObject => ({
      database: this.name, engine: this.engine, role, kind: 'file', name: this.shown(path), jobId,
    });
    return [object('staged', this.staged(jobId)), object('parked', this.parked(jobId))];
  }

  async stage(input: Readable, job: RestoreJob): Promise<void> {
    const staged = this.staged(job.jobId);
    await removeWithSidecars(staged);
    if (job.entry.absent) {
      input.resume();
      return;
    }
    await mkdir(this.dir, { recursive: true });
    try {
      job.signal.throwIfAborted();
      const abort = () => input.destroy(new RollbackError('cancelled'));
      job.signal.addEventListener('abort', abort, { once: true });
      try {
        await materialize(input, staged);
      } finally {
        job.signal.removeEventListener('abort', abort);
      }
      job.signal.throwIfAborted();
      const result = await this.sqlite([staged, 'PRAGMA integrity_check']);
      if (result.stdout.trim() !== 'ok') {
        throw new CorruptSnapshotError(`database ${this.name}: the stored SQLite file fails integrity_check: ${result.stdout.trim().split('\n')[0]}`);
      }
      const wanted = await this.wantedJournalMode(job.entry);
      const current = (await this.sqlite([staged, 'PRAGMA journal_mode'])).stdout.trim().toLowerCase();
      if ((wanted === 'wal') !== (current === 'wal')) {
        // WAL is the one journal mode the file itself remembers (header bytes 18-19); VACUUM INTO writes "delete".
        await this.sqlite([staged, `PRAGMA journal_mode=${wanted === 'wal' ? 'WAL' : 'DELETE'}`]);
      }
      // No sidecar may follow the staged file live: it would be replayed onto it.
      for (const suffix of SIDECARS) await rm(staged + suffix, { force: true });
      const handle = await open(staged, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      await removeWithSidecars(staged);
      throw job.signal.aborted && !(error instanceof CorruptSnapshotError) ? new CancelledError(`database ${this.name}: restore cancelled; nothing live was touched`) : error;
    }
  }

  /** "wal" or "delete": the point's journal mode when recorded, else the live file's. */
  private async wantedJournalMode(entry: DatabaseEntry): Promise<string> {
    const recorded = entry.details?.journalMode;
    if (typeof recorded === 'string') return recorded === 'wal' ? 'wal' : 'delete';
    if (!(await exists(this.path))) return 'delete';
    // Reading the header does not need a connection (and cannot block on the app's locks).
    const handle = await open(this.path, 'r');
    try {
      const header = Buffer.alloc(20);
      await handle.read(header, 0, 20, 0);
      return header[18] === 2 ? 'wal' : 'delete';
    } finally {
      await handle.close();
    }
  }

  async swap(job: RestoreJob): Promise<void> {
    const live = this.path;
    const staged = this.staged(job.jobId);
    const parked = this.parked(job.jobId);
    const absent = job.entry.absent === true;
    if (typeof job.memo.liveExisted !== 'boolean') {
      if (!absent && !(await exists(staged))) throw new RollbackError(`database ${this.name}: nothing is staged for job ${job.jobId} (${this.shown(staged)} is missing)`);
      job.memo.liveExisted = await exists(live);
      await job.save();
    }
    const liveExisted = job.memo.liveExisted as boolean;
    if (await this.isSwapped(job)) return;
    if (!absent && !(await exists(staged))) {
      throw new RollbackError(`database ${this.name}: cannot tell where job ${job.jobId} stands: ${this.shown(staged)} is gone but ${this.relPath} is not swapped`, 'git rollback status lists what is there');
    }
    if (liveExisted && (await exists(live))) {
      const liveIno = await inode(live);
      const parkedIno = await inode(parked);
      if (parkedIno === undefined) {
        // Fold the WAL into the file so the parked copy is whole; a busy
        // writer only makes this partial, and the -wal moves with it.
        await this.sqlite([live, 'PRAGMA wal_checkpoint(TRUNCATE)']).catch(() => undefined);
        if (absent) {
          await rename(live, parked);
        } else {
          // A hard link keeps the old file reachable without a moment where
          // the live path is missing; the rename below replaces it atomically.
          await link(live, parked).catch(() => rename(live, parked));
        }
      } else if (parkedIno !== liveIno) {
        throw new RollbackError(`database ${this.name}: ${this.shown(parked)} exists and is not the live file`, 'git rollback status lists what is there');
      } else if (absent) {
        await rm(live);
      }
      // Stale sidecars would be replayed onto the restored file: they go with the parked copy.
      await moveSidecars(live, parked);
    }
    if (!absent) {
      const meta = liveExisted ? await stat(parked).then((s) => ({ mode: s.mode, uid: s.uid, gid: s.gid }), () => undefined) : recordedMeta(job.entry.details);
      if (meta) await applyMeta(staged, meta, job);
      await rename(staged, live);
    }
    await syncDir(this.dir);
  }

  private async isSwapped(job: RestoreJob): Promise<boolean> {
    const liveExisted = job.memo.liveExisted === true;
    const parkedOk = !liveExisted || (await exists(this.parked(job.jobId)));
    if (job.entry.absent) return !(await exists(this.path)) && parkedOk;
    return !(await exists(this.staged(job.jobId))) && (await exists(this.path)) && parkedOk;
  }

  async unswap(job: RestoreJob): Promise<void> {
    if (typeof job.memo.liveExisted !== 'boolean') return; // swap never started
    const liveExisted = job.memo.liveExisted;
    const live = this.path;
    const staged = this.staged(job.jobId);
    const parked = this.parked(job.jobId);
    const [liveIno, stagedIno, parkedIno] = await Promise.all([inode(live), inode(staged), inode(parked)]);
    const putBack = async () => {
      if (liveExisted && parkedIno !== undefined) {
        await rename(parked, live);
        await moveSidecars(parked, live);
      } else if (!liveExisted && liveIno !== undefined && !job.entry.absent) {
        await rm(live);
        for (const suffix of SIDECARS) await rm(live + suffix, { force: true });
      }
    };
    if (job.entry.absent) {
      if (parkedIno !== undefined) await putBack();
    } else if (stagedIno !== undefined && stagedIno === liveIno) {
      // A crash inside an earlier unswap: the restored file is already kept as staged.
      await putBack();
    } else if (stagedIno !== undefined) {
      // Not swapped; maybe a crash inside swap after the old file was linked as parked.
      if (liveIno !== undefined && parkedIno === liveIno) {
        await moveSidecars(parked, live);
        await rm(parked);
      } else if (liveIno === undefined && parkedIno !== undefined) {
        await putBack(); // the no-hard-link path had renamed live away
      }
    } else if (liveIno !== undefined) {
      // Swapped: the restored file goes back to staged (with its sidecars), the parked one back live.
      if (liveExisted && parkedIno === undefined) {
        throw new RollbackError(`database ${this.name}: the previous file ${this.shown(parked)} is gone, so it cannot be put back`, 'restore the automatic backup point instead (git rollback undo)');
      }
      await this.sqlite([live, 'PRAGMA wal_checkpoint(TRUNCATE)']).catch(() => undefined);
      await link(live, staged);
      await moveSidecars(live, staged);
      await putBack();
    } else if (parkedIno !== undefined) {
      await putBack();
    }
    await syncDir(this.dir);
  }

  async discardStaged(job: RestoreJob): Promise<void> {
    await removeWithSidecars(this.staged(job.jobId));
  }

  async dumpParked(job: RestoreJob, out: Writable): Promise<DumpOutcome & { absent?: boolean }> {
    const probe = await this.tool().catch((error: unknown) => {
      out.destroy(error as Error);
      throw error;
    });
    const parked = this.parked(job.jobId);
    if (job.memo.liveExisted === false) {
      out.end();
      return { format: SQLITE_FORMAT, ext: 'sqlite', ...probe, absent: true, details: { path: this.relPath } };
    }
    if (!(await exists(parked))) {
      const error = new RollbackError(`database ${this.name}: the previous file ${this.shown(parked)} is gone, so the backup of it cannot be stored`);
      out.destroy(error);
      throw error;
    }
    const before = await this.parkedFacts(job.jobId, false);
    const result = await this.dumpFile(parked, out);
    const after = await this.parkedFacts(job.jobId, true);
    const details: Record<string, unknown> = { ...result.details };
    // Only a copy that did not change while it was dumped can stand in for the dump later (fast undo).
    if (sameFile(before, after) && !(await hasWalFrames(parked))) details.parked = after;
    return { format: SQLITE_FORMAT, ext: 'sqlite', ...probe, details };
  }

  private async parkedFacts(jobId: string, withHash: boolean): Promise<ParkedFacts> {
    const path = this.parked(jobId);
    const s = await stat(path, { bigint: true });
    let sha256 = '';
    if (withHash) {
      const hash = createHash('sha256');
      await pipeline(createReadStream(path), hash);
      sha256 = hash.digest('hex');
    }
    return { job: safeJobId(jobId), ino: String(s.ino), size: Number(s.size), mtimeNs: String(s.mtimeNs), sha256 };
  }

  async dropParked(jobId: string): Promise<void> {
    await removeWithSidecars(this.parked(jobId));
    await syncDir(this.dir).catch(() => undefined);
  }

  async adoptParked(fromJobId: string, job: RestoreJob): Promise<boolean> {
    const recorded = job.entry.details?.parked as ParkedFacts | undefined;
    if (!recorded || recorded.job !== safeJobId(fromJobId)) return false;
    const from = this.parked(fromJobId);
    const staged = this.staged(job.jobId);
    const matches = async (path: string) => {
      const s = await stat(path, { bigint: true }).catch(() => undefined);
      return s !== undefined && String(s.ino) === recorded.ino && Number(s.size) === recorded.size && String(s.mtimeNs) === recorded.mtimeNs;
    };
    if (await matches(staged)) return true; // adopted by an earlier attempt
    if (!(await matches(from)) || (await hasWalFrames(from))) return false;
    for (const suffix of SIDECARS) await rm(from + suffix, { force: true });
    await removeWithSidecars(staged);
    await rename(from, staged);
    await syncDir(this.dir);
    return true;
  }

  async leftovers(): Promise<TempObject[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const prefix = `.${this.base}.rb-`;
    const found = new Map<string, TempObject>();
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const m = /^(stage|old)-([a-z0-9_]+)(?:-wal|-shm|-journal)?$/.exec(name.slice(prefix.length));
      if (!m) continue;
      const role = m[1] === 'stage' ? 'staged' : 'parked';
      const path = join(this.dir, `${prefix}${m[1]}-${m[2]}`);
      found.set(path, { database: this.name, engine: this.engine, role, kind: 'file', name: this.shown(path), jobId: m[2]! });
    }
    return [...found.values()];
  }

  async fingerprint(): Promise<string | null> {
    const s = await stat(this.path, { bigint: true }).catch(() => undefined);
    return s ? `ino=${s.ino} size=${s.size} mtime=${s.mtimeNs}` : 'absent';
  }

  /** The schema and rows (`.dump`) and the settings that live in the file, not its page layout. */
  async digest(input: Readable): Promise<string> {
    const dir = await privateTempDir('sqlite-digest');
    try {
      const file = join(dir, 'db.sqlite');
      await materialize(input, file);
      const hash = createHash('sha256');
      const pragmas = ['user_version', 'application_id', 'page_size', 'encoding', 'auto_vacuum'];
      hash.update((await this.sqlite([file, ...pragmas.map((p) => `PRAGMA ${p}`)])).stdout);
      hash.update((await this.sqlite([file, '.dump'])).stdout);
      return hash.digest('hex');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function sameFile(a: ParkedFacts, b: ParkedFacts): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

function recordedMeta(details: Record<string, unknown> | undefined): FileMeta | undefined {
  if (!details || typeof details.mode !== 'string' || !/^[0-7]{3,4}$/.test(details.mode)) return undefined;
  const uid = Number.isInteger(details.uid) ? (details.uid as number) : -1;
  const gid = Number.isInteger(details.gid) ? (details.gid as number) : -1;
  return { mode: Number.parseInt(details.mode, 8), uid, gid };
}

/** Why the process cannot give a file this owner/group, or undefined when it can. */
function ownershipProblem(meta: FileMeta): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return undefined;
  if (meta.uid >= 0 && meta.uid !== uid) return `cannot keep owner ${meta.uid} (only root may give files away): the restored file will belong to uid ${uid}; run as root or as uid ${meta.uid} to keep it`;
  const groups = process.getgroups?.() ?? [];
  if (meta.gid >= 0 && meta.gid !== process.getgid?.() && !groups.includes(meta.gid)) return `cannot keep group ${meta.gid} (not a member): the restored file will have group ${process.getgid?.()}`;
  return undefined;
}

async function applyMeta(path: string, meta: FileMeta, job: RestoreJob): Promise<void> {
  const current = await stat(path);
  if ((meta.uid >= 0 && current.uid !== meta.uid) || (meta.gid >= 0 && current.gid !== meta.gid)) {
    await chown(path, meta.uid, meta.gid).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPERM') throw error;
      job.warn(`${basename(path)}: cannot give it owner ${meta.uid}:${meta.gid} (${error.code}); it keeps ${current.uid}:${current.gid}`);
    });
  }
  // chmod after chown: chown clears setuid/setgid bits.
  await chmod(path, meta.mode & 0o7777);
}

/** True when `path` has a -wal with frames in it (changes not folded into the file). */
async function hasWalFrames(path: string): Promise<boolean> {
  const s = await stat(`${path}-wal`).catch(() => undefined);
  return s !== undefined && s.size > 32;
}
