// MySQL / MariaDB: `mariadb-dump --single-transaction` (a consistent InnoDB
// snapshot without locking writers) of one database, loaded into a staged
// schema `<db>_rb_tmp_<job>`, then swapped in by ONE `RENAME TABLE` that
// parks every live table in `<db>_rollback_<job>` and moves every staged one
// into place: atomic for the tables (sequences and system-versioned tables,
// history included, are tables too).
//
// What RENAME cannot move across schemas: triggers (the server refuses:
// "Trigger in wrong schema"), views (bound to their schema), routines and
// events. The swap therefore: waits (bounded by lockWaitTimeout) until no
// session holds a lock on the tables, drops the live triggers, renames, and
// creates the restored triggers, all within milliseconds; then replaces the
// views, routines and events whose definitions differ. If the RENAME cannot
// happen (a lock held, an error) the live triggers are put back and nothing
// else was touched. A staged copy never has triggers (their definitions wait
// in the journal's memo) and the staged and parked copies keep their events
// DISABLED (their real status is in the memo), so nothing fires outside the
// live schema. The parked copy gets guard triggers that refuse every row
// change: with its table ids and object timestamps that proves it unchanged
// since its dump, for fast undo (adoptParked).
//
// Every step is keyed by the job id and works out from information_schema
// and the memo where the job stands, so each can run again after a crash.
// The password reaches the client tools only through MYSQL_PWD, never argv.
import { createHash } from 'node:crypto';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreCheck, RestoreJob, RestoreStrategy, TempObject } from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { CancelledError, ConfigError, ConflictError, ExternalToolError, RollbackError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import { run } from '../process.js';
import { startPiped, type Piped } from '../piped.js';
import { derivedName, describeUrl, parseDbUrl, safeJobId, streamToolInto, validateKeys, versionOf, type EngineContext, type ParsedUrl } from './common.js';
import {
  collationOf,
  createDef,
  createTriggers,
  createViews,
  dropDef,
  dumpStatementName,
  DumpStatementFilter,
  emptyObjects,
  eventStatus,
  readObjects,
  retarget,
  triggerHeader,
  withEventStatus,
  type Def,
  type SchemaObjects,
  type SequenceDefault,
} from './mysql-objects.js';
import { msg, type Msg } from '../../core/i18n.js';
import { ER, hintFor, ident, literal, maskSecret, MysqlError, MysqlSession, serverErrorLines, toolPassword, withSession, type Endpoint } from './mysql-session.js';

const MAX_IDENT = 64;
export const FORMAT = 'mysqldump-sql';
/** Table types RENAME TABLE moves (everything but views and temporary tables). */
const MOVABLE = `TABLE_TYPE NOT IN ('VIEW', 'SYSTEM VIEW', 'TEMPORARY')`;
/** Our guard triggers on a parked copy's tables: `_rb_guard_<n>_<i|u|d>`. */
const GUARD = /^_rb_guard_\d+_[iud]$/;
const DEFAULT_LOCK_WAIT = 5;
/** Sessions for trigger DDL on many tables at once. */
const PARALLEL = 4;

interface SchemaAttrs {
  charset: string;
  collation: string;
  comment?: string;
}

/** What stage() (or adoptParked()) leaves for swap(), kept in the job's memo. */
interface StagedMemo {
  /** Nothing staged: the entry says the database was absent. */
  absent?: boolean;
  /** The staged copy's triggers, written for the staged schema (it holds none itself). */
  triggers: Def[];
  /** The real status of each event (the staged copy holds them DISABLED). */
  events: Record<string, string>;
  attrs: SchemaAttrs | null;
  /** Sequence defaults left out while loading (see DumpStatementFilter), set again once live. */
  sequenceDefaults?: SequenceDefault[];
  /**
   * Where the staged copy is, when not in the job's staged schema: fast undo
   * (adoptParked) leaves an earlier job's parked copy where it is and makes
   * it this job's staged copy, so the swap renames its tables once.
   */
  schema?: string;
}

/** The swap's plan, recorded before it changes anything, so any later call can finish or undo it. */
interface SwapPlan {
  phase: 'swapping' | 'swapped' | 'unswapping';
  /** The schema holding the staged copy (the job's staged schema, or an adopted parked copy). */
  stagedSchema: string;
  /** Restoring an absent entry: only park the live copy. */
  parkOnly: boolean;
  liveExisted: boolean;
  liveTables: string[];
  stagedTables: string[];
  /** Live objects before the swap (events with their real status). */
  live: SchemaObjects;
  liveAttrs: SchemaAttrs | null;
  /** Staged views, routines and events as read in the staged schema (events DISABLED). */
  staged: SchemaObjects;
  stagedAttrs: SchemaAttrs | null;
  /** Live views named like an incoming table: dropped with the triggers, just before the rename. */
  clashingViews: string[];
  /** No table on either side: the rename is empty; this records that it "happened". */
  emptyMoved?: boolean;
}


/** `details.parked` of a backup dump made from a parked copy (the runner reads `jobId` to offer fast undo). */
interface ParkedDetails {
  /** The job whose parked copy this is: adoptParked(jobId, …). */
  jobId: string;
  schema: string;
  /** proof() of the parked copy when it was dumped. */
  proof: string;
  events: Record<string, string>;
}

export class MysqlEngine implements Engine {
  readonly engine = 'mysql';
  readonly parks = true;
  readonly name: string;
  private readonly url: ParsedUrl;
  private readonly env: NodeJS.ProcessEnv;
  private readonly endpoint: Endpoint;
  /** Seconds the swap waits for a lock before it gives up with nothing changed. */
  private readonly lockWaitTimeout: number;
  /** End the sessions that hold locks on the schema instead of waiting for them. */
  private readonly endSessions: boolean;
  private clients?: Promise<{ dump: string; client: string; dumpVersion: string }>;

  constructor(config: DatabaseConfig, ctx: EngineContext) {
    // lockWaitTimeout is a duration ("5s", "500ms" or seconds), which validateKeys has no kind for.
    const { lockWaitTimeout, ...rest } = config;
    validateKeys({ ...rest, name: config.name, engine: config.engine }, { url: 'string' }, { endSessions: 'boolean', ...(lockWaitTimeout === undefined ? {} : { lockWaitTimeout: 'string' as const }) });
    this.name = config.name;
    this.url = parseDbUrl(config, ['mysql', 'mariadb']);
    if (!this.url.database) throw new RollbackError(`databases.${config.name}.url: no database name in the URL path`);
    this.lockWaitTimeout = lockWaitSeconds(config.name, lockWaitTimeout);
    this.endSessions = (config.endSessions as boolean | undefined) ?? false;
    this.env = { ...ctx.env, ...(this.url.password ? { MYSQL_PWD: this.url.password } : {}) };
    const password = this.url.password ? undefined : toolPassword(ctx.env);
    this.endpoint = { name: this.name, url: this.url, ...(password ? { password } : {}) };
  }

  describe(): string {
    return describeUrl(this.url);
  }

  private get live(): string {
    return this.url.database;
  }

  private names(jobId: string) {
    const id = safeJobId(jobId);
    return {
      staged: derivedName(this.live, `_rb_tmp_${id}`, MAX_IDENT),
      parked: derivedName(this.live, `_rollback_${id}`, MAX_IDENT),
    };
  }

  strategy(jobId: string): RestoreStrategy {
    const { staged, parked } = this.names(jobId);
    return {
      text: `load into schema ${staged}, then one RENAME TABLE swapping every table (the live ones parked in ${parked}); triggers, views, routines and events carried`,
      downtime: `queries wait while the tables swap (well under a second; at most lockWaitTimeout ${this.lockWaitTimeout} s if a session holds a lock, then the swap stops with nothing changed)`,
    };
  }

  tempObjects(jobId: string): TempObject[] {
    const { staged, parked } = this.names(jobId);
    const id = safeJobId(jobId);
    return [
      { database: this.name, engine: this.engine, role: 'staged', kind: 'schema', name: staged, jobId: id },
      { database: this.name, engine: this.engine, role: 'parked', kind: 'schema', name: parked, jobId: id },
    ];
  }

  // --- tools and sessions ----------------------------------------------------

  /** MariaDB's names first (its mysqldump is a deprecated alias); MySQL's otherwise. One spawn finds and versions the dump tool. */
  private tools(): Promise<{ dump: string; client: string; dumpVersion: string }> {
    this.clients ??= (async () => {
      for (const [dump, client] of [['mariadb-dump', 'mariadb'], ['mysqldump', 'mysql']] as const) {
        try {
          const r = await run(dump, ['--version'], { env: this.env, reject: false });
          if (r.exitCode === 0) return { dump, client, dumpVersion: toolVersion(r.stdout) };
        } catch {
          // not installed: try the other name
        }
      }
      const missing = await run('mariadb-dump', ['--version']).catch((error: unknown) => error);
      throw missing instanceof Error ? missing : new RollbackError('mariadb-dump is not installed');
    })();
    this.clients.catch(() => {
      this.clients = undefined;
    });
    return this.clients;
  }

  private connArgs(): string[] {
    // No --no-defaults: the tools read ~/.my.cnf as users expect (a password kept there, say).
    const args = ['-h', this.url.host || '127.0.0.1', '-u', this.url.user || 'root'];
    if (this.url.port) args.push('-P', String(this.url.port));
    return args;
  }

  private session<T>(work: (s: MysqlSession) => Promise<T>, doing?: string): Promise<T> {
    return withSession(this.endpoint, work, doing);
  }

  /** A client tool's failure, shown by the server's ERROR line, with the hint that fits it. */
  private toolError(tool: string, code: number, stderr: string, context: string): RollbackError {
    const masked = maskSecret(maskSecret(stderr, this.url.password), this.endpoint.password ?? '');
    const { text, errno } = serverErrorLines(masked);
    return new ExternalToolError(tool, code, masked, `database ${this.name}: ${tool} failed (exit ${code}): ${text}`, withContext(hintFor(errno, text, this.name), context));
  }

  // --- reading the server ------------------------------------------------------

  private async attrs(s: MysqlSession, schema: string): Promise<SchemaAttrs | null> {
    const [row] = await s.query(`SELECT * FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${literal(schema)}`, `read schema ${schema}`);
    return row ? attrsOf(row) : null;
  }

  private async tables(s: MysqlSession, schema: string): Promise<string[]> {
    return s.column(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${literal(schema)} AND ${MOVABLE} ORDER BY TABLE_NAME`, `list the tables of ${schema}`);
  }

  private async schemaExists(s: MysqlSession, schema: string): Promise<boolean> {
    return (await s.rows(`SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${literal(schema)}`)).length > 0;
  }

  private createSchemaSql(schema: string, attrs: SchemaAttrs | null): string {
    let sql = `CREATE DATABASE IF NOT EXISTS ${ident(schema)}`;
    if (attrs) sql += ` CHARACTER SET ${attrs.charset} COLLATE ${attrs.collation}`;
    if (attrs?.comment) sql += ` COMMENT ${literal(attrs.comment)}`;
    return sql;
  }

  /** Drops one of our schemas; never the live one, never one that holds a table we did not expect to be gone. */
  private async dropOurs(s: MysqlSession, schema: string, mustBeEmpty: boolean): Promise<void> {
    if (schema === this.live) throw new RollbackError(`database ${this.name}: refusing to drop the live schema ${schema}`);
    if (mustBeEmpty) {
      const left = await this.tables(s, schema);
      if (left.length > 0) throw new RollbackError(`database ${this.name}: ${schema} still holds ${left.length} table(s) (${left.slice(0, 5).join(', ')}); left in place`);
    }
    await s.exec(`DROP DATABASE IF EXISTS ${ident(schema)}`, `drop schema ${schema}`);
  }

  // --- check and dump ------------------------------------------------------------

  async check(_mode: 'dump' = 'dump'): Promise<EngineProbe> {
    const [tools, facts] = await Promise.all([this.tools(), this.dumpFacts(this.live)]);
    if (!facts.attrs) throw new RollbackError(`database ${this.name}: ${this.live} does not exist on ${this.describe()}`);
    return { tool: `${tools.dump} ${tools.dumpVersion}`, serverVersion: facts.version };
  }

  /**
   * Runs one query with the client tool, for the paths that need a single
   * answer (a point): one short process costs less than loading the driver.
   * Every value must come back HEX()-encoded, so no byte of it (a tab, a
   * newline) can be mistaken for the output's separators.
   */
  private async clientHex(sql: string, doing: string): Promise<Array<Array<string>>> {
    // Not waiting for tools(): MariaDB's client name first, MySQL's when it is missing.
    const args = [...this.connArgs(), '--batch', '--skip-column-names', '-e', sql];
    let client = 'mariadb';
    const r = await run(client, args, { env: this.env, reject: false }).catch(async (error: unknown) => {
      if (!/not installed/.test((error as Error).message)) throw error;
      client = 'mysql';
      return run(client, args, { env: this.env, reject: false });
    });
    if (r.exitCode !== 0) throw this.toolError(client, r.exitCode, r.stderr, doing);
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t').map((h) => (h === 'NULL' ? '' : Buffer.from(h, 'hex').toString('utf8'))));
  }

  /**
   * What a dump needs to know, in one client call (the point's fixed cost):
   * the server version, the schema's attributes (absent: no row values) and
   * its system-versioned tables; only when there are some, which keep
   * transaction-precise history (mariadb-dump cannot dump that).
   */
  private async dumpFacts(schema: string) {
    const lit = literal(schema);
    const query = (comment: string) =>
      `SELECT HEX(VERSION()), HEX(s.SCHEMA_NAME), HEX(s.DEFAULT_CHARACTER_SET_NAME), HEX(s.DEFAULT_COLLATION_NAME), HEX(${comment}),
         HEX((SELECT GROUP_CONCAT(t.TABLE_NAME SEPARATOR '/') FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = ${lit} AND t.TABLE_TYPE = 'SYSTEM VERSIONED'))
       FROM (SELECT 1) one LEFT JOIN information_schema.SCHEMATA s ON s.SCHEMA_NAME = ${lit}`;
    let rows: string[][];
    try {
      rows = await this.clientHex(query('s.SCHEMA_COMMENT'), `read schema ${schema}`);
    } catch (error) {
      // MySQL has no schema comments.
      if (!/Unknown column 's\.SCHEMA_COMMENT'/.test((error as Error).message)) throw error;
      rows = await this.clientHex(query("''"), `read schema ${schema}`);
    }
    const [version = '', name = '', charset = '', collation = '', comment = '', versionedList = ''] = rows[0] ?? [];
    if (!name) return { version, attrs: null, versioned: [] as string[], trxPrecise: [] as string[] };
    const attrs: SchemaAttrs = { charset, collation, ...(comment ? { comment } : {}) };
    // Table names cannot hold '/' (it is a path separator in the data directory).
    const versioned = versionedList ? versionedList.split('/').sort() : [];
    let trxPrecise: string[] = [];
    if (versioned.length > 0) {
      // Transaction-precise history (ROW START as BIGINT UNSIGNED).
      trxPrecise = (
        await this.clientHex(
          `SELECT DISTINCT HEX(TABLE_NAME) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${lit}
             AND TABLE_NAME IN (${versioned.map(literal).join(', ')}) AND GENERATION_EXPRESSION = 'ROW START' AND DATA_TYPE = 'bigint'`,
          'list system-versioned tables',
        )
      ).map((r) => r[0]!).sort();
    }
    return { version, attrs, versioned, trxPrecise };
  }

  private dumpArgs(schema: string, history: boolean): string[] {
    return [
      ...this.connArgs(),
      '--single-transaction', '--routines', '--triggers', '--events',
      // Binary columns as hex: the dump stays valid text whatever the data.
      '--hex-blob', '--default-character-set=utf8mb4',
      // No date line: identical data gives an identical dump (free dedup).
      '--skip-dump-date',
      // System-versioned tables with their history rows (MariaDB 10.11+).
      ...(history ? ['--dump-history'] : []),
      // One database without --databases: no CREATE DATABASE / USE, so it loads into any schema.
      schema,
    ];
  }

  async dump(out: Writable, options: { allowAbsent?: boolean } = {}): Promise<DumpOutcome & { absent?: boolean }> {
    // mariadb-dump starts at once, with the arguments nearly every database
    // needs (no history rows), while the facts that decide them are read:
    // its output waits in the pipe, unread, until they are known. It is used
    // only when they call for exactly these arguments; otherwise it is
    // stopped (it only read) and the right dump starts. This takes the
    // facts' round trip off a point's time (docs/decisions.md).
    const earlyArgs = this.dumpArgs(this.live, false);
    const early = held(startPiped('mariadb-dump', earlyArgs, { env: this.env, stdin: 'ignore', label: 'mariadb-dump' }));
    let facts: Awaited<ReturnType<MysqlEngine['dumpFacts']>>;
    let tools: Awaited<ReturnType<MysqlEngine['tools']>>;
    try {
      // The server round trip is spawned first: it takes longer than `--version`.
      [facts, tools] = await Promise.all([this.dumpFacts(this.live), this.tools()]);
      if (!facts.attrs && !options.allowAbsent) throw new RollbackError(`database ${this.name}: ${this.live} does not exist on ${this.describe()}`);
    } catch (error) {
      discard(early);
      out.destroy(error as Error);
      throw error;
    }
    const tool = `${tools.dump} ${tools.dumpVersion}`;
    if (!facts.attrs) {
      discard(early);
      out.end();
      return { format: FORMAT, ext: 'sql', tool, serverVersion: facts.version, absent: true, details: { database: this.live } };
    }
    const { args, details, warnings } = this.historyPlan(tools, facts, this.live);
    let proc: Piped = early;
    if (tools.dump !== 'mariadb-dump' || args.join('\0') !== earlyArgs.join('\0')) {
      discard(early);
      proc = startPiped(tools.dump, args, { env: this.env, stdin: 'ignore', label: tools.dump });
    }
    await this.streamDump(proc, out, tools.dump);
    return { format: FORMAT, ext: 'sql', tool, serverVersion: facts.version, details: { ...details, ...attrDetails(facts.attrs) }, ...(warnings.length ? { warnings } : {}) };
  }

  private historyPlan(tools: { dump: string; dumpVersion: string }, facts: { versioned: string[]; trxPrecise: string[] }, schema: string) {
    const warnings: string[] = [];
    const details: Record<string, unknown> = { database: this.live };
    const canDumpHistory = tools.dump === 'mariadb-dump' && atLeast(tools.dumpVersion, [10, 11]);
    let history = false;
    if (facts.versioned.length > 0) {
      if (facts.trxPrecise.length > 0) {
        warnings.push(`database ${this.name}: ${facts.trxPrecise.join(', ')} keep transaction-precise history, which mariadb-dump cannot dump: this dump holds the current rows of every system-versioned table, without history`);
      } else if (!canDumpHistory) {
        warnings.push(`database ${this.name}: ${tools.dump} ${tools.dumpVersion} cannot dump history rows (mariadb-dump 10.11+ can): system-versioned tables are dumped without history`);
      } else history = true;
      details.history = history;
      if (!history) details.historyOmitted = facts.versioned;
    }
    return { args: this.dumpArgs(schema, history), details, warnings };
  }

  private async streamDump(proc: Piped, out: Writable, tool: string, filter?: DumpStatementFilter): Promise<void> {
    const hint = 'check databases.<name>.url and that the user may read the database (SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES)';
    try {
      if (!filter) {
        await streamToolInto(proc, out, tool, hint);
        return;
      }
      const [piped, exited] = await Promise.allSettled([pipeline(proc.stdout, filter, out, { end: false }), proc.exit()]);
      const code = exited.status === 'fulfilled' ? exited.value : 1;
      if (exited.status === 'rejected') throw exited.reason;
      if (code !== 0) throw this.toolError(tool, code, proc.stderr(), hint);
      if (piped.status === 'rejected') throw piped.reason;
      out.end();
    } catch (error) {
      proc.kill();
      const e = error instanceof ExternalToolError && error.stderr ? this.toolError(tool, error.exitCodeOfTool ?? 1, error.stderr, hint) : error;
      out.destroy(e as Error);
      throw e;
    }
  }

  // --- verify phase ----------------------------------------------------------

  async checkRestore(entry: DatabaseEntry, jobId: string): Promise<RestoreCheck> {
    if (entry.format !== FORMAT) {
      throw new RollbackError(`database ${this.name}: the stored dump is ${entry.format}, not ${FORMAT}: it was made by another engine`, 'check databases.<name>.engine');
    }
    const { staged, parked } = this.names(jobId);
    const [tools, clientVersion] = await Promise.all([
      this.tools(),
      this.tools().then(async (t) => toolVersion((await run(t.client, ['--version'], { env: this.env })).stdout)),
    ]);
    return this.session(async (s) => {
      const notes: string[] = [];
      const problems: string[] = [];
      const liveAttrs = await this.attrs(s, this.live);
      const [liveTables, objects, stagedExists, parkedExists] = await Promise.all([
        liveAttrs ? this.tables(s, this.live) : Promise.resolve([]),
        liveAttrs ? this.objectCounts(s, this.live) : Promise.resolve(null),
        this.schemaExists(s, staged),
        this.schemaExists(s, parked),
      ]);

      // Privileges, before anything changes.
      const missing = await this.missingPrivileges(s, [this.live, staged, parked]);
      if (missing.length > 0) problems.push(`the user ${this.url.user || 'root'} lacks ${missing.join('; ')}`);

      if (liveAttrs) {
        const details = await this.dumpFacts(this.live);
        if (details.trxPrecise.length > 0) {
          problems.push(
            `${details.trxPrecise.join(', ')} keep transaction-precise system-versioning history, which mariadb-dump cannot dump: the automatic backup could not carry that history`,
          );
        }
        const foreign = await s.rows(
          `SELECT DISTINCT CONSTRAINT_SCHEMA, TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
           WHERE (UNIQUE_CONSTRAINT_SCHEMA = ${literal(this.live)} AND CONSTRAINT_SCHEMA <> ${literal(this.live)})
              OR (CONSTRAINT_SCHEMA = ${literal(this.live)} AND UNIQUE_CONSTRAINT_SCHEMA <> ${literal(this.live)})`,
          'list foreign keys across schemas',
        );
        if (foreign.length > 0) {
          problems.push(
            `foreign keys cross the schema boundary (${foreign.slice(0, 3).map((r) => `${r[0]}.${r[1]} → ${r[2]}`).join(', ')}): a rename swap would leave them pointing at the parked copy`,
          );
        }
        notes.push(
          `carries ${liveTables.length} table(s) of ${this.live} by one RENAME TABLE (sequences and system-versioned tables with their history included), and its ${objects} by definition`,
        );
      } else {
        notes.push(`${this.live} does not exist now: the restore creates it`);
      }
      const history = entry.details?.historyOmitted;
      if (Array.isArray(history) && history.length > 0) {
        notes.push(`this dump holds no history rows for ${history.join(', ')} (they come back with their current rows only)`);
      }
      if (entry.serverVersion && /mariadb/i.test(entry.serverVersion) !== s.mariadb) {
        notes.push(`the dump comes from ${entry.serverVersion}, this server is ${s.version}: a MySQL dump may use collations MariaDB lacks, and the reverse`);
      }
      if (stagedExists) notes.push(`${staged} exists from an earlier attempt of this job: it is replaced`);
      if (parkedExists) notes.push(`${parked} exists: this job already swapped`);

      const blockers = await this.blockers(s);
      if (blockers.visible === false) {
        notes.push(`cannot see other sessions (the user lacks PROCESS): a session holding a lock is found only when the swap waits for it (at most ${this.lockWaitTimeout} s)`);
      }
      if (blockers.list.length > 0) {
        notes.push(
          `${blockers.list.length} session(s) may hold locks on ${this.live}: ${blockers.list.slice(0, 5).map(describeSession).join('; ')}${blockers.list.length > 5 ? '; …' : ''}; ` +
            (this.endSessions
              ? 'they are ended (KILL) right before the swap (endSessions)'
              : `the swap waits up to ${this.lockWaitTimeout} s (lockWaitTimeout) for them, then stops with nothing changed; set endSessions to end them`),
        );
        if (this.endSessions && !(await this.mayKill(s))) problems.push('endSessions is set but the user may not end other users\' sessions (CONNECTION ADMIN or SUPER)');
      }
      if (problems.length > 0) {
        throw new ConflictError(
          `database ${this.name}: cannot restore safely: ${problems.join('; ')}`,
          missing.length > 0 ? `GRANT the missing privileges (docs/databases.md, MySQL/MariaDB), then run again; nothing was changed` : 'nothing was changed',
        );
      }
      return { tool: `${tools.client} ${clientVersion}`, serverVersion: s.version, notes };
    }, 'check the server for a restore');
  }

  private async objectCounts(s: MysqlSession, schema: string): Promise<string> {
    const lit = literal(schema);
    const [[views, triggers, routines, events]] = (await s.rows(
      `SELECT (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${lit}),
              (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${lit}),
              (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${lit}),
              (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${lit})`,
    )) as [[string, string, string, string]];
    return `${views} view(s), ${triggers} trigger(s), ${routines} routine(s), ${events} event(s)`;
  }

  /**
   * Privileges the restore needs on the live, staged and parked schemas,
   * from the grants the server shows for this user (global, or on a schema
   * pattern that matches the name). Grants through roles are not seen: with
   * an active role this reports nothing rather than a false refusal.
   */
  private async missingPrivileges(s: MysqlSession, schemas: string[]): Promise<string[]> {
    const needed = ['SELECT', 'INSERT', 'CREATE', 'DROP', 'ALTER', 'INDEX', 'LOCK TABLES', 'CREATE VIEW', 'SHOW VIEW', 'TRIGGER', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT'];
    const [[grantee, role]] = (await s.rows(
      `SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), ''''), ${s.mariadb ? 'CURRENT_ROLE()' : 'NULL'}`,
    )) as [[string, string | null]];
    if (role) return [];
    const global = new Set(await s.column(`SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ${literal(grantee)}`));
    const names = schemas.map((n) => `SELECT ${literal(n)} AS n`).join(' UNION ALL ');
    const perSchema = await s.rows(
      `SELECT x.n, p.PRIVILEGE_TYPE FROM (${names}) x JOIN information_schema.SCHEMA_PRIVILEGES p ON x.n LIKE p.TABLE_SCHEMA WHERE p.GRANTEE = ${literal(grantee)}`,
    );
    const missing: string[] = [];
    for (const schema of schemas) {
      const have = new Set(perSchema.filter((r) => r[0] === schema).map((r) => r[1]!));
      const lacking = needed.filter((p) => !global.has(p) && !have.has(p));
      if (lacking.length > 0) missing.push(`${lacking.join(', ')} on ${schema}`);
    }
    return missing;
  }

  private async mayKill(s: MysqlSession): Promise<boolean> {
    const rows = await s.column(`SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`);
    return rows.some((p) => p === 'SUPER' || p === 'CONNECTION ADMIN');
  }

  /**
   * Sessions that hold, or may hold, a metadata lock on the schema: those
   * with a lock the server names (MariaDB's METADATA_LOCK_INFO plugin, MySQL's
   * performance_schema), else those using the schema with an open transaction
   * or a running statement.
   */
  private async blockers(s: MysqlSession, schemas: string[] = [this.live]): Promise<{ visible: boolean; list: SessionInfo[] }> {
    const names = schemas.map(literal).join(', ');
    const locked = new Set<string>();
    for (const sql of [
      `SELECT DISTINCT THREAD_ID FROM information_schema.METADATA_LOCK_INFO WHERE TABLE_SCHEMA IN (${names})`,
      `SELECT DISTINCT t.PROCESSLIST_ID FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID WHERE m.OBJECT_SCHEMA IN (${names})`,
    ]) {
      try {
        for (const id of await s.column(sql)) locked.add(id);
      } catch {
        // not available on this server
      }
    }
    let rows: Array<Array<string | null>>;
    let visible = true;
    try {
      rows = await s.rows(
        `SELECT p.ID, p.USER, p.HOST, p.DB, p.COMMAND, p.TIME, LEFT(p.INFO, 100), t.trx_started, TIMESTAMPDIFF(SECOND, t.trx_started, NOW())
         FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
         WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Killed')
         ORDER BY p.ID`,
      );
    } catch (error) {
      if (!(error instanceof MysqlError) || error.errno !== ER.specificAccessDenied) throw error;
      visible = false;
      rows = await s.rows(`SELECT ID, USER, HOST, DB, COMMAND, TIME, LEFT(INFO, 100), NULL, NULL FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()`);
    }
    const list: SessionInfo[] = [];
    for (const row of rows) {
      const [id, user, host, db, command, time, info, trx, trxAge] = row.map((v) => v ?? null);
      const busy = trx !== null || command !== 'Sleep';
      const onSchema = locked.has(id!) || (busy && db !== null && schemas.includes(db!));
      if (!onSchema) continue;
      list.push({
        id: Number(id), user: user ?? '', host: (host ?? '').replace(/:\d+$/, ''), db: db ?? null,
        what: trx !== null && command === 'Sleep' ? `idle in transaction ${trxAge ?? '?'} s` : trx !== null ? `in a transaction ${trxAge ?? '?'} s, running ${JSON.stringify(info ?? '')}` : `running ${JSON.stringify(info ?? '')} for ${time} s`,
      });
    }
    return { visible, list };
  }

  // --- stage -------------------------------------------------------------------

  async stage(input: Readable, job: RestoreJob): Promise<void> {
    const { staged } = this.names(job.jobId);
    const memo = job.memo as { staged?: StagedMemo; swap?: SwapPlan };
    if (memo.swap && memo.swap.phase !== 'swapping') {
      throw new RollbackError(`database ${this.name}: job ${job.jobId} has already swapped: stage again only after unswap`);
    }
    if (job.signal.aborted) throw new CancelledError(`database ${this.name}: staging interrupted before it began; nothing was made`);
    if (job.entry.absent) {
      input.resume();
      await this.session((s) => this.dropOurs(s, staged, false));
      memo.staged = { absent: true, triggers: [], events: {}, attrs: null };
      await job.save();
      return;
    }
    const attrs = await this.session(async (s) => {
      await this.dropOurs(s, staged, false);
      const wanted = attrsFrom(job.entry.details) ?? (await this.attrs(s, this.live));
      await s.exec(this.createSchemaSql(staged, wanted), `create schema ${staged}`);
      return wanted;
    }, 'prepare the staged schema');

    const statuses: Record<string, string> = {};
    const sequenceDefaults: SequenceDefault[] = [];
    const dumpedFrom = typeof job.entry.details?.database === 'string' ? job.entry.details.database : this.live;
    const filter = new DumpStatementFilter({
      // A trigger statement may name its schema (CREATE TRIGGER shop.t … ON shop.orders):
      // loading it as it is would create it in the live schema.
      trigger: (statement) => {
        crashPoint('stage:mid-load');
        return retargetTriggerText(statement, dumpedFrom, staged);
      },
      // Staged events stay disabled: they must not run against the staged copy (or elsewhere).
      event: (statement) => {
        statuses[dumpStatementName(statement)] = eventStatus(statement);
        return withEventStatus(statement, 'DISABLE');
      },
      dropLocks: true,
      renameSchema: { from: dumpedFrom, to: staged },
      sequenceDefaults: { from: dumpedFrom, found: sequenceDefaults },
    });
    try {
      const { client } = await this.tools();
      // --binary-mode: no client command is read inside the data; --comments: bodies keep theirs.
      const proc = startPiped(client, [...this.connArgs(), '--default-character-set=utf8mb4', '--binary-mode', '--comments', '--batch', staged], {
        env: this.env,
        stdout: 'ignore',
        label: client,
      });
      const abort = () => proc.kill();
      job.signal.addEventListener('abort', abort);
      try {
        const [fed, exited] = await Promise.allSettled([pipeline(input, filter, proc.stdin), proc.exit()]);
        if (job.signal.aborted) throw new CancelledError(`database ${this.name}: staging interrupted; ${staged} removed, nothing live was touched`);
        const code = exited.status === 'fulfilled' ? exited.value : 1;
        if (fed.status === 'rejected' && !isPipeError(fed.reason)) throw fed.reason;
        if (exited.status === 'rejected') throw exited.reason;
        if (code !== 0) throw this.toolError(client, code, proc.stderr(), 'the staged schema was dropped and nothing live was touched');
        if (fed.status === 'rejected') throw fed.reason;
        crashPoint('stage:loaded');
      } finally {
        job.signal.removeEventListener('abort', abort);
        proc.kill();
      }
      // The staged copy keeps no trigger: its triggers wait in the memo until the swap.
      await this.session(async (s) => {
        const objects = await readObjects(s, staged);
        memo.staged = {
          triggers: objects.triggers, events: statuses, attrs,
          sequenceDefaults: sequenceDefaults.map((d) => ({ ...d, expr: d.expr.replace(`val(${ident(dumpedFrom)}.`, `val(${ident(this.live)}.`) })),
        };
        await job.save();
        for (const t of objects.triggers) await dropDef(s, staged, 'TRIGGER', t.name);
      }, 'finish the staged schema');
    } catch (error) {
      await this.session((s) => this.dropOurs(s, staged, false)).catch(() => undefined);
      throw error;
    }
  }

  async discardStaged(job: RestoreJob): Promise<void> {
    const memo = job.memo as { staged?: StagedMemo; swap?: SwapPlan };
    const own = this.names(job.jobId).staged;
    const staged = this.stagedSchema(job.jobId, memo.staged);
    await this.session(async (s) => {
      // While swapped, an adopted copy's tables are live: only its empty schema may go.
      const swapped = memo.swap !== undefined && memo.swap.phase !== 'swapping';
      if (staged !== own) await this.dropOurs(s, staged, swapped);
      await this.dropOurs(s, own, false);
    }, 'drop the staged schema');
  }

  /** The schema that holds `jobId`'s staged copy; an adopted one only when its name is one of ours. */
  private stagedSchema(jobId: string, staged: StagedMemo | undefined): string {
    const own = this.names(jobId).staged;
    const other = staged?.schema;
    if (!other || other === own) return own;
    const id = /_rollback_([a-z0-9_]+)$/.exec(other)?.[1];
    if (!id || this.names(id).parked !== other || other === this.live) {
      throw new RollbackError(`database ${this.name}: the journal names ${other} as the staged copy; it is not one of git-rollback's parked copies of ${this.live}`);
    }
    return other;
  }

  // --- swap --------------------------------------------------------------------

  async swap(job: RestoreJob): Promise<void> {
    const memo = job.memo as { staged?: StagedMemo; swap?: SwapPlan };
    if (!memo.staged) throw new RollbackError(`database ${this.name}: nothing staged for job ${job.jobId}: stage() must run before swap()`);
    const staged = memo.staged;
    await this.session(async (s) => {
      await s.exec(`SET SESSION lock_wait_timeout = ${this.lockWaitTimeout}`);
      let plan = memo.swap;
      if (plan?.phase === 'swapped') return;
      if (plan?.phase === 'unswapping') {
        throw new RollbackError(`database ${this.name}: an unswap of job ${job.jobId} did not finish: run it again (to --abort) before swapping`);
      }
      if (!plan || !(await this.moved(s, job.jobId, plan))) {
        // An earlier attempt may have dropped live triggers before a rename that never came.
        if (plan) await this.repairLive(s, plan);
        plan = await this.plan(s, job, staged);
        memo.swap = plan;
        await job.save();
        crashPoint('swap:planned');
        await this.prepareParked(s, job.jobId, plan);
        if (this.endSessions) await this.endBlockers(s, job);
        await this.exchange(s, plan, job, 'swap');
        if (plan.liveTables.length === 0 && plan.stagedTables.length === 0) {
          plan.emptyMoved = true;
          await job.save();
        }
      }
      try {
        await this.finishSwap(s, job.jobId, plan, staged);
      } catch (error) {
        // Leave everything as before: undo what the swap did, then report.
        plan.phase = 'unswapping';
        await job.save();
        try {
          await this.unswapIn(s, job, plan, staged);
        } catch (revert) {
          throw new RollbackError(
            `database ${this.name}: the swap failed after its rename (${(error as Error).message}) and putting the previous tables back failed too: ${(revert as Error).message}`,
            'run the rollback again with --abort',
          );
        }
        throw error;
      }
      plan.phase = 'swapped';
      await job.save();
    }, 'swap');
  }

  /** Has the rename of this plan happened (tables in their swapped places)? */
  private async moved(s: MysqlSession, jobId: string, plan: SwapPlan): Promise<boolean> {
    const { parked } = this.names(jobId);
    const staged = plan.stagedSchema;
    if (plan.stagedTables.length > 0) {
      const where = await s.column(
        `SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_NAME = ${literal(plan.stagedTables[0]!)} AND TABLE_SCHEMA IN (${literal(staged)}, ${literal(this.live)})`,
      );
      return !where.includes(staged) && where.includes(this.live);
    }
    if (plan.liveTables.length > 0) {
      const where = await s.column(`SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_NAME = ${literal(plan.liveTables[0]!)} AND TABLE_SCHEMA = ${literal(parked)}`);
      return where.length > 0;
    }
    return plan.emptyMoved === true;
  }

  /** Live triggers and views an interrupted attempt dropped before its rename: put back. */
  private async repairLive(s: MysqlSession, plan: SwapPlan): Promise<void> {
    if (!plan.liveExisted) return;
    if (!(await this.schemaExists(s, this.live))) return;
    await this.ensureTriggers(s, this.live, plan.live.triggers);
    const views = new Set(await s.column(`SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${literal(this.live)}`));
    const missing = plan.live.views.filter((v) => plan.clashingViews.includes(v.name) && !views.has(v.name));
    if (missing.length > 0) await createViews(s, this.live, missing, false);
  }

  private async plan(s: MysqlSession, job: RestoreJob, staged: StagedMemo): Promise<SwapPlan> {
    const names = { staged: this.stagedSchema(job.jobId, staged) };
    const liveAttrs = await this.attrs(s, this.live);
    const parkOnly = staged.absent === true;
    if (!parkOnly && !(await this.schemaExists(s, names.staged))) {
      throw new RollbackError(`database ${this.name}: the staged schema ${names.staged} is missing: stage again`);
    }
    const [liveTables, live, stagedTables, stagedObjects, stagedAttrs] = await Promise.all([
      liveAttrs ? this.tables(s, this.live) : Promise.resolve([]),
      liveAttrs ? readObjects(s, this.live) : Promise.resolve(emptyObjects()),
      parkOnly ? Promise.resolve([]) : this.tables(s, names.staged),
      parkOnly ? Promise.resolve(emptyObjects()) : readObjects(s, names.staged),
      parkOnly ? Promise.resolve(null) : this.attrs(s, names.staged),
    ]);
    if (stagedObjects.triggers.length > 0) {
      throw new RollbackError(`database ${this.name}: ${names.staged} holds triggers: it was not made by stage() of this version; stage again`);
    }
    const incoming = new Set(stagedTables);
    return {
      phase: 'swapping',
      stagedSchema: names.staged,
      parkOnly,
      liveExisted: liveAttrs !== null,
      liveTables,
      stagedTables,
      live,
      liveAttrs,
      staged: stagedObjects,
      stagedAttrs: staged.attrs ?? stagedAttrs,
      clashingViews: live.views.filter((v) => incoming.has(v.name)).map((v) => v.name),
    };
  }

  /** The (empty) parked schema, before the rename. Its objects come in completeParked(): they are not on the way to service. */
  private async prepareParked(s: MysqlSession, jobId: string, plan: SwapPlan): Promise<void> {
    if (!plan.liveExisted) return;
    const { parked } = this.names(jobId);
    await s.exec(this.createSchemaSql(parked, plan.liveAttrs), `create schema ${parked}`);
  }

  /**
   * Makes the parked copy whole, after service is back (dumpParked calls it
   * first): the previous live objects (events disabled), and guard triggers
   * (before its own) that refuse every row change.
   */
  private async completeParked(s: MysqlSession, jobId: string, plan: SwapPlan): Promise<void> {
    if (!plan.liveExisted) return;
    const { parked } = this.names(jobId);
    const live = this.live;
    await s.exec(this.createSchemaSql(parked, plan.liveAttrs), `create schema ${parked}`);
    await this.guard(s, parked, plan.liveTables, plan.live.triggers.map((t) => t.name));
    await this.ensureTriggers(s, parked, plan.live.triggers.map((t) => retarget(t, live, parked)));
    await this.replaceObjects(s, parked, {
      triggers: [],
      views: plan.live.views.map((v) => retarget(v, live, parked)),
      routines: plan.live.routines,
      events: plan.live.events.map((e) => ({ ...e, sql: withEventStatus(e.sql, 'DISABLE') })),
    });
  }

  /**
   * The one moment the live schema changes: with no lock in the way (a
   * LOCK TABLES probe, bounded by lock_wait_timeout), drop the live triggers
   * (RENAME cannot move them), rename every table in one statement, create
   * the incoming triggers. A rename that fails puts the triggers back.
   */
  private async exchange(s: MysqlSession, plan: SwapPlan, job: RestoreJob, direction: 'swap' | 'unswap'): Promise<void> {
    const { parked } = this.names(job.jobId);
    const staged = plan.stagedSchema;
    const live = this.live;
    let renames: Array<[string, string, string]>;
    let drops: Array<{ schema: string; def: Def }>;
    let after: { schema: string; triggers: Def[]; attrs: SchemaAttrs | null };
    const stagedMemo = (job.memo as { staged?: StagedMemo }).staged!;
    if (direction === 'swap') {
      renames = [...plan.liveTables.map((t) => [live, parked, t] as [string, string, string]), ...plan.stagedTables.map((t) => [staged, live, t] as [string, string, string])];
      drops = [
        ...plan.live.triggers.map((def) => ({ schema: live, def })),
        ...plan.live.views.filter((v) => plan.clashingViews.includes(v.name)).map((def) => ({ schema: live, def })),
      ];
      after = { schema: live, triggers: stagedMemo.triggers.map((t) => retarget(t, staged, live)), attrs: plan.parkOnly ? null : plan.stagedAttrs };
      if (!plan.liveExisted && !plan.parkOnly) await s.exec(this.createSchemaSql(live, plan.stagedAttrs), `create schema ${live}`);
    } else {
      renames = [...plan.stagedTables.map((t) => [live, staged, t] as [string, string, string]), ...plan.liveTables.map((t) => [parked, live, t] as [string, string, string])];
      const [liveNow, parkedNow] = await Promise.all([readObjects(s, live).catch(() => emptyObjects()), readObjects(s, parked).catch(() => emptyObjects())]);
      drops = [...liveNow.triggers.map((def) => ({ schema: live, def })), ...parkedNow.triggers.map((def) => ({ schema: parked, def }))];
      after = { schema: live, triggers: plan.live.triggers, attrs: plan.liveAttrs };
      await s.exec(this.createSchemaSql(staged, plan.stagedAttrs), `create schema ${staged}`);
      if (!(await this.schemaExists(s, live))) await s.exec(this.createSchemaSql(live, plan.liveAttrs), `create schema ${live}`);
    }
    if (renames.length === 0) return;
    const tables = renames.map(([from, , t]) => `${ident(from)}.${ident(t)} WRITE`);
    if (drops.length > 0) {
      // Wait for locks before dropping anything: a failure here changed nothing.
      try {
        await s.exec(`LOCK TABLES ${tables.join(', ')}`, 'wait for the tables to be free');
      } catch (error) {
        throw await this.blocked(s, error, direction);
      } finally {
        await s.exec('UNLOCK TABLES').catch(() => undefined);
      }
    }
    const dropped: Array<{ schema: string; def: Def }> = [];
    try {
      const byTable = new Map<string, Array<{ schema: string; def: Def }>>();
      for (const d of drops) {
        const key = `${d.schema}\u0000${d.def.kind === 'TRIGGER' ? d.def.table : '\u0000views'}`;
        byTable.set(key, [...(byTable.get(key) ?? []), d]);
      }
      await this.spread(s, [...byTable.values()], async (session, d) => {
        await dropDef(session, d.schema, d.def.kind, d.def.name);
        dropped.push(d);
      });
      crashPoint(`${direction}:dropped`);
      await s.exec(`RENAME TABLE ${renames.map(([from, to, t]) => `${ident(from)}.${ident(t)} TO ${ident(to)}.${ident(t)}`).join(', ')}`, `${direction} the tables`);
    } catch (error) {
      // RENAME TABLE is all or nothing: the tables did not move. Put back what was dropped.
      const problems: string[] = [];
      for (const schema of new Set(dropped.map((d) => d.schema))) {
        const defs = dropped.filter((d) => d.schema === schema).map((d) => d.def);
        try {
          await this.ensureTriggers(s, schema, defs.filter((d) => d.kind === 'TRIGGER'));
          const views = defs.filter((d) => d.kind === 'VIEW');
          if (views.length > 0) await createViews(s, schema, views, true);
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
      if (problems.length > 0) {
        throw new RollbackError(
          `database ${this.name}: the ${direction} failed (${(error as Error).message}) and putting back the triggers it had dropped failed: ${problems.join('; ')}`,
          'run the rollback again with --continue or --abort',
        );
      }
      throw error instanceof MysqlError && error.errno === ER.lockWaitTimeout ? await this.blocked(s, error, direction) : error;
    }
    crashPoint(`${direction}:renamed`);
    // Attributes first: a trigger records the schema's collation when it is made.
    if (after.attrs) await this.alterAttrs(s, after.schema, after.attrs);
    if (direction === 'swap') await this.sequenceDefaults(s, stagedMemo.sequenceDefaults ?? []);
    await this.ensureTriggers(s, after.schema, after.triggers);
  }

  /** A lock wait that ran out: say who holds the lock, and that nothing changed. */
  private async blocked(s: MysqlSession, error: unknown, direction: string): Promise<unknown> {
    if (!(error instanceof MysqlError) || error.errno !== ER.lockWaitTimeout) return error;
    const { list } = await this.blockers(s).catch(() => ({ list: [] as SessionInfo[] }));
    const who = list.length > 0 ? `: ${list.slice(0, 5).map(describeSession).join('; ')}` : ' (not visible to this user)';
    return new MysqlError(
      `database ${this.name}: the ${direction} waited ${this.lockWaitTimeout} s (lockWaitTimeout) for sessions holding locks on ${this.live} and stopped; nothing was changed. Sessions${who}`,
      ER.lockWaitTimeout,
      'HY000',
      `end those transactions (or set databases.${this.name}.endSessions: true to have them ended), or raise databases.${this.name}.lockWaitTimeout, then run again`,
    );
  }

  /** endSessions: ends (KILL CONNECTION) every session holding a lock on the schemas the swap renames. */
  private async endBlockers(s: MysqlSession, job: RestoreJob): Promise<void> {
    const { staged, parked } = this.names(job.jobId);
    const { list } = await this.blockers(s, [this.live, staged, parked]);
    for (const session of list) {
      try {
        await s.exec(`KILL CONNECTION ${session.id}`, `end session ${session.id}`);
        job.warn(`database ${this.name}: ended session ${describeSession(session)} (endSessions)`);
      } catch (error) {
        if (!(error instanceof MysqlError) || error.errno !== 1094 /* unknown thread: gone already */) throw error;
      }
    }
  }

  /**
   * Makes `schema`'s triggers equal `defs` (in order) for the tables `defs`
   * touch: those already there in the right order stay; a table whose set or
   * order differs gets them all dropped and made again.
   */
  private async ensureTriggers(s: MysqlSession, schema: string, defs: Def[]): Promise<void> {
    if (defs.length === 0) return;
    const [rows, collation] = await Promise.all([
      s.rows(
        `SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${literal(schema)}
         ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
      ),
      collationOf(s, schema),
    ]);
    const byTable = new Map<string, Def[]>();
    for (const d of defs) byTable.set(d.table!, [...(byTable.get(d.table!) ?? []), d]);
    const work: Array<{ table: string; drop: string[]; create: Def[] }> = [];
    for (const [table, wanted] of byTable) {
      // Our guards on a parked copy come first and are not the restore's business.
      const have = rows.filter((r) => r[0] === table && !GUARD.test(r[1]!)).map((r) => r[1]!);
      const wantedNames = wanted.map((d) => d.name);
      const extra = have.filter((n) => !wantedNames.includes(n));
      if (extra.length > 0) {
        // Not ours to drop: report rather than guess.
        throw new RollbackError(`database ${this.name}: ${schema}.${table} has trigger(s) ${extra.join(', ')} the restore did not expect`);
      }
      const prefixOk = wantedNames.slice(0, have.length).every((n, i) => n === have[i]);
      if (prefixOk) work.push({ table, drop: [], create: wanted.slice(have.length) });
      else work.push({ table, drop: have, create: wanted });
    }
    // Tables are independent: their trigger DDL runs side by side, unless one is made under
    // another schema collation (made by switching the schema's, which the others would see).
    const switching = defs.some((d) => d.dbCollation && d.dbCollation !== collation);
    await this.spread(
      s,
      work.filter((w) => w.drop.length + w.create.length > 0).map((w) => [w]),
      async (session, w) => {
        for (const n of w.drop) await dropDef(session, schema, 'TRIGGER', n);
        await createTriggers(session, schema, w.create, collation);
      },
      switching ? 1 : PARALLEL,
    );
  }

  /**
   * Runs every group's items in order, the groups spread over up to `width`
   * sessions (the first is `s`): DDL on different tables then runs side by
   * side on the server (each DROP/CREATE TRIGGER waits on its own file sync).
   * Every group runs to its end; the first failure is thrown after.
   */
  private async spread<T>(s: MysqlSession, groups: T[][], work: (session: MysqlSession, item: T) => Promise<void>, width = PARALLEL): Promise<void> {
    const busy = groups.filter((g) => g.length > 0);
    const n = Math.min(width, busy.length);
    if (n <= 1) {
      for (const g of busy) for (const x of g) await work(s, x);
      return;
    }
    const extra: MysqlSession[] = [];
    try {
      extra.push(...(await Promise.all(Array.from({ length: n - 1 }, () => MysqlSession.open(this.endpoint, 'open a session')))));
      await Promise.all(extra.map((e) => e.exec(`SET SESSION lock_wait_timeout = ${this.lockWaitTimeout}`)));
      let next = 0;
      const results = await Promise.allSettled(
        [s, ...extra].map(async (session) => {
          while (next < busy.length) {
            const g = busy[next++]!;
            for (const x of g) await work(session, x);
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      await Promise.all(extra.map((e) => e.close()));
    }
  }

  /** After the rename: the live schema's triggers, views, routines, events and attributes become the restored ones. */
  private async finishSwap(s: MysqlSession, _jobId: string, plan: SwapPlan, stagedMemo: StagedMemo): Promise<void> {
    const staged = plan.stagedSchema;
    const live = this.live;
    if (!plan.parkOnly) {
      if (plan.stagedAttrs) await this.alterAttrs(s, live, plan.stagedAttrs);
      await this.sequenceDefaults(s, stagedMemo.sequenceDefaults ?? []);
      await this.ensureTriggers(s, live, stagedMemo.triggers.map((t) => retarget(t, staged, live)));
      const target: SchemaObjects = {
        triggers: [],
        views: plan.staged.views.map((v) => retarget(v, staged, live)),
        routines: plan.staged.routines,
        events: plan.staged.events.map((e) => ({ ...e, sql: withEventStatus(e.sql, stagedMemo.events[e.name] ?? eventStatus(e.sql)) })),
      };
      await this.replaceObjects(s, live, target);
      crashPoint('swap:live-done');
    }
    if (plan.parkOnly && plan.liveExisted) await this.dropOurs2(s, live);
    if (!plan.parkOnly) await this.dropOurs(s, staged, true);
  }

  /** Puts back the sequence defaults staging left out, now that their sequences are live (ALTER checks they exist). */
  private async sequenceDefaults(s: MysqlSession, defaults: SequenceDefault[]): Promise<void> {
    for (const d of defaults) {
      const [current] = await s.rows(
        `SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${literal(this.live)} AND TABLE_NAME = ${literal(d.table)} AND COLUMN_NAME = ${literal(d.column)}`,
      );
      if (!current || current[0] === d.expr) continue;
      await s.exec(`ALTER TABLE ${ident(this.live)}.${ident(d.table)} ALTER COLUMN ${ident(d.column)} SET DEFAULT ${d.expr}`, `set the default of ${d.table}.${d.column}`);
    }
  }

  /** Park-only swap: the live schema, its tables gone, goes too (the entry says it was absent). */
  private async dropOurs2(s: MysqlSession, live: string): Promise<void> {
    const left = await this.tables(s, live);
    if (left.length > 0) throw new RollbackError(`database ${this.name}: ${live} still holds ${left.join(', ')} after its tables were parked`);
    await s.exec(`DROP DATABASE IF EXISTS ${ident(live)}`, `drop schema ${live} (absent at the point)`);
  }

  /** Makes `schema`'s views, routines and events equal `target`: changed ones replaced, missing made, others dropped. */
  private async replaceObjects(s: MysqlSession, schema: string, target: SchemaObjects): Promise<void> {
    const now = await readObjects(s, schema);
    const same = (a: Def, b: Def | undefined) =>
      b !== undefined && a.sql === b.sql && a.sqlMode === b.sqlMode && a.charset === b.charset && a.collation === b.collation && a.timeZone === b.timeZone && a.dbCollation === b.dbCollation;
    const find = (list: Def[], d: Def) => list.find((x) => x.name === d.name && x.kind === d.kind);
    // Routines before views: a view may call a function (CREATE VIEW checks it exists).
    for (const r of target.routines) if (!same(r, find(now.routines, r))) await createDef(s, schema, r, true);
    const views = target.views.filter((v) => !same(v, find(now.views, v)));
    if (views.length > 0) await createViews(s, schema, views, true);
    for (const e of target.events) if (!same(e, find(now.events, e))) await createDef(s, schema, e, true);
    for (const v of now.views) if (!find(target.views, v)) await dropDef(s, schema, 'VIEW', v.name);
    for (const r of now.routines) if (!find(target.routines, r)) await dropDef(s, schema, r.kind, r.name);
    for (const e of now.events) if (!find(target.events, e)) await dropDef(s, schema, 'EVENT', e.name);
  }

  private async alterAttrs(s: MysqlSession, schema: string, attrs: SchemaAttrs): Promise<void> {
    const now = await this.attrs(s, schema);
    if (!now || (now.charset === attrs.charset && now.collation === attrs.collation && (now.comment ?? '') === (attrs.comment ?? ''))) return;
    const comment = (now.comment ?? '') !== (attrs.comment ?? '') ? ` COMMENT ${literal(attrs.comment ?? '')}` : '';
    await s.exec(`ALTER DATABASE ${ident(schema)} CHARACTER SET ${attrs.charset} COLLATE ${attrs.collation}${comment}`, `set the attributes of ${schema}`);
  }

  /**
   * Guard triggers on every parked table (first in order): any INSERT,
   * UPDATE or DELETE is refused, so the parked copy stays what its dump
   * recorded (fast undo checks they are still the same ones).
   */
  private async guard(s: MysqlSession, schema: string, tables: string[], taken: string[]): Promise<void> {
    const existing = new Set(await s.column(`SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${literal(schema)}`));
    const base = new Set(await s.column(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${literal(schema)} AND TABLE_TYPE <> 'SEQUENCE' AND ${MOVABLE}`));
    const groups: Array<Array<{ table: string; name: string; event: string }>> = [];
    for (const [i, table] of tables.entries()) {
      if (!base.has(table)) continue;
      const group: Array<{ table: string; name: string; event: string }> = [];
      for (const [letter, event] of [['i', 'INSERT'], ['u', 'UPDATE'], ['d', 'DELETE']] as const) {
        const name = `_rb_guard_${i}_${letter}`;
        if (taken.includes(name)) throw new RollbackError(`database ${this.name}: a trigger of ${this.live} is named ${name}, a name git-rollback keeps for itself`);
        if (!existing.has(name)) group.push({ table, name, event });
      }
      groups.push(group);
    }
    await this.spread(s, groups, (session, g) =>
      session.createIn(
        schema,
        `CREATE TRIGGER ${ident(g.name)} BEFORE ${g.event} ON ${ident(g.table)} FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'git-rollback: this parked copy is read-only (drop it with git rollback prune)'`,
        {},
        `guard ${schema}.${g.table}`,
      ),
    );
  }

  // --- unswap ------------------------------------------------------------------

  async unswap(job: RestoreJob): Promise<void> {
    const memo = job.memo as { staged?: StagedMemo; swap?: SwapPlan };
    const plan = memo.swap;
    if (!plan) return;
    await this.session(async (s) => {
      await s.exec(`SET SESSION lock_wait_timeout = ${this.lockWaitTimeout}`);
      await this.unswapIn(s, job, plan, memo.staged ?? { triggers: [], events: {}, attrs: null });
    }, 'unswap');
  }

  private async unswapIn(s: MysqlSession, job: RestoreJob, plan: SwapPlan, stagedMemo: StagedMemo): Promise<void> {
    const memo = job.memo as { swap?: SwapPlan };
    const { parked } = this.names(job.jobId);
    const moved = await this.moved(s, job.jobId, plan);
    if (plan.phase === 'swapping' && !moved) {
      // The rename never happened: put back what an interrupted attempt dropped; drop the empty parked schema.
      await this.repairLive(s, plan);
      if (await this.schemaExists(s, parked)) await this.dropOurs(s, parked, true);
      delete memo.swap;
      await job.save();
      return;
    }
    if (moved) {
      plan.phase = 'unswapping';
      await job.save();
      // Make the swapped state whole first (an interrupted swap or unswap may have left it half made).
      await this.finishSwap(s, job.jobId, plan, stagedMemo);
      await this.exchange(s, plan, job, 'unswap');
      if (plan.liveTables.length === 0 && plan.stagedTables.length === 0) {
        plan.emptyMoved = false;
        await job.save();
      }
    }
    await this.finishUnswap(s, job.jobId, plan);
    delete memo.swap;
    await job.save();
  }

  private async finishUnswap(s: MysqlSession, jobId: string, plan: SwapPlan): Promise<void> {
    const { parked } = this.names(jobId);
    const staged = plan.stagedSchema;
    const live = this.live;
    if (plan.liveExisted) {
      await s.exec(this.createSchemaSql(live, plan.liveAttrs), `create schema ${live}`);
      if (plan.liveAttrs) await this.alterAttrs(s, live, plan.liveAttrs);
      await this.ensureTriggers(s, live, plan.live.triggers);
      await this.replaceObjects(s, live, plan.live);
    }
    if (!plan.parkOnly) {
      await s.exec(this.createSchemaSql(staged, plan.stagedAttrs), `create schema ${staged}`);
      await this.replaceObjects(s, staged, plan.staged);
    }
    if (await this.schemaExists(s, parked)) await this.dropOurs(s, parked, true);
    if (!plan.liveExisted && (await this.schemaExists(s, live))) await this.dropOurs2(s, live);
  }

  // --- the parked copy -----------------------------------------------------------

  async dumpParked(job: RestoreJob, out: Writable): Promise<DumpOutcome & { absent?: boolean }> {
    const plan = (job.memo as { swap?: SwapPlan }).swap;
    if (!plan || plan.phase !== 'swapped') {
      const error = new RollbackError(`database ${this.name}: job ${job.jobId} has not swapped: there is no parked copy to dump`);
      out.destroy(error);
      throw error;
    }
    const { parked } = this.names(job.jobId);
    let tools: Awaited<ReturnType<MysqlEngine['tools']>>;
    let facts: Awaited<ReturnType<MysqlEngine['dumpFacts']>>;
    let before: string | null;
    try {
      if (!plan.liveExisted) {
        tools = await this.tools();
        out.end();
        return { format: FORMAT, ext: 'sql', tool: `${tools.dump} ${tools.dumpVersion}`, absent: true, details: { database: this.live } };
      }
      await this.session((s) => this.completeParked(s, job.jobId, plan), 'complete the parked copy');
      [tools, facts, before] = await Promise.all([this.tools(), this.dumpFacts(parked), this.session((s) => this.proof(s, parked))]);
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const events = Object.fromEntries(plan.live.events.map((e) => [e.name, eventStatus(e.sql)]));
    const filter = new DumpStatementFilter({
      // Our guards are not part of the data; qualifiers name the live schema again, as a dump of it would.
      trigger: (statement) => (GUARD.test(triggerHeader(statement).name) ? null : retargetTriggerText(statement, parked, this.live)),
      event: (statement) => withEventStatus(statement, events[dumpStatementName(statement)] ?? eventStatus(statement)),
      renameSchema: { from: parked, to: this.live },
    });
    const { args, details, warnings } = this.historyPlan(tools, facts, parked);
    const proc = startPiped(tools.dump, args, { env: this.env, stdin: 'ignore', label: tools.dump });
    await this.streamDump(proc, out, tools.dump, filter);
    const after = await this.session((s) => this.proof(s, parked));
    if (!before || before !== after) {
      throw new RollbackError(`database ${this.name}: the parked copy ${parked} changed while it was dumped (or lost its guards): the dump may not match it`, 'run the dump again (to --continue)');
    }
    const parkedDetails: ParkedDetails = { jobId: safeJobId(job.jobId), schema: parked, proof: after, events };
    return {
      format: FORMAT, ext: 'sql', tool: `${tools.dump} ${tools.dumpVersion}`, serverVersion: facts.version,
      details: { ...details, ...attrDetails(plan.liveAttrs ?? facts.attrs!), parked: parkedDetails },
      ...(warnings.length ? { warnings } : {}),
    };
  }

  async dropParked(jobId: string): Promise<void> {
    const { parked } = this.names(jobId);
    await this.session((s) => this.dropOurs(s, parked, false), 'drop the parked schema');
  }

  /**
   * A digest that is equal exactly when the parked copy is as its dump saw it:
   * table ids (a new one after TRUNCATE, ALTER or any rebuild), table and
   * object definitions with their creation times (a guard trigger dropped and
   * made again has a new one), sequence states, history row counts; rows of
   * tables that are not InnoDB by CHECKSUM TABLE. With the guards refusing
   * every row change, equal ids mean equal rows. null: no proof possible
   * (a guard is missing).
   */
  private async proof(s: MysqlSession, schema: string): Promise<string | null> {
    const lit = literal(schema);
    const hash = createHash('sha256');
    const add = (...parts: unknown[]) => hash.update(JSON.stringify(parts)).update('\n');
    const attrs = await this.attrs(s, schema);
    if (!attrs) return null;
    add('schema', attrs);
    const tables = await s.rows(`SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${lit} ORDER BY TABLE_NAME`);
    let ids = new Map<string, string>();
    if (/^[A-Za-z0-9_]+$/.test(schema)) {
      try {
        ids = new Map(
          (await s.rows(`SELECT NAME, TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME LIKE ${literal(`${schema.replace(/_/g, '\\_')}/%`)}`)).map((r) => [r[0]!, r[1]!]),
        );
      } catch {
        // no PROCESS privilege: checksums below
      }
    }
    const triggers = await s.rows(
      `SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, CREATED, ACTION_STATEMENT, DEFINER
       FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${lit} ORDER BY 1, 3, 4, 5`,
    );
    for (const [name, type, engine] of tables) {
      if (type === 'VIEW') continue;
      const [[, create]] = (await s.rows(`SHOW CREATE TABLE ${ident(schema)}.${ident(name!)}`)) as [[string, string]];
      add('table', name, type, engine, create);
      if (type === 'SEQUENCE') {
        add('sequence', await s.rows(`SELECT * FROM ${ident(schema)}.${ident(name!)}`));
        continue;
      }
      const guards = triggers.filter((t) => t[0] === name && GUARD.test(t[1]!) && t[4] === '1').length;
      if (guards !== 3) return null;
      const innodbIds = [...ids.entries()].filter(([n]) => n === `${schema}/${name}` || n.startsWith(`${schema}/${name}#`)).map((e) => e.join('='));
      if (engine === 'InnoDB' && innodbIds.length > 0) add('id', innodbIds.sort());
      else add('checksum', await s.rows(`CHECKSUM TABLE ${ident(schema)}.${ident(name!)} EXTENDED`));
      // DELETE HISTORY removes history rows without firing a trigger.
      if (type === 'SYSTEM VERSIONED') add('history', await s.rows(`SELECT COUNT(*) FROM ${ident(schema)}.${ident(name!)} FOR SYSTEM_TIME ALL`));
    }
    add('triggers', triggers);
    add('views', await s.rows(`SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, DEFINER, SECURITY_TYPE, ALGORITHM FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${lit} ORDER BY 1`));
    add('routines', await s.rows(`SELECT ROUTINE_NAME, ROUTINE_TYPE, CREATED, LAST_ALTERED, ROUTINE_DEFINITION, DEFINER, SQL_MODE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${lit} ORDER BY 1, 2`));
    add('events', await s.rows(`SELECT EVENT_NAME, STATUS, CREATED, LAST_ALTERED, EVENT_DEFINITION, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${lit} ORDER BY 1`));
    return hash.digest('hex');
  }

  /**
   * Fast undo: the parked copy of `fromJobId` becomes this job's staged copy
   * where it is (no copy, no rename now: the swap renames its tables straight
   * into place). Only when proof() equals the one recorded with its dump;
   * otherwise resolves false having changed nothing. Its guard and own
   * triggers are dropped (the rename needs that; its own wait in the memo,
   * as a staged copy's do).
   */
  async adoptParked(fromJobId: string, job: RestoreJob): Promise<boolean> {
    const from = this.names(fromJobId).parked;
    const memo = job.memo as { staged?: StagedMemo; swap?: SwapPlan };
    const recorded = job.entry.details?.parked as ParkedDetails | undefined;
    if (!recorded || recorded.schema !== from || typeof recorded.proof !== 'string') return false;
    return this.session(async (s) => {
      await s.exec(`SET SESSION lock_wait_timeout = ${this.lockWaitTimeout}`);
      if (memo.staged?.schema !== from) {
        if (!(await this.schemaExists(s, from))) return false;
        const now = await this.proof(s, from);
        if (now !== recorded.proof) {
          job.warn(`database ${this.name}: the parked copy ${from} is not provably unchanged since its dump: restoring from the dump instead`);
          return false;
        }
        const objects = await readObjects(s, from);
        memo.staged = {
          schema: from,
          triggers: objects.triggers.filter((t) => !GUARD.test(t.name)),
          events: recorded.events ?? {},
          attrs: await this.attrs(s, from),
        };
        delete memo.swap;
        await job.save();
        // A staged copy of this job from an earlier attempt: not needed any more.
        await this.dropOurs(s, this.names(job.jobId).staged, false);
      }
      const triggers = await s.rows(`SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${literal(from)}`);
      const byTable = new Map<string, string[]>();
      for (const [table, name] of triggers) byTable.set(table!, [...(byTable.get(table!) ?? []), name!]);
      await this.spread(s, [...byTable.values()], (session, name) => dropDef(session, from, 'TRIGGER', name));
      crashPoint('adopt:dropped');
      return true;
    }, 'adopt the parked copy');
  }

  // --- status and comparison ---------------------------------------------------

  async leftovers(): Promise<TempObject[]> {
    const schemas = await this.session((s) => s.column(`SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%\\_rb\\_tmp\\_%' OR SCHEMA_NAME LIKE '%\\_rollback\\_%'`), 'list leftovers');
    const found: TempObject[] = [];
    for (const name of schemas) {
      for (const [marker, role] of [['_rb_tmp_', 'staged'], ['_rollback_', 'parked']] as const) {
        let at = name.indexOf(marker);
        while (at >= 0) {
          const id = name.slice(at + marker.length);
          if (/^[a-z0-9_]+$/.test(id) && /[a-z0-9]/.test(id) && derivedName(this.live, `${marker}${id}`, MAX_IDENT) === name) {
            found.push({ database: this.name, engine: this.engine, role, kind: 'schema', name, jobId: id });
            break;
          }
          at = name.indexOf(marker, at + 1);
        }
      }
    }
    return found;
  }

  /**
   * The live schema's identity: its tables' InnoDB ids (a swapped-in table
   * has another) and every definition, not its rows. null when the ids
   * cannot be read (the user lacks PROCESS) and the definitions alone could
   * not tell two copies apart.
   */
  async fingerprint(): Promise<string | null> {
    return this.session(async (s) => {
      const schema = this.live;
      const lit = literal(schema);
      const attrs = await this.attrs(s, schema);
      if (!attrs) return 'absent';
      const hash = createHash('sha256');
      const add = (...parts: unknown[]) => hash.update(JSON.stringify(parts)).update('\n');
      add(attrs);
      const tables = await s.rows(`SELECT TABLE_NAME, TABLE_TYPE, ENGINE, CREATE_OPTIONS, TABLE_COLLATION, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${lit} ORDER BY 1`);
      add(tables);
      if (tables.some((t) => t[2] === 'InnoDB')) {
        if (!/^[A-Za-z0-9_]+$/.test(schema)) return null;
        try {
          add(await s.rows(`SELECT NAME, TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME LIKE ${literal(`${schema.replace(/_/g, '\\_')}/%`)} ORDER BY 1`));
        } catch {
          return null;
        }
      }
      add(await s.rows(`SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLLATION_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${lit} ORDER BY 1, 3`));
      add(await s.rows(`SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, ACTION_STATEMENT, DEFINER, SQL_MODE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${lit} ORDER BY 1, 3, 4, 5`));
      add(await s.rows(`SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, DEFINER, SECURITY_TYPE, ALGORITHM FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${lit} ORDER BY 1`));
      add(await s.rows(`SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, DEFINER, SQL_MODE, SECURITY_TYPE, ROUTINE_COMMENT FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${lit} ORDER BY 1, 2`));
      add(await s.rows(`SELECT EVENT_NAME, STATUS, EVENT_DEFINITION, DEFINER, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, STARTS, ENDS, ON_COMPLETION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${lit} ORDER BY 1`));
      return hash.digest('hex');
    }, 'fingerprint the live schema');
  }

  /**
   * sha256 of the dump without its comment lines (host, server version and
   * the name of the schema it was read from): a dump of the parked copy and
   * one of the same data live compare equal.
   */
  async digest(input: Readable): Promise<string> {
    const hash = createHash('sha256');
    let carry = '';
    for await (const chunk of input) {
      const text = carry + (chunk as Buffer).toString('utf8');
      const lines = text.split('\n');
      carry = lines.pop()!;
      for (const line of lines) if (line.trim() !== '' && !line.startsWith('-- ') && line !== '--') hash.update(line).update('\n');
    }
    if (carry.trim() !== '' && !carry.startsWith('-- ') && carry !== '--') hash.update(carry).update('\n');
    return hash.digest('hex');
  }
}

/**
 * Test-only crash switch: SIGKILLs this process at the named point when
 * ROLLBACK_TEST_MYSQL_CRASH names it, so the tests prove every step can be
 * finished or undone by a later call after a crash exactly there.
 */
function crashPoint(name: string): void {
  if (process.env.ROLLBACK_TEST_MYSQL_CRASH === name) process.kill(process.pid, 'SIGKILL');
}

interface SessionInfo {
  id: number;
  user: string;
  host: string;
  db: string | null;
  what: string;
}

function describeSession(x: SessionInfo): string {
  return `#${x.id} ${x.user}@${x.host}${x.db ? ` on ${x.db}` : ''}, ${x.what}`;
}

/** Rewrites the schema qualifiers of a dump's trigger statement that name `from`. */
function retargetTriggerText(statement: string, from: string, to: string): string {
  const { qualifiers } = triggerHeader(statement);
  const spans = qualifiers.filter((q) => q.value === from);
  if (spans.length === 0) return statement;
  return retarget({ kind: 'TRIGGER', name: '', sql: statement }, from, to).sql;
}

/** lock_wait_timeout is whole seconds: a duration ("5s", "1500ms") or a number of seconds, rounded up, 1 s to 1 h. */
function lockWaitSeconds(name: string, value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_LOCK_WAIT;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null || !Number.isFinite(ms) || ms <= 0 || ms > 3_600_000) {
    throw new ConfigError(`databases.${name}.lockWaitTimeout: expected a duration from 1s to 1h ("5s", "30s"), got ${JSON.stringify(value)}`);
  }
  return Math.max(1, Math.ceil(ms / 1000));
}

function attrsOf(row: Record<string, unknown>): SchemaAttrs {
  const comment = row.SCHEMA_COMMENT;
  return {
    charset: String(row.DEFAULT_CHARACTER_SET_NAME),
    collation: String(row.DEFAULT_COLLATION_NAME),
    ...(typeof comment === 'string' && comment !== '' ? { comment } : {}),
  };
}

function attrsFrom(details: Record<string, unknown> | undefined): SchemaAttrs | null {
  if (!details || typeof details.charset !== 'string' || typeof details.collation !== 'string') return null;
  if (!/^[A-Za-z0-9_]+$/.test(details.charset) || !/^[A-Za-z0-9_]+$/.test(details.collation)) return null;
  return { charset: details.charset, collation: details.collation, ...(typeof details.comment === 'string' && details.comment ? { comment: details.comment } : {}) };
}

function attrDetails(attrs: SchemaAttrs): Record<string, unknown> {
  return { charset: attrs.charset, collation: attrs.collation, ...(attrs.comment ? { comment: attrs.comment } : {}) };
}

/**
 * Bytes a dump started ahead may write before anyone reads them (twice this
 * at most: both sides of the holding stream). The facts take one client
 * round trip, 10-50 ms: at ~100 MB/s a dump writes a few MiB meanwhile, and
 * it should not have to wait.
 */
const EARLY_HOLD = 8 * 1024 * 1024;

/**
 * The program with its output read into a holding stream at once: node
 * discards a child's unread output when it exits (a small dump may be done
 * before anyone reads it). The holder's buffer bounds what waits in memory;
 * beyond it the pipe fills and the program waits.
 */
function held(proc: Piped): Piped & { raw: Readable; holder: PassThrough } {
  const holder = new PassThrough({ highWaterMark: EARLY_HOLD });
  proc.stdout.pipe(holder);
  return { ...proc, stdout: holder, raw: proc.stdout, holder };
}

/** Stops a dump started ahead that is not used; its output is dropped. */
function discard(proc: Piped & { raw: Readable; holder: PassThrough }): void {
  proc.kill();
  proc.raw.unpipe(proc.holder);
  proc.raw.destroy();
  proc.holder.destroy();
}

/** "mariadb-dump from 10.11.9-MariaDB, client 10.11.9, for debian-linux-gnu" / "mysqldump  Ver 8.0.36 for Linux" → "10.11.9". */
function toolVersion(text: string): string {
  const distrib = /Distrib\s+([\d.]+)/.exec(text) ?? /from\s+([\d.]+)/.exec(text);
  return distrib?.[1] ?? versionOf(text.replace(/^.*?Ver\s+[\d.]+\s+/, ''));
}

function atLeast(version: string, wanted: number[]): boolean {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < wanted.length; i++) {
    const v = parts[i] ?? 0;
    if (v !== wanted[i]) return v > wanted[i]!;
  }
  return true;
}

function isPipeError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

/** The hint that fits an error, then what was being done. */
function withContext(hint: Msg | undefined, context: string): Msg | string {
  if (!hint) return context;
  return context ? msg('mysql.hintWithContext', { hint, context }) : hint;
}
