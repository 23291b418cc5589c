// Everything observable about one MySQL/MariaDB schema, for "exactly as it
// was" assertions: a normalised mariadb-dump (routines, triggers, events,
// history), the catalog (tables with type and options, columns, views,
// triggers with their action order, routines with parameters, events with
// status, sequences' states) and a checksum of every table's rows, history
// rows included. Creation timestamps are left out: a recreated trigger is
// the same trigger.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { serverUrl } from './servers.js';

export type MysqlFingerprint = Record<string, string>;

async function connect() {
  const url = serverUrl('MYSQL');
  return mysql.createConnection({
    host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password),
    charset: 'UTF8MB4_GENERAL_CI', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, flags: ['-IGNORE_SPACE', '-LOCAL_FILES'],
  });
}

/** A mariadb-dump of the schema, without its comment lines (host, schema name). */
export function normalisedDump(schema: string): string {
  const url = serverUrl('MYSQL');
  const out = execFileSync('mariadb-dump', [
    '--no-defaults', '-h', url.hostname, '-P', url.port, '-u', decodeURIComponent(url.username),
    '--single-transaction', '--routines', '--triggers', '--events', '--skip-dump-date', '--dump-history', '--hex-blob', '--default-character-set=utf8mb4', schema,
  ], { env: { ...process.env, MYSQL_PWD: decodeURIComponent(url.password) }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('--')).join('\n');
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** `schema`'s observable state; `as` names it in texts that mention the schema (views), so two schemas compare. */
export async function mysqlFingerprint(schema: string, options: { dump?: boolean } = {}): Promise<MysqlFingerprint> {
  const c = await connect();
  const q = async (sql: string, params: unknown[] = [schema]) => JSON.stringify((await c.query({ sql, rowsAsArray: true }, params))[0]);
  const norm = (text: string) => text.split(`\`${schema}\`.`).join('`@`.');
  try {
    const fp: MysqlFingerprint = {};
    const [exists] = (await c.query('SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]))[0] as unknown[];
    fp.schema = JSON.stringify(exists ?? 'absent');
    if (!exists) return fp;
    // Aria: SHOW CREATE TABLE (so every dump) spells out the default PAGE_CHECKSUM=1, and a
    // table made from a dump lists it among its options; same table, same behaviour.
    // A sequence's collation is whatever the schema's default was when it was made (it has no
    // text column); CREATE SEQUENCE in a dump does not carry it: not compared.
    fp.tables = await q(`SELECT TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, AUTO_INCREMENT, IF(TABLE_TYPE = 'SEQUENCE', '-', TABLE_COLLATION),
      IF(ENGINE = 'Aria', TRIM(REPLACE(CREATE_OPTIONS, 'page_checksum=1', '')), CREATE_OPTIONS), TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1`);
    fp.columns = await q(`SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_KEY, EXTRA, COLUMN_COMMENT, IS_GENERATED, GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, 3`);
    fp.constraints = await q(`SELECT CONSTRAINT_NAME, TABLE_NAME, UNIQUE_CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY 1, 2`);
    fp.views = norm(await q(`SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, IS_UPDATABLE, DEFINER, SECURITY_TYPE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, ALGORITHM FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1`));
    fp.triggers = norm(await q(`SELECT EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, TRIGGER_NAME, ACTION_STATEMENT, DEFINER, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1, 2, 3, 4`));
    fp.routines = await q(`SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT, DEFINER, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, DATABASE_COLLATION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1, 2`);
    fp.parameters = await q(`SELECT SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ? ORDER BY 1, 2, 3`);
    fp.events = await q(`SELECT EVENT_NAME, DEFINER, TIME_ZONE, EVENT_DEFINITION, EVENT_TYPE, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, SQL_MODE, STARTS, ENDS, STATUS, ON_COMPLETION, EVENT_COMMENT, CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1`);
    const tables = (await c.query({ sql: `SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' ORDER BY 1`, rowsAsArray: true }, [schema]))[0] as Array<[string, string]>;
    const id = (name: string) => `\`${schema}\`.\`${name.replace(/`/g, '``')}\``;
    for (const [table, type] of tables) {
      if (type === 'SEQUENCE') {
        fp[`sequence ${table}`] = JSON.stringify((await c.query({ sql: `SELECT * FROM ${id(table)}`, rowsAsArray: true }))[0]);
        continue;
      }
      const period = (await c.query({ sql: `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND GENERATION_EXPRESSION IN ('ROW START', 'ROW END')`, rowsAsArray: true }, [schema, table]))[0] as Array<[string]>;
      const hidden = type === 'SYSTEM VERSIONED' && period.length === 0 ? ', ROW_START, ROW_END' : '';
      const history = type === 'SYSTEM VERSIONED' ? ' FOR SYSTEM_TIME ALL' : '';
      const [rows] = await c.query({ sql: `SELECT *${hidden} FROM ${id(table)}${history}`, rowsAsArray: true });
      const lines = (rows as unknown[][]).map((r) => JSON.stringify(r.map((v) => (Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : v)))).sort();
      fp[`rows ${table}`] = `${lines.length} ${md5(lines.join('\n'))}`;
    }
    if (options.dump !== false) fp.dump = normalisedDump(schema);
    return fp;
  } finally {
    await c.end();
  }
}

/** Fails naming the parts that differ, with the first difference of each (a full diff of catalogs is unreadable). */
export function assertSameState(actual: MysqlFingerprint, expected: MysqlFingerprint, what: string): void {
  const keys = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
  const diffs: string[] = [];
  for (const key of keys) {
    const a = actual[key] ?? '(missing)';
    const e = expected[key] ?? '(missing)';
    if (a === e) continue;
    let i = 0;
    while (i < a.length && i < e.length && a[i] === e[i]) i++;
    diffs.push(`${key}: at ${i}: got …${a.slice(Math.max(0, i - 60), i + 80)}… expected …${e.slice(Math.max(0, i - 60), i + 80)}…`);
  }
  if (diffs.length > 0) throw new Error(`${what}: the schema differs in ${diffs.length} part(s):\n${diffs.join('\n')}`);
}
