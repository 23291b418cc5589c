// The real servers the integration tests use, started by .ci/run (or by a
// developer: eval "$(scripts/test-servers.sh start)"). Missing variables are
// a failure, not a skip: CI always starts the servers, and a silently skipped
// database test is how restore bugs ship.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
/** Chinook sample database (MIT, test/fixtures/README.md): tests read nothing outside the repository. */
export const chinookDir = resolve(repoRoot, 'test/fixtures/chinook');

export function serverUrl(kind: 'PG' | 'MYSQL' | 'REDIS'): URL {
  const name = `ROLLBACK_TEST_${kind}_URL`;
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: start the test servers first: eval "$(scripts/test-servers.sh start)" (CI: .ci/run)`);
  }
  return new URL(value);
}

/** The superuser URL pointing at another database. */
export function withDatabase(url: URL, database: string): string {
  const copy = new URL(url.href);
  copy.pathname = `/${database}`;
  return copy.href;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

const madeDirs: string[] = [];
// Removed when the test file's process ends (each file runs in its own); ROLLBACK_TEST_KEEP=1 keeps them to look at.
process.on('exit', () => {
  if (process.env.ROLLBACK_TEST_KEEP === '1') return;
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir under the system's, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rb-test-${prefix}-`));
  madeDirs.push(dir);
  return dir;
}

/** A fresh git repository to hold dumps. */
export function tempRepo(): string {
  const dir = tempDir('repo');
  execFileSync('git', ['init', '-q', dir]);
  return dir;
}

/** Chinook script for an engine, without its own DROP/CREATE DATABASE and USE/\c lines. */
export function chinookSql(file: 'Chinook_PostgreSql.sql' | 'Chinook_MySql.sql' | 'Chinook_Sqlite.sql'): string {
  return readFileSync(join(chinookDir, file), 'utf8')
    .replace(/^\uFEFF/, '')
    .split('\n')
    .filter((line) => !/^\s*(DROP DATABASE|CREATE DATABASE|USE |\\c )/i.test(line))
    .join('\n');
}

// --- PostgreSQL -----------------------------------------------------------

function pgEnv(url: URL): NodeJS.ProcessEnv {
  return { ...process.env, PGPASSWORD: decodeURIComponent(url.password) };
}

function pgConn(url: URL, database: string): string {
  return `postgresql://${url.username}@${url.hostname}:${url.port}/${database}`;
}

export function psql(database: string, sql: string): string {
  const url = serverUrl('PG');
  return execFileSync('psql', ['-X', '-w', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', pgConn(url, database), '-f', '-'], {
    input: sql,
    env: pgEnv(url),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

/** Per-table row count and md5 of all rows, plus views, sequences and triggers: the database's observable state. */
export function pgState(database: string): Record<string, string> {
  const tables = psql(database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1").split('\n').filter(Boolean);
  const state: Record<string, string> = {};
  for (const t of tables) {
    state[`table ${t}`] = psql(database, `SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM "${t}" x`);
    state[`columns ${t}`] = psql(database, `SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = '${t}' AND table_schema = 'public'`);
  }
  state.views = psql(database, "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.views WHERE table_schema = 'public'");
  state.sequences = psql(database, "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public'");
  state.triggers = psql(database, "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal");
  return state;
}

// --- MySQL / MariaDB ------------------------------------------------------

export function mysql(database: string | null, sql: string): string {
  const url = serverUrl('MYSQL');
  const args = ['-h', url.hostname, '-P', url.port, '-u', decodeURIComponent(url.username), '--batch', '--raw', '--skip-column-names', '--default-character-set=utf8mb4'];
  if (database) args.push(database);
  return execFileSync('mariadb', args, {
    input: sql,
    env: { ...process.env, MYSQL_PWD: decodeURIComponent(url.password) },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

export function mysqlState(database: string): Record<string, string> {
  const tables = mysql(null, `SELECT table_name FROM information_schema.tables WHERE table_schema = '${database}' AND table_type = 'BASE TABLE' ORDER BY 1`).split('\n').filter(Boolean);
  const state: Record<string, string> = {};
  for (const t of tables) {
    const count = mysql(database, `SELECT count(*) FROM \`${t}\``);
    const checksum = mysql(database, `CHECKSUM TABLE \`${t}\` EXTENDED`).split('\t')[1];
    state[`table ${t}`] = `${count} ${checksum}`;
    state[`columns ${t}`] = mysql(null, `SELECT group_concat(column_name ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = '${database}' AND table_name = '${t}'`);
  }
  state.views = mysql(null, `SELECT group_concat(table_name ORDER BY table_name) FROM information_schema.views WHERE table_schema = '${database}'`);
  state.triggers = mysql(null, `SELECT group_concat(trigger_name ORDER BY trigger_name) FROM information_schema.triggers WHERE trigger_schema = '${database}'`);
  state.routines = mysql(null, `SELECT group_concat(routine_name ORDER BY routine_name) FROM information_schema.routines WHERE routine_schema = '${database}'`);
  return state;
}

// --- SQLite -----------------------------------------------------------------

export function sqlite(path: string, sql: string): string {
  return execFileSync('sqlite3', ['-batch', '-bail', path], { input: sql, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
}

export function sqliteState(path: string): Record<string, string> {
  const tables = sqlite(path, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY 1;").split('\n').filter(Boolean);
  const state: Record<string, string> = {};
  for (const t of tables) {
    const rows = sqlite(path, `.mode quote\nSELECT * FROM "${t}" ORDER BY 1;`);
    state[`table ${t}`] = `${rows ? rows.split('\n').length : 0} ${createHash('md5').update(rows).digest('hex')}`;
  }
  state.schema = sqlite(path, "SELECT group_concat(type || ':' || name, ',') FROM (SELECT type, name FROM sqlite_schema ORDER BY 1, 2);");
  return state;
}
