// PostgreSQL: `pg_dump -Fp` (plain SQL) streamed into the store; restore
// with psql (from stdin, in one transaction, stop at the first error) into
// `<db>_rb_tmp_<job>`, then a rename swap from the maintenance database.
// Why plain (docs/decisions.md, "PostgreSQL dump format"): it holds each
// table's COPY text raw, like tar, so content-defined chunks line up again
// after an edit; and pg_dump writes it as it reads, while -Ft spools every
// table to a temp file first (nothing reaches the store until the table is
// read whole, and the table's size must be free in pg_dump's temp dir).
// Dumps stored before, format `pg_dump-tar`, still restore with pg_restore.
// git compresses the chunks (level 1), which is as fast as pg_dump -Fc's zlib.
//
// The password comes from the URL, PGPASSWORD or ~/.pgpass, and reaches the
// tools only through the PGPASSWORD environment variable, never argv (which
// any local user can read in /proc); -w makes the tools fail rather than
// prompt on a terminal.
import type { Readable, Writable } from 'node:stream';
import type { DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreStrategy, StagedRestore } from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { ExternalToolError, RollbackError, redact } from '../../core/errors.js';
import { run } from '../process.js';
import { startPiped } from '../piped.js';
import {
  guardedRestore,
  derivedName,
  describeUrl,
  parseDbUrl,
  safeJobId,
  streamIntoTool,
  streamToolInto,
  validateKeys,
  versionOf,
  type EngineContext,
  type ParsedUrl,
} from './common.js';

/** NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
const MAX_IDENT = 63;
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Stored dump formats: `plain` for new dumps; `tar` for dumps made before (still restored). */
export const PLAIN_FORMAT = 'pg_dump-plain';
export const TAR_FORMAT = 'pg_dump-tar';

const CONNECT_HINT = 'check that the server is running and databases.<name>.url (host, port, user; password via the URL, PGPASSWORD or ~/.pgpass)';

export class PostgresEngine implements Engine {
  readonly engine = 'postgres';
  readonly name: string;
  private readonly url: ParsedUrl;
  private readonly maintenanceDb: string;
  private readonly noOwner: boolean;
  private readonly env: NodeJS.ProcessEnv;

  /**
   * `dumpAs` is internal (tests): 'tar' makes dumps the way versions before
   * the plain format did, to prove those still restore.
   */
  constructor(
    config: DatabaseConfig,
    private readonly ctx: EngineContext,
    private readonly dumpAs: 'plain' | 'tar' = 'plain',
  ) {
    validateKeys(config, { url: 'string' }, { maintenanceDb: 'string', noOwner: 'boolean' });
    this.name = config.name;
    this.url = parseDbUrl(config, ['postgres', 'postgresql']);
    if (!this.url.database) throw new RollbackError(`databases.${config.name}.url: no database name in the URL path`);
    this.maintenanceDb = (config.maintenanceDb as string | undefined) ?? 'postgres';
    this.noOwner = (config.noOwner as boolean | undefined) ?? false;
    this.env = { ...ctx.env, ...(this.url.password ? { PGPASSWORD: this.url.password } : {}) };
  }

  describe(): string {
    return describeUrl(this.url);
  }

  /** A libpq connection URI for `database`, without the password. */
  private conn(database = this.url.database): string {
    const base = describeUrl(this.url, database).replace(/^postgres(ql)?:/, 'postgresql:');
    const query = this.url.params.toString();
    return query ? `${base}?${query}` : base;
  }

  private names(jobId: string) {
    const id = safeJobId(jobId);
    return {
      tmp: derivedName(this.url.database, `_rb_tmp_${id}`, MAX_IDENT),
      old: derivedName(this.url.database, `_rollback_${id}`, MAX_IDENT),
    };
  }

  strategy(jobId: string): RestoreStrategy {
    const { tmp, old } = this.names(jobId);
    return {
      text: `restore into ${tmp} (psql; pg_restore for tar dumps), then rename swap (old kept as ${old})`,
      downtime: `new connections to ${this.url.database} blocked and open ones ended; ~1 s unavailable`,
    };
  }

