// PostgreSQL: `pg_dump -Fp` (plain SQL) streamed into the store, after one
// comment line holding the database-level attributes pg_dump leaves out
// (postgres-attributes.ts). A restore loads the dump with psql into
// `<db>_rb_tmp_<job>` created with those attributes, then swaps it in by
// renames in one transaction; the previous database is parked whole as
// `<db>_rollback_<job>` (connections off) until its dump is stored, for
// undo, or until prune.
//
// Restores are journaled (src/core/engine.ts): every method works out where
// the job stands from pg_database (names and oids) and the job's memo, so it
// can run twice or after a crash part-way through itself:
//   memo.stagedOid      oid of the staged copy, recorded only once it is
//                       loaded whole (a half-loaded copy is never swapped in)
//   memo.stagedAllowConn  ALLOW_CONNECTIONS it must have when live
//   memo.liveOid        oid of the live database before the swap (null: none),
//                       recorded before the swap
//   memo.liveAllowConn  its ALLOW_CONNECTIONS then
//   memo.adoptedFrom    the earlier job's parked name, when adoptParked made
//                       the staged copy (discardStaged puts it back)
// Swapped ⇔ the database named <db> has oid stagedOid (or, for an absent
// entry, the parked name has oid liveOid).
//
// No outage on any path: the swap never leaves ALLOW_CONNECTIONS false on the
// live name. New connections are held off by the lock ALTER DATABASE RENAME
// takes (connecting needs a lock that conflicts with it), which the server
// releases when our session ends, whatever kills it; open sessions are ended
// inside the same transaction. Parking (ALLOW_CONNECTIONS false on the old
// copy) commits together with the renames. Every method first ends stale
// sessions of its job (a killed process's psql), then repairs what an
// interrupted call may have left (parked copy open after a dump, or a live
// database with connections off that memo says were on).
//
// The password comes from the URL, PGPASSWORD or ~/.pgpass, and reaches the
// tools only through the PGPASSWORD environment variable, never argv (which
// any local user can read in /proc); SQL goes on stdin for the same reason
// (setting values may be secrets); -w makes the tools fail rather than prompt.
import { createHash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import type {
  DatabaseConfig, DumpOutcome, Engine, EngineProbe, RestoreCheck, RestoreJob, RestoreStrategy, TempObject,
} from '../../core/engine.js';
import type { DatabaseEntry } from '../../core/types.js';
import { CancelledError, ConflictError, errorMsg, ExternalToolError, RollbackError, redact } from '../../core/errors.js';
import { joined, msg, type Msg, type MsgList } from '../../core/i18n.js';
import { run } from '../process.js';
import { startPiped } from '../piped.js';
import { pgProgram } from './pg-programs.js';
import {
  derivedName,
  describeUrl,
  inDb,
  parseDbUrl,
  safeJobId,
  streamIntoTool,
  streamToolInto,
  validateKeys,
  versionOf,
  type EngineContext,
  type ParsedUrl,
} from './common.js';
import {
  HEADER_PREFIX,
  applyStatements,
  attributesQuery,
  attributesSummary,
  createStatement,
  headerLine,
  ident,
  literal,
  parseAttributes,
  parseHeader,
  rolesNamed,
  settingName,
  settingValue,
  type AclGrant,
  type DbAttributes,
} from './postgres-attributes.js';

/** NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
const MAX_IDENT = 63;

/** Stored dump formats: `plain` for new dumps; `tar` for dumps made before (still restored). */
export const PLAIN_FORMAT = 'pg_dump-plain';
export const TAR_FORMAT = 'pg_dump-tar';

const CONNECT_HINT = 'check that the server is running and databases.<name>.url (host, port, user; password via the URL, PGPASSWORD or ~/.pgpass)';

/** The header line is small; anything longer than this without a newline is not ours. */
const MAX_HEADER = 64 * 1024 * 1024;

/** How long one swap attempt waits for the rename's lock (new connections queue behind it meanwhile). */
const SWAP_LOCK_TIMEOUT = '2s';
const SWAP_ATTEMPTS = 3;

interface DbRow {
  name: string;
  oid: string;
  allowConn: boolean;
  isTemplate: boolean;
}

interface ServerInfo {
  version: string;
  major: number;
  user: string;
  superuser: boolean;
  createdb: boolean;
  /** Of the roles asked about, those that exist. */
  roles: Set<string>;
}

interface Session {
  pid: string;
  db: string;
  role: string;
  canEnd: boolean;
}

interface Counters {
  writes: string;
  statsReset: string;
}

interface Look {
  rows: Map<string, DbRow>;
  sessions: Session[];
  counters: Record<string, Counters>;
}

/** What a job's memo holds for this engine (see the header comment). */
interface PgMemo {
  stagedOid?: string | null;
  stagedAllowConn?: boolean;
  liveOid?: string | null;
  liveAllowConn?: boolean;
  adoptedFrom?: string;
}

/** `details.parked` of a backup dump made from a parked copy: what adoptParked() checks. */
interface ParkedRecord {
  /** The job that parked it: the runner reads it to offer a fast undo (adoptParked(jobId, …)). */
  jobId: string;
  name: string;
  oid: string;
  /** tup_inserted + tup_updated + tup_deleted of the parked copy once its dump ended. */
  writes: string;
  statsReset: string;
  allowConnections: boolean;
}

export class PostgresEngine implements Engine {
  readonly engine = 'postgres';
  readonly parks = true;
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
    if (!this.url.database) throw new RollbackError(msg('pg.noDbName', { name: config.name }));
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
    // Our sessions are named by PGAPPNAME (so a later call can find those a
    // killed process left); an application_name in the URL would win over it.
    const params = new URLSearchParams(this.url.params);
    params.delete('application_name');
    const query = params.toString();
    return query ? `${base}?${query}` : base;
  }

  private names(jobId: string) {
    const id = safeJobId(jobId);
    return {
      id,
      live: this.url.database,
      tmp: derivedName(this.url.database, `_rb_tmp_${id}`, MAX_IDENT),
      old: derivedName(this.url.database, `_rollback_${id}`, MAX_IDENT),
    };
  }

  /**
   * application_name of our sessions for a job, so a later call can end those
   * a killed process left. It names the live database too (by a short hash):
   * job ids are timestamps, and another repository rolling back another
   * database on the same server in the same second must not end ours.
   */
  private appName(what: 'stage' | 'swap' | 'dump', id: string): string {
    const db = createHash('sha256').update(this.url.database).digest('hex').slice(0, 8);
    return `git-rollback ${what} ${id} ${db}`.slice(0, MAX_IDENT);
  }

  strategy(jobId: string): RestoreStrategy {
    const { tmp, old } = this.names(jobId);
    return {
      text: msg('pg.strategy', { tmp, old }),
      downtime: msg('pg.downtime', { db: this.url.database }),
    };
  }

  tempObjects(jobId: string): TempObject[] {
    const { tmp, old } = this.names(jobId);
    const base = { database: this.name, engine: this.engine, kind: 'database', jobId };
    return [
      { ...base, role: 'staged', name: tmp },
      { ...base, role: 'parked', name: old },
    ];
  }

  // --- talking to the server ------------------------------------------------

  /**
   * Runs SQL through psql, from stdin (never argv), no .psqlrc, stopping at
   * the first error; returns unaligned output. `secrets` are values scrubbed
   * from any error (and errors are terse: no statement echo).
   */
  private async sql(
    database: string,
    statements: string,
    options: { app?: string; secrets?: string[]; signal?: AbortSignal } = {},
  ): Promise<string> {
    const args = ['-X', '-w', '-q', '-At', '-v', 'ON_ERROR_STOP=1'];
    if (options.secrets) args.push('-v', 'VERBOSITY=terse', '-v', 'SHOW_CONTEXT=never');
    args.push('-d', this.conn(database), '-f', '-');
    const r = await run(pgProgram('psql', this.env.PATH), args, {
      env: { ...this.env, PGAPPNAME: options.app ?? 'git-rollback' },
      input: statements,
      reject: false,
      ...(options.signal ? { cancelSignal: options.signal } : {}),
    });
    if (options.signal?.aborted) throw new CancelledError(inDb(this.name, msg('pg.cancelled')));
    if (r.exitCode !== 0) {
      let stderr = scrub(r.stderr, this.url.password);
      for (const secret of options.secrets ?? []) if (secret.length >= 1) stderr = stderr.split(secret).join('***');
      throw new ExternalToolError('psql', r.exitCode, stderr, undefined, connectHint(r.stderr));
    }
    return r.stdout.trim();
  }

  /** Server version and the user's rights; `roles`: which of these roles exist (one round trip). */
  private async server(roles: string[] = []): Promise<ServerInfo> {
    const json = await this.sql(
      this.maintenanceDb,
      `SELECT json_build_object('version', current_setting('server_version'), 'num', current_setting('server_version_num'),
        'user', current_user, 'superuser', rolsuper, 'createdb', rolcreatedb,
        'roles', (SELECT coalesce(json_agg(r.rolname), '[]') FROM pg_roles r WHERE r.rolname = ANY (ARRAY[${roles.map(literal).join(', ')}]::text[])))
      FROM pg_roles WHERE rolname = current_user`,
    );
    const r = JSON.parse(json) as { version: string; num: string; user: string; superuser: boolean; createdb: boolean; roles: string[] };
    return {
      version: r.version.split(' ')[0] ?? r.version,
      major: Math.floor(Number(r.num) / 10000),
      user: r.user,
      superuser: r.superuser,
      createdb: r.createdb,
      roles: new Set(r.roles),
    };
  }

  /** The rows of pg_database with these names. */
  private async rows(...names: string[]): Promise<Map<string, DbRow>> {
    const out = await this.sql(
      this.maintenanceDb,
      `SELECT datname, oid, datallowconn, datistemplate FROM pg_database WHERE datname IN (${names.map(literal).join(', ')})`,
    );
    const map = new Map<string, DbRow>();
    for (const line of out.split('\n').filter(Boolean)) {
      // datname may hold '|': the other columns never do.
      const parts = line.split('|');
      const isTemplate = parts.pop() === 't';
      const allowConn = parts.pop() === 't';
      const oid = parts.pop() ?? '';
      map.set(parts.join('|'), { name: parts.join('|'), oid, allowConn, isTemplate });
    }
    return map;
  }

  private async readAttributes(database: string): Promise<DbAttributes | null> {
    const json = await this.sql(this.maintenanceDb, attributesQuery(literal(database)));
    return json ? parseAttributes(json) : null;
  }

  /** SQL condition on pg_stat_activity `a`: a session this user may end with pg_terminate_backend. */
  private static readonly CAN_END = `((SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
    OR (a.usesysid IS NOT NULL AND NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.oid = a.usesysid), false)
        AND (pg_has_role(current_user, a.usesysid, 'MEMBER') OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'))))`;

  /** Other sessions on these databases (autovacuum aside: the server ends it itself), and whether we may end each. */
  private async sessions(oids: string[]): Promise<Array<{ pid: string; role: string; canEnd: boolean }>> {
    if (!oids.length) return [];
    const out = await this.sql(
      this.maintenanceDb,
      `SELECT a.pid, coalesce(a.usename, a.backend_type), ${PostgresEngine.CAN_END} FROM pg_stat_activity a
       WHERE a.datid IN (${oids.join(', ')}) AND a.pid <> pg_backend_pid() AND a.backend_type IS DISTINCT FROM 'autovacuum worker' ORDER BY a.pid`,
    );
    return out.split('\n').filter(Boolean).map((line) => {
      const [pid = '', role = '', canEnd = 'f'] = line.split('|');
      return { pid, role, canEnd: canEnd === 't' };
    });
  }

  /** Ends the sessions we may end on these databases; returns how many it signalled. */
  private async endSessions(oids: string[], except = ''): Promise<number> {
    if (!oids.length) return 0;
    const out = await this.sql(
      this.maintenanceDb,
      `SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a WHERE a.datid IN (${oids.join(', ')})
       AND a.pid <> pg_backend_pid() AND a.application_name IS DISTINCT FROM ${literal(except)} AND ${PostgresEngine.CAN_END}`,
    );
    return Number(out) || 0;
  }

  /**
   * One round trip (fast undo is a handful of them): ends the sessions a
   * killed earlier call of this job left (a psql still loading, renaming or
   * dumping), and reads the rows, the other sessions and the write counters
   * of these databases. Repeats until no such session is left, so what
   * pg_database says is final: their transactions committed or rolled back.
   */
  private async look(id: string, names: string[]): Promise<Look> {
    const apps = (['stage', 'swap', 'dump'] as const).map((w) => literal(this.appName(w, id))).join(', ');
    const list = names.map(literal).join(', ');
    const query = `SELECT json_build_object(
  'stale', (SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name IN (${apps}) AND usename = current_user AND pid <> pg_backend_pid()),
  'rows', (SELECT json_agg(json_build_object('name', datname, 'oid', oid::text, 'allowConn', datallowconn, 'isTemplate', datistemplate)) FROM pg_database WHERE datname IN (${list})),
  'sessions', (SELECT json_agg(json_build_object('pid', a.pid::text, 'db', a.datname, 'role', coalesce(a.usename, a.backend_type), 'canEnd', ${PostgresEngine.CAN_END}))
    FROM pg_stat_activity a WHERE a.datname IN (${list}) AND a.pid <> pg_backend_pid() AND a.backend_type IS DISTINCT FROM 'autovacuum worker'
    AND a.application_name NOT IN (${apps})),
  'counters', (SELECT json_object_agg(datname, json_build_object('writes', (tup_inserted + tup_updated + tup_deleted)::text, 'statsReset', coalesce(stats_reset::text, '')))
    FROM pg_stat_database WHERE datname IN (${list})))`;
    for (let i = 0; ; i++) {
      const raw = JSON.parse(await this.sql(this.maintenanceDb, query)) as {
        stale: number; rows: DbRow[] | null; sessions: Session[] | null; counters: Record<string, Counters> | null;
      };
      if (!raw.stale) {
        return { rows: new Map((raw.rows ?? []).map((r) => [r.name, r])), sessions: raw.sessions ?? [], counters: raw.counters ?? {} };
      }
      if (i >= 100) throw new RollbackError(inDb(this.name, msg('pg.staleSession', { job: id })), msg('pg.staleSessionHint'));
      await sleep(100);
    }
  }

  /**
   * Puts right what an interrupted call may have left: the parked copy open
   * (a dumpParked killed while dumping) is closed again; the live database
   * with connections off although memo says they were on (only older
   * versions blocked connections this way) is opened.
   */
  private async repair(memo: PgMemo, rows: Map<string, DbRow>, names: { live: string; old: string }): Promise<void> {
    const live = rows.get(names.live);
    if (live && !live.allowConn) {
      const wasOn = (live.oid === memo.liveOid && memo.liveAllowConn === true) || (live.oid === memo.stagedOid && memo.stagedAllowConn !== false && memo.stagedOid !== undefined);
      if (wasOn) {
        await this.sql(this.maintenanceDb, `ALTER DATABASE ${ident(names.live)} ALLOW_CONNECTIONS true`);
        live.allowConn = true;
      }
    }
    const parked = rows.get(names.old);
    if (parked && parked.allowConn && memo.liveOid && parked.oid === memo.liveOid) {
      await this.sql(this.maintenanceDb, `ALTER DATABASE ${ident(names.old)} ALLOW_CONNECTIONS false`);
      await this.endSessions([parked.oid]);
      parked.allowConn = false;
    }
  }

  /** Where the job stands: stale sessions ended, leftovers repaired, rows (and sessions, counters) read. */
  private async standing(job: RestoreJob, ...extra: string[]) {
    const names = this.names(job.jobId);
    const memo = job.memo as PgMemo;
    const look = await this.look(names.id, [names.live, names.tmp, names.old, ...extra]);
    await this.repair(memo, look.rows, names);
    return { names, memo, ...look };
  }

  private isSwapped(job: RestoreJob, memo: PgMemo, rows: Map<string, DbRow>, names: { live: string; old: string }): boolean {
    if (memo.liveOid === undefined) return false;
    if (job.entry.absent) return memo.liveOid === null || (rows.get(names.old)?.oid === memo.liveOid && rows.get(names.live)?.oid !== memo.liveOid);
    return memo.stagedOid != null && rows.get(names.live)?.oid === memo.stagedOid;
  }

  // --- checks ---------------------------------------------------------------

  private async tool(name: 'pg_dump' | 'psql' | 'pg_restore'): Promise<string> {
    return `${name} ${versionOf((await run(pgProgram(name, this.env.PATH), ['--version'], { env: this.env })).stdout)}`;
  }

  async check(_mode: 'dump'): Promise<EngineProbe> {
    const tool = await this.tool('pg_dump');
    const server = await this.server();
    if (!(await this.rows(this.url.database)).has(this.url.database)) {
      throw new RollbackError(inDb(this.name, msg('pg.noDb', { db: this.url.database, where: describeUrl(this.url) })));
    }
    return { tool, serverVersion: server.version };
  }

  async checkRestore(entry: DatabaseEntry, jobId: string): Promise<RestoreCheck> {
    knownFormat(this.name, entry.format);
    const toolName = entry.absent ? 'psql' : entry.format === TAR_FORMAT ? 'pg_restore' : 'psql';
    const notes: Msg[] = [];
    const db = this.url.database;
    const names = this.names(jobId);
    // Independent reads, each its own client start and connection: at once, not one after another.
    const [tool, server, rows] = await inOrder([this.tool(toolName), this.server(), this.rows(names.live, names.tmp, names.old)]);
    if (!entry.absent) checkVersions(this.name, entry, tool, toolName, server.version);
    if (this.maintenanceDb === db) {
      throw new ConflictError(inDb(this.name, msg('pg.maintenanceSame', { db })), msg('pg.maintenanceSameHint'));
    }
    if (!server.createdb && !server.superuser) {
      throw new ConflictError(inDb(this.name, msg('pg.noCreatedb', { user: server.user })), msg('pg.noCreatedbHint', { user: server.user }));
    }
    const live = rows.get(names.live);
    if (live) {
      const [owner, prepared] = await inOrder([
        this.sql(this.maintenanceDb, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE oid = ${live.oid}`),
        this.sql(this.maintenanceDb, `SELECT count(*) FROM pg_prepared_xacts WHERE database = ${literal(db)}`),
      ]);
      if (!server.superuser && owner !== server.user) {
        const member = await this.sql(this.maintenanceDb, `SELECT pg_has_role(current_user, ${literal(owner)}, 'MEMBER')`);
        if (member !== 't') {
          throw new ConflictError(
            inDb(this.name, msg('pg.notOwner', { user: server.user, db, owner })),
            msg('pg.notOwnerHint', { db: ident(db), user: ident(server.user), owner: ident(owner) }),
          );
        }
      }
      await this.checkSessions(live, server, notes);
      if (prepared !== '0') {
        throw new ConflictError(inDb(this.name, msg('pg.prepared', { n: prepared, db })), msg('pg.preparedHint'));
      }
    }
    if (entry.absent) {
      notes.push(live ? msg('pg.absentParked', { db, old: names.old }) : msg('pg.absentNothing', { db }));
      return { tool, serverVersion: server.version, notes };
    }

    let summary = entry.details?.attributes as Record<string, unknown> | undefined;
    if (!isSummary(summary)) {
      const liveAttributes = live ? await this.readAttributes(db) : null;
      summary = liveAttributes ? attributesSummary(liveAttributes) : undefined;
      notes.push(msg(summary ? 'pg.noAttributesLive' : 'pg.noAttributesDefaults', { db }));
    }
    if (summary) await this.checkAttributes(summary, server, live, notes);
    if (rows.has(names.tmp)) notes.push(msg('pg.tmpReplaced', { tmp: names.tmp }));
    if (rows.has(names.old)) notes.push(msg('pg.swappedBefore', { old: names.old }));
    return { tool, serverVersion: server.version, notes };
  }

  /** Sessions on the live database: ended at the swap, or a refusal naming those this user cannot end. */
  private async checkSessions(live: DbRow, server: ServerInfo, notes: Msg[]): Promise<void> {
    const sessions = await this.sessions([live.oid]);
    const stuck = sessions.filter((s) => !s.canEnd);
    if (stuck.length) {
      const byRole = countBy(stuck.map((s) => s.role));
      throw new ConflictError(
        inDb(this.name, msg('pg.cannotEnd', { db: this.url.database, user: server.user, n: stuck.length, roles: byRole })),
        msg('pg.cannotEndHint', { user: ident(server.user) }),
      );
    }
    if (sessions.length) notes.push(msg('pg.sessionsEnded', { n: sessions.length, db: this.url.database, roles: countBy(sessions.map((s) => s.role)) }));
  }

  /** Roles, tablespace, locale provider and setting privileges the recorded attributes need, before any change. */
  private async checkAttributes(summary: Record<string, unknown>, server: ServerInfo, live: DbRow | undefined, notes: Msg[]): Promise<void> {
    const s = summary as ReturnType<typeof attributesSummary> & { acl: AclGrant[] | null; roleSettings: Record<string, string[]>; settings: string[] };
    const db = this.url.database;
    const named = rolesNamed(s);
    const existing = new Set(
      named.length
        ? (await this.sql(this.maintenanceDb, `SELECT rolname FROM pg_roles WHERE rolname IN (${named.map(literal).join(', ')})`)).split('\n').filter(Boolean)
        : [],
    );
    const missing = named.filter((r) => !existing.has(r));
    if (missing.length && !this.noOwner) {
      throw new ConflictError(inDb(this.name, msg('pg.rolesMissingAt', { roles: missing.join(', '), db })), msg('pg.rolesMissingHint'));
    }
    if (missing.length) notes.push(msg('pg.noOwnerNote', { roles: missing.join(', ') }));
    const owner = existing.has(String(s.owner)) ? String(s.owner) : server.user;
    if (!server.superuser && owner !== server.user) {
      if ((await this.sql(this.maintenanceDb, `SELECT pg_has_role(current_user, ${literal(owner)}, 'MEMBER')`)) !== 't') {
        throw new ConflictError(inDb(this.name, msg('pg.notMember', { db, owner, user: server.user })), msg('pg.notMemberHint', { owner: ident(owner), user: ident(server.user) }));
      }
    }
    const tablespace = String(s.tablespace ?? 'pg_default');
    if (tablespace !== 'pg_default') {
      const ts = await this.sql(this.maintenanceDb, `SELECT has_tablespace_privilege(oid, 'CREATE') FROM pg_tablespace WHERE spcname = ${literal(tablespace)}`);
      if (!ts) throw new ConflictError(inDb(this.name, msg('pg.noTablespace', { tablespace, db })), msg('pg.noTablespaceHint', { tablespace: ident(tablespace) }));
      if (ts !== 't' && !server.superuser) throw new ConflictError(inDb(this.name, msg('pg.tablespacePriv', { user: server.user, tablespace })), msg('pg.tablespacePrivHint', { tablespace: ident(tablespace), user: ident(server.user) }));
    }
    const provider = String(s.localeProvider ?? 'libc');
    if (provider !== 'libc') {
      const needs = provider === 'icu' ? 15 : 17;
      if (server.major < needs) throw new ConflictError(inDb(this.name, msg('pg.provider', { db, provider, major: server.major })), msg('pg.providerHint', { needs }));
      if (provider === 'icu' && (await this.sql(this.maintenanceDb, `SELECT count(*) FROM pg_collation WHERE collprovider = 'i'`)) === '0') {
        throw new ConflictError(inDb(this.name, msg('pg.noIcu', { db })), msg('pg.noIcuHint'));
      }
    }
    // Setting privileges, probed on the live database in a transaction that
    // is rolled back (RESET checks what SET checks, and needs no value).
    const roleSettings = Object.entries(s.roleSettings ?? {}).filter(([role]) => existing.has(role));
    if (live && (s.settings.length || roleSettings.length)) {
      const probes = [
        ...s.settings.map((n) => `ALTER DATABASE ${ident(db)} RESET ${ident(n)};`),
        ...roleSettings.flatMap(([role, items]) => items.map((n) => `ALTER ROLE ${ident(role)} IN DATABASE ${ident(db)} RESET ${ident(n)};`)),
      ];
      try {
        await this.sql(this.maintenanceDb, `BEGIN;\n${probes.join('\n')}\nROLLBACK;`, { secrets: [] });
      } catch (error) {
        throw new ConflictError(
          inDb(this.name, msg('pg.settingsPriv', { user: server.user, db, error: (error as ExternalToolError).stderr?.trim() || errorMsg(error) })),
          msg('pg.settingsPrivHint'),
        );
      }
    }
    notes.push(msg('pg.carries', { what: describeAttributes(s, owner, existing, server.superuser) }));
  }

  // --- dump -----------------------------------------------------------------

  async dump(out: Writable, options: { allowAbsent?: boolean } = {}): Promise<DumpOutcome & { absent?: boolean }> {
    const db = this.url.database;
    let tool: string;
    let server: ServerInfo;
    let attributes: DbAttributes | null;
    try {
      [tool, server, attributes] = await inOrder([this.tool('pg_dump'), this.server(), this.readAttributes(db)]);
      if (!attributes && !options.allowAbsent) throw new RollbackError(inDb(this.name, msg('pg.noDb', { db, where: describeUrl(this.url) })));
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const tar = this.dumpAs === 'tar';
    const format = tar ? { format: TAR_FORMAT, ext: 'tar' } : { format: PLAIN_FORMAT, ext: 'sql' };
    if (!attributes) {
      out.end();
      return { ...format, tool, serverVersion: server.version, details: { database: db }, absent: true };
    }
    await this.pgDump(db, out, tar, 'git-rollback', attributes);
    return { ...format, tool, serverVersion: server.version, details: this.dumpDetails(attributes, tar) };
  }

  private dumpDetails(attributes: DbAttributes, tar = false): Record<string, unknown> {
    return {
      database: this.url.database,
      ...(tar ? {} : { attributes: attributesSummary(attributes) }),
      ...(!tar && this.noOwner ? { noOwner: true } : {}),
    };
  }

  /** pg_dump of `database` into `out`, after the attributes line (plain). */
  private async pgDump(database: string, out: Writable, tar: boolean, app: string, attributes: DbAttributes): Promise<void> {
    // Plain SQL bakes ownership in (ALTER … OWNER TO): with noOwner it is
    // left out at dump time, as pg_restore --no-owner did at restore time.
    const args = ['-w', tar ? '-Ft' : '-Fp', ...(!tar && this.noOwner ? ['--no-owner'] : []), '-d', this.conn(database)];
    const proc = startPiped(pgProgram('pg_dump', this.env.PATH), args, { env: { ...this.env, PGAPPNAME: app }, stdin: 'ignore', label: 'pg_dump' });
    if (!tar) out.write(headerLine(attributes));
    await streamToolInto(proc, out, 'pg_dump', CONNECT_HINT);
  }

  // --- restore --------------------------------------------------------------

  async stage(input: Readable, job: RestoreJob): Promise<void> {
    try {
      knownFormat(this.name, job.entry.format);
      if (job.signal.aborted) throw new CancelledError(inDb(this.name, msg('pg.cancelled')));
    } catch (error) {
      input.destroy();
      throw error;
    }
    const { names, memo, rows } = await this.standing(job).catch((error) => {
      input.destroy();
      throw error;
    });
    if (this.isSwapped(job, memo, rows, names)) {
      input.destroy();
      throw new RollbackError(inDb(this.name, msg('pg.swappedAlready', { job: names.id })));
    }
    await this.discardStagedCopy(job, memo, rows, names);
    if (job.entry.absent) {
      // Nothing to load: swap() only parks the live database.
      input.resume();
      memo.stagedOid = null;
      await job.save();
      return;
    }

    const onAbort = () => input.destroy(new CancelledError(inDb(this.name, msg('pg.cancelled'))));
    job.signal.addEventListener('abort', onAbort, { once: true });
    const dropTmp = () => this.sql(this.maintenanceDb, `DROP DATABASE IF EXISTS ${ident(names.tmp)} WITH (FORCE)`);
    let created = false;
    try {
      const plain = job.entry.format !== TAR_FORMAT;
      const { header, rest } = plain ? await splitHeader(input) : { header: null, rest: input as AsyncIterable<Buffer> };
      // Dumps made before attributes were recorded: the live database's are the best guess.
      const attributes = header ?? (await this.readAttributes(names.live));
      const server = await this.server(attributes ? rolesNamed(attributes) : []);
      const roles = attributes ? this.resolveRoles(attributes, server) : null;
      const owner = roles?.owner ?? server.user;
      await this.sql(
        this.maintenanceDb,
        attributes ? createStatement(names.tmp, attributes, server.major, owner) : `CREATE DATABASE ${ident(names.tmp)} TEMPLATE template0`,
        { signal: job.signal },
      );
      created = true;
      await this.load(rest, job, names, plain);
      if (!plain) await this.sql(names.tmp, 'ANALYZE', { signal: job.signal, app: this.appName('stage', names.id) });
      const statements = attributes && roles ? applyStatements(names.tmp, attributes, owner, roles.skip, server.superuser) : [];
      const oid = await this.sql(
        this.maintenanceDb,
        `${statements.length ? `BEGIN;\n${statements.join('\n')}\nCOMMIT;\n` : ''}SELECT oid FROM pg_database WHERE datname = ${literal(names.tmp)};`,
        { secrets: attributes ? secretsOf(attributes) : [], signal: job.signal },
      );
      if (!oid) throw new RollbackError(inDb(this.name, msg('pg.tmpGone', { tmp: names.tmp })));
      memo.stagedOid = oid;
      memo.stagedAllowConn = attributes?.allowConnections ?? true;
      await job.save();
    } catch (error) {
      input.destroy();
      if (created) await dropTmp().catch(() => undefined);
      if (job.signal.aborted) throw new CancelledError(inDb(this.name, msg('pg.cancelledRemoved', { tmp: names.tmp })));
      throw error;
    } finally {
      job.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Streams the dump into the staged database; COMMIT is sent only after the whole input was read (and its sha256 checked). */
  private async load(rest: AsyncIterable<Buffer>, job: RestoreJob, names: { tmp: string; id: string }, plain: boolean): Promise<void> {
    const env = { ...this.env, PGAPPNAME: this.appName('stage', names.id), PGOPTIONS: stageOptions(this.env.PGOPTIONS) };
    if (!plain) {
      // Dumps stored before the plain format. pg_restore cannot run tar
      // archives in parallel (-j); see docs/decisions.md.
      const args = ['-w', '--exit-on-error', '--single-transaction', '-Ft', '-d', this.conn(names.tmp), ...(this.noOwner ? ['--no-owner'] : [])];
      const proc = startPiped(pgProgram('pg_restore', this.env.PATH), args, { env, stdout: 'ignore', label: 'pg_restore' });
      await streamIntoTool(Readable.from(rest), proc, 'pg_restore', RESTORE_HINT);
      return;
    }
    // One transaction, ended by a COMMIT we send only after the last byte
    // arrived whole: a dump that turns out corrupt at its end, a cancel or a
    // crash closes psql's stdin without it, and the server rolls back. (The
    // staged copy counts as good only once memo.stagedOid is saved anyway.)
    // A restore leaves no planner statistics: ANALYZE (sampling: seconds
    // even for large databases) in the same transaction, before the copy
    // can go live.
    async function* wrapped() {
      yield Buffer.from('BEGIN;\n');
      for await (const chunk of rest) yield chunk as Buffer;
      yield Buffer.from('\nANALYZE;\nCOMMIT;\n');
    }
    const args = ['-X', '-w', '-q', '-v', 'ON_ERROR_STOP=1', '-d', this.conn(names.tmp), '-f', '-'];
    const proc = startPiped(pgProgram('psql', this.env.PATH), args, { env, stdout: 'ignore', label: 'psql' });
    // Owners are baked into a plain dump made without noOwner: setting
    // noOwner later cannot take them out again.
    const ownersBaked = this.noOwner && job.entry.details?.noOwner !== true;
    await streamIntoTool(Readable.from(wrapped()), proc, 'psql', ownersBaked ? RESTORE_HINT_OWNERS_BAKED : RESTORE_HINT);
  }

  /** The owner the staged copy gets, and roles that do not exist here (left out with noOwner). */
  private resolveRoles(a: DbAttributes, server: ServerInfo): { owner: string; skip: Set<string> } {
    const skip = new Set(rolesNamed(a).filter((r) => !server.roles.has(r)));
    if (skip.size && !this.noOwner) {
      throw new ConflictError(inDb(this.name, msg('pg.rolesMissing', { roles: [...skip].join(', ') })), msg('pg.rolesMissingHint'));
    }
    return { owner: skip.has(a.owner) ? server.user : a.owner, skip };
  }

  /**
   * Removes the staged copy of this job, if any: an adopted parked copy goes
   * back to its parked name (with connections off), anything else is dropped.
   */
  private async discardStagedCopy(job: RestoreJob, memo: PgMemo, rows: Map<string, DbRow>, names: { tmp: string; live: string }): Promise<void> {
    const staged = rows.get(names.tmp);
    if (staged) {
      if (memo.adoptedFrom && staged.oid === memo.stagedOid) {
        await this.sql(
          this.maintenanceDb,
          `BEGIN;\nALTER DATABASE ${ident(names.tmp)} RENAME TO ${ident(memo.adoptedFrom)};\nALTER DATABASE ${ident(memo.adoptedFrom)} ALLOW_CONNECTIONS false;\nCOMMIT;`,
        );
      } else {
        if (staged.isTemplate) await this.sql(this.maintenanceDb, `ALTER DATABASE ${ident(names.tmp)} IS_TEMPLATE false`);
        await this.sql(this.maintenanceDb, `DROP DATABASE IF EXISTS ${ident(names.tmp)} WITH (FORCE)`);
      }
    }
    if (memo.stagedOid !== undefined || memo.adoptedFrom !== undefined) {
      delete memo.stagedOid;
      delete memo.stagedAllowConn;
      delete memo.adoptedFrom;
      await job.save();
    }
  }

  async discardStaged(job: RestoreJob): Promise<void> {
    const { names, memo, rows } = await this.standing(job);
    // Swapped: the restored copy is live, there is no staged copy to remove.
    if (this.isSwapped(job, memo, rows, names)) return;
    await this.discardStagedCopy(job, memo, rows, names);
  }

  async swap(job: RestoreJob): Promise<void> {
    const { names, memo, rows, sessions } = await this.standing(job);
    if (this.isSwapped(job, memo, rows, names)) return;
    const live = rows.get(names.live);
    const staged = rows.get(names.tmp);
    const parked = rows.get(names.old);
    if (!job.entry.absent) {
      if (memo.stagedOid == null || !staged || staged.oid !== memo.stagedOid) {
        throw new RollbackError(inDb(this.name, msg(staged ? 'pg.notStagedOther' : 'pg.notStagedNone', { job: names.id, tmp: names.tmp })), msg('pg.stageAgain'));
      }
    } else if (memo.stagedOid === undefined) {
      throw new RollbackError(inDb(this.name, msg('pg.wasNotStaged', { job: names.id })));
    }
    if (parked && live) {
      throw new RollbackError(inDb(this.name, msg('pg.oldExists', { old: names.old, live: names.live })), msg('pg.oldExistsHint', { old: names.old }));
    }
    // The fact every later call needs (was there a live database, and was it
    // open), saved before the change.
    memo.liveOid = live?.oid ?? null;
    memo.liveAllowConn = live?.allowConn ?? true;
    await job.save();
    if (job.entry.absent && !live) return;

    const statements: string[] = [];
    if (live) statements.push(`ALTER DATABASE ${ident(names.live)} RENAME TO ${ident(names.old)};`);
    if (!job.entry.absent) statements.push(`ALTER DATABASE ${ident(names.tmp)} RENAME TO ${ident(names.live)};`);
    if (live) statements.push(`ALTER DATABASE ${ident(names.old)} ALLOW_CONNECTIONS false;`);
    await this.flip(names, [live?.oid, staged?.oid], sessions.filter((s) => s.db === names.live || s.db === names.tmp), statements, 'swap');
  }

  async unswap(job: RestoreJob): Promise<void> {
    const { names, memo, rows, sessions } = await this.standing(job);
    if (!this.isSwapped(job, memo, rows, names)) return;
    const live = rows.get(names.live);
    const parked = rows.get(names.old);
    if (memo.liveOid && parked?.oid !== memo.liveOid) {
      throw new RollbackError(inDb(this.name, msg('pg.previousGone', { live: names.live, old: names.old })), msg('pg.previousGoneHint'));
    }
    const statements: string[] = [];
    if (live && !job.entry.absent) statements.push(`ALTER DATABASE ${ident(names.live)} RENAME TO ${ident(names.tmp)};`);
    if (memo.liveOid) {
      statements.push(`ALTER DATABASE ${ident(names.old)} RENAME TO ${ident(names.live)};`);
      statements.push(`ALTER DATABASE ${ident(names.live)} ALLOW_CONNECTIONS ${memo.liveAllowConn === false ? 'false' : 'true'};`);
    }
    if (!statements.length) return;
    await this.flip(names, [job.entry.absent ? undefined : live?.oid], job.entry.absent ? [] : sessions.filter((s) => s.db === names.live), statements, 'unswap');
  }

  /**
   * Renames (and ALLOW_CONNECTIONS changes) in one transaction, after ending
   * the sessions on the databases being renamed. While the transaction holds
   * the rename's lock, new connections wait for it; sessions that slip in
   * before it are ended by a second session, and RENAME itself waits up to
   * 5 s for ended sessions to exit. Whatever fails, the transaction rolls
   * back: all renames happen or none, and no database is left closed.
   */
  private async flip(
    names: { id: string; live: string },
    oidsOrNone: Array<string | undefined>,
    sessions: Session[],
    statements: string[],
    what: 'swap' | 'unswap',
  ): Promise<void> {
    const oids = oidsOrNone.filter((o): o is string => !!o);
    // Sessions we may not end would make RENAME wait 5 s and fail: say so now.
    const stuck = sessions.filter((s) => !s.canEnd);
    if (stuck.length) {
      throw new ConflictError(
        inDb(this.name, msg('pg.cannotFlip', { what, n: stuck.length, live: names.live, roles: countBy(stuck.map((s) => s.role)) })),
        msg('pg.cannotFlipHint'),
      );
    }
    const app = this.appName('swap', names.id);
    const end = oids.length ? `SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a WHERE a.datid IN (${oids.join(', ')}) AND a.pid <> pg_backend_pid() AND ${PostgresEngine.CAN_END};\n` : '';
    // client_connection_check_interval (14+): a killed client's session stops
    // at once instead of at the lock timeout.
    const script = `SET lock_timeout = '${SWAP_LOCK_TIMEOUT}';
SELECT set_config('client_connection_check_interval', '1s', false) WHERE current_setting('server_version_num')::int >= 140000;
BEGIN;
${end}${statements.join('\n')}
COMMIT;`;
    let lastError: unknown;
    for (let attempt = 1; attempt <= SWAP_ATTEMPTS; attempt++) {
      let done = false;
      const renaming = this.sql(this.maintenanceDb, script, { app }).finally(() => {
        done = true;
      });
      // Meanwhile, end sessions that connected after the transaction's own
      // pg_terminate_backend and before its lock.
      const ender = (async () => {
        while (!done && oids.length) {
          await sleep(150);
          if (!done) await this.endSessions(oids, app).catch(() => undefined);
        }
      })();
      try {
        await renaming;
        await ender;
        return;
      } catch (error) {
        await ender;
        lastError = error;
        const text = `${(error as Error).message} ${(error as ExternalToolError).stderr ?? ''}`;
        if (!/being accessed by other users|lock timeout/.test(text)) break;
      }
    }
    const left = await this.sessions(oids).catch(() => []);
    const open = left.length ? msg('pg.stillOpen', { roles: countBy(left.map((s) => s.role)) }) : '';
    throw new RollbackError(inDb(this.name, msg('pg.flipFailed', { what, error: firstLine(lastError), open })), msg('pg.flipFailedHint'));
  }

  // --- parked copies ----------------------------------------------------------

  async dumpParked(job: RestoreJob, out: Writable): Promise<DumpOutcome & { absent?: boolean }> {
    const format = { format: PLAIN_FORMAT, ext: 'sql' };
    let names: ReturnType<PostgresEngine['names']>;
    let parked: DbRow | undefined;
    let memo: PgMemo;
    let tool: string;
    let server: ServerInfo;
    let attributes: DbAttributes | null;
    try {
      let rows: Map<string, DbRow>;
      ({ names, memo, rows } = await this.standing(job));
      if (memo.liveOid === undefined) throw new RollbackError(inDb(this.name, msg('pg.notSwapped', { job: names.id })));
      let read: DbAttributes | null;
      // The parked copy's attributes are read with the rest, and used only once it is known to be ours.
      [tool, server, read] = await inOrder([this.tool('pg_dump'), this.server(), memo.liveOid === null ? Promise.resolve(null) : this.readAttributes(names.old)]);
      if (memo.liveOid === null) {
        out.end();
        return { ...format, tool, serverVersion: server.version, details: { database: names.live }, absent: true };
      }
      parked = rows.get(names.old);
      if (!parked || parked.oid !== memo.liveOid) {
        throw new RollbackError(inDb(this.name, msg('pg.parkedGone', { old: names.old })), msg('pg.parkedGoneHint'));
      }
      attributes = read;
      if (!attributes) throw new RollbackError(inDb(this.name, msg('pg.disappeared', { old: names.old })));
      // Recorded as it was live, not as parked.
      attributes.allowConnections = memo.liveAllowConn !== false;
    } catch (error) {
      out.destroy(error as Error);
      throw error;
    }
    const p = parked;
    const before = await this.counters(p.oid);
    // pg_dump must connect: the parked copy is open only while it runs.
    await this.sql(this.maintenanceDb, `ALTER DATABASE ${ident(names.old)} ALLOW_CONNECTIONS true`);
    try {
      await this.pgDump(names.old, out, false, this.appName('dump', names.id), attributes);
    } finally {
      await this.closeParked(names.old, p.oid);
    }
    const after = await this.counters(p.oid);
    const details: Record<string, unknown> = { ...this.dumpDetails(attributes), database: names.live };
    if (after.writes === before.writes && after.statsReset === before.statsReset) {
      details.parked = {
        jobId: names.id, name: names.old, oid: p.oid, writes: after.writes, statsReset: after.statsReset, allowConnections: attributes.allowConnections,
      } satisfies ParkedRecord;
    } else {
      job.warn(inDb(this.name, msg('pg.writtenDuringDump', { old: names.old })));
    }
    return { ...format, tool, serverVersion: server.version, details };
  }

  /** Connections off again, sessions (ours included) ended and gone. */
  private async closeParked(name: string, oid: string): Promise<void> {
    await this.sql(this.maintenanceDb, `ALTER DATABASE ${ident(name)} ALLOW_CONNECTIONS false`);
    for (let i = 0; i < 100; i++) {
      await this.endSessions([oid]);
      if (!(await this.sessions([oid])).length) return;
      await sleep(100);
    }
  }

  /**
   * Write counters of a database: a parked copy is closed to connections, so
   * these do not move unless someone opened it. Every session that wrote has
   * flushed its counts by the time it exited, and closeParked() waits for that.
   */
  private async counters(oid: string): Promise<{ writes: string; statsReset: string }> {
    const row = await this.sql(
      this.maintenanceDb,
      `SELECT coalesce(tup_inserted + tup_updated + tup_deleted, 0), coalesce(stats_reset::text, '') FROM pg_stat_database WHERE datid = ${oid}`,
    );
    const [writes = '0', statsReset = ''] = row.split('|');
    return { writes, statsReset };
  }

  async dropParked(jobId: string): Promise<void> {
    const { old } = this.names(jobId);
    const row = (await this.rows(old)).get(old);
    if (!row) return;
    if (row.isTemplate) await this.sql(this.maintenanceDb, `ALTER DATABASE ${ident(old)} IS_TEMPLATE false`);
    await this.sql(this.maintenanceDb, `DROP DATABASE IF EXISTS ${ident(old)} WITH (FORCE)`);
  }

  async adoptParked(fromJobId: string, job: RestoreJob): Promise<boolean> {
    const record = job.entry.details?.parked as Partial<ParkedRecord> | undefined;
    const from = this.names(fromJobId);
    if (!record || record.jobId !== from.id || record.name !== from.old || typeof record.oid !== 'string' || !/^\d+$/.test(record.oid)) return false;
    const { names, memo, rows, sessions, counters } = await this.standing(job, from.old);
    // Already adopted by an earlier attempt (and maybe swapped since).
    if (memo.adoptedFrom === from.old && memo.stagedOid === record.oid && (rows.get(names.tmp)?.oid === record.oid || rows.get(names.live)?.oid === record.oid)) return true;
    // Unchanged since its dump: the same database (oid), closed to
    // connections (as it has been since the swap, but while it was dumped),
    // nobody on it, and not one row written since (the server's counters;
    // every session that wrote flushed them when it ended).
    const source = rows.get(from.old);
    if (!source || source.oid !== record.oid || source.allowConn) return false;
    if (sessions.some((s) => s.db === from.old)) return false;
    const now = counters[from.old];
    if (!now || now.writes !== record.writes || now.statsReset !== record.statsReset) return false;
    if (this.isSwapped(job, memo, rows, names)) return false;
    await this.discardStagedCopy(job, memo, rows, names);
    memo.stagedOid = source.oid;
    memo.stagedAllowConn = record.allowConnections !== false;
    memo.adoptedFrom = from.old;
    await job.save();
    await this.sql(
      this.maintenanceDb,
      `BEGIN;\nALTER DATABASE ${ident(from.old)} RENAME TO ${ident(names.tmp)};\nALTER DATABASE ${ident(names.tmp)} ALLOW_CONNECTIONS ${record.allowConnections === false ? 'false' : 'true'};\nCOMMIT;`,
    );
    return true;
  }

  async leftovers(): Promise<TempObject[]> {
    const out = await this.sql(this.maintenanceDb, `SELECT datname FROM pg_database WHERE datname ~ '_(rb_tmp|rollback)_[a-z0-9_]+$' ORDER BY 1`);
    const found: TempObject[] = [];
    for (const name of out.split('\n').filter(Boolean)) {
      const object = this.ownTempObject(name);
      if (object) found.push(object);
    }
    return found;
  }

  /** The temp object `name` is, if it is one of this database's: the job id is whatever makes derivedName() give exactly this name. */
  private ownTempObject(name: string): TempObject | undefined {
    for (const [marker, role] of [['_rb_tmp_', 'staged'], ['_rollback_', 'parked']] as const) {
      for (let at = name.indexOf(marker); at >= 0; at = name.indexOf(marker, at + 1)) {
        const id = name.slice(at + marker.length);
        if (/^[a-z0-9_]+$/.test(id) && derivedName(this.url.database, `${marker}${id}`, MAX_IDENT) === name) {
          return { database: this.name, engine: this.engine, role, kind: 'database', name, jobId: id };
        }
      }
    }
    return undefined;
  }

  async fingerprint(): Promise<string | null> {
    const [attributes, rows] = await inOrder([this.readAttributes(this.url.database), this.rows(this.url.database)]);
    if (!attributes) return 'absent';
    const oid = rows.get(this.url.database)?.oid ?? '?';
    // The oid names the copy; the attributes (setting names only: values may
    // be secrets) catch a revert that put the copy back but not its state.
    const facts = JSON.stringify({ ...attributesSummary(attributes), comment: attributes.comment, settings: attributes.settings.map(settingName) });
    return `oid ${oid} ${createHash('sha256').update(facts).digest('hex').slice(0, 16)}`;
  }

  async digest(input: Readable): Promise<string> {
    return digestDump(input);
  }
}

// --- helpers ------------------------------------------------------------------

/**
 * Promise.all for reads that run at once but must fail as if run in order:
 * waits for every one, then throws the first failure in list order (not the
 * first to happen), so a refusal names the same cause on every run.
 */
async function inOrder<T extends readonly unknown[]>(reads: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(reads);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

const RESTORE_HINT = msg('pg.restoreHint');
const RESTORE_HINT_OWNERS_BAKED = msg('pg.restoreHintOwners');

function knownFormat(name: string, format: string): void {
  if (format !== PLAIN_FORMAT && format !== TAR_FORMAT) {
    throw new RollbackError(inDb(name, msg('pg.unknownFormat', { format })), msg('pg.upgradeHint'));
  }
}

/** The client must read the dump, the server must load it. */
function checkVersions(name: string, entry: DatabaseEntry, tool: string, toolName: string, serverVersion: string): void {
  // pg_restore reads archives from its own and older pg_dump versions only;
  // psql may not know the meta-commands a newer pg_dump writes into plain
  // dumps (\restrict since 17.6, 16.10, 15.14…).
  const dumpMajor = major(entry.tool.replace(/^pg_dump\s*/, ''));
  const restoreMajor = major(tool.replace(/^\S+\s*/, ''));
  if (dumpMajor !== undefined && restoreMajor !== undefined && restoreMajor < dumpMajor) {
    throw new RollbackError(
      inDb(name, msg(entry.format === TAR_FORMAT ? 'pg.clientOldArchive' : 'pg.clientOldDump', { made: entry.tool, tool })),
      msg('pg.clientOldHint', { major: dumpMajor, tool: toolName }),
    );
  }
  // A plain dump is SQL for the server it came from: a newer server loads
  // it, an older one may not know its syntax, settings or catalogs.
  const fromMajor = major(entry.serverVersion ?? '');
  const toMajor = major(serverVersion);
  if (entry.format !== TAR_FORMAT && fromMajor !== undefined && toMajor !== undefined && toMajor < fromMajor) {
    throw new RollbackError(inDb(name, msg('pg.serverOld', { from: entry.serverVersion, server: serverVersion })), msg('pg.serverOldHint', { major: fromMajor }));
  }
}

function isSummary(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { owner?: unknown }).owner === 'string';
}

/** One plan line: what of the database's own state the restore carries. */
function describeAttributes(
  s: { owner?: unknown; encoding?: unknown; localeProvider?: unknown; locale?: unknown; collate?: unknown; ctype?: unknown; tablespace?: unknown; connectionLimit?: unknown; allowConnections?: unknown; isTemplate?: unknown; acl: AclGrant[] | null; comment?: unknown; settings: string[]; roleSettings: Record<string, string[]> },
  owner: string,
  existing: Set<string>,
  superuser: boolean,
): string {
  const parts = [`owner ${owner}`, `encoding ${String(s.encoding)}`];
  const collation = s.collate === s.ctype ? `collate/ctype ${String(s.collate)}` : `collate ${String(s.collate)}, ctype ${String(s.ctype)}`;
  parts.push(s.localeProvider === 'libc' ? collation : `${String(s.localeProvider)} locale ${String(s.locale ?? '')} (${collation})`);
  if (s.tablespace && s.tablespace !== 'pg_default') parts.push(`tablespace ${String(s.tablespace)}`);
  if (s.connectionLimit !== -1 && s.connectionLimit !== undefined) parts.push(`connection limit ${String(s.connectionLimit)}`);
  if (s.acl) {
    const grants = s.acl.filter((g) => !g.grantee || existing.has(g.grantee)).map((g) => `${g.grantee || 'PUBLIC'}: ${g.privileges.map((p) => (g.grantable.includes(p) ? `${p} with grant option` : p)).join('/')}`);
    const publicGrant = s.acl.some((g) => g.grantee === '');
    parts.push(`privileges (${grants.join('; ') || 'none'}${publicGrant ? '' : '; PUBLIC none'})`);
    const byOthers = s.acl.filter((g) => g.grantor !== s.owner).map((g) => g.grantor);
    if (byOthers.length && !superuser) parts.push(`grants made by ${[...new Set(byOthers)].join(', ')} re-made by the owner`);
  }
  if (s.settings.length) parts.push(`settings ${s.settings.join(', ')}`);
  const roleSettings = Object.entries(s.roleSettings).filter(([r]) => existing.has(r));
  if (roleSettings.length) parts.push(`role settings ${roleSettings.map(([r, n]) => `${r}: ${n.join(', ')}`).join('; ')}`);
  if (s.comment) parts.push('comment');
  if (s.isTemplate) parts.push('IS_TEMPLATE');
  if (s.allowConnections === false) parts.push('ALLOW_CONNECTIONS false');
  return parts.join(', ');
}

/** Setting values (and the comment): scrubbed from errors of the statements that carry them. */
function secretsOf(a: DbAttributes): string[] {
  const values = [...a.settings, ...Object.values(a.roleSettings).flat()].map(settingValue).filter((v) => v.length >= 3);
  return values;
}

/** Session settings for the load: bigger index-build memory (each index is built once, after its data). */
function stageOptions(existing: string | undefined): string {
  return [existing ?? '', '-c maintenance_work_mem=256MB'].join(' ').trim();
}

/**
 * Reads the attributes line off the front of a plain dump. Dumps stored
 * before it existed start with pg_dump's own output: header null, and every
 * byte goes on to psql.
 */
export async function splitHeader(input: Readable): Promise<{ header: DbAttributes | null; rest: AsyncIterable<Buffer> }> {
  const prefix = Buffer.from(HEADER_PREFIX);
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buffered = Buffer.alloc(0);
  let header: DbAttributes | null = null;
  for (;;) {
    const head = buffered.subarray(0, Math.min(buffered.length, prefix.length));
    if (!prefix.subarray(0, head.length).equals(head)) break;
    const nl = buffered.indexOf(10);
    if (nl >= 0) {
      header = parseHeader(buffered.subarray(0, nl).toString('utf8'));
      buffered = buffered.subarray(nl + 1);
      break;
    }
    if (buffered.length > MAX_HEADER) throw new RollbackError(msg('pg.headerTooLong'));
    const next = await iterator.next();
    if (next.done) break;
    buffered = Buffer.concat([buffered, asBuffer(next.value)]);
  }
  const first = buffered;
  async function* rest() {
    if (first.length) yield first;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield asBuffer(next.value);
    }
  }
  return { header, rest: rest() };
}

/** The piece itself when it is a Buffer: the dump's 340 MiB are not copied once more on their way to psql. */
function asBuffer(piece: Buffer | string | Uint8Array): Buffer {
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece as string);
}

const BACKSLASH = 0x5c;
const DASH = 0x2d;
const VOLATILE = [/^\\(un)?restrict /, /^-- Dumped (from database|by pg_dump) version /, /^-- (Started|Completed) on /];

/**
 * sha256 of a plain dump without the lines that differ between two dumps of
 * the same data: pg_dump's random \restrict / \unrestrict key and the tool
 * and server versions (comments). COPY data is hashed whole (a row may start
 * with anything). Tar dumps (older points) are hashed as they are.
 */
export async function digestDump(input: Readable): Promise<string> {
  const hash = createHash('sha256');
  let carry = Buffer.alloc(0);
  let inCopy = false;
  let sniffed = false;
  let raw = false;
  const line = (l: Buffer) => {
    if (inCopy) {
      // The end-of-data line `\.` (with its newline, maybe \r\n).
      if (l[0] === BACKSLASH && l[1] === 0x2e && /^\\\.\r?\n?$/.test(l.toString('latin1'))) inCopy = false;
      hash.update(l);
      return;
    }
    const first = l[0];
    if (first === BACKSLASH || first === DASH) {
      const text = l.subarray(0, 64).toString('latin1');
      if (VOLATILE.some((re) => re.test(text))) return;
    } else if (first === 0x43 /* C */ && l.subarray(0, 5).toString('latin1') === 'COPY ' && /FROM stdin;\r?\n?$/.test(l.subarray(Math.max(0, l.length - 16)).toString('latin1'))) {
      inCopy = true;
    }
    hash.update(l);
  };
  for await (const chunk of input) {
    let data = Buffer.from(chunk as Buffer);
    if (!sniffed) {
      sniffed = true;
      // tar: "ustar" at offset 257 of the first header.
      raw = data.length > 262 && data.subarray(257, 262).toString('latin1') === 'ustar';
    }
    if (raw) {
      hash.update(data);
      continue;
    }
    if (carry.length) data = Buffer.concat([carry, data]);
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      line(data.subarray(start, nl + 1));
      start = nl + 1;
    }
    carry = Buffer.from(data.subarray(start));
  }
  if (carry.length) line(carry);
  return hash.digest('hex');
}

function major(version: string): number | undefined {
  const n = Number.parseInt(version, 10);
  return Number.isFinite(n) ? n : undefined;
}

/** "2 of app, 1 of postgres": sessions by role. */
function countBy(values: string[]): MsgList {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return joined([...counts].map(([v, n]) => msg('pg.countOf', { n, role: v })));
}

function firstLine(error: unknown): string {
  const e = error as ExternalToolError | undefined;
  const text = e?.stderr?.trim() || e?.message || String(error);
  return text.split('\n').find((l) => /ERROR|FATAL/.test(l))?.replace(/^psql:[^:]*:\d+:\s*/, '') ?? text.split('\n')[0] ?? text;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function connectHint(stderr: string): Msg | undefined {
  if (/password authentication failed|no password supplied/.test(stderr)) return msg('pg.passwordHint');
  if (/Connection refused|could not connect|No such file or directory|timeout expired/.test(stderr)) return msg('pg.connectHint');
  return undefined;
}

/** redact() plus the literal password, in case a server ever echoes it. */
function scrub(text: string, password: string): string {
  const clean = redact(text);
  return password ? clean.split(password).join('***') : clean;
}
