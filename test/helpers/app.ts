// A small but complete application for the fault-injection suites: code with
// uncommitted and untracked work, an ignored .env and a tracked config file,
// a data path, and SQLite, PostgreSQL, MariaDB and Redis databases with a
// view and a trigger each where the engine has them. `fingerprint()` is the
// whole observable state, so "exactly the same" is one deepEqual.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cli, makeRepo, type CliResult, type Repo } from './repo.js';
import { mysql, psql, serverUrl, sqlite, sqliteState, uniqueName, withDatabase } from './servers.js';

export interface App {
  repo: Repo;
  env: Record<string, string>;
  pg: string;
  my: string;
  redisDb: number;
  scratchDb: number;
  run(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  fingerprint(): Record<string, unknown>;
  cleanup(): void;
}

export function redisCli(db: number, ...args: string[]): string {
  const url = serverUrl('REDIS');
  return execFileSync('redis-cli', ['-h', url.hostname, '-p', url.port, '-n', String(db), '--raw', ...args], {
    env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(url.password) },
    encoding: 'utf8',
  }).trim();
}

/** Keys with type and content; TTLs as "has one" (they count down). */
export function redisState(db: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of redisCli(db, 'KEYS', '*').split('\n').filter(Boolean).sort()) {
    const type = redisCli(db, 'TYPE', k);
    const value =
      type === 'string' ? redisCli(db, 'GET', k) : type === 'list' ? redisCli(db, 'LRANGE', k, '0', '-1') : type === 'hash' ? redisCli(db, 'HGETALL', k).split('\n').join(',') : type === 'set' ? redisCli(db, 'SMEMBERS', k).split('\n').sort().join(',') : redisCli(db, 'ZRANGE', k, '0', '-1', 'WITHSCORES');
    out[k] = `${type}:${value} ttl:${Number(redisCli(db, 'PTTL', k)) > 0}`;
  }
  return out;
}

/**
 * Every file under `dir` (repository-relative) with its mode and sha256;
 * .git excluded. Files in `logical` are listed with their mode only: their
 * content is compared logically elsewhere (a SQLite file restored from a dump
 * holds the same rows in other pages).
 */
export function filesState(root: string, logical: readonly string[] = [], dir = root): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const rel = relative(root, p);
    if (rel === '.git') continue;
    const st = lstatSync(p);
    if (st.isDirectory()) Object.assign(out, filesState(root, logical, p));
    else if (logical.includes(rel)) out[rel] = `${(st.mode & 0o7777).toString(8)} (content compared logically)`;
    else out[rel] = `${(st.mode & 0o7777).toString(8)} ${st.isSymbolicLink() ? 'link' : createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}`;
  }
  return out;
}

/** HEAD, branch, branch tips, index and the status of every file. */
export function gitState(r: Repo): Record<string, string> {
  return {
    head: r.git('rev-parse', 'HEAD'),
    branch: r.git('rev-parse', '--abbrev-ref', 'HEAD'),
    main: r.git('rev-parse', 'refs/heads/main'),
    index: r.git('ls-files', '-s'),
    status: r.git('status', '--porcelain=v1', '--untracked-files=all'),
  };
}

/**
 * PostgreSQL in two client calls: each table's rows (count and md5 of all
 * rows) and columns, views, sequences and triggers. pgState() asks table by
 * table; the matrix takes hundreds of fingerprints.
 */
