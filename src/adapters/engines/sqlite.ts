// SQLite: `VACUUM INTO` a temp file for a consistent snapshot while the app
// writes (one read transaction: WAL readers never block writers; a plain file
// copy could tear a page or miss the -wal), then the file is streamed into
// the store. Restore writes the dump beside the live file (same filesystem,
// so rename is atomic), checks it with PRAGMA integrity_check, and renames it
// over the live file. VACUUM INTO (rather than the CLI's `.backup`) takes the
// target as an SQL string literal, so no path needs dot-command quoting, and
// its compact output keeps similar databases similar for chunk dedup.
import { createReadStream } from 'node:fs';
import { access, constants, link, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DumpOutcome, Engine, EngineProbe, DatabaseConfig, RestoreStrategy, StagedRestore } from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { NotFoundError, RollbackError } from '../../core/errors.js';
import { run } from '../process.js';
import { guardedRestore, materialize, privateTempDir, safeJobId, validateKeys, versionOf, type EngineContext } from './common.js';

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
/** sqlite3 waits this long for a writer's lock instead of failing at once. */
const BUSY_MS = '10000';

export class SqliteEngine implements Engine {
  readonly engine = 'sqlite';
  readonly name: string;
  private readonly relPath: string;
  private readonly path: string;

  constructor(config: DatabaseConfig, private readonly ctx: EngineContext) {
    validateKeys(config, { path: 'string' });
    this.name = config.name;
    this.relPath = config.path as string;
    this.path = isAbsolute(this.relPath) ? this.relPath : resolve(ctx.cwd, this.relPath);
  }

  describe(): string {
    return this.relPath;
  }

  strategy(jobId: string): RestoreStrategy {
    return {
      text: `restore to ${basename(this.path)}.rb-stage-${safeJobId(jobId)} beside it, integrity_check, then atomic rename over ${this.relPath} (stale -wal/-shm moved aside)`,
      downtime: 'none for new connections; connections already open keep the old file: stop the app around the rollback',
    };
  }

  private sqlite(args: string[]) {
    return run('sqlite3', ['-batch', '-bail', '-cmd', `.timeout ${BUSY_MS}`, ...args], { cwd: this.ctx.cwd, env: this.ctx.env });
  }

  async check(mode: 'dump' | 'restore'): Promise<EngineProbe> {
    const version = (await run('sqlite3', ['-version'], { env: this.ctx.env })).stdout;
    const tool = `sqlite3 ${versionOf(version)}`;
    if (mode === 'dump') {
      try {
        await access(this.path, constants.R_OK);
      } catch {
        throw new NotFoundError(`database ${this.name}: ${this.relPath} does not exist or is not readable`, `check databases.${this.name}.path`);
      }
    } else {
      try {
        await access(dirname(this.path), constants.W_OK);
      } catch {
        throw new RollbackError(`database ${this.name}: cannot write in ${dirname(this.relPath) || '.'}`, 'the restore writes a temp file beside the database, then renames it');
      }
    }
    return { tool, serverVersion: versionOf(version) };
  }

  async dump(out: Writable): Promise<DumpOutcome> {
    const probe = await this.check('dump');
    const dir = await privateTempDir('sqlite');
    const copy = join(dir, 'snapshot.sqlite');
    try {
      try {
        await this.sqlite([this.path, `VACUUM INTO ${sqlString(copy)}`]);
      } catch (error) {
        out.destroy(error as Error);
        throw error;
      }
      const tables = (await this.sqlite([copy, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"])).stdout.trim();
      const size = (await stat(copy)).size;
      await pipeline(createReadStream(copy), out);
      return { format: 'sqlite-file', ext: 'sqlite', tool: probe.tool, serverVersion: probe.serverVersion, details: { path: this.relPath, tables: Number(tables), bytes: size } };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async stage(input: Readable, ctx: { jobId: string; entry: DatabaseEntry }): Promise<StagedRestore> {
    const id = safeJobId(ctx.jobId);
    const dir = dirname(this.path);
    const base = basename(this.path);
    const staged = join(dir, `.${base}.rb-stage-${id}`);
    const old = join(dir, `.${base}.rb-old-${id}`);
    await rm(staged, { force: true });
    await materialize(input, staged);
    const result = await this.sqlite([staged, 'PRAGMA integrity_check']).catch(async (error: unknown) => {
      await rm(staged, { force: true });
      throw error;
    });
    if (result.stdout.trim() !== 'ok') {
      await rm(staged, { force: true });
      throw new RollbackError(`database ${this.name}: the stored SQLite file fails integrity_check: ${result.stdout.trim().split('\n')[0]}`);
    }
    // The staged file must not carry a journal mode that expects a -wal we do not have.
    for (const suffix of ['-wal', '-shm', '-journal']) await rm(staged + suffix, { force: true });

    const live = this.path;
    let liveExisted = false;
    const exists = (p: string) => stat(p).then(() => true, () => false);
    const moveSidecars = async (from: string, to: string) => {
      for (const suffix of ['-wal', '-shm', '-journal']) {
        if (await exists(from + suffix)) await rename(from + suffix, to + suffix);
      }
    };

    const engine = this;
    return guardedRestore(this.name, {
      async swap() {
        liveExisted = await exists(live);
        if (liveExisted) {
          // Fold the WAL into the live file so the kept copy is whole; a
          // busy writer only makes this partial, and the -wal moves with it.
          await engine.sqlite([live, 'PRAGMA wal_checkpoint(TRUNCATE)']).catch(() => undefined);
          // A hard link keeps the old file reachable without a moment where
          // the live path is missing; rename() below then replaces atomically.
          await rm(old, { force: true });
          await link(live, old).catch(() => rename(live, old));
          // Stale sidecars would be replayed onto the restored file: move them to the old copy.
          await moveSidecars(live, old);
        }
        await rename(staged, live);
        return undefined;
      },
      async unswap() {
        for (const suffix of ['-wal', '-shm', '-journal']) await rm(live + suffix, { force: true });
        if (liveExisted) {
          await rename(old, live);
          await moveSidecars(old, live);
        } else {
          await rm(live, { force: true });
        }
      },
      async discard() {
        await rm(staged, { force: true });
        for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(old + suffix, { force: true });
      },
    });
  }
}
