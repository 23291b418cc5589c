// SQLite: a page copy of the file (and its -wal) taken while a sqlite3
// process holds a read transaction, so it is one consistent state while the
// app writes, checked with quick_check as it streams into the store. Restore
// writes the dump beside the live file as `.<file>.rb-stage-<job>` (same
// filesystem, so rename is atomic), gives it the journal mode, mode, owner
// and group, and renames it over the live file; the previous file is kept as
// `.<file>.rb-old-<job>` (parked) until its dump is stored and the user
// prunes it, so undo right after is a rename.
//
// Every restore step works out where the job stands from which of the three
// files exist (and their inodes), so it can run again after a crash part-way
// through itself; the one fact the files cannot tell — whether a live file
// existed before the swap — is in `job.memo.liveExisted`, saved before the
// first rename.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, chown, constants, copyFile, link, lstat, mkdir, open, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreCheck, RestoreJob, RestoreStrategy, TempObject,
} from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { CancelledError, ConflictError, CorruptSnapshotError, errorMsg, ExternalToolError, NotFoundError, RollbackError } from '../../core/errors.js';
import { msg, type Msg } from '../../core/i18n.js';
import { startPiped, type Piped } from '../piped.js';
import { run } from '../process.js';
import { recordedFacts, sameFacts, sinceCopy, sourceFacts, SQLITE_FORMAT, type SourceFacts } from './sqlite-facts.js';
import { inDb, materialize, privateTempDir, safeJobId, tidy, validateKeys, versionOf, type EngineContext } from './common.js';

/** sqlite3 waits this long for a writer's lock instead of failing at once. */
const BUSY_MS = '10000';
const SIDECARS = ['-wal', '-shm', '-journal'];
export { SQLITE_FORMAT };

/** What the parked copy was when its dump was stored: enough to tell later that it did not change. */
interface ParkedFacts {
  /** The job whose parked copy this is (the runner reads `details.parked.jobId` to offer a fast undo). */
  jobId: string;
  ino: string;
  size: number;
  mtimeNs: string;
}