  /** Runs SQL through psql (no .psqlrc, stop at the first error); returns unaligned output. */
  private async sql(database: string, statements: string): Promise<string> {
    const r = await run('psql', ['-X', '-w', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', this.conn(database), '-c', statements], {
      env: this.env,
      reject: false,
    });
    if (r.exitCode !== 0) throw new ExternalToolError('psql', r.exitCode, scrub(r.stderr, this.url.password), undefined, connectHint(r.stderr));
    return r.stdout.trim();
  }

  async check(mode: 'dump' | 'restore', entry?: DatabaseEntry): Promise<EngineProbe> {
    // A plain dump is loaded by psql, a tar dump (stored before) by pg_restore.
    const toolName = mode === 'dump' ? 'pg_dump' : entry?.format === TAR_FORMAT ? 'pg_restore' : 'psql';
    const tool = `${toolName} ${versionOf((await run(toolName, ['--version'], { env: this.env })).stdout)}`;
    const serverVersion = await this.sql(this.maintenanceDb, 'SHOW server_version').then((v) => v.split(' ')[0] ?? v);
    if (mode === 'dump') {
      const found = await this.sql(this.maintenanceDb, `SELECT 1 FROM pg_database WHERE datname = ${literal(this.url.database)}`);
      if (!found) throw new RollbackError(`database ${this.name}: ${this.url.database} does not exist on ${describeUrl(this.url)}`);
      return { tool, serverVersion };
    }
    if (entry) {
      knownFormat(this.name, entry.format);
      // pg_restore reads archives from its own and older pg_dump versions
      // only; psql may not know the meta-commands a newer pg_dump writes
      // into plain dumps (\restrict since 17.6, 16.10, 15.14…).
      const dumpMajor = major(entry.tool.replace(/^pg_dump\s*/, ''));
      const restoreMajor = major(tool.replace(/^\S+\s*/, ''));
      if (dumpMajor !== undefined && restoreMajor !== undefined && restoreMajor < dumpMajor) {
        throw new RollbackError(
          `database ${this.name}: the dump was made by ${entry.tool}, but ${tool} cannot read ${entry.format === TAR_FORMAT ? 'newer archives' : 'newer dumps'}`,
          `install postgresql-client-${dumpMajor} (its ${toolName} must be first on PATH)`,
        );
      }
      // A plain dump is SQL for the server it came from: a newer server loads
      // it, an older one may not know its syntax, settings or catalogs.
      const fromMajor = major(entry.serverVersion ?? '');
      const toMajor = major(serverVersion);
      if (entry.format !== TAR_FORMAT && fromMajor !== undefined && toMajor !== undefined && toMajor < fromMajor) {
        throw new RollbackError(
          `database ${this.name}: the dump comes from PostgreSQL ${entry.serverVersion}, and the server is ${serverVersion}: an older major version cannot load it`,
          `restore it on a PostgreSQL ${fromMajor} or newer server`,
        );
      }
    }
    const canCreate = await this.sql(this.maintenanceDb, 'SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user');
    if (canCreate !== 't') {
      throw new RollbackError(`database ${this.name}: the user cannot create databases, which the restore needs (temp database + rename)`, 'ALTER ROLE … CREATEDB, or use a superuser URL');
    }
    return { tool, serverVersion };
  }

