// One MySQL/MariaDB connection over the wire protocol (mysql2), for every
// check, catalog read and DDL the engine sends. Each statement reaches the
// server whole (no client splits a body at `;`, no `--batch` output is cut
// at a tab), results come back typed, a server error keeps its code, and one
// connection replaces the many client processes a check used to spawn.
// Dumps and loads still go through mariadb-dump / mariadb (the dump's format).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RollbackError } from '../../core/errors.js';
import { msg, type Msg } from '../../core/i18n.js';
import type { ParsedUrl } from './common.js';

export const ident = (name: string) => `\`${name.replace(/`/g, '``')}\``;
/** A string literal that reads the same with or without NO_BACKSLASH_ESCAPES. */
export const literal = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** What a session needs to connect (never printed: the password stays here). */
export interface Endpoint {
  /** databases.<name>, for messages. */
  name: string;
  url: ParsedUrl;
  /** The password when the URL has none: MYSQL_PWD, or ~/.my.cnf (as the client tools find it). */
  password?: string;
}

/**
 * The password the client tools would use when the URL has none: MYSQL_PWD,
 * else `password=` in ~/.my.cnf's [client], [client-server], [client-mariadb],
 * [mysql] or [mariadb-client] section. Only that value is read.
 */
export function toolPassword(env: NodeJS.ProcessEnv): string | undefined {
  if (env.MYSQL_PWD) return env.MYSQL_PWD;
  let text: string;
  try {
    text = readFileSync(join(env.HOME || homedir(), '.my.cnf'), 'utf8');
  } catch {
    return undefined;
  }
  let section = '';
  let found: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      section = head[1]!.trim().toLowerCase();
      continue;
    }
    if (!['client', 'client-server', 'client-mariadb', 'mysql', 'mariadb-client'].includes(section)) continue;
    const m = /^password\s*=\s*(.*)$/i.exec(line);
    if (m) found = m[1]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return found;
}

type Row = Record<string, unknown>;

interface Driver {
  query(options: { sql: string; rowsAsArray?: boolean }): Promise<[unknown, unknown]>;
  end(): Promise<void>;
  destroy(): void;
  threadId: number | null;
}

/** A server error, with its code, shown as the server's own `ERROR nnnn (state): text` line. */
export class MysqlError extends RollbackError {
  constructor(
    message: string | Msg,
    readonly errno: number | undefined,
    readonly sqlState: string | undefined,
    hint?: string | Msg,
  ) {
    super(message, hint);
  }
}

/** Server error numbers we react to. */
export const ER = {
  accessDenied: 1045,
  dbAccessDenied: 1044,
  tableAccessDenied: 1142,
  columnAccessDenied: 1143,
  specificAccessDenied: 1227,
  procAccessDenied: 1370,
  badDb: 1049,
  lockWaitTimeout: 1205,
  lockDeadlock: 1213,
  queryInterrupted: 1317,
  triggerInWrongSchema: 1435,
  noSuchTable: 1146,
  tableExists: 1050,
} as const;

const PRIVILEGE_ERRORS = new Set<number>([1044, 1142, 1143, 1227, 1370, 1419, 1410, 1211]);

/** The hint that fits a server or connection error: never "wrong password" for a missing privilege. */
export function hintFor(errno: number | undefined, code: string | undefined, name: string): Msg | undefined {
  if (errno === ER.accessDenied) return msg('mysql.hint.password', { name });
  if (errno !== undefined && PRIVILEGE_ERRORS.has(errno)) return msg('mysql.hint.privilege', { name });
  if (errno === ER.lockWaitTimeout) return msg('mysql.hint.lock', { name });
  if (errno === ER.badDb) return msg('mysql.hint.badDb', { name });
  if (code && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|PROTOCOL_CONNECTION_LOST/.test(code)) return msg('mysql.hint.connect', { name });
  if (errno === 2002 || errno === 2003 || errno === 2005 || errno === 2013) return msg('mysql.hint.connect', { name });
  return undefined;
}