/** The live file (and -wal) as they were while copied: enough to tell later that nothing changed. */
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
  /**
   * Pages change in place and never shift, so fixed 1 MiB chunks (a multiple
   * of every page size, 512 B-64 KiB) keep an unchanged page range an
   * unchanged chunk, and cost no content-defined cut search.
   */
  readonly chunking = { kind: 'fixed', size: 1024 * 1024 } as const;
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
      text: msg('sqlite.strategy', { staged: this.shown(this.staged(jobId)), path: this.relPath, parked: this.shown(this.parked(jobId)) }),
      downtime: msg('sqlite.downtime'),
    };
  }

  private sqlite(args: string[]) {
    return run('sqlite3', ['-batch', '-bail', '-cmd', `.timeout ${BUSY_MS}`, ...args], { cwd: this.ctx.cwd, env: this.ctx.env });
  }

  private probed?: Promise<EngineProbe>;

  /** The sqlite3 program's version, asked once per process (a point asked it twice, a rollback twice more). */
  private tool(): Promise<EngineProbe> {
    this.probed ??= run('sqlite3', ['-version'], { env: this.ctx.env }).then((r) => {
      const version = versionOf(r.stdout);
      return { tool: `sqlite3 ${version}`, serverVersion: version };
    });
    // A failure is not kept: the next call asks again (and reports it again).
    this.probed.catch(() => {
      this.probed = undefined;
    });
    return this.probed;
  }

  async check(_mode: 'dump'): Promise<EngineProbe> {
    const probe = await this.tool();
    try {
      await access(this.path, constants.R_OK);
    } catch {
      throw new NotFoundError(inDb(this.name, msg('sqlite.unreadable', { path: this.relPath })), msg('sqlite.checkPath', { name: this.name }));
    }
    return probe;
  }

  async checkRestore(entry: DatabaseEntry, jobId: string): Promise<RestoreCheck> {
    const probe = await this.tool();
    if (!entry.absent && entry.format !== SQLITE_FORMAT) {
      throw new ConflictError(inDb(this.name, msg('engine.format', { format: entry.format, engine: 'sqlite' })));
    }
    // The nearest existing folder must be writable: stage, park and rename all happen there.
    let dir = this.dir;
    while (!(await exists(dir)) && dirname(dir) !== dir) dir = dirname(dir);
    try {
      await access(dir, constants.W_OK);
    } catch {
      throw new RollbackError(inDb(this.name, msg('engine.cannotWrite', { dir: this.shown(dir) || '.' })), msg('sqlite.cannotWriteHint'));
    }
    for (const path of [this.staged(jobId), this.parked(jobId)]) {
      const s = await lstat(path).catch(() => undefined);
      if (s && !s.isFile()) throw new ConflictError(inDb(this.name, msg('sqlite.notFile', { path: this.shown(path) })), msg('sqlite.moveAway'));
    }
    const notes: Msg[] = [];
    const live = await stat(this.path).catch(() => undefined);
    const details = (entry.details ?? {}) as Record<string, unknown>;
    if (entry.absent) {
      notes.push(live ? msg('sqlite.absentMoved', { path: this.relPath, parked: this.shown(this.parked(jobId)) }) : msg('sqlite.absentNothing', { path: this.relPath }));
      return { ...probe, notes };
    }
    const meta = live ? { mode: live.mode, uid: live.uid, gid: live.gid } : recordedMeta(details);
    if (meta) {
      notes.push(msg(live ? 'sqlite.keepsLive' : 'sqlite.keepsRecorded', { mode: (meta.mode & 0o7777).toString(8).padStart(4, '0'), owner: `${meta.uid}:${meta.gid}` }));
      const why = ownershipProblem(meta);
      if (why) notes.push(why);
    }
    if (details.checked === 'quick_check: failed') notes.push(msg('sqlite.failedCheck'));
    const journal = typeof details.journalMode === 'string' ? details.journalMode : undefined;
    notes.push(journal ? msg('sqlite.journalMode', { mode: journal }) : msg('sqlite.journalModeLive'));
    if (!live) notes.push(msg('sqlite.createsIt', { path: this.relPath }));
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
    return { format: SQLITE_FORMAT, ext: 'sqlite', ...probe, details: result.details, ...(result.warnings.length ? { warnings: result.warnings } : {}) };
  }

  /**
   * Streams a consistent copy of the database at `path` into `out`; details
   * say what it was. Two ways, both under one read transaction of a sqlite3
   * process (see readsInPlace for when the first is allowed):
   * - in place: the file is streamed straight from where it is while that
   *   transaction holds it still, and quick_check runs inside the same
   *   transaction, on the other core (one read of the file, no copy);
   * - copied: the file (and -wal) is copied aside under the transaction,
   *   the transaction ends, the copy's WAL is folded in, and the copy is
   *   checked and streamed. Why that is one consistent state: in rollback
   *   journal mode the read lock keeps writers from committing, so the file
   *   does not change; in WAL mode no checkpoint may write into the file
   *   past our snapshot and the WAL is not restarted under us, so the file
   *   copy plus the committed frames of the WAL copy make a state at or
   *   after our snapshot.
   * Either way a page copy (not VACUUM INTO's rebuild: 1.7-2.8 s for 300
   * MiB), so unchanged pages stay byte-identical between points and
   * deduplicate.
   */
  private async dumpFile(path: string, out: Writable, options: { parked?: boolean } = {}): Promise<{ details: Record<string, unknown>; warnings: Msg[]; bytes: number }> {
    let reader: ReadTransaction | undefined;
    let dir: string | undefined;
    try {
      let live: Awaited<ReturnType<typeof stat>>;
      let tables: number;
      let source: SourceFacts | undefined;
      let header: { wal: boolean; pageSize: number };
      let file: string;
      let check: Promise<string | Error>;
      let inPlace: SourceFacts | undefined;
      try {
        live = await stat(path);
        reader = await ReadTransaction.begin(path, this.ctx, this.relPath);
        tables = reader.tables;
        // The facts once the transaction holds: what decides whether the file stands still.
        const began = await sourceFacts(path);
        header = await readHeader(path);
        if (readsInPlace(header, began, options.parked === true)) {
          inPlace = began;
          file = path;
          check = reader.ask('PRAGMA quick_check').then((r) => r.trim(), (error: Error) => error);
        } else {
          dir = await privateTempDir('sqlite');
          file = join(dir, 'snapshot.sqlite');
          await copyFile(path, file);
          await copyFile(`${path}-wal`, `${file}-wal`).catch((error: NodeJS.ErrnoException) => {
            if (error.code !== 'ENOENT') throw error;
          });
          const after = await sourceFacts(path);
          await reader.end();
          reader = undefined;
          // Identity of what was copied, when nothing moved while copying (see unchangedSince).
          if (sameFacts(began, after)) source = began;
          if (await exists(`${file}-wal`)) {
            // Fold the copied WAL into the copy: its committed frames, up to the
            // last whole commit, give one consistent state at or after ours.
            await this.sqlite([file, 'PRAGMA wal_checkpoint(TRUNCATE)']);
            for (const suffix of SIDECARS) await rm(file + suffix, { force: true });
          }
          header = await readHeader(file);
          // The copy is checked while it streams into the store (two processes,
          // two cores): a point never records a file SQLite itself calls broken,
          // and the restore need not check it again (see stage()).
          const copy = file;
          check = this.sqlite([copy, 'PRAGMA quick_check']).then((r) => r.stdout.trim(), (error: Error) => error);
        }
      } catch (error) {
        out.destroy(error as Error);
        throw error;
      }
      check.catch(() => undefined);
      let bytes = 0;
      const streamed = pipeline(createReadStream(file, { highWaterMark: 4 << 20 }), new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      }), out, { end: false });
      const [checked] = await Promise.all([check, streamed.catch((error: unknown) => {
        out.destroy(error as Error);
        throw error;
      })]);
      if (checked instanceof Error) {
        out.destroy(checked);
        throw checked;
      }
      if (inPlace && reader) {
        // The transaction kept the file still (readsInPlace); checked again, so
        // a writer that ignores SQLite's locks cannot slip a torn file in.
        const after = await sourceFacts(path);
        await reader.end();
        reader = undefined;
        if (after.ino !== inPlace.ino || after.size !== inPlace.size || after.mtimeNs !== inPlace.mtimeNs || bytes !== inPlace.size) {
          const error = new ConflictError(inDb(this.name, msg('sqlite.movedWhileRead', { path: this.shown(path) })), msg('sqlite.movedWhileReadHint'));
          out.destroy(error);
          throw error;
        }
        if (sameFacts(inPlace, after)) source = inPlace;
      }
      // A broken file is still stored as it is (a rollback away from it must
      // not fail on its backup), with a warning, and marked so.
      const warnings = checked === 'ok' ? [] : [inDb(this.name, msg('sqlite.quickCheckFails', { path: this.shown(path), result: checked.split('\n')[0] }))];
      out.end();
      return {
        warnings,
        bytes,
        details: {
          path: this.relPath,
          tables,
          bytes,
          journalMode: header.wal ? 'wal' : 'delete',
          pageSize: header.pageSize,
          checked: checked === 'ok' ? 'quick_check' : 'quick_check: failed',
          mode: (live.mode & 0o7777).toString(8).padStart(4, '0'),
          uid: live.uid,
          gid: live.gid,
          ...(source ? { source } : {}),
        },
      };
    } finally {
      await reader?.end().catch(() => undefined);
      reader?.kill();
      if (dir) await rm(dir, { recursive: true, force: true });
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
      const abort = () => input.destroy(new RollbackError(msg('sqlite.cancelled')));
      job.signal.addEventListener('abort', abort, { once: true });
      try {
        await materialize(input, staged);
      } finally {
        job.signal.removeEventListener('abort', abort);
      }
      job.signal.throwIfAborted();
      // The bytes are the ones stored (the store checked their sha256 at the
      // end of the stream), and dumps that record `checked` were checked with
      // quick_check when they were made (one that failed is restored as it
      // was, with a note in the plan), so only the header and size are
      // checked here (0.5 s less per 300 MiB); older dumps get integrity_check.
      const header = await readHeader(staged).catch((error: Error) => {
        throw new CorruptSnapshotError(inDb(this.name, msg('sqlite.notSqlite', { error: errorMsg(error) })));
      });
      const size = (await stat(staged)).size;
      if (size % header.pageSize !== 0) throw new CorruptSnapshotError(inDb(this.name, msg('sqlite.pages', { size, page: header.pageSize })));
      if (job.entry.details?.checked === undefined) {
        const result = await this.sqlite([staged, 'PRAGMA integrity_check']);
        if (result.stdout.trim() !== 'ok') {
          throw new CorruptSnapshotError(inDb(this.name, msg('sqlite.integrity', { result: result.stdout.trim().split('\n')[0] })));
        }
      }
      const wanted = await this.wantedJournalMode(job.entry);
      // WAL is the one journal mode the file itself remembers (header bytes 18-19, read above): no sqlite3 process to ask.
      const current = header.wal ? 'wal' : 'delete';
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
      throw job.signal.aborted && !(error instanceof CorruptSnapshotError) ? new CancelledError(inDb(this.name, msg('engine.cancelled'))) : error;
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
      if (!absent && !(await exists(staged))) throw new RollbackError(inDb(this.name, msg('engine.notStaged', { job: job.jobId, file: this.shown(staged) })));
      job.memo.liveExisted = await exists(live);
      await job.save();
    }
    const liveExisted = job.memo.liveExisted as boolean;
    if (await this.isSwapped(job)) return;
    if (!absent && !(await exists(staged))) {
      throw new RollbackError(inDb(this.name, msg('sqlite.whereStands', { job: job.jobId, staged: this.shown(staged), path: this.relPath })), msg('engine.statusHint'));
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
        throw new RollbackError(inDb(this.name, msg('sqlite.parkedNotLive', { parked: this.shown(parked) })), msg('engine.statusHint'));
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
        throw new RollbackError(inDb(this.name, msg('sqlite.parkedGone', { parked: this.shown(parked) })), msg('engine.undoHint'));
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
      const error = new RollbackError(inDb(this.name, msg('sqlite.parkedGoneBackup', { parked: this.shown(parked) })));
      out.destroy(error);
      throw error;
    }
    const before = await this.parkedFacts(job.jobId);
    const result = await this.dumpFile(parked, out, { parked: true });
    const after = await this.parkedFacts(job.jobId);
    const details: Record<string, unknown> = { ...result.details };
    // Only a file that did not change while it was dumped, and that is
    // exactly the dump (no WAL frames folded in), can stand in for the dump
    // later (fast undo).
    if (sameFile(before, after) && !(await hasWalFrames(parked)) && result.details.bytes === after.size) {
      details.parked = after;
    }
    return { format: SQLITE_FORMAT, ext: 'sqlite', ...probe, details, ...(result.warnings.length ? { warnings: result.warnings } : {}) };
  }

  private async parkedFacts(jobId: string): Promise<ParkedFacts> {
    const s = await stat(this.parked(jobId), { bigint: true });
    return { jobId: safeJobId(jobId), ino: String(s.ino), size: Number(s.size), mtimeNs: String(s.mtimeNs) };
  }

  async dropParked(jobId: string): Promise<void> {
    await removeWithSidecars(this.parked(jobId));
    await syncDir(this.dir).catch(() => undefined);
  }

  async adoptParked(fromJobId: string, job: RestoreJob): Promise<boolean> {
    const recorded = job.entry.details?.parked as ParkedFacts | undefined;
    if (!recorded || recorded.jobId !== safeJobId(fromJobId)) return false;
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

  /**
   * For points (issue 10, "unchanged repeat"): true when the live file is
   * provably the one `previous` was dumped from, so the caller may reuse
   * that dump instead of reading 300 MiB again. Proof: same inode, size and
   * mtime (ns) of the file and of its -wal as recorded while copying, both
   * older than that copy by more than the timestamp granularity (a write
   * within it could otherwise keep the mtime: git's "racy clean" rule; see
   * racyWindowMs), and no hot journal.
   */
  async unchangedSince(previous: DatabaseEntry): Promise<boolean> {
    const recorded = recordedFacts(previous.details?.source);
    if (previous.engine !== this.engine || previous.format !== SQLITE_FORMAT || previous.absent || !recorded || previous.details?.path !== this.relPath) return false;
    if (previous.details?.checked !== 'quick_check') return false;
    return (await sinceCopy(this.path, recorded)).state === 'same';
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

/**
 * Whether the file can be streamed from where it is while our read
 * transaction is open, rather than copied aside first. In WAL mode with no
 * WAL frames once the transaction holds (an empty or absent -wal), the
 * reader reads the file alone (read mark 0), and no checkpoint may write
 * into the file while such a reader is open (it needs that lock
 * exclusively); writers only append to the WAL, so the app is not held up.
 * In rollback-journal mode the read lock keeps every writer out of the
 * file, which would hold the app's writes up for the whole read: done only
 * for a parked copy, which no app opens by its path.
 */
function readsInPlace(header: { wal: boolean }, facts: SourceFacts, parked: boolean): boolean {
  if (header.wal) return facts.walSize === null;
  return parked;
}

/**
 * A sqlite3 process holding one read transaction (BEGIN plus a first read)
 * on a database: the state it reads stays one until end(). Statements sent
 * with ask() run inside that transaction.
 */
class ReadTransaction {
  tables = 0;
  private text = '';
  private done = false;
  private wake: (() => void) | undefined;
  private asked = 0;
  private readonly exited: Promise<number>;

  private constructor(private readonly proc: Piped, private readonly relPath: string) {
    this.exited = proc.exit();
    this.exited.catch(() => undefined);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (text: string) => {
      this.text += text;
      this.wake?.();
    });
    proc.stdout.on('end', () => {
      this.done = true;
      this.wake?.();
    });
  }

  static async begin(path: string, ctx: EngineContext, relPath: string): Promise<ReadTransaction> {
    const t = new ReadTransaction(startPiped('sqlite3', ['-batch', '-bail', path], { cwd: ctx.cwd, env: ctx.env, label: 'sqlite3' }), relPath);
    try {
      t.proc.stdin.write(`.timeout ${BUSY_MS}\nBEGIN;\n`);
      t.tables = Number((await t.ask("SELECT count(*) FROM sqlite_schema WHERE type = 'table'")).trim());
      return t;
    } catch (error) {
      t.kill();
      throw error;
    }
  }

  /** Runs `sql` inside the transaction; resolves with what it printed. */
  async ask(sql: string): Promise<string> {
    const marker = `rb-answered-${++this.asked}`;
    this.proc.stdin.write(`${sql};\nSELECT '${marker}';\n`);
    for (;;) {
      const at = this.text.indexOf(`${marker}\n`);
      if (at >= 0 && (at === 0 || this.text[at - 1] === '\n')) {
        const answer = this.text.slice(0, at);
        this.text = this.text.slice(at + marker.length + 1);
        return answer;
      }
      if (this.done) {
        const code = await this.exited.catch(() => -1);
        throw new ExternalToolError('sqlite3', code, this.proc.stderr(), msg('sqlite.couldNotRead', { path: this.relPath, error: tidy(this.proc.stderr()) || `exit ${code}` }));
      }
      await new Promise<void>((resolveWait) => {
        this.wake = resolveWait;
      });
      this.wake = undefined;
    }
  }

  /** Ends the transaction and the process. */
  async end(): Promise<void> {
    if (!this.proc.stdin.writableEnded) this.proc.stdin.end('COMMIT;\n');
    await this.proc.wait();
  }

  kill(): void {
    this.proc.kill();
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
function ownershipProblem(meta: FileMeta): Msg | undefined {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return undefined;
  if (meta.uid >= 0 && meta.uid !== uid) return msg('sqlite.ownerLost', { was: meta.uid, uid });
  const groups = process.getgroups?.() ?? [];
  if (meta.gid >= 0 && meta.gid !== process.getgid?.() && !groups.includes(meta.gid)) return msg('sqlite.groupLost', { was: meta.gid, gid: process.getgid?.() });
  return undefined;
}

async function applyMeta(path: string, meta: FileMeta, job: RestoreJob): Promise<void> {
  const current = await stat(path);
  if ((meta.uid >= 0 && current.uid !== meta.uid) || (meta.gid >= 0 && current.gid !== meta.gid)) {
    await chown(path, meta.uid, meta.gid).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPERM') throw error;
      job.warn(msg('sqlite.chownFailed', { file: basename(path), owner: `${meta.uid}:${meta.gid}`, code: error.code, keeps: `${current.uid}:${current.gid}` }));
    });
  }
  // chmod after chown: chown clears setuid/setgid bits.
  await chmod(path, meta.mode & 0o7777);
}

/** What the SQLite header says: page size, and whether the file is in WAL mode (bytes 18-19 = 2). */
async function readHeader(path: string): Promise<{ wal: boolean; pageSize: number }> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(100);
    const { bytesRead } = await handle.read(header, 0, 100, 0);
    if (bytesRead < 100 || header.toString('latin1', 0, 16) !== 'SQLite format 3\u0000') {
      throw new CorruptSnapshotError(msg('sqlite.notSqliteFile', { file: basename(path) }));
    }
    const raw = header.readUInt16BE(16);
    return { wal: header[18] === 2, pageSize: raw === 1 ? 65536 : raw };
  } finally {
    await handle.close();
  }
}

/** True when `path` has a -wal with frames in it (changes not folded into the file). */
async function hasWalFrames(path: string): Promise<boolean> {
  const s = await stat(`${path}-wal`).catch(() => undefined);
  return s !== undefined && s.size > 32;
}