  async dump(out: Writable): Promise<DumpOutcome> {
    let probe: EngineProbe;
    try {
      probe = await this.check('dump');
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const tar = this.dumpAs === 'tar';
    // Plain SQL bakes ownership in (ALTER … OWNER TO): with noOwner it is
    // left out at dump time, as pg_restore --no-owner did at restore time.
    const args = ['-w', tar ? '-Ft' : '-Fp', ...(!tar && this.noOwner ? ['--no-owner'] : []), '-d', this.conn()];
    const proc = startPiped('pg_dump', args, { env: this.env, stdin: 'ignore', label: 'pg_dump' });
    await streamToolInto(proc, out, 'pg_dump', CONNECT_HINT);
    const details = { database: this.url.database, ...(!tar && this.noOwner ? { noOwner: true } : {}) };
    return tar
      ? { format: TAR_FORMAT, ext: 'tar', tool: probe.tool, serverVersion: probe.serverVersion, details }
      : { format: PLAIN_FORMAT, ext: 'sql', tool: probe.tool, serverVersion: probe.serverVersion, details };
  }

  async stage(input: Readable, ctx: { jobId: string; entry: DatabaseEntry }): Promise<StagedRestore> {
    knownFormat(this.name, ctx.entry.format);
    const { tmp, old } = this.names(ctx.jobId);
    const live = this.url.database;
    const m = this.maintenanceDb;
    const taken = await this.sql(m, `SELECT datname FROM pg_database WHERE datname IN (${literal(tmp)}, ${literal(old)})`);
    if (taken) throw new RollbackError(`database ${this.name}: ${taken.split('\n').join(', ')} already exists`, 'a job with this id ran before; drop it or use another id');

    // The new database gets the live one's owner, encoding and locale
    // (pg_dump without --create carries none of them).
    const props = await this.sql(
      m,
      `SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = ${literal(live)}`,
    );
    let create = `CREATE DATABASE ${ident(tmp)} TEMPLATE template0`;
    if (props) {
      const [owner = '', encoding = '', collate = '', ctype = ''] = props.split('|');
      create += ` OWNER ${ident(owner)} ENCODING ${literal(encoding)} LC_COLLATE ${literal(collate)} LC_CTYPE ${literal(ctype)}`;
    }
    await this.sql(m, create);

    const dropTmp = () => this.sql(m, `DROP DATABASE IF EXISTS ${ident(tmp)} WITH (FORCE)`);
    try {
      // From stdin in one transaction: a dump that turns out corrupt at its
      // end (the store's sha256 check) aborts the whole restore, and the
      // first failing statement (ON_ERROR_STOP) rolls it all back.
      if (ctx.entry.format === TAR_FORMAT) {
        // Dumps stored before the plain format. pg_restore cannot run tar
        // archives in parallel (-j); see docs/decisions.md.
        const args = ['-w', '--exit-on-error', '--single-transaction', '-Ft', '-d', this.conn(tmp), ...(this.noOwner ? ['--no-owner'] : [])];
        const proc = startPiped('pg_restore', args, { env: this.env, stdout: 'ignore', label: 'pg_restore' });
        await streamIntoTool(input, proc, 'pg_restore', RESTORE_HINT);
      } else {
        const args = ['-X', '-w', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-d', this.conn(tmp), '-f', '-'];
        const proc = startPiped('psql', args, { env: this.env, stdout: 'ignore', label: 'psql' });
        // Owners are baked into a plain dump made without noOwner: setting
        // noOwner later cannot take them out again.
        const ownersBaked = this.noOwner && ctx.entry.details?.noOwner !== true;
        await streamIntoTool(input, proc, 'psql', ownersBaked ? RESTORE_HINT_OWNERS_BAKED : RESTORE_HINT);
      }
      // A restore leaves no planner statistics; gather them before the
      // database goes live (sampling: seconds even for large databases).
      await this.sql(tmp, 'ANALYZE');
    } catch (error) {
      await dropTmp().catch(() => undefined);
      throw error;
    }

    let liveExisted = false;
    const engine = this;
    return guardedRestore(this.name, {
      async swap() {
        liveExisted = (await engine.sql(m, `SELECT 1 FROM pg_database WHERE datname = ${literal(live)}`)) === '1';
        if (liveExisted) await engine.renamePair(live, old, tmp);
        else await engine.sql(m, `ALTER DATABASE ${ident(tmp)} RENAME TO ${ident(live)}`);
        return liveExisted ? old : undefined;
      },
      async unswap() {
        if (liveExisted) await engine.renamePair(live, tmp, old);
        else {
          await engine.blockAndEnd(live);
          await engine.sql(m, `ALTER DATABASE ${ident(live)} RENAME TO ${ident(tmp)}`);
        }
      },
      async discard(swapped) {
        // After a swap the temp name no longer exists (the old copy is kept
        // under its own name until prune); before a swap or after unswap it
        // is the restored copy nobody needs.
        if (!swapped) await dropTmp();
      },
    });
  }

  /** Previous copies kept by earlier swaps (`<db>_rollback_<job>`), for prune. */
  async listKept(): Promise<string[]> {
    const prefix = `${this.url.database}_rollback_`;
    const rows = await this.sql(this.maintenanceDb, `SELECT datname FROM pg_database WHERE left(datname, ${prefix.length}) = ${literal(prefix)} ORDER BY 1`);
    return rows.split('\n').filter(Boolean);
  }

  /** Drops one kept copy; refuses any name that is not one (never the live database). */
  async dropKept(name: string): Promise<void> {
    if (!(await this.listKept()).includes(name)) throw new RollbackError(`database ${this.name}: ${name} is not a kept copy of ${this.url.database}`);
    await this.sql(this.maintenanceDb, `DROP DATABASE ${ident(name)} WITH (FORCE)`);
  }

  /** Blocks new connections to `db` and ends the open ones (ours is on the maintenance database). */
  private async blockAndEnd(db: string): Promise<void> {
    await this.sql(this.maintenanceDb, `ALTER DATABASE ${ident(db)} ALLOW_CONNECTIONS false`);
    await this.sql(this.maintenanceDb, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(db)} AND pid <> pg_backend_pid()`);
  }

  /**
   * live → parkAs, incoming → live, in one transaction (ALTER DATABASE RENAME
   * is transactional), so there is no moment without a database named live.
   * Ended backends take a moment to exit; RENAME fails while any is left, so
   * it is retried for a few seconds.
   */
  private async renamePair(live: string, parkAs: string, incoming: string): Promise<void> {
    const m = this.maintenanceDb;
    await this.blockAndEnd(live);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.sql(
            m,
            `BEGIN; ALTER DATABASE ${ident(live)} RENAME TO ${ident(parkAs)}; ALTER DATABASE ${ident(incoming)} RENAME TO ${ident(live)}; COMMIT;`,
          );
          break;
        } catch (error) {
          if (attempt >= 50 || !/being accessed by other users/.test((error as Error).message)) throw error;
          await new Promise((r) => setTimeout(r, 100));
          await this.sql(m, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(live)} AND pid <> pg_backend_pid()`);
        }
      }
    } finally {
      // Whichever database now has each name, both accept connections again.
      for (const db of [live, parkAs]) {
        await this.sql(m, `ALTER DATABASE ${ident(db)} ALLOW_CONNECTIONS true`).catch(() => undefined);
      }
    }
  }
}