/** Masks the password wherever a server or tool echoed it (it never should). Only that value: no word lists. */
export function maskSecret(text: string, password: string): string {
  return password ? text.split(password).join('***') : text;
}

function toMysqlError(error: unknown, endpoint: Endpoint, doing: string | Msg): MysqlError {
  const e = error as { errno?: number; code?: string; sqlState?: string; sqlMessage?: string; message?: string };
  const server = typeof e.sqlMessage === 'string' && typeof e.errno === 'number' && e.errno > 0;
  const text = server
    ? `ERROR ${e.errno} (${e.sqlState ?? 'HY000'}): ${e.sqlMessage}`
    : `${e.code ?? 'error'}: ${e.message ?? String(error)}`;
  return new MysqlError(
    msg('error.inDatabase', { name: endpoint.name, text: msg('mysql.stepError', { doing, error: maskSecret(maskSecret(text, endpoint.url.password), endpoint.password ?? '') }) }),
    server ? e.errno : undefined,
    e.sqlState,
    hintFor(server ? e.errno : undefined, e.code, endpoint.name),
  );
}

/**
 * Our own session's sql_mode: quoting as `literal()`/`ident()` expect (no
 * ANSI_QUOTES, backslash escapes on). Objects are created under their own
 * recorded sql_mode, then this is set back.
 */
const BASE_SQL_MODE = 'NO_ENGINE_SUBSTITUTION';

let driverModule: Promise<{ createConnection(options: object): Promise<Driver> }> | undefined;

export class MysqlSession {
  private constructor(
    private readonly conn: Driver,
    readonly endpoint: Endpoint,
    /** "10.11.9-MariaDB-0+deb12u1" */
    readonly version: string,
  ) {}

  get mariadb(): boolean {
    return /mariadb/i.test(this.version);
  }

  /** The server's connection id of this session (for KILL and to leave ourselves out of session lists). */
  get id(): number {
    return this.conn.threadId ?? -1;
  }

  static async open(endpoint: Endpoint, doing: string | Msg = msg('mysql.do.connect')): Promise<MysqlSession> {
    // Loaded on first use: commands without a MySQL database never parse the driver.
    driverModule ??= import('mysql2/promise').then((m) => (m as unknown as { default: { createConnection(o: object): Promise<Driver> } }).default);
    const driver = await driverModule;
    const { url } = endpoint;
    let conn: Driver;
    try {
      conn = await driver.createConnection({
        host: url.host || '127.0.0.1',
        port: url.port ?? 3306,
        user: url.user || 'root',
        password: url.password || endpoint.password || undefined,
        charset: 'UTF8MB4_GENERAL_CI',
        // LOCAL_FILES off: a server must never be able to ask us for a local file.
        // IGNORE_SPACE off: it changes the session's sql_mode and so how bodies parse.
        flags: ['-LOCAL_FILES', '-IGNORE_SPACE', '-FOUND_ROWS'],
        multipleStatements: false,
        dateStrings: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
        connectTimeout: 10_000,
        ...(url.params.get('ssl') === 'true' || url.params.get('ssl-mode') === 'REQUIRED' ? { ssl: {} } : {}),
      });
    } catch (error) {
      throw toMysqlError(error, endpoint, msg('mysql.cannotDo', { doing, where: `${url.host || '127.0.0.1'}:${url.port ?? 3306}` }));
    }
    // A dead server must not leave a hung promise, nor an unhandled 'error' event.
    (conn as unknown as { on(event: string, listener: () => void): void }).on('error', () => {});
    try {
      const [[version]] = (await conn.query({ sql: `SELECT VERSION()`, rowsAsArray: true }))[0] as [[string]];
      await conn.query({ sql: `SET SESSION sql_mode = '${BASE_SQL_MODE}'` });
      return new MysqlSession(conn, endpoint, String(version));
    } catch (error) {
      conn.destroy();
      throw toMysqlError(error, endpoint, doing);
    }
  }