export function pgQuick(db: string): Record<string, string> {
  const tables = psql(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1").split('\n').filter(Boolean);
  const parts = tables.map((t) => `SELECT 'table ${t}', count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM "${t}" x`);
  parts.push(
    "SELECT 'columns', string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, ordinal_position) FROM information_schema.columns WHERE table_schema = 'public'",
    "SELECT 'views', string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.views WHERE table_schema = 'public'",
    "SELECT 'sequences', string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public'",
    "SELECT 'triggers', string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal",
  );
  return Object.fromEntries(psql(db, parts.join(' UNION ALL ')).split('\n').map((l) => l.split('|') as [string, string]));
}

/** MySQL/MariaDB in two client calls: table checksums and counts, columns, views, triggers, routines. */
export function mysqlQuick(db: string): Record<string, string> {
  const tables = mysql(null, `SELECT table_name FROM information_schema.tables WHERE table_schema = '${db}' AND table_type = 'BASE TABLE' ORDER BY 1`).split('\n').filter(Boolean);
  const out: Record<string, string> = {};
  if (tables.length) {
    for (const line of mysql(db, `CHECKSUM TABLE ${tables.map((t) => `\`${t}\``).join(', ')} EXTENDED`).split('\n')) {
      const [name = '', sum = ''] = line.split('\t');
      out[`table ${name.slice(name.indexOf('.') + 1)}`] = sum;
    }
  }
  out.columns = mysql(null, `SELECT group_concat(table_name, '.', column_name ORDER BY table_name, ordinal_position) FROM information_schema.columns WHERE table_schema = '${db}'`);
  out.views = mysql(null, `SELECT group_concat(table_name ORDER BY table_name) FROM information_schema.views WHERE table_schema = '${db}'`);
  out.triggers = mysql(null, `SELECT group_concat(trigger_name ORDER BY trigger_name) FROM information_schema.triggers WHERE trigger_schema = '${db}'`);
  return out;
}

const stateOf = (r: Repo, pg: string, my: string, redisDb: number) => ({
  git: gitState(r),
  files: filesState(r.dir, ['data/app.db']),
  sqlite: sqliteState(join(r.dir, 'data/app.db')),
  pg: pgQuick(pg),
  my: mysqlQuick(my),
  redis: redisState(redisDb),
});

/**
 * Makes the app at version 1, a point "p1" of it, then moves everything to
 * version 2 (code committed, plus uncommitted and untracked work; config,
 * files and every database changed).
 */
export async function makeApp(redisDb: number, scratchDb: number): Promise<App> {
  const pg = uniqueName('rb_fault_pg');
  const my = uniqueName('rb_fault_my');
  psql('postgres', `CREATE DATABASE ${pg}`);
  psql(pg, `CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE audit (id serial PRIMARY KEY, item int, at text);
    CREATE FUNCTION log_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit(item, at) VALUES (NEW.id, 'insert'); RETURN NEW; END $$;
    CREATE TRIGGER item_audit AFTER INSERT ON item FOR EACH ROW EXECUTE FUNCTION log_item();
    CREATE VIEW item_names AS SELECT name FROM item;
    INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 200) g;`);
  mysql(null, `CREATE DATABASE ${my} CHARACTER SET utf8mb4`);
  mysql(my, `CREATE TABLE item (id int PRIMARY KEY, name varchar(80) NOT NULL);
    CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, item int);
    CREATE TRIGGER item_audit AFTER INSERT ON item FOR EACH ROW INSERT INTO audit(item) VALUES (NEW.id);
    CREATE VIEW item_names AS SELECT name FROM item;
    INSERT INTO item VALUES (1, 'one'), (2, 'two'), (3, '三');`);
  redisCli(redisDb, 'FLUSHDB');
  redisCli(scratchDb, 'FLUSHDB');
  redisCli(redisDb, 'SET', 'greeting', '你好');
  redisCli(redisDb, 'RPUSH', 'queue', 'a', 'b');
  redisCli(redisDb, 'HSET', 'user:1', 'name', 'ann');

  const redisUrl = new URL(serverUrl('REDIS').href);
  redisUrl.pathname = `/${redisDb}`;
  const env = { APP_PG_URL: withDatabase(serverUrl('PG'), pg), APP_MY_URL: withDatabase(serverUrl('MYSQL'), my), APP_REDIS_URL: redisUrl.href };
  const repo = makeRepo({
    files: {
      'app.py': 'print("v1")\n',
      'config/app.yml': 'feature: off\n',
      '.gitignore': '.env\ndata/\nuploads/\n',
      '.rollbackrc.yaml': [
        'config: [".env", "config/*.yml"]',
        'paths: ["uploads/"]',
        'databases:',
        '  main: { engine: postgres, url: "${APP_PG_URL}" }',
        '  jobs: { engine: mysql, url: "${APP_MY_URL}" }',
        '  local: { engine: sqlite, path: "data/app.db" }',
        `  cache: { engine: redis, url: "\${APP_REDIS_URL}", scratchDb: ${scratchDb} }`,
        // Hooks and a health check, so their steps have boundaries too (they leave a trace outside the state compared).
        'hooks: { beforeRollback: "echo stop >> ../hooks.log", afterRollback: "echo start >> ../hooks.log" }',
        'health: { command: "test -f app.py", retries: 1 }',
        // The matrix makes many rollbacks: previous copies are dropped as each one finishes.
        'restore: { dropOld: true, removeExtra: true }',
        '',
      ].join('\n'),
    },
  });
  repo.write('.env', 'MODE=v1\nSECRET=s1\n', 0o600);
  repo.write('uploads/a.jpg', 'jpeg-a\n');
  repo.write('uploads/keep.png', 'png\n', 0o640);
  mkdirSync(join(repo.dir, 'data'), { recursive: true });
  sqlite(join(repo.dir, 'data/app.db'), "PRAGMA journal_mode=wal; CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT); CREATE VIEW item_names AS SELECT name FROM item; INSERT INTO item VALUES (1, 'one'), (2, 'two');");

  const app: App = {
    repo,
    env,
    pg,
    my,
    redisDb,
    scratchDb,
    run: (args, extraEnv = {}) => cli(repo, args, { env: { ...env, ...extraEnv } }),
    fingerprint: () => stateOf(repo, pg, my, redisDb),
    cleanup() {
      repo.cleanup();
      for (const d of psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${pg}%'`).split('\n').filter(Boolean)) psql('postgres', `DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
      for (const d of mysql(null, `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${my}%'`).split('\n').filter(Boolean)) mysql(null, `DROP DATABASE IF EXISTS \`${d}\``);
      redisCli(redisDb, 'FLUSHDB');
      redisCli(scratchDb, 'FLUSHDB');
    },
  };
  // The point holds uncommitted work too (a tracked edit), so restoring it is a step of its own.
  repo.write('config/app.yml', 'feature: off # local\n');
  const made = await app.run(['point', 'v1', '--name', 'p1']);
  if (made.code !== 0) throw new Error(`point failed: ${made.stderr}`);

  // Version 2 everywhere, with uncommitted and untracked work on top.
  repo.write('app.py', 'print("v2")\n');
  repo.write('config/app.yml', 'feature: on\n');
  repo.commit('v2');
  repo.write('app.py', 'print("v2 + local edit")\n');
  repo.write('notes.txt', 'untracked work\n');
  repo.write('.env', 'MODE=v2\nSECRET=s2\n', 0o600);
  repo.write('uploads/b.jpg', 'jpeg-b\n');
  repo.write('uploads/a.jpg', 'jpeg-a edited\n');
  psql(pg, "INSERT INTO item VALUES (201, 'new'); UPDATE item SET name = 'renamed' WHERE id < 5; ALTER TABLE item ADD COLUMN price int;");
  mysql(my, "INSERT INTO item VALUES (4, 'four'); DELETE FROM item WHERE id = 1; CREATE TABLE since (id int);");
  sqlite(join(repo.dir, 'data/app.db'), "INSERT INTO item VALUES (3, 'three'); DELETE FROM item WHERE id = 1;");
  redisCli(redisDb, 'DEL', 'greeting');
  redisCli(redisDb, 'SET', 'made-since', '1');
  redisCli(redisDb, 'RPUSH', 'queue', 'c');
  return app;
}