const RESTORE_HINT = 'the temp database was dropped and nothing live was touched; if a role is missing, create it or set databases.<name>.noOwner: true (for points made from then on)';
const RESTORE_HINT_OWNERS_BAKED =
  'the temp database was dropped and nothing live was touched; this dump was made before noOwner was set and names its owners: if a role is missing, create it (CREATE ROLE …) to restore this point';

function knownFormat(name: string, format: string): void {
  if (format !== PLAIN_FORMAT && format !== TAR_FORMAT) {
    throw new RollbackError(`database ${name}: unknown PostgreSQL dump format ${format}`, 'the snapshot was made by a newer git-rollback: upgrade it');
  }
}

function major(version: string): number | undefined {
  const n = Number.parseInt(version, 10);
  return Number.isFinite(n) ? n : undefined;
}

function connectHint(stderr: string): string | undefined {
  if (/password authentication failed|no password supplied/.test(stderr)) return 'wrong or missing password: set it in the URL (from ${VAR}), PGPASSWORD or ~/.pgpass';
  if (/Connection refused|could not connect|No such file or directory|timeout expired/.test(stderr)) return 'is the PostgreSQL server running and reachable at the host and port of databases.<name>.url?';
  return undefined;
}

/** redact() plus the literal password, in case a server ever echoes it. */
function scrub(text: string, password: string): string {
  const clean = redact(text);
  return password ? clean.split(password).join('***') : clean;
}