  /** Runs one statement; rows as objects. `doing` names the step in an error. */
  async query<T extends Row = Row>(sql: string, doing: string | Msg = msg('mysql.do.query')): Promise<T[]> {
    try {
      const [rows] = await this.conn.query({ sql });
      return Array.isArray(rows) ? (rows as T[]) : [];
    } catch (error) {
      throw toMysqlError(error, this.endpoint, doing);
    }
  }

  /** Runs one statement; rows as arrays of strings (NULL as null). */
  async rows(sql: string, doing: string | Msg = msg('mysql.do.query')): Promise<Array<Array<string | null>>> {
    try {
      const [rows] = await this.conn.query({ sql, rowsAsArray: true });
      if (!Array.isArray(rows)) return [];
      return (rows as unknown[][]).map((row) => row.map((v) => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v))));
    } catch (error) {
      throw toMysqlError(error, this.endpoint, doing);
    }
  }

  /** One column of every row. */
  async column(sql: string, doing: string | Msg = msg('mysql.do.query')): Promise<string[]> {
    return (await this.rows(sql, doing)).map((r) => r[0] ?? '');
  }

  async exec(sql: string, doing: string | Msg = msg('mysql.do.statement')): Promise<void> {
    await this.query(sql, doing);
  }

  /**
   * Runs a CREATE under the session context it was first made in (sql_mode,
   * client character set and collation, time zone), in `schema`, then puts
   * ours back: the object reads and behaves as it did.
   */
  async createIn(
    schema: string,
    sql: string,
    context: { sqlMode?: string; charset?: string; collation?: string; timeZone?: string },
    doing: string | Msg,
  ): Promise<void> {
    const sets: string[] = [];
    if (context.sqlMode !== undefined) sets.push(`sql_mode = ${literal(context.sqlMode)}`);
    // The text travels as UTF-8 whatever the recorded client set, so a
    // non-ASCII body keeps utf8mb4 as its client set (the bytes must decode).
    const ascii = !/[^\x00-\x7f]/.test(sql);
    if (context.charset && (ascii || /^utf8/.test(context.charset))) sets.push(`character_set_client = ${literal(context.charset)}`);
    if (context.collation && (ascii || /^utf8/.test(context.collation))) sets.push(`collation_connection = ${literal(context.collation)}`);
    if (context.timeZone !== undefined) sets.push(`time_zone = ${literal(context.timeZone)}`);
    await this.exec(`USE ${ident(schema)}`, doing);
    if (sets.length > 0) await this.exec(`SET SESSION ${sets.join(', ')}`, doing);
    try {
      await this.exec(sql, doing);
    } finally {
      await this.conn
        .query({ sql: `SET SESSION sql_mode = '${BASE_SQL_MODE}', character_set_client = utf8mb4, collation_connection = utf8mb4_general_ci, time_zone = DEFAULT` })
        .catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => this.conn.destroy());
  }

  /** Ends the connection now (a statement may be running). */
  destroy(): void {
    this.conn.destroy();
  }
}

/** Opens a session, runs `work`, closes it whatever happens. */
export async function withSession<T>(endpoint: Endpoint, work: (s: MysqlSession) => Promise<T>, doing?: string | Msg): Promise<T> {
  const session = await MysqlSession.open(endpoint, doing);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

/**
 * The server's own error lines from a client tool's stderr. The MariaDB 10.11
 * client echoes the failing statement between `-----` rules before the
 * `ERROR nnnn (state) at line n: …` line; the error line is what matters.
 */
export function serverErrorLines(stderr: string): { text: string; errno?: number } {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  const errors = lines.filter((l) => /^(ERROR \d+|mariadb(-dump)?:|mysql(dump)?:|Got error)/.test(l));
  const chosen = errors.length > 0 ? errors : lines.slice(-3);
  const errno = /^ERROR (\d+)/.exec(errors.find((l) => l.startsWith('ERROR')) ?? '')?.[1] ?? /error:? (\d{4})/i.exec(errors.join(' '))?.[1];
  return { text: chosen.slice(0, 3).join(' | ') || 'no error output', errno: errno ? Number(errno) : undefined };
}
